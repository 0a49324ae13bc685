"""An ingest batch with its jobs: registered assets get their thumbnail jobs at once, in one batch.

Shared by the desktop app (driven on a Qt worker) and ``stratopipe ingest`` (driven on the main thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.jobs.scheduler import JobScheduler, new_batch_id
from core.pipeline import jobs_after_ingest

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.ingest import Ingestor, IngestProgress, IngestReport
    from core.jobs.steps import CancelToken, StepRegistry
    from core.profiles import ProcessingProfile


def ingest_with_jobs(
    ingestor: Ingestor,
    scheduler: JobScheduler,
    catalog: Catalog,
    registry: StepRegistry,
    inputs: Sequence[Path],
    project_id: int,
    *,
    copy_into_library: bool = False,
    cancel: CancelToken | None = None,
    max_in_flight: int = 8,
    follow_ups: bool = True,
    profile: ProcessingProfile | None = None,
) -> Generator[tuple[IngestProgress, list[AssetRecord]], None, IngestReport]:
    batch_id = new_batch_id("ingest")
    run = ingestor.run(
        inputs, project_id, copy_into_library=copy_into_library, cancel=cancel, max_in_flight=max_in_flight
    )
    while True:
        try:
            progress = next(run)
        except StopIteration as done:
            report: IngestReport = done.value
            break
        records: list[AssetRecord] = []
        if progress.registered:
            records = catalog.get_assets(list(progress.registered))
            docs = [
                job
                for r in records
                for job in jobs_after_ingest(r.id, r.project_id, r.kind, registry, profile)
            ]
            if not follow_ups:
                for doc in docs:
                    doc.params["no_follow_up"] = True
            scheduler.name_batch_assets(batch_id, {r.id: r.name for r in records})
            scheduler.submit(docs, batch_id=batch_id, batch_kind="ingest")
        yield progress, records
    note = f"{len(report.duplicates)} already in the project" if report.duplicates else ""
    scheduler.close_batch(
        batch_id, "ingest", failures=[(f.path, f.error) for f in report.failures], note=note
    )
    return report
