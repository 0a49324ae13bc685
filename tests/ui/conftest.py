"""UI test fixtures: a real catalog on a temp SQLite file, real job and ingest controllers, real images."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import shiboken6

from core.ai.device import DeviceCapabilities, DeviceChoice, choose_device
from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.media.limits import MediaLimits
from core.paths import AppPaths
from core.pipeline import build_registry
from core.settings import Settings

if TYPE_CHECKING:
    from PySide6.QtCore import QThreadPool

    from ui.shell.main_window import MainWindow
    from workers.background import BackgroundWork
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController


class RecordingTray:
    """The tray seam: what would pop up as a balloon (no tray exists offscreen)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, str]] = []

    def show_message(self, title: str, body: str, level: str) -> None:
        self.messages.append((title, body, level))


def write_image(
    path: Path,
    width: int = 320,
    height: int = 200,
    colour: tuple[int, int, int] = (40, 90, 200),
    *,
    alpha: bool = False,
) -> Path:
    """A real image file (BGR colour as OpenCV writes it)."""
    import cv2
    import numpy as np

    channels = 4 if alpha else 3
    pixels = np.zeros((height, width, channels), np.uint8)
    pixels[..., :3] = colour
    if alpha:
        pixels[..., 3] = 255
        pixels[: height // 2, :, 3] = 0  # top half transparent
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels)
    return path


def new_assets(project_id: int, count: int, *, prefix: str = "asset", kind: str = "image",
               folder: str = "/shots", **extra: Any) -> list[NewAsset]:  # fmt: skip
    return [
        NewAsset(
            project_id=project_id,
            name=f"{prefix}_{i:05d}.exr",
            path=f"{folder}/{prefix}_{i:05d}.exr",
            kind=kind,
            content_hash=f"{prefix}-{kind}-{i}",
            size_bytes=1000 + i,
            metadata={"format": "EXR", "width": 2048, "height": 1080},
            **extra,
        )
        for i in range(count)
    ]


def cpu_only_probe() -> DeviceChoice:
    """The device choice on a machine without a GPU, without importing torch in every window test."""
    return choose_device("auto", DeviceCapabilities(torch_version="2.13.0"))


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.resolve(tmp_path / "profile").ensure()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def catalog(paths: AppPaths) -> Iterator[Catalog]:
    cat = Catalog(paths.catalog_file)
    yield cat
    cat.close()


@pytest.fixture
def background(qapp: Any, catalog: Catalog) -> Iterator[BackgroundWork]:
    """The one owner of background work, as the app builds it; no test leaves work running (it ends
    before the catalog closes, as at quit)."""
    from workers.background import BackgroundWork

    work = BackgroundWork()
    yield work
    assert work.quit_and_wait(), "background work outlived the test"


@pytest.fixture
def controllers(
    qapp: Any, catalog: Catalog, paths: AppPaths, settings: Settings, background: BackgroundWork
) -> Iterator[tuple[JobController, IngestController]]:
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController
    from workers.lanes import Lanes

    lanes = Lanes.create(2)
    registry = build_registry(render=False, ai=False)
    jobs = JobController(catalog, registry, paths, settings, lanes)
    ingest = IngestController(
        catalog, paths, MediaLimits.from_settings(settings), lanes, jobs, registry, background
    )
    yield jobs, ingest
    jobs.shutdown()
    lanes.shutdown()


@pytest.fixture
def tray() -> RecordingTray:
    return RecordingTray()


@pytest.fixture
def window(
    qtbot: Any,
    catalog: Catalog,
    settings: Settings,
    paths: AppPaths,
    controllers: tuple[JobController, IngestController],
    tray: RecordingTray,
    background: BackgroundWork,
) -> Iterator[MainWindow]:
    from ui.shell.main_window import MainWindow
    from ui.shell.notifications import Notifier

    jobs, ingest = controllers
    notifier = Notifier(catalog, settings, tray, batch_window_ms=50)
    win = MainWindow(
        catalog, settings, paths, jobs, ingest, notifier, background=background, device_probe=cpu_only_probe
    )
    qtbot.addWidget(win)
    win.show()
    yield win
    if ingest.busy:
        ingest.cancel()
        qtbot.waitUntil(lambda: not ingest.busy, timeout=10_000)
    win.close()


# How long a test's leftover pool work may take to finish before the test fails for leaving it running.
THREAD_DRAIN_MS = 5_000


def _thread_pools() -> list[QThreadPool]:
    """The global pool and every other pool still alive: lanes and the pools widgets own.

    Lane pools and a widget's own pool are reachable from no fixture, so they are found among the
    live Python wrappers; a pool whose C++ side went with its owner has no threads left to check.
    """
    from PySide6.QtCore import QThreadPool

    pools = [QThreadPool.globalInstance()]
    # type(), not isinstance(): the heap holds weak proxies, which raise once their referent is gone.
    pools += [obj for obj in gc.get_objects() if issubclass(type(obj), QThreadPool) and obj not in pools]
    return [pool for pool in pools if shiboken6.isValid(pool)]


def _busy(pools: list[QThreadPool]) -> list[str]:
    return [
        f"{pool.objectName() or 'an unnamed pool'} ({pool.activeThreadCount()} active)"
        for pool in pools
        if shiboken6.isValid(pool) and pool.activeThreadCount() > 0
    ]


@pytest.fixture(autouse=True)
def no_widget_left_alive(qtbot: Any) -> Iterator[None]:
    """Destroys the widgets a test closed, then fails the test if any window outlived it.

    pytest-qt closes a test's widgets with ``deleteLater()``; outside an event loop that deletion
    waits for some later test's loop or, after a module's last test, never comes. A window left
    alive is destroyed by PySide during interpreter shutdown, in no particular order, while Python
    event filters of its widgets are still installed: the run passes, then dies with SIGSEGV.
    The app deletes its window after ``exec()`` (``app/gui.py``); tests do the same here.
    """
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    # Ids, not the widgets: holding them would keep a test's Python-owned widgets alive.
    before = {id(w) for w in QApplication.allWidgets()}  # an earlier test's leak is reported there
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    alive = [w for w in QApplication.allWidgets() if w.parent() is None and id(w) not in before]
    if alive:
        names = ", ".join(f"{type(w).__name__} {w.objectName()!r}" for w in alive)
        pytest.fail(f"widgets outlived the test: {names}; pass them to qtbot.addWidget()", pytrace=False)


@pytest.fixture(autouse=True)
def no_thread_left_running(qtbot: Any, no_widget_left_alive: None) -> Iterator[None]:
    """Fails a test that leaves pool threads working, as napari's dangling-thread check does.

    Work a test started must be finished, cancelled or awaited by its owner before the test ends;
    otherwise it runs on into the next test, or into interpreter shutdown. The wait runs the event
    loop, so a worker that is only delivering its result finishes within the bound. Runs before
    widgets are destroyed (it depends on ``no_widget_left_alive``): a widget's own pool waits for
    its threads, unbounded, when the widget is destroyed.
    """
    yield
    pools = _thread_pools()
    try:
        qtbot.waitUntil(lambda: not _busy(pools), timeout=THREAD_DRAIN_MS)
    except qtbot.TimeoutError:
        pytest.fail(
            f"threads still running {THREAD_DRAIN_MS} ms after the test: {', '.join(_busy(pools))}; "
            "stop or await the work the test started",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def garbage_collected_on_the_ui_thread(qapp: Any) -> Iterator[None]:
    """As in the app: no cyclic GC in worker or server threads, where it could destroy Qt objects."""
    from ui.shell.gc_guard import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector(qapp, interval_ms=100)
    yield
    collector.stop()
