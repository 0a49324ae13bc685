"""A/B compare of two playing clips: pairs are always the same frame number, in every mode (the same
moment when the rates differ); B that is shorter holds its last frame; the viewer opens it for two
clips and Esc returns to A."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PySide6.QtGui import QImage

from core.catalog.records import NewAsset
from core.media.compare import CompareMode
from core.video.frames import VideoFrameSource
from tests.core.video.clips import numbered_frame, read_number, write_numbered_clip
from ui.viewer.clip_compare import ClipComparePage, paired_frame

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow


def write_inverted_clip(path: Path, frames: int, size: tuple[int, int] = (128, 96), rate: int = 24) -> Path:
    """Another version of the shot: the same numbering, colours inverted, twice the resolution."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.time_base = Fraction(1, rate)
        stream.options = {"qscale": "2"}
        for index in range(frames):
            picture = 255 - numbered_frame(index, *size)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("clip_compare")
    a = write_numbered_clip(folder / "shot_v001.mp4", frames=48, codec="mpeg4")
    b = write_inverted_clip(folder / "shot_v002.mp4", frames=48)
    short = write_inverted_clip(folder / "shot_short.mp4", frames=10)
    return a, b, short


def open_page(qtbot: Any, a: Path, b: Path) -> ClipComparePage:
    page = ClipComparePage(
        ("v001", "v002"), (lambda: VideoFrameSource(a), lambda: VideoFrameSource(b)), None, None
    )
    qtbot.addWidget(page)
    page.resize(640, 420)
    page.show()
    with qtbot.waitSignal(page.pair_canvas.pair_shown, timeout=10_000):
        pass
    return page


@pytest.fixture
def page(qtbot: Any, clips: tuple[Path, Path, Path]) -> Iterator[ClipComparePage]:
    widget = open_page(qtbot, clips[0], clips[1])
    yield widget
    widget.close_page()


def pair_numbers(page: ClipComparePage) -> tuple[int, int]:
    a = rgb(page.pair_canvas.image())
    return read_number(a), read_number(255 - rgb(page.pair_canvas.b_image()))


def test_every_pair_shown_while_playing_is_one_frame_number(qtbot: Any, page: ClipComparePage) -> None:
    pairs: list[tuple[int, int, int]] = []
    page.pair_canvas.pair_shown.connect(lambda frame: pairs.append((frame, *pair_numbers(page))))
    page.player.play()
    qtbot.waitUntil(lambda: not page.player.is_playing, timeout=10_000)
    # Playback ends on the last frame; on a loaded machine its pair may be painted just after the
    # player reports it stopped.
    qtbot.waitUntil(lambda: bool(pairs) and pairs[-1][0] == 47, timeout=5_000)
    assert len(pairs) > 24
    assert [p for p in pairs if not p[0] == p[1] == p[2]] == []


def test_seek_shows_the_pair_of_that_frame(qtbot: Any, page: ClipComparePage) -> None:
    with qtbot.waitSignal(page.pair_canvas.pair_shown, check_params_cb=lambda f: f == 30, timeout=5_000):
        page.seek(30)
    assert pair_numbers(page) == (30, 30)
    assert page.current_frame == 30


def grab(page: ClipComparePage) -> np.ndarray:
    return rgb(page.pair_canvas.grab().toImage())


def test_modes_paint_a_and_b_as_the_still_compare_does(qtbot: Any, page: ClipComparePage) -> None:
    del qtbot
    canvas = page.pair_canvas
    shown = canvas.image_rect().toRect()
    y = shown.top() + shown.height() * 3 // 4  # the gradient half: A and B differ everywhere
    left, right = shown.left() + 4, shown.right() - 4
    page.set_mode(CompareMode.WIPE)
    wiped = grab(page)
    page.set_mode(CompareMode.DIFFERENCE)
    diff = grab(page)
    page.set_mode(CompareMode.SIDE_BY_SIDE)
    side = grab(page)
    page.swap_button.click()
    swapped = grab(page)
    # B is A inverted: the wipe's right half is the inverse of what its left half continues as.
    a_left = wiped[y, left].astype(int)
    assert abs(int(wiped[y, right][2]) - (255 - 60)) <= 12  # B's blue (A's is 60)
    assert abs(a_left[2] - 60) <= 12
    # |A - B| of a picture and its inverse is |2A - 255|: blue 60 -> 135.
    assert abs(int(diff[y, left][2]) - 135) <= 14
    # Side by side puts A left and B right; swapping exchanges them.
    half = canvas.width() // 2
    assert abs(int(side[y, half // 2][2]) - 60) <= 12
    assert abs(int(swapped[y, half // 2][2]) - 195) <= 12


def test_a_shorter_b_holds_its_last_frame(qtbot: Any, clips: tuple[Path, Path, Path]) -> None:
    page = open_page(qtbot, clips[0], clips[2])
    with qtbot.waitSignal(page.pair_canvas.pair_shown, check_params_cb=lambda f: f == 20, timeout=5_000):
        page.seek(20)
    assert pair_numbers(page) == (20, 9)
    page.close_page()


def test_frames_pair_by_time_when_the_rates_differ(qtbot: Any, tmp_path: Path) -> None:
    a = write_numbered_clip(tmp_path / "shot_24.mp4", frames=48, codec="mpeg4")
    b = write_inverted_clip(tmp_path / "shot_25.mp4", frames=50, rate=25)
    page = open_page(qtbot, a, b)
    # 1.5 s into A (frame 36 at 24 fps) is B's frame 37 (37.5 at 25 fps, the one on screen then);
    # by number B would be 1/25 s behind for every second played.
    with qtbot.waitSignal(page.pair_canvas.pair_shown, check_params_cb=lambda f: f == 36, timeout=5_000):
        page.seek(36)
    assert pair_numbers(page) == (36, 37)
    assert [paired_frame(n, Fraction(24), Fraction(25), 50) for n in (0, 23, 24, 47)] == [0, 23, 25, 48]
    assert paired_frame(47, Fraction(25), Fraction(24), 10) == 9  # a shorter B holds its last frame
    page.close_page()


def test_the_viewer_plays_two_clips_in_compare_and_esc_returns_to_a(
    qtbot: Any, window: MainWindow, catalog: Catalog, clips: tuple[Path, Path, Path]
) -> None:
    project = catalog.create_project("Dailies")
    ids = catalog.add_assets([
        NewAsset(project.id, p.name, str(p), "video", f"h-{p.name}", 10, {"fps": 24, "audio": False})
        for p in clips[:2]
    ])  # fmt: skip
    records = catalog.get_assets(sorted(ids.values()))
    window.viewer.show_compare(records[0], records[1])
    page = window.viewer.current_page()
    assert isinstance(page, ClipComparePage)
    with qtbot.waitSignal(page.pair_canvas.pair_shown, timeout=10_000):
        pass
    assert window.viewer.bar.info.text() == "A/B compare (playing)"
    window.viewer.escape()
    assert not isinstance(window.viewer.current_page(), ClipComparePage)
    assert window.viewer.bar.title.text() == records[0].name
