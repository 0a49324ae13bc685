"""A trivial step for farm tests and the benchmark: its cost is the farm path's own overhead."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from core.jobs.steps import Progress, StepContext, StepOutput

if TYPE_CHECKING:
    from collections.abc import Generator

TRIVIAL_SOURCE = ("tests.core.farm.farm_steps", "trivial_step")


def trivial_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    yield Progress(0.5, "half way")
    seconds = float(ctx.params.get("sleep_s", 0.0))
    if seconds:
        time.sleep(seconds)
    return {"pid": os.getpid(), "value": ctx.params.get("value")}


SLOW_SOURCE = ("tests.core.farm.farm_steps", "slow_step")


def slow_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    """``seconds`` of work in small units, stopping between two at a cancel, as the AI steps do; a
    finished one leaves ``VALUE.done`` in ``done_dir`` when given."""
    seconds = float(ctx.params.get("seconds", 1.0))
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        yield Progress(elapsed / seconds, "working")
        ctx.cancel.wait(0.02)
    if ctx.params.get("done_dir"):
        Path(ctx.params["done_dir"], f"{ctx.params.get('value')}.done").touch()
    return {"pid": os.getpid(), "value": ctx.params.get("value")}
