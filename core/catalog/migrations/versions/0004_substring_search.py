"""Substring search: a trigram index beside the word index, so "ssi" finds "Massive".

The word index (``asset_fts``, 0001) matches word prefixes; artists also type the middle of a name
("hdri" in "skyHDRI_v02"). FTS5's trigram tokenizer indexes every three-character window, so any
substring of three or more characters is an index lookup rather than a scan of a million names.
``detail=full`` keeps positions: a substring longer than three characters is a phrase of trigrams, which
FTS5 cannot match without them. Triggers mirror the word index's, and an existing catalog's rows are
indexed by a ``rebuild`` inside this migration (one transaction: cut short, it leaves nothing half done).

Revision ID: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = "name, path, tags_text, notes"
_NEW = "new.id, new.name, new.path, new.tags_text, new.notes"
_OLD = "old.id, old.name, old.path, old.tags_text, old.notes"


def upgrade() -> None:
    op.execute(
        f"CREATE VIRTUAL TABLE asset_trigram USING fts5({_COLUMNS}, content='asset', content_rowid='id', "
        "tokenize='trigram', detail=full)"
    )
    # Relevance: a hit in the name counts most, then tags, then path and notes.
    op.execute("INSERT INTO asset_trigram(asset_trigram, rank) VALUES ('rank', 'bm25(10.0, 1.0, 4.0, 1.0)')")
    op.execute(
        "CREATE TRIGGER asset_trigram_insert AFTER INSERT ON asset BEGIN "
        f"INSERT INTO asset_trigram(rowid, {_COLUMNS}) VALUES ({_NEW}); END"
    )
    op.execute(
        "CREATE TRIGGER asset_trigram_delete AFTER DELETE ON asset BEGIN "
        f"INSERT INTO asset_trigram(asset_trigram, rowid, {_COLUMNS}) VALUES ('delete', {_OLD}); END"
    )
    op.execute(
        f"CREATE TRIGGER asset_trigram_update AFTER UPDATE OF {_COLUMNS} ON asset BEGIN "
        f"INSERT INTO asset_trigram(asset_trigram, rowid, {_COLUMNS}) VALUES ('delete', {_OLD}); "
        f"INSERT INTO asset_trigram(rowid, {_COLUMNS}) VALUES ({_NEW}); END"
    )
    op.execute("INSERT INTO asset_trigram(asset_trigram) VALUES ('rebuild')")


def downgrade() -> None:
    for trigger in ("asset_trigram_insert", "asset_trigram_delete", "asset_trigram_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS asset_trigram")
