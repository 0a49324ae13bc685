"""Watch folders: files that land in a watched folder are ingested once they have settled (no Qt)."""
