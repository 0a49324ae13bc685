"""The one notification seam: every message is recorded in the catalog and may pop one tray balloon.

Callers hand over one summary per batch ("Ingested 120 files: 117 ready, 3 failed"), never one per
file. Per-kind preferences from settings (``notify_<kind>``): ``immediate`` pops a balloon now,
``batched`` waits a few seconds and folds everything that arrived meanwhile into one balloon, ``off``
records in the notification centre without a balloon. The tray sits behind ``TrayPresenter`` so tests
(and platforms without a tray) see exactly what would pop up.

The centre keeps three lists apart (``core.notify.section_of``): *activity* (what the user's own work
produced), *notifications* (what other people did) and *alerts* (a stalled step, jobs recovered after a
crash, the sync connection lost), so an alert is never buried under a hundred finished renders.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.jobs.model import JobState
from core.notify import USER_BATCH_PREFIX, NotificationKind, NotificationSection, section_of, sync_lost_alert
from ui.common import theme
from ui.common.dialogs import IngestFailuresDialog

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.catalog import Catalog
    from core.catalog.records import NotificationRecord
    from core.notify import JobAlert
    from core.settings import NotifyMode, Settings

log = logging.getLogger(__name__)

BATCH_WINDOW_MS = 4000
LEVELS = ("info", "success", "warning", "error")
SECTION_TITLES = {
    NotificationSection.ACTIVITY: "Activity",
    NotificationSection.NOTIFICATIONS: "Notifications",
    NotificationSection.ALERTS: "Alerts",
}
# Sync states in which the connection is up; leaving them for one of LOST_STATES raises an alert.
CONNECTED_STATES = ("online", "syncing", "catching up")
LOST_STATES = ("offline", "connecting", "sign in again")


class TrayPresenter(Protocol):
    def show_message(self, title: str, body: str, level: str) -> None: ...


class TrayMenu(QMenu):
    """The tray icon's menu: bring the window back, hold or release queued jobs, quit."""

    def __init__(
        self,
        show_window: Callable[[], None],
        set_jobs_paused: Callable[[bool], None],
        quit_app: Callable[[], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._set_jobs_paused = set_jobs_paused
        self.show_action = self.addAction("Show StratoPipe")
        self.show_action.triggered.connect(lambda: show_window())
        self.pause_action = self.addAction("Pause jobs")
        self.pause_action.setCheckable(True)
        self.pause_action.setToolTip("Queued jobs wait; running ones finish")
        self.pause_action.toggled.connect(self._on_pause_toggled)
        self.addSeparator()
        self.quit_action = self.addAction("Quit")
        self.quit_action.triggered.connect(lambda: quit_app())

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_action.setText("Resume jobs" if paused else "Pause jobs")
        self._set_jobs_paused(paused)


class SystemTrayPresenter:
    """Balloons through the desktop's system tray, and its menu once attached."""

    def __init__(self, tray: QSystemTrayIcon) -> None:
        self.tray = tray
        self.menu: TrayMenu | None = None

    @classmethod
    def create(cls, parent: QObject | None = None) -> SystemTrayPresenter | None:
        """None where the desktop has no tray (offscreen, bare X servers, some Wayland sessions)."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            log.info("No system tray available: notifications go to the notification centre only")
            return None
        tray = QSystemTrayIcon(theme.icon("app"), parent)
        tray.setToolTip("StratoPipe")
        tray.show()
        return cls(tray)

    def attach_menu(self, menu: TrayMenu) -> None:
        """Right click opens the menu; a left click (``Trigger``) shows the window, as tray apps do."""
        self.menu = menu  # the tray does not own its context menu: keep it alive here
        self.tray.setContextMenu(menu)
        self.tray.activated.connect(self._on_activated)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if self.menu is not None and reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.show_action.trigger()

    def show_message(self, title: str, body: str, level: str) -> None:
        icons = {
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "error": QSystemTrayIcon.MessageIcon.Critical,
        }
        self.tray.showMessage(title, body, icons.get(level, QSystemTrayIcon.MessageIcon.Information), 6000)


class Notifier(QObject):
    notification_added = Signal(object)  # NotificationRecord

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        tray: TrayPresenter | None,
        *,
        batch_window_ms: int = BATCH_WINDOW_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._settings = settings
        self._tray = tray
        self._held: list[NotificationRecord] = []
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(batch_window_ms)
        self._batch_timer.timeout.connect(self.flush)

    @property
    def tray(self) -> TrayPresenter | None:
        return self._tray

    def mode_for(self, kind: NotificationKind) -> NotifyMode:
        return self._settings.notify_mode(kind)

    def notify(
        self,
        kind: NotificationKind,
        title: str,
        body: str = "",
        level: str = "info",
        target: dict[str, Any] | None = None,
    ) -> NotificationRecord:
        """Record a notification (UI thread) and pop at most one balloon for it."""
        record = self._catalog.notifications.add(
            kind, title, body, level=level if level in LEVELS else "info", target=target
        )
        self.notification_added.emit(record)
        mode = self.mode_for(kind)
        if mode == "immediate":
            self._show(record.title, record.body, record.level)
        elif mode == "batched":
            self._held.append(record)
            if not self._batch_timer.isActive():
                self._batch_timer.start()
        return record

    def alert(self, alert: JobAlert) -> NotificationRecord:
        """Record an alert (its own section in the centre) and pop it as the alert preference says."""
        return self.notify(NotificationKind.ALERT, alert.title, alert.body, "warning", alert.target)

    def flush(self) -> None:
        """Pop the held batch now as one balloon (also called at quit so nothing is silently lost)."""
        self._batch_timer.stop()
        held, self._held = self._held, []
        if not held:
            return
        if len(held) == 1:
            self._show(held[0].title, held[0].body, held[0].level)
            return
        worst = max(held, key=lambda r: LEVELS.index(r.level) if r.level in LEVELS else 0).level
        body = "\n".join(f"• {r.title}" for r in held[:5])
        if len(held) > 5:
            body += f"\n… and {len(held) - 5} more in the notification centre"
        self._show(f"{len(held)} updates", body, worst)

    def _show(self, title: str, body: str, level: str) -> None:
        if self._tray is None:
            return
        try:
            self._tray.show_message(title, body, level)
        except RuntimeError:
            log.exception("Tray notification failed")


def _level_icon(level: str) -> QIcon:
    colours = {"success": theme.SUCCESS, "warning": theme.WARNING, "error": theme.ERROR}
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colours.get(level, theme.ACCENT))
    painter.drawEllipse(2, 2, 8, 8)
    painter.end()
    return QIcon(pixmap)


def _age(timestamp: float, now: float) -> str:
    seconds = max(0.0, now - timestamp)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return time.strftime("%d %b %H:%M", time.localtime(timestamp))


RecordRole = Qt.ItemDataRole.UserRole + 1
MAX_PER_SECTION = 200


def batch_job_kind(target: dict[str, Any]) -> str:
    """The job kind of a batch notification from its batch id ("ingest-1a2b/thumbnail/render" ->
    "render", "classify-9f8e" -> "classify"); "" when the notification is not about a batch."""
    batch = target.get("batch")
    if not isinstance(batch, str) or not batch:
        return ""
    batch = batch.removeprefix(USER_BATCH_PREFIX)
    last = batch.rsplit("/", 1)[-1]
    return last.split("-", 1)[0] if "/" not in batch else last


class SyncLossAlerts:
    """Raises an alert when the sync connection goes from up to down (not when the user signs out)."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._connected = False

    def update(self, state: str) -> None:
        if state.startswith(CONNECTED_STATES):
            self._connected = True
        elif state.startswith(LOST_STATES) and self._connected:
            self._connected = False
            self._notifier.alert(sync_lost_alert(state))
        elif state == "not signed in":
            self._connected = False


class NotificationCentre(QWidget):
    """Recent notifications in three tabs (activity, notifications, alerts), unread in bold.
    Activating one marks it read and follows its target."""

    asset_requested = Signal(object)  # int asset id
    asset_open_requested = Signal(object)  # int asset id whose result is seen in the viewer
    job_requested = Signal(object)  # int job id (a batch's first failed job, an alert's job)
    unread_changed = Signal(object)  # int

    def __init__(self, catalog: Catalog, notifier: Notifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._icons = {level: _level_icon(level) for level in LEVELS}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        header = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("Dim")
        self.mark_all_button = QPushButton("Mark all read")
        self.mark_all_button.clicked.connect(self.mark_all_read)
        header.addWidget(self.summary, 1)
        header.addWidget(self.mark_all_button)
        layout.addLayout(header)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("NotificationSections")
        self.tabs.setDocumentMode(True)
        self.lists: dict[NotificationSection, QListWidget] = {}
        for section, title in SECTION_TITLES.items():
            section_list = QListWidget()
            section_list.setObjectName("NotificationList")
            section_list.setWordWrap(True)
            section_list.setUniformItemSizes(False)
            section_list.itemActivated.connect(self._on_activated)
            section_list.itemClicked.connect(self._on_activated)
            self.lists[section] = section_list
            self.tabs.addTab(section_list, title)
        # The activity list: what most notifications are (finished ingests, renders, analyses).
        self.list = self.lists[NotificationSection.ACTIVITY]
        layout.addWidget(self.tabs, 1)
        notifier.notification_added.connect(self._on_added)
        self.reload()

    def reload(self) -> None:
        for section_list in self.lists.values():
            section_list.clear()
        now = time.time()
        for record in self._catalog.notifications.recent(limit=600):
            section_list = self.lists[section_of(record.kind)]
            if section_list.count() < MAX_PER_SECTION:
                section_list.addItem(self._make_item(record, now))
        self._update_summary()

    def _items(self) -> list[QListWidgetItem]:
        return [lst.item(i) for lst in self.lists.values() for i in range(lst.count())]

    def unread_count(self, section: NotificationSection | None = None) -> int:
        lists = [self.lists[section]] if section is not None else list(self.lists.values())
        return sum(1 for lst in lists for i in range(lst.count()) if not self._record(lst.item(i)).read)

    def mark_all_read(self) -> None:
        self._catalog.notifications.mark_read()
        for item in self._items():
            self._set_read(item)
        self._update_summary()

    def _on_added(self, record: NotificationRecord) -> None:
        section_list = self.lists[section_of(record.kind)]
        section_list.insertItem(0, self._make_item(record, time.time()))
        while section_list.count() > MAX_PER_SECTION:
            section_list.takeItem(section_list.count() - 1)
        self._update_summary()

    def _make_item(self, record: NotificationRecord, now: float) -> QListWidgetItem:
        text = record.title
        if record.body:
            text += "\n" + record.body
        text += f"\n{_age(record.created_at, now)}"
        item = QListWidgetItem(self._icons.get(record.level, self._icons["info"]), text)
        item.setData(RecordRole, record)
        if record.target.get("failures"):
            item.setToolTip("Open the list of files that failed")
        font = QFont(item.font())
        font.setBold(not record.read)
        item.setFont(font)
        if record.read:
            item.setForeground(QColor(theme.TEXT_DIM))
        return item

    def _record(self, item: QListWidgetItem) -> NotificationRecord:
        record: NotificationRecord = item.data(RecordRole)
        return record

    def _set_read(self, item: QListWidgetItem) -> None:
        record = self._record(item)
        if not record.read:
            from dataclasses import replace

            item.setData(RecordRole, replace(record, read=True))
        font = QFont(item.font())
        font.setBold(False)
        item.setFont(font)
        item.setForeground(QColor(theme.TEXT_DIM))

    def _on_activated(self, item: QListWidgetItem) -> None:
        record = self._record(item)
        if not record.read:
            self._catalog.notifications.mark_read([record.id])
            self._set_read(item)
            self._update_summary()
        failures = record.target.get("failures")
        job_kind = batch_job_kind(record.target)
        if failures and job_kind in ("", "ingest"):
            dialog = IngestFailuresDialog(
                [(str(p), str(e)) for p, e in failures], self.window(), title=record.title
            )
            dialog.show()
        elif job_kind and not record.target.get("open_viewer"):
            self._follow_batch(record, job_kind)
        asset_id = record.target.get("asset_id")
        asset_ids = record.target.get("asset_ids") or []
        if record.target.get("open_viewer") and asset_ids and isinstance(asset_ids[0], int):
            self.asset_open_requested.emit(asset_ids[0])
        elif isinstance(asset_id, int):
            self.asset_requested.emit(asset_id)
        job_id = record.target.get("job_id")
        if record.target.get("alert") and isinstance(job_id, int):
            self.job_requested.emit(job_id)

    def _follow_batch(self, record: NotificationRecord, job_kind: str) -> None:
        """A job batch ("Rendered 12 models: 11 ok, 1 failed"): its first failed job, else its first asset."""
        asset_ids = [i for i in record.target.get("asset_ids") or [] if isinstance(i, int)]
        if record.target.get("failed") or record.target.get("failures"):
            members = set(asset_ids)
            failed = self._catalog.jobs.find(states=[JobState.FAILED], kind=job_kind, limit=2000)
            first = next((d for d in reversed(failed) if d.asset_id in members and d.id is not None), None)
            if first is not None:
                self.job_requested.emit(first.id)
                return
        if asset_ids:
            self.asset_requested.emit(asset_ids[0])

    def _update_summary(self) -> None:
        unread = self.unread_count()
        self.summary.setText(f"{unread} unread" if unread else "All caught up")
        self.mark_all_button.setEnabled(unread > 0)
        for index, (section, title) in enumerate(SECTION_TITLES.items()):
            count = self.unread_count(section)
            self.tabs.setTabText(index, f"{title} ({count})" if count else title)
        alerts = self.unread_count(NotificationSection.ALERTS)
        self.tabs.tabBar().setTabTextColor(2, theme.WARNING if alerts else theme.TEXT)
        self.unread_changed.emit(unread)
