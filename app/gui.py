"""The desktop app's start-up and shutdown: each step logged with its time, dependencies built here and
passed in, and one shutdown path whether the user closed the window, chose Quit, or sent Ctrl+C/SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.logging_setup import configure_app_logging

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import QMessageLogContext, QtMsgType

    from app.runtime import Runtime
    from core.lane_resources import LaneResources
    from core.links import LaunchRequest
    from ui.shell.main_window import MainWindow
    from workers.background import BackgroundWork
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController
    from workers.lanes import Lanes
    from workers.sync_bridge import SyncBridge
    from workers.watch_runner import WatchRunner

log = logging.getLogger("app.startup")

QUIT_AFTER_SHOWN_ENV = "STRATOPIPE_QUIT_AFTER_SHOWN"
# How long quitting waits for background work (a decode, a probe) before it goes on without it.
BACKGROUND_QUIT_TIMEOUT_MS = 5000


class StartupClock:
    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._last = self._started

    def step(self, name: str) -> None:
        now = time.perf_counter()
        log.info(
            "startup: %-28s %6.0f ms (total %6.0f ms)",
            name,
            1000 * (now - self._last),
            1000 * (now - self._started),
        )
        self._last = now

    @property
    def total_ms(self) -> float:
        return 1000 * (time.perf_counter() - self._started)


def _route_qt_messages() -> None:
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("qt")
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        qt_log.log(levels.get(mode, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def run_gui(data_dir: str | None, arguments: list[str]) -> int:
    """``arguments``: files, folders, ``file://`` URIs and ``stratopipe://`` links (core/links.py)."""
    clock = StartupClock()
    from core.paths import AppPaths

    paths = AppPaths.resolve(data_dir).ensure()
    from app.single_instance import Handover, InstanceServer, hand_over, server_name
    from core.links import parse_launch_arguments

    # Before logging and Qt start: a launch that only hands over its arguments stays quick and quiet.
    instance_name = server_name(paths.data_dir)
    handover = hand_over(instance_name, arguments, Path.cwd())
    if handover is Handover.ACCEPTED:
        print(f"StratoPipe is already running for {paths.data_dir}: it took the arguments")
        return 0
    if handover is Handover.NO_ANSWER:
        print(f"StratoPipe is running for {paths.data_dir} but did not answer; try again", file=sys.stderr)
        return 1
    log_file = configure_app_logging(paths.log_dir)
    clock.step("paths and logging")
    log.info("StratoPipe starting; data %s, log %s", paths.data_dir, log_file)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.lifecycle import CrashReporter, QuitSignals

    crashes = CrashReporter(paths.log_dir, log_file)
    _route_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("StratoPipe")
    app.setOrganizationName("StratoPipe")
    app.setQuitOnLastWindowClosed(True)

    def quit_on_signal(number: int) -> None:
        log.info("%s received: quitting", signal.Signals(number).name)
        app.quit()

    quit_signals = QuitSignals(quit_on_signal)
    instance = InstanceServer(instance_name, parent=app)
    if instance.listen():
        log.info("Listening for other launches on %s", instance.full_name)
    else:
        log.warning("This app will not receive files or links from other launches")
    clock.step("QApplication")

    from ui.common.theme import apply_theme
    from ui.shell.gc_guard import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector(app)

    apply_theme(app)
    clock.step("theme")

    from app.runtime import open_runtime

    runtime = open_runtime(str(paths.data_dir) if data_dir else None)
    clock.step("catalog (migrations)")

    desktop = build_desktop(runtime)
    window = desktop.window
    attach_tray_menu(desktop, app.quit)
    clock.step("main window built")
    window.show()
    clock.step("window shown")
    log.info("Window shown %.0f ms after launch", clock.total_ms)

    def after_first_paint() -> None:
        desktop.start_sync()
        window.device_status.start()
        recovered = desktop.jobs.scheduler.recover()
        if recovered:
            log.info("Re-queued %d job(s) interrupted last time", len(recovered))
        follow_launch_request(window, parse_launch_arguments(arguments, Path.cwd()))

    def on_handover(request: LaunchRequest) -> None:
        if window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()
        follow_launch_request(window, request)

    instance.request_received.connect(on_handover)
    QTimer.singleShot(0, after_first_paint)
    marker = os.environ.get(QUIT_AFTER_SHOWN_ENV)
    if marker:
        # Benchmarks and smoke tests: note when the first frame was painted, then quit cleanly.
        def note_and_quit() -> None:
            Path(marker).write_text(f"{time.time():.6f}")
            app.quit()

        QTimer.singleShot(0, note_and_quit)
    app.aboutToQuit.connect(desktop.shutdown)
    status = int(app.exec())
    instance.close()  # a launch from now on starts a new app instead of waiting for this one
    # Destroy widgets while the QApplication still exists: left to interpreter shutdown, Qt would
    # call Python event filters on half-destroyed widgets and crash on exit.
    import shiboken6

    shiboken6.delete(window)
    collector.stop()
    quit_signals.uninstall()
    crashes.uninstall()
    log.info("StratoPipe shut down (exit status %d)", status)
    return status


def follow_launch_request(window: MainWindow, request: LaunchRequest) -> None:
    """Ingest the files, open the linked assets (revealed in the grid, then in the viewer)."""
    for error in request.errors:
        log.warning("Launch argument ignored: %s", error)
        window.statusBar().showMessage(error, 8000)
    if request.paths:
        window.ingest_requests.ingest(list(request.paths))
    for asset_id in request.asset_ids:
        window.reveal_asset(asset_id)
        record = window.catalog.get_asset(asset_id)
        if record is not None:
            window.open_viewer(record)


