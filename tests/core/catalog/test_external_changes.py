"""The external-change detector over a real SQLite file, with a second connection (and process) writing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from core.catalog.catalog import Catalog
from core.catalog.external_changes import ExternalChanges
from core.catalog.records import NewAsset
from core.media.kinds import AssetKind


def _assets(project_id: int, count: int, prefix: str) -> list[NewAsset]:
    return [
        NewAsset(project_id=project_id, name=f"{prefix}_{i}.png", path=f"/plates/{prefix}_{i}.png",
                 kind=AssetKind.IMAGE, content_hash=f"{prefix}-{i}", size_bytes=100 + i, metadata={})
        for i in range(count)
    ]  # fmt: skip


def test_commits_by_another_connection_are_seen_with_what_changed(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.db")
    show = catalog.create_project("Show")
    watch = ExternalChanges(catalog.db_file)
    try:
        assert watch.poll() is None, "nothing committed since the first look"

        catalog.add_assets(_assets(show.id, 3, "a"))
        assert watch.changed()
        change = watch.poll()
        assert change is not None
        assert (change.new_assets, change.projects_changed, change.project_list_changed) == (
            3,
            (show.id,),
            False,
        )
        assert change.max_asset_id - change.since_id >= 3
        assert watch.poll() is None, "a change is reported once"

        # A job product (a thumbnail path, a job row): data_version moves, the fingerprint does not.
        [asset_id, *_] = catalog.add_assets(_assets(show.id, 1, "b")).values()
        assert watch.poll() is not None
        with sqlite3.connect(catalog.db_file) as other:
            other.execute("UPDATE asset SET thumbnail = 't.jpg', status = 'ready' WHERE id = ?", (asset_id,))
        assert watch.changed()
        assert watch.poll() is None

        other_project = catalog.create_project("Other")
        change = watch.poll()
        assert change is not None
        assert change.project_list_changed
        assert change.new_assets == 0

        catalog.delete_assets([asset_id])
        change = watch.poll()
        assert change is not None
        assert change.new_assets == 0
        assert change.projects_changed == (show.id,)
        assert other_project.id not in change.projects_changed
    finally:
        watch.close()
        catalog.close()


def test_a_commit_from_another_process_is_seen(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.db")
    show = catalog.create_project("Show")
    watch = ExternalChanges(catalog.db_file)
    script = (
        "import sys\n"
        "from core.catalog.catalog import Catalog\n"
        "from core.catalog.records import NewAsset\n"
        "c = Catalog(__import__('pathlib').Path(sys.argv[1]))\n"
        "c.add_assets([NewAsset(project_id=int(sys.argv[2]), name='x.png', path='/x.png', kind='image',"
        " content_hash='h-x', size_bytes=1, metadata={})])\n"
        "c.close()\n"
    )
    try:
        subprocess.run(
            [sys.executable, "-c", script, str(catalog.db_file), str(show.id)], check=True, timeout=60
        )
        change = watch.poll()
        assert change is not None
        assert change.new_assets == 1
    finally:
        watch.close()
        catalog.close()
