"""Ingest end to end on real files: scan, examine, register, thumbnails through the job scheduler."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.runtime import HeadlessLanes, headless_scheduler, open_runtime
from core.catalog.records import AssetQuery
from core.ingest import Ingestor, scan_paths, sequence_frames
from core.ingest_jobs import ingest_with_jobs
from core.jobs.steps import CancelToken
from core.notify import BatchSummary

from .conftest import write_image


class Recorder:
    def __init__(self) -> None:
        self.summaries: list[BatchSummary] = []

    def job_updated(self, doc: object) -> None:
        pass

    def asset_changed(self, asset_id: int) -> None:
        pass

    def batch_finished(self, summary: BatchSummary) -> None:
        self.summaries.append(summary)


def test_scan_skips_clutter_groups_sequences_and_survives_symlink_loops(drop_folder: Path) -> None:
    candidates, failures = scan_paths([drop_folder])
    names = sorted(Path(c.display_path).name for c in candidates)
    assert "shot010.[1001-1005].png" in names
    assert ".DS_Store" not in names
    assert "Thumbs.db" not in names
    assert len(candidates) == 6  # hero, 2 props, the sequence, broken, empty
    assert failures == []
    _, missing = scan_paths([drop_folder / "nope"])
    assert "does not exist" in missing[0].error


def _ingest(data_dir: Path, inputs: list[Path], *, copy: bool = False, cancel: CancelToken | None = None):
    runtime = open_runtime(str(data_dir))
    project = runtime.catalog.ensure_project("Show")
    lanes = HeadlessLanes(2)
    recorder = Recorder()
    scheduler = headless_scheduler(runtime, lanes, recorder)
    ingestor = Ingestor(runtime.catalog, runtime.paths, runtime.limits, lanes.media)
    run = ingest_with_jobs(
        ingestor,
        scheduler,
        runtime.catalog,
        runtime.registry,
        inputs,
        project.id,
        copy_into_library=copy,
        cancel=cancel,
        follow_ups=False,
    )
    try:
        while True:
            next(run)
    except StopIteration as done:
        report = done.value
    assert scheduler.wait_idle(timeout=60)
    lanes.shutdown()
    return runtime, report, recorder


def test_ingest_registers_good_files_reports_bad_ones_and_makes_thumbnails(
    drop_folder: Path, tmp_path: Path
) -> None:
    runtime, report, recorder = _ingest(tmp_path / "data", [drop_folder])
    failed = {Path(f.path).name: f.error for f in report.failures}
    assert set(failed) == {"broken.png", "empty.jpg"}
    assert "empty (0 bytes)" in failed["empty.jpg"]
    assert len(report.added) == 4
    assets = runtime.catalog.get_assets(report.added)
    assert all(a.status == "ready" and a.thumbnail and Path(a.thumbnail).is_file() for a in assets)
    sequence = next(a for a in assets if a.kind == "sequence")
    assert (sequence.frame_first, sequence.frame_last) == (1001, 1005)
    assert [p.name for p in sequence_frames(sequence.metadata)][-1] == "shot010.1005.png"
    odd = next(a for a in assets if "größe" in a.name)
    assert Path(odd.path).is_file()
    (summary,) = recorder.summaries
    assert summary.title == "Ingested 6 files: 4 ready, 2 failed"
    assert "broken.png" in summary.body


def test_ingesting_again_finds_duplicates_and_loses_nothing(drop_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _, first, _ = _ingest(data, [drop_folder])
    copy_of_hero = tmp_path / "elsewhere" / "hero_copy.jpg"
    copy_of_hero.parent.mkdir()
    shutil.copy(drop_folder / "hero.jpg", copy_of_hero)
    runtime, second, _recorder = _ingest(data, [drop_folder / "hero.jpg", copy_of_hero])
    assert second.added == []
    assert {Path(p).name for p, _ in second.duplicates} == {"hero.jpg", "hero_copy.jpg"}
    assert all(asset_id in first.added for _, asset_id in second.duplicates)
    assert runtime.catalog.count_assets(AssetQuery()) == 4


def test_copy_into_library_copies_files_and_frames(drop_folder: Path, tmp_path: Path) -> None:
    runtime, report, _ = _ingest(
        tmp_path / "data", [drop_folder / "renders", drop_folder / "hero.jpg"], copy=True
    )
    assets = runtime.catalog.get_assets(report.added)
    assert len(assets) == 2
    for asset in assets:
        assert asset.copied
        assert Path(asset.path).is_relative_to(runtime.paths.library_dir)
    sequence = next(a for a in assets if a.kind == "sequence")
    assert all(
        p.is_file() and p.is_relative_to(runtime.paths.library_dir)
        for p in sequence_frames(sequence.metadata)
    )


def test_cancel_keeps_what_was_registered(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for i in range(40):
        write_image(folder / f"take{i}_final.jpg", i)
    runtime = open_runtime(str(tmp_path / "data"))
    project = runtime.catalog.ensure_project("Show")
    cancel = CancelToken()
    with ThreadPoolExecutor(2) as pool:
        run = Ingestor(runtime.catalog, runtime.paths, runtime.limits, pool).run(
            [folder], project.id, cancel=cancel, max_in_flight=2
        )
        seen = 0
        try:
            while True:
                progress = next(run)
                if progress.phase == "examining":
                    seen += 1
                    if seen == 5:
                        cancel.cancel()
        except StopIteration as done:
            report = done.value
    assert report.cancelled
    assert 5 <= len(report.added) < 40
    assert runtime.catalog.count_assets(AssetQuery(project_id=project.id)) == len(report.added)


def test_files_over_the_size_limit_are_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATOPIPE_MAX_FILE_SIZE_MB", "1")
    big = tmp_path / "in" / "big.png"
    write_image(big, 5, (1200, 1200))  # random noise PNG: several MiB
    _, report, _ = _ingest(tmp_path / "data", [big])
    (failure,) = report.failures
    assert "over the 1 MB file size limit" in failure.error


def test_two_copies_in_one_drop_register_once_and_point_at_each_other(tmp_path: Path) -> None:
    original = write_image(tmp_path / "in" / "plate.png", 9)
    copy = tmp_path / "in" / "plate copy.png"
    shutil.copy(original, copy)
    _, report, _ = _ingest(tmp_path / "data", [original, copy])
    (added,) = report.added
    (duplicate,) = report.duplicates
    assert duplicate[1] == added