def attach_tray_menu(desktop: Desktop, quit_app: Callable[[], object]) -> None:
    """Show, pause/resume jobs and quit from the tray, where the desktop has one. Quit is the app's
    quit, so it takes the same shutdown path as closing the window."""
    from ui.shell.notifications import SystemTrayPresenter, TrayMenu

    presenter = desktop.window.notifier.tray
    if not isinstance(presenter, SystemTrayPresenter):
        return
    window = desktop.window

    def show_window() -> None:
        window.showNormal()
        window.raise_()
        window.activateWindow()

    scheduler = desktop.jobs.scheduler
    presenter.attach_menu(
        TrayMenu(show_window, lambda paused: scheduler.pause() if paused else scheduler.resume(), quit_app)
    )


@dataclass
class Desktop:
    """The main window and everything behind it, and the one way to close them all."""

    runtime: Runtime
    window: MainWindow
    background: BackgroundWork
    lanes: Lanes
    resources: LaneResources
    jobs: JobController
    ingest: IngestController
    watches: WatchRunner
    sync: SyncBridge | None = None

    def start_sync(self) -> None:
        """After the first frame: sync is a network feature, the window must not wait for it."""
        self.sync = build_sync(self.runtime, self.window, self.background)
        self.window.layout_memory.restore()  # puts the Tasks dock back where the artist left it

    def shutdown(self) -> None:
        """At quit, in dependency order: the window saves its state and flushes notes and
        notifications (its closeEvent), the watch folder thread is joined (no new batch starts),
        running work is asked to stop and awaited, the sync client closes, the lanes stop and the
        catalog writer drains, and only then the catalog closes."""
        log.info("Shutting down")
        sync = self.sync
        steps: list[tuple[str, Callable[[], object]]] = [
            ("close the window", self._close_window),
            ("stop watching folders", self.watches.stop),
            ("cancel ingest", self.ingest.cancel),
            ("await background work", lambda: self.background.quit_and_wait(BACKGROUND_QUIT_TIMEOUT_MS)),
            ("close sync", sync.close if sync is not None else lambda: None),
            ("stop jobs", self.jobs.shutdown),
            ("stop lanes and drain catalog writes", self.lanes.shutdown),
            ("close lane resources", self.resources.close),
            ("close the catalog", self.runtime.close),
        ]
        for name, step in steps:
            try:
                step()
            except Exception:  # one broken step must not keep the rest from closing
                log.exception("Shutdown: could not %s; going on", name)

    def _close_window(self) -> None:
        if self.window.isVisible():  # Ctrl+C or SIGTERM quit without closing the window
            self.window.close()


def build_desktop(runtime: Runtime) -> Desktop:
    """The main window and everything behind it, wired as the app runs them."""
    from core.lane_resources import LaneResources
    from ui.shell.main_window import MainWindow
    from ui.shell.notifications import Notifier, SystemTrayPresenter
    from workers.background import BackgroundWork
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController
    from workers.lanes import Lanes
    from workers.watch_runner import WatchRunner

    background = BackgroundWork()
    lanes = Lanes.create(runtime.settings.media_threads, runtime.render_threads, runtime.inference_threads)
    resources = LaneResources(runtime.paths, runtime.settings)
    jobs = JobController(
        runtime.catalog, runtime.registry, runtime.paths, runtime.settings, lanes, resources.params
    )
    ingest = IngestController(
        runtime.catalog,
        runtime.paths,
        runtime.limits,
        lanes,
        jobs,
        runtime.registry,
        background,
        roots=runtime.settings.roots,
    )
    notifier = Notifier(runtime.catalog, runtime.settings, SystemTrayPresenter.create())
    window = MainWindow(
        runtime.catalog, runtime.settings, runtime.paths, jobs, ingest, notifier, background=background
    )
    if runtime.farm is not None:
        from workers.farm_status import FarmStatusRelay

        relay = FarmStatusRelay(window)
        relay.message.connect(window.statusBar().showMessage)
        relay.start(runtime.farm)
    watches = WatchRunner(runtime.paths, runtime.settings)
    window.watch_folders.attach(watches)
    # Started now, off the UI thread: files that landed while the app was closed settle meanwhile, and
    # their batches wait in the event queue until the window runs.
    watches.start()
    return Desktop(runtime, window, background, lanes, resources, jobs, ingest, watches)


def build_sync(runtime: Runtime, window: MainWindow, background: BackgroundWork) -> SyncBridge:
    """Comments and tasks: the sync bridge (its client starts when a stored sign-in exists) and its UI."""
    from core.sync.credentials import TokenStore
    from core.sync.local_store import LocalStore
    from ui.shell.media_wiring import MediaUi
    from ui.shell.sync_wiring import SyncUi
    from workers.sync_bridge import SyncBridge

    store = LocalStore(runtime.paths.catalog_file)
    bridge = SyncBridge(
        store, TokenStore(), runtime.settings, background, runtime.paths.settings_file, parent=window
    )
    window.preferences.attach_sync(SyncUi(window, bridge).open_login)
    MediaUi(window, bridge, background, runtime.paths)  # File ▸ Publish to project (owned by the window)
    if not bridge.start_from_settings():
        log.info("Sync not started: no server or no stored sign-in (File > Sign in...)")
    return bridge
