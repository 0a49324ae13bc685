"""The desktop app's start-up: each step logged with its time, dependencies built here and passed in."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from app.logging_setup import configure_app_logging

log = logging.getLogger("app.startup")

QUIT_AFTER_SHOWN_ENV = "STRATOPIPE_QUIT_AFTER_SHOWN"


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

    def handler(mode: Any, context: Any, message: str) -> None:
        qt_log.log(levels.get(mode, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def _preload_modules() -> None:
    import app.runtime  # noqa: F401
    import ui.shell.main_window  # noqa: F401


def run_gui(data_dir: str | None, initial_paths: list[Path]) -> int:
    clock = StartupClock()
    from core.paths import AppPaths

    paths = AppPaths.resolve(data_dir).ensure()
    log_file = configure_app_logging(paths.log_dir)
    clock.step("paths and logging")
    log.info("StratoPipe starting; data %s, log %s", paths.data_dir, log_file)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    _route_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("StratoPipe")
    app.setOrganizationName("StratoPipe")
    app.setQuitOnLastWindowClosed(True)
    clock.step("QApplication")

    from ui.common.theme import apply_theme
    from ui.shell.gc_guard import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector(app)

    apply_theme(app)
    clock.step("theme")

    from app.runtime import open_runtime

    runtime = open_runtime(str(paths.data_dir) if data_dir else None)
    clock.step("catalog (migrations)")

    window, shutdown = build_window(runtime)
    clock.step("main window built")
    window.show()
    clock.step("window shown")
    log.info("Window shown %.0f ms after launch", clock.total_ms)

    def after_first_paint() -> None:
        window.start_sync()
        window.device_status.start()
        recovered = window.jobs.scheduler.recover()
        if recovered:
            log.info("Re-queued %d job(s) interrupted last time", len(recovered))
        if initial_paths:
            window.ingest_paths(initial_paths)

    QTimer.singleShot(0, after_first_paint)
    marker = os.environ.get(QUIT_AFTER_SHOWN_ENV)
    if marker:
        # Benchmarks and smoke tests: note when the first frame was painted, then quit cleanly.
        def note_and_quit() -> None:
            Path(marker).write_text(f"{time.time():.6f}")
            app.quit()

        QTimer.singleShot(0, note_and_quit)
    app.aboutToQuit.connect(shutdown)
    status = int(app.exec())
    # Destroy widgets while the QApplication still exists: left to interpreter shutdown, Qt would
    # call Python event filters on half-destroyed widgets and crash on exit.
    drops = getattr(window, "drops", None)
    if drops is not None:
        app.removeEventFilter(drops)
    import shiboken6

    shiboken6.delete(window)
    collector.stop()
    return status


def build_window(runtime: Any) -> tuple[Any, Any]:
    """The main window and everything behind it. Also used by tests and screenshot scripts."""
    from core.lane_resources import LaneResources
    from ui.shell.main_window import MainWindow
    from ui.shell.notifications import Notifier, SystemTrayPresenter
    from ui.shell.window_state import restore_window_state
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController
    from workers.lanes import Lanes

    lanes = Lanes.create(runtime.settings.media_threads)
    resources = LaneResources(runtime.paths, runtime.settings)
    jobs = JobController(
        runtime.catalog, runtime.registry, runtime.paths, runtime.settings, lanes, resources.params
    )
    ingest = IngestController(runtime.catalog, runtime.paths, runtime.limits, lanes, jobs, runtime.registry)
    notifier = Notifier(runtime.catalog, runtime.settings, SystemTrayPresenter.create())
    window = MainWindow(runtime.catalog, runtime.settings, runtime.paths, jobs, ingest, notifier)
    sync: list[Any] = []

    def start_sync() -> None:
        """After the first frame: sync is a network feature, the window must not wait for it."""
        sync.append(build_sync(runtime, window))
        restore_window_state(window)  # puts the Tasks dock back where the artist left it

    window.start_sync = start_sync

    def shutdown() -> None:
        log.info("Shutting down")
        for bridge in sync:
            bridge.close()
        notifier.flush()
        ingest.cancel()
        jobs.shutdown()
        lanes.shutdown()
        resources.close()
        runtime.close()

    return window, shutdown


def build_sync(runtime: Any, window: Any) -> Any:
    """Comments and tasks: the sync bridge (its client starts when a stored sign-in exists) and its UI."""
    from core.sync.credentials import TokenStore
    from core.sync.local_store import LocalStore
    from ui.collab.login import SyncUi
    from workers.sync_bridge import SyncBridge

    store = LocalStore(runtime.paths.catalog_file)
    bridge = SyncBridge(store, TokenStore(), runtime.settings, runtime.paths.settings_file, parent=window)
    window.sync_ui = SyncUi(window, bridge)
    if not bridge.start_from_settings():
        log.info("Sync not started: no server or no stored sign-in (File > Sign in...)")
    return bridge
