"""Initial catalog: projects, assets (+FTS5), tags, artifacts, jobs, notifications.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False, unique=True),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "project_id", sa.Integer, sa.ForeignKey("project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("path", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("content_hash", sa.String, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("metadata_json", sa.Text, nullable=False),
        sa.Column("thumbnail", sa.String, nullable=True),
        sa.Column("copied", sa.Boolean, nullable=False),
        sa.Column("frame_first", sa.Integer, nullable=True),
        sa.Column("frame_last", sa.Integer, nullable=True),
        sa.Column("tags_text", sa.String, nullable=False),
        sa.Column("notes", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("modified_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "content_hash", name="uq_asset_project_hash"),
    )
    op.create_index("ix_asset_project_name", "asset", ["project_id", "name", "id"])
    op.create_index("ix_asset_project_kind_name", "asset", ["project_id", "kind", "name", "id"])
    op.create_index("ix_asset_project_created", "asset", ["project_id", "created_at", "id"])
    op.create_index("ix_asset_project_size", "asset", ["project_id", "size_bytes", "id"])
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "asset_id", sa.Integer, sa.ForeignKey("asset.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("is_category", sa.Boolean, nullable=False),
        sa.Column("rejected", sa.Boolean, nullable=False),
        sa.UniqueConstraint("asset_id", "name", name="uq_tag_asset_name"),
    )
    op.create_index("ix_tag_name_asset", "tag", ["name", "asset_id"])
    op.create_table(
        "artifact",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "asset_id", sa.Integer, sa.ForeignKey("asset.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("path", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("backend", sa.String, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("meta_json", sa.Text, nullable=False),
    )
    op.create_index("ix_artifact_asset_kind", "artifact", ["asset_id", "kind"])
    op.create_table(
        "job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("asset_id", sa.Integer, nullable=True),
        sa.Column("project_id", sa.Integer, nullable=True),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("device", sa.String, nullable=True),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("message", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("params_json", sa.Text, nullable=False),
        sa.Column("steps_json", sa.Text, nullable=False),
    )
    op.create_index("ix_job_state", "job", ["state"])
    op.create_index("ix_job_created", "job", ["created_at"])
    op.create_index("ix_job_asset", "job", ["asset_id"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("body", sa.String, nullable=False),
        sa.Column("level", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
        sa.Column("target_json", sa.Text, nullable=False),
    )
    op.create_index("ix_notification_created", "notification", ["created_at"])

    # Full-text search over names, paths, tags and notes. External content keeps one copy of the text;
    # triggers keep the index in step with every write path, bulk inserts included.
    op.execute(
        "CREATE VIRTUAL TABLE asset_fts USING fts5("
        "name, path, tags_text, notes, content='asset', content_rowid='id', prefix='2 3')"
    )
    op.execute(
        "CREATE TRIGGER asset_fts_insert AFTER INSERT ON asset BEGIN "
        "INSERT INTO asset_fts(rowid, name, path, tags_text, notes) "
        "VALUES (new.id, new.name, new.path, new.tags_text, new.notes); END"
    )
    op.execute(
        "CREATE TRIGGER asset_fts_delete AFTER DELETE ON asset BEGIN "
        "INSERT INTO asset_fts(asset_fts, rowid, name, path, tags_text, notes) "
        "VALUES ('delete', old.id, old.name, old.path, old.tags_text, old.notes); END"
    )
    op.execute(
        "CREATE TRIGGER asset_fts_update AFTER UPDATE OF name, path, tags_text, notes ON asset "
        "BEGIN "
        "INSERT INTO asset_fts(asset_fts, rowid, name, path, tags_text, notes) "
        "VALUES ('delete', old.id, old.name, old.path, old.tags_text, old.notes); "
        "INSERT INTO asset_fts(rowid, name, path, tags_text, notes) "
        "VALUES (new.id, new.name, new.path, new.tags_text, new.notes); END"
    )


def downgrade() -> None:
    for trigger in ("asset_fts_insert", "asset_fts_delete", "asset_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS asset_fts")
    for table in ("notification", "job", "artifact", "tag", "asset", "project"):
        op.drop_table(table)
