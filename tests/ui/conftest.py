"""UI test fixtures: a real catalog on a temp SQLite file, real job and ingest controllers, real images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from core.ai.device import DeviceCapabilities, DeviceChoice, choose_device
from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.media.limits import MediaLimits
from core.paths import AppPaths
from core.pipeline import build_registry
from core.settings import Settings

if TYPE_CHECKING:
    from ui.shell.main_window import MainWindow
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
def controllers(
    qapp: Any, catalog: Catalog, paths: AppPaths, settings: Settings
) -> Iterator[tuple[JobController, IngestController]]:
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController
    from workers.lanes import Lanes

    lanes = Lanes.create(2)
    registry = build_registry(render=False, ai=False)
    jobs = JobController(catalog, registry, paths, settings, lanes)
    ingest = IngestController(catalog, paths, MediaLimits.from_settings(settings), lanes, jobs, registry)
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
) -> Iterator[MainWindow]:
    from ui.shell.main_window import MainWindow
    from ui.shell.notifications import Notifier

    jobs, ingest = controllers
    notifier = Notifier(catalog, settings, tray, batch_window_ms=50)
    win = MainWindow(catalog, settings, paths, jobs, ingest, notifier, device_probe=cpu_only_probe)
    qtbot.addWidget(win)
    win.show()
    yield win
    if ingest.busy:
        ingest.cancel()
        qtbot.waitUntil(lambda: not ingest.busy, timeout=10_000)
    win.close()


@pytest.fixture(scope="session", autouse=True)
def garbage_collected_on_the_ui_thread(qapp: Any) -> Iterator[None]:
    """As in the app: no cyclic GC in worker or server threads, where it could destroy Qt objects."""
    from ui.shell.gc_guard import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector(qapp, interval_ms=100)
    yield
    collector.stop()
