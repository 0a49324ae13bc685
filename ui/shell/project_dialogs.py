"""Creating and editing a project as the user does it: a dialog that stays open until the catalog
accepts the name (a taken or empty name is said in a message box, and the user tries again)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from core.catalog.errors import CatalogError
from ui.common.dialogs import ProjectDialog

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from core.catalog.catalog import Catalog
    from core.catalog.records import ProjectRecord


def create_project_interactively(
    parent: QWidget, catalog: Catalog, *, message: str = "", suggested_name: str = ""
) -> ProjectRecord | None:
    dialog = ProjectDialog(parent, title="New project", name=suggested_name, message=message)
    while dialog.exec():
        try:
            return catalog.create_project(dialog.name, dialog.description)
        except CatalogError as exc:
            QMessageBox.warning(parent, "New project", str(exc))
    return None


def edit_project_interactively(parent: QWidget, catalog: Catalog, project: ProjectRecord) -> bool:
    """True when the user saved a change."""
    dialog = ProjectDialog(parent, title="Project", name=project.name, description=project.description)
    while dialog.exec():
        try:
            if dialog.name != project.name:
                catalog.rename_project(project.id, dialog.name)
            if dialog.description != project.description:
                catalog.set_project_description(project.id, dialog.description)
        except CatalogError as exc:
            QMessageBox.warning(parent, "Project", str(exc))
            continue
        return True
    return False
