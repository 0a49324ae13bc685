"""A farm worker's malloc thresholds: set at run time, whatever environment Dask spawned it with."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_thresholds_are_set_even_under_dasks_malloc_environment() -> None:
    # In a child started as a Dask nanny starts its workers (MALLOC_TRIM_THRESHOLD_=65536): glibc
    # accepts both values (mallopt returns 1 for each), so its sliding mmap threshold is replaced.
    code = "from core.farm.worker_state import keep_freed_memory as k; raise SystemExit(0 if k() else 3)"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"MALLOC_TRIM_THRESHOLD_": "65536", "PATH": ""}, check=False
    )
    assert done.returncode == 0
