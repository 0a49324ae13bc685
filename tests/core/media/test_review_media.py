"""Review media made from real files: a clip with sound becomes an H.264 proxy with every frame in its
place, at the source's rate, no wider than 1920; a float EXR of a photograph a full-resolution JPEG; a
mesh a GLB; products are reused (a resumed publication sends the same bytes)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data
import trimesh
from PIL import Image

from core.media.errors import MediaError
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.media.probe_video import probe_video
from core.media.review_media import MAX_PROXY_WIDTH, ReviewRole, make_review_media, proxy_size
from core.settings import Settings
from tests.core.media.sound_clips import write_clip_with_sound
from tests.core.media.test_images import write_exr
from tests.core.video.clips import numbered_frame, read_number

LIMITS = MediaLimits.from_settings(Settings())


def glb_faces(path: Path) -> int:
    """Faces of every mesh in a GLB, read back with trimesh."""
    scene = trimesh.load(path, force="scene")
    assert isinstance(scene, trimesh.Scene)
    return sum(len(mesh.faces) for mesh in scene.geometry.values() if isinstance(mesh, trimesh.Trimesh))


def decoded_numbers(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [read_number(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def test_a_clip_becomes_an_h264_proxy_with_every_frame_in_place_its_rate_and_its_sound(
    tmp_path: Path,
) -> None:
    # Wider than the cap, so the proxy is scaled: 2000 x 120 becomes 1920 x 116 (even, aspect kept).
    source = write_clip_with_sound(tmp_path / "shot010.mov", seconds=2.0, fps=25, size=(2000, 120))
    media = make_review_media(source, AssetKind.VIDEO, tmp_path / "review", LIMITS)
    (review,) = media.files
    assert review.role == ReviewRole.REVIEW
    assert media.kind == AssetKind.VIDEO
    probed, original = probe_video(review.path), probe_video(source)
    assert probed["codec"] == "h264"
    assert (probed["width"], probed["height"]) == (MAX_PROXY_WIDTH, 116)
    assert probed["frames"] == original["frames"] == 50
    assert probed["fps_rational"] == original["fps_rational"] == "25/1"
    assert probed["audio"] is True
    # Frame N of the proxy shows frame N of the source: a note on a frame stays on that picture.
    assert decoded_numbers(review.path) == list(range(50))
    assert media.info == {
        "width": 1920,
        "height": 116,
        "frames": 50,
        "fps": "25/1",
        "audio": True,
        "codec": "libx264",
    }
    # Made once: publishing again (after a cut) finds the same bytes.
    before = review.path.stat().st_mtime_ns
    again = make_review_media(source, AssetKind.VIDEO, tmp_path / "review", LIMITS)
    assert again.files[0].path.stat().st_mtime_ns == before
    assert again.info == media.info


def test_proxy_size_caps_the_width_and_keeps_both_sides_even() -> None:
    assert proxy_size(3840, 2160) == (1920, 1080)
    assert proxy_size(1280, 720) == (1280, 720)
    assert proxy_size(4097, 1715) == (1920, 804)
    assert proxy_size(721, 405) == (720, 404)


def test_a_float_exr_photo_becomes_a_full_resolution_jpeg_and_the_original_is_optional(
    tmp_path: Path,
) -> None:
    photo = skimage.data.astronaut().astype(np.float32) / 255.0  # type: ignore[no-untyped-call]
    exr = write_exr(tmp_path / "plate.exr", photo**2.2)  # scene-linear, as a render writes it
    media = make_review_media(exr, AssetKind.IMAGE, tmp_path / "review", LIMITS)
    (review,) = media.files
    with Image.open(review.path) as preview:
        assert (preview.format, preview.size, preview.mode) == ("JPEG", (512, 512), "RGB")
        pixels = np.asarray(preview, dtype=np.float32) / 255.0
    # Still the astronaut: the 8-bit preview follows the photograph's values closely.
    assert np.corrcoef(pixels.ravel(), photo.ravel())[0, 1] > 0.95
    with_original = make_review_media(
        exr, AssetKind.IMAGE, tmp_path / "review", LIMITS, include_original=True
    )
    assert [(f.path, f.role) for f in with_original.files] == [
        (review.path, ReviewRole.REVIEW),
        (exr, ReviewRole.ORIGINAL),
    ]


def test_a_jpeg_or_png_is_its_own_preview(tmp_path: Path) -> None:
    png = Path(skimage.data.__file__).with_name("astronaut.png")
    media = make_review_media(png, AssetKind.IMAGE, tmp_path / "review", LIMITS, include_original=True)
    assert [(f.path, f.role) for f in media.files] == [(png, ReviewRole.REVIEW)]


def test_a_mesh_becomes_a_glb_sent_with_its_renders(tmp_path: Path) -> None:
    obj = tmp_path / "rock.obj"
    trimesh.creation.icosphere(subdivisions=3).export(obj)
    preview = tmp_path / "rock_preview.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(preview)
    renders = {"preview": preview, "turntable": tmp_path / "gone.mp4"}  # a render since deleted
    media = make_review_media(obj, AssetKind.GEOMETRY, tmp_path / "review", LIMITS, renders=renders)
    assert [f.role for f in media.files] == [ReviewRole.REVIEW, ReviewRole.PREVIEW]
    glb = media.files[0].path
    assert glb.suffix == ".glb"
    assert glb_faces(glb) == 1280


def test_kinds_without_review_media_are_refused(tmp_path: Path) -> None:
    document = tmp_path / "notes.pdf"
    document.write_bytes(b"%PDF-1.4")
    with pytest.raises(ValueError, match="no review media"):
        make_review_media(document, AssetKind.DOCUMENT, tmp_path / "review", LIMITS)


def test_a_sequence_becomes_a_proxy_with_one_frame_per_file(tmp_path: Path) -> None:
    frames = []
    for index in range(6):
        frame = tmp_path / f"shot.{1001 + index:04d}.png"
        Image.fromarray(numbered_frame(index, 96, 64)).save(frame)
        frames.append(frame)
    media = make_review_media(frames[0], AssetKind.SEQUENCE, tmp_path / "review", LIMITS, frames=frames)
    assert media.kind == AssetKind.VIDEO
    assert (media.info["frames"], media.info["fps"], media.info["audio"]) == (6, "24/1", False)
    assert decoded_numbers(media.files[0].path) == list(range(6))


def test_a_model_that_cannot_be_read_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99999\nend_header\n\x00\x01")
    with pytest.raises(MediaError, match=r"broken\.ply"):
        make_review_media(broken, AssetKind.GEOMETRY, tmp_path / "review", LIMITS)
    assert not list((tmp_path / "review").iterdir())  # nothing half-written
