"""``stratopipe analyze``: a real process on a real clip, per-input results, CSV export, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from core.video.analysis import METRICS
from tests.app.test_cli import stratopipe
from tests.core.video.clips import write_shots_clip


def test_analyze_prints_the_summary_and_exports_csv(tmp_path: Path) -> None:
    clip = write_shots_clip(tmp_path / "shot 020.mp4", [(12, (200, 60, 40)), (14, (40, 60, 200))])
    table = tmp_path / "out" / "metrics.csv"
    result = stratopipe(tmp_path / "data", "analyze", str(clip), "--json", "--csv", str(table))
    (item,) = json.loads(result.stdout)["results"]
    assert item["error"] is None
    (out,) = item["outputs"]
    assert out["step"] == "analysis"
    assert (out["frames"], out["cuts"]) == (26, [12])
    assert [(s["start"], s["end"]) for s in out["shots"]] == [(0, 12), (12, 26)]
    assert 0.0 <= out["complexity"] <= 100.0
    document = json.loads(Path(out["path"]).read_text())
    assert len(document["metrics"]["sharpness"]) == 26
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 26
    assert list(rows[0]) == ["frame", "shot", *METRICS]
    assert [row["shot"] for row in rows[11:13]] == ["0", "1"]
    assert out["csv"] == str(table)


def test_analyze_fails_per_input(tmp_path: Path) -> None:
    still = tmp_path / "notes.txt"
    still.write_text("not a clip")
    result = stratopipe(
        tmp_path / "data", "analyze", str(still), str(tmp_path / "gone.mp4"), "--json", check=False
    )
    assert result.returncode == 3
    errors = [item["error"] for item in json.loads(result.stdout)["results"]]
    assert all(errors)
