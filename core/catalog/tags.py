"""An asset's tags and AI categories: the user's own tags, their verdicts on AI categories, and counts.

The user always wins: a tag the user set or confirmed is never overridden by AI, and one the user rejected
is hidden and never added back. Every write refreshes the asset's ``tags_text`` (the search index's copy)
in the same transaction, so a search never sees tags the tag table no longer holds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from core.catalog.queries import asset_t, tag_count_t, tag_t

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Engine


class TagStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def set_user_tags(self, asset_id: int, names: Iterable[str]) -> None:
        """Replace the user's own tags. AI categories are left alone (see reject_tag/accept_tag);
        naming an AI category here makes it the user's (the user confirmed it)."""
        wanted = {n.strip() for n in names if n.strip()}
        with self._engine.begin() as conn:
            current = {r.name: r for r in conn.execute(select(tag_t).where(tag_t.c.asset_id == asset_id))}
            for name, row in current.items():
                if name in wanted:
                    if row.rejected or row.source != "user":
                        conn.execute(
                            update(tag_t).where(tag_t.c.id == row.id).values(rejected=False, source="user")
                        )
                elif row.source == "user":
                    conn.execute(delete(tag_t).where(tag_t.c.id == row.id))
            new_rows = [
                {
                    "asset_id": asset_id,
                    "name": n,
                    "source": "user",
                    "confidence": None,
                    "is_category": False,
                    "rejected": False,
                }
                for n in wanted - current.keys()
            ]
            if new_rows:
                conn.execute(insert(tag_t), new_rows)
            self._refresh_tags_text(conn, asset_id)

    def reject_tag(self, asset_id: int, name: str) -> None:
        """The user says a tag or AI category is wrong: hidden, and AI never adds it back."""
        self._user_verdict(asset_id, name, rejected=True, category=True)

    def accept_tag(self, asset_id: int, name: str, *, category: bool = True) -> None:
        """The user confirms (or sets) a category: it becomes theirs and AI never overrides it."""
        self._user_verdict(asset_id, name, rejected=False, category=category)

    def _user_verdict(self, asset_id: int, name: str, *, rejected: bool, category: bool) -> None:
        with self._engine.begin() as conn:
            row = conn.execute(
                select(tag_t).where(tag_t.c.asset_id == asset_id, tag_t.c.name == name)
            ).first()
            if row is None:
                values = {"source": "user", "confidence": None, "is_category": category, "rejected": rejected}
                conn.execute(insert(tag_t).values(asset_id=asset_id, name=name, **values))
            else:
                verdict = {"rejected": rejected} if rejected else {"rejected": False, "source": "user"}
                conn.execute(update(tag_t).where(tag_t.c.id == row.id).values(**verdict))
            self._refresh_tags_text(conn, asset_id)

    def set_ai_categories(self, asset_id: int, categories: Sequence[tuple[str, float]]) -> None:
        """Store AI categories; never overrides a user's tag or re-adds one the user rejected."""
        with self._engine.begin() as conn:
            current = {r.name: r for r in conn.execute(select(tag_t).where(tag_t.c.asset_id == asset_id))}
            stale_ai = [
                r.id
                for name, r in current.items()
                if r.source == "ai" and not r.rejected and name not in dict(categories)
            ]
            if stale_ai:
                conn.execute(delete(tag_t).where(tag_t.c.id.in_(stale_ai)))
            for name, confidence in categories:
                row = current.get(name)
                if row is None:
                    conn.execute(
                        insert(tag_t).values(
                            asset_id=asset_id,
                            name=name,
                            source="ai",
                            confidence=float(confidence),
                            is_category=True,
                            rejected=False,
                        )
                    )
                elif row.source == "ai" and not row.rejected:
                    conn.execute(
                        update(tag_t)
                        .where(tag_t.c.id == row.id)
                        .values(confidence=float(confidence), is_category=True)
                    )
            self._refresh_tags_text(conn, asset_id)

    def _refresh_tags_text(self, conn: Any, asset_id: int) -> None:
        names = conn.execute(
            select(tag_t.c.name)
            .where(tag_t.c.asset_id == asset_id, tag_t.c.rejected.is_(False))
            .order_by(tag_t.c.name)
        ).scalars()
        conn.execute(
            update(asset_t)
            .where(asset_t.c.id == asset_id)
            .values(tags_text=" ".join(names), modified_at=time.time())
        )

    def tag_counts(self, project_id: int, *, categories_only: bool = False) -> list[tuple[str, int]]:
        """(name, assets) per tag, from trigger-kept counters: instant at any catalog size."""
        column = tag_count_t.c.n_category if categories_only else tag_count_t.c.n
        query = (
            select(tag_count_t.c.name, column)
            .where(tag_count_t.c.project_id == project_id, column > 0)
            .order_by(tag_count_t.c.name)
        )
        with self._engine.connect() as conn:
            return [(r[0], int(r[1])) for r in conn.execute(query)]
