"""A synced playlist (``core.sync``) played on this machine: its items are content hashes, each found
as the local project's asset with that content, or reported missing (a teammate's file this machine
has not got), so a review session made elsewhere plays with what is here and says what is not.

A local playlist made, changed or deleted in the app or the CLI is shared by name: this user's synced
playlist of that name in the project is written through ``LocalStore`` (offline first, then the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.sync.local_private import private_project

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.sync.local_records import PlaylistView
    from core.sync.local_store import LocalStore


@dataclass(frozen=True)
class ResolvedPlaylist:
    name: str
    found: list[AssetRecord]  # in play order
    missing: list[str]  # content hashes this project has no asset for

    def missing_text(self) -> str:
        if not self.missing:
            return ""
        total = len(self.found) + len(self.missing)
        return f"{len(self.missing)} of {total} items of {self.name!r} are not on this computer"


def resolve_playlist(catalog: Catalog, project_id: int, name: str, items: list[str]) -> ResolvedPlaylist:
    """Each item's asset in local project ``project_id``, in order; an item repeated plays again."""
    by_hash = catalog.existing_hashes(project_id, items)
    records = {record.id: record for record in catalog.get_assets(sorted(set(by_hash.values())))}
    found: list[AssetRecord] = []
    missing: list[str] = []
    for content_hash in items:
        record = records.get(by_hash[content_hash]) if content_hash in by_hash else None
        if record is None:
            missing.append(content_hash)
        else:
            found.append(record)
    return ResolvedPlaylist(name, found, missing)


def sharing_project(store: LocalStore, server_project: int | None, local_project_id: int) -> int:
    """Where a local project's playlists are shared, as its notes are: the linked server project once
    signed in (its private notes and playlists join the outbox then, once), else a private project."""
    if server_project is not None and store.current_user_id() is not None:
        store.share_private_notes(local_project_id, server_project)
        return server_project
    return private_project(local_project_id)


def _mine(store: LocalStore, project: int, name: str) -> PlaylistView | None:
    me = store.author_id()
    return next((p for p in store.list_playlists(project) if p.name == name and p.author == me), None)


def share_playlist(store: LocalStore, project: int, name: str, items: list[str]) -> PlaylistView:
    """Save this user's synced playlist called ``name`` in ``project``: made the first time, its items
    replaced after (a local playlist's name is unique in its project, so the name finds it)."""
    mine = _mine(store, project, name)
    return store.save_playlist(project, name, items, mine.id if mine is not None else None)


def unshare_playlist(store: LocalStore, project: int, name: str) -> bool:
    """Delete this user's synced playlist called ``name`` (a tombstone every client gets); False when
    there is none."""
    mine = _mine(store, project, name)
    if mine is None:
        return False
    store.delete_playlist(mine.id)
    return True
