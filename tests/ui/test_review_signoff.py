"""Review sign-off between a supervisor and an artist through a real sync server on 127.0.0.1.

The artist (alice) works in the full window: the viewer's review panel, the grid's badges and status
filter. The supervisor (sam) signs off from his own review panel over his own local store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt

from core.catalog.records import AssetQuery, NewAsset, SortKey
from core.sync.wording import describe_status
from server import admin
from server.app import ServerConfig
from server.db import default_db_url, open_database
from tests.ui.conftest import new_assets, write_image
from tests.ui.test_sync_ui import Studio, _bridge
from ui.collab.review_status import NOT_REVIEWER, ReviewStatusPanel
from ui.library.asset_model import AssetRole
from ui.shell.sync_wiring import SyncUi

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.sync.client_events import NotificationsArrived
    from ui.shell.main_window import MainWindow
    from workers.sync_bridge import SyncBridge

ROLES = {"sam": "supervisor", "alice": "artist"}


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    url = default_db_url(data_dir)
    engine = open_database(url)
    project = admin.add_project(engine, "show")
    users, tokens = {}, {}
    for name, role in ROLES.items():
        users[name] = admin.add_user(engine, name, role, f"{name}-password")
        admin.add_member(engine, "show", name)
        tokens[name] = admin.issue_token(engine, users[name]).token
    engine.dispose()
    running = Studio(ServerConfig(db_url=url, port=0, ping_interval_s=None), project, users, tokens)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def people(qtbot: Any, tmp_path: Path, studio: Studio) -> Iterator[dict[str, SyncBridge]]:
    bridges = {name: _bridge(qtbot, tmp_path, name) for name in ROLES}
    for name, bridge in bridges.items():
        bridge.start(studio.url, studio.tokens[name])
    for bridge in bridges.values():
        qtbot.waitUntil(lambda b=bridge: describe_status(b.status) == "online", timeout=10_000)
    yield bridges
    for bridge in bridges.values():
        bridge.close()


@pytest.fixture
def shots(catalog: Catalog, tmp_path: Path) -> list[AssetRecord]:
    """Three real images in the artist's local project "show"."""
    project = catalog.create_project("show")
    new = []
    for index, colour in enumerate([(40, 90, 200), (200, 90, 40), (90, 200, 40)]):
        path = write_image(tmp_path / "shots" / f"shot{index:03d}.png", colour=colour)
        meta = {"width": 320, "height": 200}
        new.append(NewAsset(project.id, path.name, str(path), "image", f"shot-{index}", 1000, meta))
    ids = catalog.add_assets(new)
    records = [catalog.get_asset(ids[asset.content_hash]) for asset in new]
    assert all(records)
    return [r for r in records if r is not None]


def _artist_window(
    qtbot: Any, window: MainWindow, alice: SyncBridge, studio: Studio, shots: list[AssetRecord]
) -> SyncUi:
    """Alice links her project, publishes the shots and opens the first in the viewer."""
    ui = SyncUi(window, alice)
    project = shots[0].project_id
    ui.links.link(project, studio.project)
    window.sidebar.reload_projects(project)
    for record in shots:
        alice.store.ensure_asset(studio.project, record.name, record.kind, record.content_hash)
    qtbot.waitUntil(lambda: alice.store.pending_count() == 0, timeout=10_000)
    window.open_viewer(shots[0])
    qtbot.waitUntil(lambda: ui.review.asset_id is not None, timeout=5_000)
    return ui


def _supervisor_panel(qtbot: Any, sam: SyncBridge, studio: Studio, shot: AssetRecord) -> ReviewStatusPanel:
    def shared() -> str | None:
        return sam.store.find_asset(studio.project, shot.content_hash)

    qtbot.waitUntil(lambda: shared() is not None, timeout=10_000)
    panel = ReviewStatusPanel(sam)
    qtbot.addWidget(panel)
    panel.set_context(shared(), "")
    return panel


def _badge(window: MainWindow, record: AssetRecord) -> object:
    row = window.grid.model.row_of(record.id)
    assert row is not None
    return window.grid.model.index(row).data(AssetRole.Review)


