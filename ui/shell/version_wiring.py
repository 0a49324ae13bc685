"""Version stacks, wired where the library and the catalog meet: "Stack as versions" and "Split version
stack" from the grid's menu write the catalog, then the grid reloads to show one tile (or several)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.catalog.errors import CatalogError

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from ui.library.asset_actions import AssetActions

log = logging.getLogger(__name__)


def connect_versions(
    actions: AssetActions, catalog: Catalog, refresh: Callable[[], None], tell: Callable[[str], None]
) -> None:
    """``refresh`` reloads the grid; ``tell`` shows a one-line outcome (the status bar)."""

    def stack(records: list[AssetRecord]) -> None:
        try:
            catalog.stacks.stack_as_versions([record.id for record in records])
        except CatalogError as exc:
            tell(str(exc))
            return
        refresh()
        tell(f"Stacked {len(records)} assets as versions; the latest is {records[-1].name}")

    def unstack(record: AssetRecord) -> None:
        members = catalog.stacks.split_stack(record.id)
        refresh()
        tell(f"Split the version stack into {len(members)} assets")

    actions.stack_requested.connect(stack)
    actions.unstack_requested.connect(unstack)
