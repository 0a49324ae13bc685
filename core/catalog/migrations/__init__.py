"""Catalog migrations. ``HEAD_REVISION`` lets start-up skip importing Alembic when nothing is to do;
a test checks it against Alembic's own head so the two cannot drift."""

HEAD_REVISION = "0008"
