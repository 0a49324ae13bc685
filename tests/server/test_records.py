"""One definition per synced record: the server's and the client's tables show a record in the same
columns, and a record the server builds from its row is what the client validates and stores."""

from __future__ import annotations

import pytest

from core.sync.local_tables import RECORD_TABLES
from core.sync.records import RECORD_COLUMN_NAMES, parse_record, record_from_row, record_row
from server.db import assets, comments, tasks

SERVER_TABLES = {"asset": assets, "comment": comments, "task": tasks}

ROWS = {
    "asset": {
        "id": "a1",
        "project_id": 3,
        "name": "shot010",
        "kind": "video",
        "content_hash": "h",
        "metadata": '{"fps":24}',
        "thumbnail_b64": None,
        "created_by": 1,
        "version": 2,
        "review_status": "changes_requested",
        "review_reason": "grade the sky",
        "reviewed_by": 2,
    },
    "comment": {
        "id": "k1",
        "project_id": 3,
        "asset_id": "a1",
        "author": 1,
        "body": "soft edge",
        "frame": 12,
        "annotation": '[{"points":[[0.1,0.2]]}]',
        "created_at": "t0",
        "edited_at": None,
        "deleted": 0,  # as SQLite hands it back
        "version": 1,
    },
    "task": {
        "id": "t1",
        "project_id": 3,
        "title": "Roto",
        "description": "",
        "assignee": None,
        "creator": 1,
        "status": "review",
        "due_date": "2030-01-31",
        "asset_id": "a1",
        "version": 4,
        "created_at": "t0",
        "updated_at": "t1",
    },
}


@pytest.mark.parametrize("kind", ["asset", "comment", "task"])
def test_both_ends_build_record_tables_from_one_definition(kind: str) -> None:
    def shape(table_columns: object) -> dict[str, tuple[str, bool]]:
        return {c.name: (str(c.type), bool(c.nullable)) for c in table_columns if c.name in names}  # type: ignore[attr-defined]

    names = RECORD_COLUMN_NAMES[kind]
    server, client = shape(SERVER_TABLES[kind].columns), shape(RECORD_TABLES[kind].columns)
    assert list(server) == list(names)
    assert server == client


@pytest.mark.parametrize("kind", ["asset", "comment", "task"])
def test_a_broadcast_record_validates_and_is_stored_as_the_server_row(kind: str) -> None:
    record = record_from_row(kind, ROWS[kind])
    assert "project_id" not in record
    typed = parse_record(kind, record)
    stored = record_row(typed)
    expected = {**ROWS[kind], "deleted": False} if kind == "comment" else ROWS[kind]
    assert stored == expected
