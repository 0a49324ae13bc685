"""A trivial step for farm tests and the benchmark: its cost is the farm path's own overhead."""

from __future__ import annotations

import os
import time
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
