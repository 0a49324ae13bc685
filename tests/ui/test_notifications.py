"""Notifier preferences and the notification centre, over a real catalog."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from core.catalog.catalog import Catalog
from core.notify import NotificationSection, recovered_alert, stall_alert
from core.settings import Settings
from tests.ui.conftest import RecordingTray
from ui.shell.notifications import NotificationCentre, Notifier, SyncLossAlerts


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
    notifier.notify("render", "Rendered rock.obj")
    assert centre.list.count() == 2
    assert centre.unread_count() == 2
    assert centre.list.item(0).font().bold()
    assert centre.list.item(0).text().startswith("Rendered rock.obj")

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


def test_centre_keeps_activity_notifications_and_alerts_apart(qtbot: Any, catalog: Catalog) -> None:
    tray = RecordingTray()
    notifier = Notifier(catalog, Settings(), tray)
    notifier.notify("render", "Rendered rock.obj")
    notifier.notify("comment", "New comment", "Ana on shot040")
    notifier.alert(stall_alert(7, "render_preview", "no progress for 301 s (stall timeout 300 s)"))
    centre = NotificationCentre(catalog, notifier)  # built after: the sections come from the catalog too
    qtbot.addWidget(centre)
    notifier.alert(recovered_alert(3, 12))

    texts = {
        section: [lst.item(i).text() for i in range(lst.count())] for section, lst in centre.lists.items()
    }
    assert [t.splitlines()[0] for t in texts[NotificationSection.ACTIVITY]] == ["Rendered rock.obj"]
    assert [t.splitlines()[0] for t in texts[NotificationSection.NOTIFICATIONS]] == ["New comment"]
    assert [t.splitlines()[0] for t in texts[NotificationSection.ALERTS]] == [
        "Recovered 3 interrupted jobs",
        "Step render_preview stalled",
    ]
    assert [centre.tabs.tabText(i) for i in range(3)] == ["Activity (1)", "Notifications (1)", "Alerts (2)"]
    assert tray.messages[-1][0] == "Recovered 3 interrupted jobs", "alerts pop at once by default"

    alerts = centre.lists[NotificationSection.ALERTS]
    with qtbot.waitSignal(centre.job_requested) as blocker:
        alerts.itemClicked.emit(alerts.item(1))
    assert blocker.args == [7], "an alert leads to its job"
    assert centre.tabs.tabText(2) == "Alerts (1)"


def test_lost_sync_raises_one_alert_per_loss_and_none_at_sign_out(qapp: Any, catalog: Catalog) -> None:
    notifier = Notifier(catalog, Settings(), None)
    alerts = SyncLossAlerts(notifier)
    for state in ("connecting…", "offline", "online", "syncing 3", "offline", "connecting…", "online"):
        alerts.update(state)
    alerts.update("not signed in")
    alerts.update("offline")
    titles = [n.title for n in catalog.notifications.recent() if n.kind == "alert"]
    assert titles == ["Sync connection lost"], (
        "offline before ever connecting, or after signing out, is no loss"
    )
