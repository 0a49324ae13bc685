"""Alembic environment: always run programmatically with a connection from ``server.db.migrate``."""

from __future__ import annotations

from alembic import context

from server.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run server migrations through server.db.migrate(), which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
