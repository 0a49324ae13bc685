"""A real two-process Dask cluster on 127.0.0.1, started once per test module, with the preload."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pytest
import trimesh
from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from distributed import LocalCluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    import dask
    from distributed import LocalCluster

    worker_home = tmp_path_factory.mktemp("farm-worker")
    # As `stratopipe farm scheduler` sets it: a dead worker's task reaches our runner, not a Dask retry.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # a free port: 8787 may be taken (and that warns)
            preload=["core.farm.preload"],
            env={
                "STRATOPIPE_DATA_DIR": str(worker_home),
                "PYOPENGL_PLATFORM": os.environ["PYOPENGL_PLATFORM"],
            },
        ) as running,
    ):
        running.wait_for_workers(2, timeout=60)
        yield running


def textured_box(folder: Path) -> Path:
    """An OBJ with its MTL and texture beside it: a worker must get all three to render it right."""
    folder.mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box()
    uv = np.random.default_rng(1).random((len(box.vertices), 2))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.new("RGB", (16, 16), (200, 30, 30)))
    box.export(folder / "box.obj")
    return folder / "box.obj"