def test_supervisor_signs_off_and_the_artist_sees_it(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], window: MainWindow, shots: list[AssetRecord]
) -> None:
    sam, alice = people["sam"], people["alice"]
    ui = _artist_window(qtbot, window, alice, studio, shots)
    # The artist may not sign off: both buttons are disabled and say why.
    assert ui.review.status_label.text() == "Pending review"
    assert not ui.review.approve_button.isEnabled()
    assert not ui.review.request_button.isEnabled()
    assert ui.review.note_label.text() == NOT_REVIEWER
    assert ui.review.approve_button.toolTip() == NOT_REVIEWER
    assert _badge(window, shots[0]) == "pending"

    # The supervisor approves the first shot from his panel.
    first = _supervisor_panel(qtbot, sam, studio, shots[0])
    assert first.approve_button.isEnabled()
    qtbot.mouseClick(first.approve_button, Qt.MouseButton.LeftButton)
    assert first.status_label.text() == "✓ Approved"
    qtbot.waitUntil(lambda: ui.review.status_label.text() == "✓ Approved", timeout=10_000)
    qtbot.waitUntil(lambda: _badge(window, shots[0]) == "approved", timeout=5_000)
    assert not ui.review.approve_button.isEnabled()

    # Requesting changes needs a reason: the dialog's OK stays disabled until there is one.
    second = _supervisor_panel(qtbot, sam, studio, shots[1])
    dialog = second.request_changes()
    assert dialog is not None
    assert not dialog.ok_button.isEnabled()
    dialog.reason_edit.setPlainText("   ")
    assert not dialog.ok_button.isEnabled()
    dialog.reason_edit.setPlainText("The horizon tilts to the left")
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert second.status_label.text() == "✗ Changes requested"
    assert second.reason_label.text() == "The horizon tilts to the left"
    qtbot.waitUntil(lambda: _badge(window, shots[1]) == "changes_requested", timeout=10_000)
    assert _badge(window, shots[2]) == "pending"

    # The status filter shows only the approved shot; "Any" shows all three again.
    grid = window.grid
    assert grid.filter_bar.review_combo.isVisibleTo(grid)
    grid.filter_bar.review_combo.setCurrentIndex(grid.filter_bar.review_combo.findData("approved"))
    assert [r.id for r in grid.model.records()] == [shots[0].id]
    assert grid.model.total == 1
    grid.filter_bar.review_combo.setCurrentIndex(grid.filter_bar.review_combo.findData("changes_requested"))
    assert [r.id for r in grid.model.records()] == [shots[1].id]
    # A verdict arriving while filtered re-filters: the third shot is approved too.
    third = _supervisor_panel(qtbot, sam, studio, shots[2])
    third.approve()
    grid.filter_bar.review_combo.setCurrentIndex(grid.filter_bar.review_combo.findData("approved"))
    qtbot.waitUntil(lambda: len(grid.model.records()) == 2, timeout=10_000)
    assert {r.id for r in grid.model.records()} == {shots[0].id, shots[2].id}
    grid.filter_bar.review_combo.setCurrentIndex(0)
    assert len(grid.model.records()) == 3


def test_a_verdict_given_offline_arrives_once(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], window: MainWindow, shots: list[AssetRecord]
) -> None:
    sam, alice = people["sam"], people["alice"]
    ui = _artist_window(qtbot, window, alice, studio, shots)
    panel = _supervisor_panel(qtbot, sam, studio, shots[0])
    verdicts: list[tuple[str, str]] = []

    def heard(event: NotificationsArrived) -> None:
        verdicts.extend((i.kind, i.record_id) for i in event.items if i.kind.startswith("review_"))

    alice.notifications_arrived.connect(heard)

    studio.stop()
    qtbot.waitUntil(lambda: describe_status(sam.status) in ("offline", "connecting…"), timeout=10_000)
    qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)
    assert panel.status_label.text() == "✓ Approved"  # at once, on the reviewer's machine
    assert sam.store.pending_count() == 1
    assert ui.review.status_label.text() == "Pending review"

    studio.start()  # same database, same port
    qtbot.waitUntil(lambda: sam.store.pending_count() == 0, timeout=15_000)
    qtbot.waitUntil(lambda: ui.review.status_label.text() == "✓ Approved", timeout=15_000)
    qtbot.waitUntil(lambda: _badge(window, shots[0]) == "approved", timeout=5_000)
    # Exactly once: a later change from the same reviewer arrives after any repeat of the verdict would.
    later = _supervisor_panel(qtbot, sam, studio, shots[1])
    later.approve()
    qtbot.waitUntil(lambda: _badge(window, shots[1]) == "approved", timeout=10_000)
    qtbot.waitUntil(lambda: any(record == later.asset_id for _k, record in verdicts), timeout=10_000)
    assert verdicts == [("review_approved", panel.asset_id), ("review_approved", later.asset_id)]


@pytest.mark.parametrize("sort", [SortKey.NAME, SortKey.SIZE, SortKey.RATING])
def test_the_status_filter_pages_and_counts_like_any_filter(catalog: Catalog, sort: SortKey) -> None:
    project = catalog.create_project("show")
    catalog.add_assets(new_assets(project.id, 9, prefix="plate"))
    wanted = frozenset(f"plate-image-{i}" for i in (1, 2, 5, 8))
    query = AssetQuery(project_id=project.id, sort=sort, content_hashes=wanted)
    seen: list[AssetRecord] = []
    while page := catalog.page_assets(query, seen[-1] if seen else None, 3):
        seen.extend(page)
    assert sorted(r.content_hash for r in seen) == sorted(wanted)
    assert len({r.id for r in seen}) == len(seen)  # keyset paging: no repeats across pages
    assert catalog.count_assets(query) == 4
    assert catalog.count_assets(replace(query, content_hashes=frozenset())) == 0
