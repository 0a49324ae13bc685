"""``python -m tests.faults.interrupted_ingest DATA_DIR FOLDER``: what a killed ``stratopipe ingest``
leaves behind, made deterministic. It registers FOLDER's files and queues their thumbnail jobs the way
the CLI does, prints ``queued N``, then blocks on stdin: alive, it owns those jobs; killed (the test
sends SIGKILL), they are orphans that the next entry point must recover.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.runtime import open_runtime
from core.ingest import Ingestor
from core.jobs.model import JobState
from core.pipeline import jobs_after_ingest


def main(data_dir: str, folder: str) -> None:
    runtime = open_runtime(data_dir)
    project = runtime.catalog.ensure_project("Show")
    with ThreadPoolExecutor(2) as pool:
        run = Ingestor(runtime.catalog, runtime.paths, runtime.limits, pool).run([Path(folder)], project.id)
        registered = [asset_id for progress in run for asset_id in progress.registered]
    records = runtime.catalog.get_assets(registered)
    docs = [doc for r in records for doc in jobs_after_ingest(r.id, r.project_id, r.kind, runtime.registry)]
    for doc in docs:
        doc.state = JobState.QUEUED
    runtime.catalog.jobs.add(docs)
    print(f"queued {len(docs)}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
