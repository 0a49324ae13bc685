"""Where a report's notes come from: the sync store on this machine, the same records the viewer's
notes panel shows (a linked project's synced notes, or a local project's private notes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.review.report import ReportNote

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from core.sync.links import ProjectLinks
    from core.sync.local_store import LocalStore

# Written before anyone signed in on this machine (core.sync.local_private.LOCAL_AUTHOR).
_LOCAL_AUTHOR_NAME = "me (this machine)"


class StoreNotes:
    """``core.review.report.NotesSource`` over the local sync store."""

    def __init__(self, store: LocalStore, links: ProjectLinks) -> None:
        from core.sync.wording import SyncWording

        self._store = store
        self._links = links
        self._wording = SyncWording(store)

    def _key(self, asset: AssetRecord) -> str | None:
        from core.sync.local_private import private_project

        linked = self._links.server_project(asset.project_id)
        project = linked if linked is not None else private_project(asset.project_id)
        return self._store.find_asset(project, asset.content_hash)

    def notes_for(self, asset: AssetRecord) -> list[ReportNote]:
        from core.sync.local_private import LOCAL_AUTHOR

        key = self._key(asset)
        if key is None:
            return []
        return [
            ReportNote(
                frame=comment.frame,
                author=_LOCAL_AUTHOR_NAME
                if comment.author == LOCAL_AUTHOR
                else self._wording.user_name(comment.author),
                body=comment.body,
                created_at=comment.created_at,
                annotation=comment.annotation,
            )
            for comment in self._store.list_comments(key)
        ]

    def review_of(self, asset: AssetRecord) -> tuple[str, str]:
        key = self._key(asset)
        review = self._store.asset_review(key) if key is not None else None
        return review if review is not None else ("pending", "")  # never published: nobody reviewed it
