"""The render lane's warm process follows the settings: a change in Preferences applies to the next job."""

from __future__ import annotations

from pathlib import Path

from core.lane_resources import LaneResources
from core.paths import AppPaths
from core.settings import Settings


def test_the_warm_render_process_is_replaced_when_its_settings_change(tmp_path: Path) -> None:
    settings = Settings()
    resources = LaneResources(AppPaths.resolve(tmp_path), settings)
    try:
        first = resources.params("render")["render_service"]
        assert resources.params("render")["render_service"] is first  # warm: reused
        settings.render_timeout_s = 30.0  # what the Preferences dialog does on Apply
        second = resources.params("render")["render_service"]
        assert second is not first
        assert second.timeout_s == 30.0
        assert first.pid is None  # the old process is gone (it was never started here)
    finally:
        resources.close()
