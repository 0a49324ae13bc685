"""Review sessions in the window: a playlist from the grid's selection plays back to back in the viewer
(clips to their end, stills for a moment), the viewer's arrows step through it, and its report is
exported from the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.catalog.records import NewAsset
from tests.core.video.clips import write_numbered_clip
from tests.ui.conftest import write_image
from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow


def session(tmp_path: Path, window: MainWindow, catalog: Catalog) -> None:
    project = catalog.create_project("Dailies")
    still = write_image(tmp_path / "a_matte.png", 80, 60)
    clips = [write_numbered_clip(tmp_path / f"{n}_shot.mp4", frames=12, codec="mpeg4") for n in ("b", "c")]
    catalog.add_assets([
        NewAsset(project.id, still.name, str(still), "image", "h-still", 10, {"width": 80, "height": 60}),
        *[NewAsset(project.id, c.name, str(c), "video", f"h-{c.name}", 10, {"fps": 24, "audio": False})
          for c in clips],
    ])  # fmt: skip
    window.sidebar.reload_projects(project.id)
    window.grid.view.selectAll()
    assert len(window.grid.selected_records()) == 3


def test_a_playlist_from_the_selection_plays_back_to_back(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    session(tmp_path, window, catalog)
    review = window.review
    playlist = review.create_playlist("Dailies 12 May")
    assert playlist is not None
    assert [r.name for r in catalog.playlists.items(playlist.id)] == [
        "a_matte.png",
        "b_shot.mp4",
        "c_shot.mp4",
    ]
    assert "3 items" in window.statusBar().currentMessage()

    review.run.set_still_seconds(0.3)
    shown: list[int] = []
    review.run.item_shown.connect(shown.append)
    with qtbot.waitSignal(review.run.finished, timeout=15_000):
        review.play(playlist)
    assert shown == [0, 1, 2]
    player = window.viewer.current_page()
    assert isinstance(player, VideoPlayer)
    assert player.current_frame == 11  # the last clip played to its end
    assert window.viewer.bar.info.text().endswith("Dailies 12 May \u00b7 3 of 3")


def test_the_viewer_arrows_step_through_the_playlist_until_another_asset_is_shown(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    session(tmp_path, window, catalog)
    review = window.review
    playlist = review.create_playlist("Walkthrough")
    assert playlist is not None
    catalog.playlists.set_items(playlist.id, [r.id for r in reversed(catalog.playlists.items(playlist.id))])
    review.run.set_still_seconds(60)
    review.play(playlist)
    assert window.viewer.bar.title.text() == "c_shot.mp4"
    window.viewer.navigate.emit(1)  # Right in the viewer
    assert window.viewer.bar.title.text() == "b_shot.mp4"
    assert review.run.position == 1
    window.open_viewer(window.model.records()[0])  # the user picks something else: the session ends
    assert not review.run.active
    window.viewer.navigate.emit(1)
    assert window.viewer.bar.title.text() == "b_shot.mp4"  # the grid's next asset again
    del qtbot


def test_the_report_is_exported_from_the_app(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    session(tmp_path, window, catalog)
    playlist = window.review.create_playlist("Dailies")
    assert playlist is not None
    out = tmp_path / "dailies.html"
    with qtbot.waitSignal(window.review.report_written, timeout=20_000):
        window.review.export_report(playlist, out)
    page = out.read_text(encoding="utf-8")
    assert page.count('<section class="item"') == 3
    assert page.count("data:image/jpeg;base64,") == 3  # a picture of each item, notes or not
    assert "Wrote dailies.html: 3 items, 0 notes" in window.statusBar().currentMessage()
