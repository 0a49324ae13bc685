from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from core.media.errors import InvalidMediaError, UnreadableMediaError
from core.media.kinds import AssetKind, detect_kind, is_hidden_or_system
from tests.core.media.conftest import gradient_bgr, write_image, write_video


def _png_bytes() -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", gradient_bgr())
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp", ".bmp", ".hdr"])
def test_images_written_by_opencv_are_images(media_dir: Path, suffix: str) -> None:
    image = gradient_bgr().astype(np.float32) / 255 if suffix == ".hdr" else gradient_bgr()
    path = write_image(media_dir / f"card{suffix}", image)
    assert detect_kind(path) is AssetKind.IMAGE


def test_content_wins_over_a_wrong_extension(media_dir: Path) -> None:
    png_named_jpg = media_dir / "really_png.jpg"
    png_named_jpg.write_bytes(_png_bytes())
    png_named_txt = media_dir / "render output.txt"
    png_named_txt.write_bytes(_png_bytes())
    assert detect_kind(png_named_jpg) is AssetKind.IMAGE
    assert detect_kind(png_named_txt) is AssetKind.IMAGE


def test_extensionless_video_is_found_by_its_ftyp_box(media_dir: Path) -> None:
    clip = write_video(media_dir / "clip.mp4", seconds=0.5)
    renamed = clip.rename(media_dir / "clip_without_extension")
    assert detect_kind(renamed) is AssetKind.VIDEO


@pytest.mark.parametrize(
    ("file_type", "extension"),
    [("obj", ".obj"), ("stl", ".stl"), ("stl_ascii", ".stl"), ("ply", ".ply"), ("off", ".off"),
     ("glb", ".glb"), ("3mf", ".3mf")],
)  # fmt: skip
def test_meshes_are_geometry(media_dir: Path, file_type: str, extension: str) -> None:
    path = media_dir / f"box{extension}"
    trimesh.creation.box().export(path, file_type=file_type)
    assert detect_kind(path) is AssetKind.GEOMETRY


def test_3mf_and_glb_are_recognised_without_their_extension(media_dir: Path) -> None:
    glb = media_dir / "mesh.bin"
    trimesh.creation.box().export(glb, file_type="glb")
    three_mf = media_dir / "printable.zip"
    three_mf.write_bytes(trimesh.creation.box().export(file_type="3mf"))
    assert detect_kind(glb) is AssetKind.GEOMETRY
    assert detect_kind(three_mf) is AssetKind.GEOMETRY


def test_documents_and_office_zips(media_dir: Path) -> None:
    pdf = media_dir / "brief"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF\n")
    docx = media_dir / "notes.docx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    notes = media_dir / "readme.md"
    notes.write_text("# Shot notes\nFix the flicker in 1040-1050.\n", encoding="utf-8")
    assert detect_kind(pdf) is AssetKind.DOCUMENT
    assert detect_kind(docx) is AssetKind.DOCUMENT
    assert detect_kind(notes) is AssetKind.DOCUMENT


def test_obj_text_without_extension_is_geometry(media_dir: Path) -> None:
    path = media_dir / "export"
    path.write_text("o cube\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", encoding="utf-8")
    assert detect_kind(path) is AssetKind.GEOMETRY


def test_binary_junk_is_other(media_dir: Path) -> None:
    junk = media_dir / "mystery.bin"
    junk.write_bytes(bytes(range(256)) * 16)
    assert detect_kind(junk) is AssetKind.OTHER


def test_zero_bytes_is_refused(media_dir: Path) -> None:
    empty = media_dir / "empty.png"
    empty.touch()
    with pytest.raises(InvalidMediaError, match=r"empty \(0 bytes\).*empty\.png"):
        detect_kind(empty)


def test_missing_file_is_unreadable(media_dir: Path) -> None:
    with pytest.raises(UnreadableMediaError, match="no longer exists"):
        detect_kind(media_dir / "gone.exr")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_is_unreadable(media_dir: Path) -> None:
    locked = media_dir / "locked.png"
    locked.write_bytes(_png_bytes())
    locked.chmod(0)
    try:
        with pytest.raises(UnreadableMediaError, match="permission denied"):
            detect_kind(locked)
    finally:
        locked.chmod(0o644)


@pytest.mark.parametrize(
    ("path", "hidden"),
    [
        ("shots/.DS_Store", True),
        ("shots/Thumbs.db", True),
        ("shots/desktop.ini", True),
        ("shots/._plate.exr", True),
        ("shots/.hidden.png", True),
        ("archive/__MACOSX/plate.exr", True),
        ("shots/~$budget.xlsx", True),
        ("shots/plate.0001.exr", False),
        ("/home/me/.local/share/library/plate.exr", False),
    ],
)
def test_hidden_and_system_files(path: str, hidden: bool) -> None:
    assert is_hidden_or_system(Path(path)) is hidden


@pytest.mark.parametrize("container", [".mkv", ".avi", ".ts", ".mov"])
def test_video_containers_are_recognised_by_content(media_dir: Path, container: str) -> None:
    clip = write_video(media_dir / f"clip{container}", seconds=0.3)
    disguised = clip.rename(media_dir / f"clip{container}.dat")
    assert detect_kind(disguised) is AssetKind.VIDEO
