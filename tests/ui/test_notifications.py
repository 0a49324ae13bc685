"""Notifier preferences and the notification centre, over a real catalog."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from core.catalog.catalog import Catalog
from core.settings import Settings
from tests.ui.conftest import RecordingTray
from ui.shell.notifications import NotificationCentre, Notifier


def test_off_records_without_balloon(qapp: Any, catalog: Catalog) -> None:
    tray = RecordingTray()
    notifier = Notifier(catalog, Settings(notify_render="off"), tray)
    notifier.notify("render", "Rendered 12 models: 11 ok, 1 failed", "rock.obj: timeout", level="warning")
    notifier.flush()
    assert tray.messages == []
    stored = catalog.notifications.recent()
    assert [(n.title, n.level, n.read) for n in stored] == [
        ("Rendered 12 models: 11 ok, 1 failed", "warning", False)
    ]


def test_immediate_pops_one_balloon_per_call(qapp: Any, catalog: Catalog) -> None:
    tray = RecordingTray()
    notifier = Notifier(catalog, Settings(notify_mention="immediate"), tray)
    notifier.notify("mention", "Ana mentioned you", "on shot040_comp")
    assert tray.messages == [("Ana mentioned you", "on shot040_comp", "info")]


def test_batched_folds_a_burst_into_one_balloon(qtbot: Any, catalog: Catalog) -> None:
    tray = RecordingTray()
    notifier = Notifier(catalog, Settings(notify_ingest="batched"), tray, batch_window_ms=50)
    notifier.notify("ingest", "Ingested 120 files: 117 ready, 3 failed", level="warning")
    notifier.notify("ingest", "Ingested 4 files: 4 ready")
    assert tray.messages == []
    qtbot.waitUntil(lambda: bool(tray.messages), timeout=2000)
    assert len(tray.messages) == 1
    title, body, level = tray.messages[0]
    assert title == "2 updates"
    assert "Ingested 120 files" in body
    assert "Ingested 4 files" in body
    assert level == "warning"
    assert catalog.notifications.unread_count() == 2


def test_centre_lists_unread_bold_and_follows_targets(qtbot: Any, catalog: Catalog) -> None:
    notifier = Notifier(catalog, Settings(), None)
    centre = NotificationCentre(catalog, notifier)
    qtbot.addWidget(centre)
    notifier.notify("render", "Render failed", level="error", target={"asset_id": 42})
    notifier.notify("comment", "New comment")
    assert centre.list.count() == 2
    assert centre.unread_count() == 2
    assert centre.list.item(0).font().bold()
    assert centre.list.item(0).text().startswith("New comment")

    with qtbot.waitSignal(centre.asset_requested) as blocker:
        centre.list.itemClicked.emit(centre.list.item(1))
    assert blocker.args == [42]
    assert not centre.list.item(1).font().bold()
    assert catalog.notifications.unread_count() == 1

    centre.mark_all_read()
    assert catalog.notifications.unread_count() == 0
    assert not centre.list.item(0).font().bold()
    assert not centre.mark_all_button.isEnabled()
    assert centre.summary.text() == "All caught up"
    assert centre.list.item(0).foreground().color() != Qt.GlobalColor.white
