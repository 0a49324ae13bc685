"""Comments on one asset, synced with the project's server: in the inspector and beside the viewer.

Each comment shows its author, time, body, a frame badge (the clip's own frame number), a drawing badge,
"pending" until the server has it ("private" while its project is linked to no server), and its
edited/deleted state. Clicking anywhere on a comment jumps to its frame and shows its drawing. The compose
box sends on Ctrl+Enter and owns the keyboard while focused (the viewer's one-key shortcuts stay out of
the text); in the viewer a comment is anchored at the shown frame, or at the frame its drawing was drawn
on, and carries that drawing once. Own comments can be edited and deleted. Everything here writes the
local store at once (works offline, and without a server); the sync thread sends it.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.sync.local_private import LOCAL_AUTHOR, PRIVATE_STATE
from core.sync.roles import may_delete_comment
from ui.collab.annotation import has_strokes

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.records import AssetRecord
    from core.sync.local_store import CommentView
    from ui.collab.annotation import AnnotationOverlay
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)

CommentRole = Qt.ItemDataRole.UserRole + 1
MAX_THUMBNAIL_BYTES = 40_000  # base64 of it stays under the protocol's 64 Ki characters
BADGE_STYLE = "background: #2c2f36; border: 1px solid #3a3d45; border-radius: 8px; padding: 0 6px;"
COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
PENDING_STYLE = "color: #f0b454; border: 1px solid #6b5524; border-radius: 8px; padding: 0 6px;"


def format_time(iso: str) -> str:
    """Local time of a server timestamp: "14:05" today, else "3 Mar 14:05"."""
    try:
        when = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    now = datetime.now().astimezone()
    return when.strftime("%H:%M") if when.date() == now.date() else when.strftime("%d %b %H:%M")


def thumbnail_b64(record: AssetRecord) -> str | None:
    """The catalog thumbnail, small enough to travel with the published asset (or nothing)."""
    if not record.thumbnail:
        return None
    path = Path(record.thumbnail)
    try:
        if path.stat().st_size > MAX_THUMBNAIL_BYTES:
            return None
        return base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None


class CommentCard(QWidget):
    """One comment: header (author, time, edit/delete for its author), badges, and body."""

    edit_requested = Signal(object)  # CommentView
    delete_requested = Signal(object)  # CommentView
    activated = Signal()  # clicked anywhere but its buttons, selectable text included

    def __init__(
        self,
        comment: CommentView,
        author: str,
        mine: bool,
        parent: QWidget | None = None,
        *,
        may_delete: bool | None = None,
    ) -> None:
        """``may_delete``: a moderator (supervisor, admin) deletes anyone's comment; by default only
        its author does."""
        super().__init__(parent)
        self.comment = comment
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.author_label = QLabel(f"<b>{author}</b>")
        self.time_label = QLabel(format_time(comment.created_at))
        self.time_label.setObjectName("Dim")
        header.addWidget(self.author_label)
        header.addWidget(self.time_label)
        header.addStretch(1)
        # Badges get a row of their own: beside the author, time and buttons they were cut off in a
        # narrow side panel.
        badges = QHBoxLayout()
        badges.setSpacing(4)
        self.badges: list[str] = []
        if comment.frame is not None:
            self._badge(badges, f"frame {comment.frame}", BADGE_STYLE)
        if has_strokes(comment.annotation):
            self._badge(badges, "✎ drawing", BADGE_STYLE)
        if comment.sync_state == "pending":
            self._badge(badges, "pending", PENDING_STYLE).setToolTip(
                "Not on the server yet: it is sent when the connection is back"
            )
        elif comment.sync_state == PRIVATE_STATE:
            self._badge(badges, "private", PENDING_STYLE).setToolTip(
                "Kept on this computer: it is shared once the project is linked to a server (File ▸ Sign in…)"
            )
        elif comment.sync_state == "rejected":
            self._badge(badges, "not sent", PENDING_STYLE).setToolTip("The server refused this comment")
        if comment.edited_at and not comment.deleted:
            self._badge(badges, "edited", "color: #8b8e96;")
        badges.addStretch(1)
        actions = [("Edit", self.edit_requested)] if mine else []
        if mine if may_delete is None else may_delete:
            actions.append(("Delete", self.delete_requested))
        if not comment.deleted:
            for text, signal in actions:
                button = QPushButton(text)
                button.setObjectName("Flat")
                button.setFlat(True)
                button.setCursor(Qt.CursorShape.PointingHandCursor)
                button.setStyleSheet("color: #8b8e96; padding: 0 4px; border: none;")
                button.clicked.connect(lambda _c=False, s=signal: s.emit(self.comment))
                header.addWidget(button)
        layout.addLayout(header)
        if self.badges:
            layout.addLayout(badges)
        text = "This comment was deleted." if comment.deleted else comment.body
        self.body_label = QLabel(text)
        self.body_label.setWordWrap(True)
        self.body_label.setTextFormat(Qt.TextFormat.PlainText)
        self.body_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        if comment.deleted:
            self.body_label.setStyleSheet("color: #6d7078; font-style: italic;")
        layout.addWidget(self.body_label)
        # Selectable text takes its clicks for itself, so the list never hears of them: the card does.
        self.body_label.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
        ):
            self.activated.emit()
        return super().eventFilter(watched, event)

    def _badge(self, row: QHBoxLayout, text: str, style: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet(style + " font-size: 11px;")
        row.addWidget(label)
        self.badges.append(text)
        return label


class CommentsPanel(QWidget):
    """The comments of one asset. ``set_context`` says which (and in which server project)."""

    comment_selected = Signal(object)  # CommentView clicked: jump to its frame, show its drawing
    comment_posted = Signal(object)  # CommentView just written locally

    def __init__(
        self,
        bridge: SyncBridge,
        *,
        frame_source: Callable[[], int | None] | None = None,
        overlay: AnnotationOverlay | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CommentsPanel")
        self.bridge = bridge
        # Comments are read and written through the local store (sent to the server from there).
        self.store, self.wording = bridge.store, bridge.wording
        self.frame_source = frame_source
        self.overlay = overlay
        self.project_id: int | None = None
        self.record: AssetRecord | None = None
        self._editing: CommentView | None = None
        self._comments: list[CommentView] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.message_label = QLabel()
        self.message_label.setObjectName("Dim")
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        self.list = QListWidget()
        self.list.setObjectName("CommentList")
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.list.setMinimumHeight(120)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.currentItemChanged.connect(lambda item, _old: self._on_clicked(item))
        layout.addWidget(self.list, 1)
        self.empty_label = QLabel("No comments yet")
        self.empty_label.setObjectName("Dim")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.empty_label)

        self.compose = QPlainTextEdit()
        self.compose.setObjectName("CommentCompose")
        self.compose.setPlaceholderText("Add a comment… (@name to mention, Ctrl+Enter to send)")
        self.compose.setFixedHeight(64)
        self.compose.textChanged.connect(self._update_buttons)
        self.compose.installEventFilter(self)  # Ctrl+Enter sends
        layout.addWidget(self.compose)
        row = QHBoxLayout()
        self.frame_check = QCheckBox()
        self.frame_check.setChecked(True)
        self.frame_check.setVisible(False)
        row.addWidget(self.frame_check)
        row.addStretch(1)
        self.cancel_button = QPushButton("Cancel edit")
        self.cancel_button.clicked.connect(self.cancel_edit)
        self.cancel_button.hide()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("Primary")
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.clicked.connect(self.send)
        row.addWidget(self.cancel_button)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        bridge.records_changed.connect(self._on_records_changed)
        bridge.local_change.connect(lambda kind: self.reload() if kind == "comment" else None)
        bridge.change_rejected.connect(self._on_rejected)
        bridge.signed_in.connect(lambda _o: self.reload())
        self.set_context(None, None, "")

    # ---- context ---------------------------------------------------------------------------------

    @property
    def asset_key(self) -> str | None:
        """The synced asset id this panel lists (published on the first comment)."""
        if self.project_id is None or self.record is None:
            return None
        return self.store.asset_key(self.project_id, self.record.content_hash)

    def set_context(self, project_id: int | None, record: AssetRecord | None, message: str = "") -> None:
        """Show ``record``'s comments in server project ``project_id``; ``message`` says why not."""
        changed = record is None or self.record is None or record.id != self.record.id
        self.project_id, self.record = project_id, record
        if changed:
            self.cancel_edit()
            self.error_label.hide()
        usable = project_id is not None and record is not None
        self.compose.setPlaceholderText(
            "Add a comment… (@name to mention, Ctrl+Enter to send)" if usable else "Open an asset to comment"
        )
        self.message_label.setText(message)
        self.message_label.setVisible(bool(message))
        for widget in (self.compose, self.send_button):
            widget.setEnabled(usable)
        self.reload()

    def reload(self) -> None:
        key = self.asset_key
        self._comments = self.store.list_comments(key, include_deleted=True) if key is not None else []
        selected = self.selected_comment()
        me = self.store.author_id()
        role = next((user.role for user in self.store.users() if user.id == me), None)
        self.list.blockSignals(True)
        self.list.clear()
        for comment in self._comments:
            item = QListWidgetItem()
            item.setData(CommentRole, comment)
            author = "You" if comment.author == LOCAL_AUTHOR else self.wording.user_name(comment.author)
            mine = comment.author == me
            card = CommentCard(comment, author, mine, may_delete=may_delete_comment(role, mine))
            card.edit_requested.connect(self.start_edit)
            card.delete_requested.connect(self.delete)
            card.activated.connect(lambda it=item: self._activate(it))
            self.list.addItem(item)
            self.list.setItemWidget(item, card)
            if selected is not None and comment.id == selected.id:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._fit_cards()
        self.list.setVisible(bool(self._comments))
        self.empty_label.setVisible(not self._comments and self.project_id is not None)
        self._update_frame_check()
        self._update_buttons()

    def _fit_cards(self) -> None:
        width = max(160, self.list.viewport().width() - 4)
        for i in range(self.list.count()):
            item = self.list.item(i)
            card = self.list.itemWidget(item)
            if card is not None:
                card.setFixedWidth(width)
                card.adjustSize()
                item.setSizeHint(QSize(width, card.heightForWidth(width) if card.hasHeightForWidth()
                                       else card.sizeHint().height()))  # fmt: skip

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.compose or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        typing = not event.modifiers() & COMMAND_MODIFIERS
        if event.type() == QEvent.Type.ShortcutOverride and typing and event.key() != Qt.Key.Key_Escape:
            # The compose box owns plain keys: the viewer's one-key shortcuts (E enhance, F focus, arrows
            # to the next asset) sit on an ancestor and would otherwise take them from the text.
            event.accept()
            return True
        if (
            event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.send()
            return True
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_cards()

    def comments(self) -> list[CommentView]:
        return list(self._comments)

    def card(self, row: int) -> CommentCard:
        widget = self.list.itemWidget(self.list.item(row))
        assert isinstance(widget, CommentCard)
        return widget

    def selected_comment(self) -> CommentView | None:
        item = self.list.currentItem()
        comment: CommentView | None = None if item is None else item.data(CommentRole)
        return comment

    def _on_records_changed(self, event: Any) -> None:
        if event.kind in ("comment", "asset"):
            self.reload()

    def _on_rejected(self, event: Any) -> None:
        if event.record_kind in ("comment", "asset"):
            self._show_error(f"The server refused a comment change: {event.message}")
            self.reload()

    # ---- frames and drawings ---------------------------------------------------------------------

    def current_frame(self) -> int | None:
        return self.frame_source() if self.frame_source is not None else None

    def refresh_frame(self) -> None:
        """The player moved: the "At frame N" box and the drawings shown follow."""
        self._update_frame_check()
        if self.overlay is not None:
            self.overlay.set_frame(self.current_frame())

    def _update_frame_check(self) -> None:
        frame = self.current_frame()
        self.frame_check.setVisible(frame is not None)
        if frame is not None:
            self.frame_check.setText(f"At frame {frame}")

    def _activate(self, item: QListWidgetItem) -> None:
        """A click on a card's text: select it, and jump even when it already was."""
        if self.list.currentItem() is item:
            self._on_clicked(item)
        else:
            self.list.setCurrentItem(item)

    def _on_clicked(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        comment: CommentView = item.data(CommentRole)
        if self.overlay is not None and not self.overlay.drawing:
            self.overlay.show_annotation(None if comment.deleted else comment.annotation, comment.frame)
        self.comment_selected.emit(comment)

    # ---- writing ---------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        has_text = bool(self.compose.toPlainText().strip())
        self.send_button.setEnabled(has_text and self.project_id is not None and self.record is not None)
        self.send_button.setText("Save" if self._editing is not None else "Send")

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def send(self) -> CommentView | None:
        body = self.compose.toPlainText().strip()
        if not body or self.project_id is None or self.record is None:
            return None
        # Only the draft travels: a drawing shown from another note is never stored again.
        annotation = self.overlay.annotation() if self.overlay is not None else None
        try:
            if self._editing is not None:
                keep = annotation if annotation is not None else self._editing.annotation
                comment = self.store.edit_comment(self._editing.id, body, keep)
            else:
                record = self.record
                asset_id = self.store.ensure_asset(
                    self.project_id,
                    record.name,
                    record.kind,
                    record.content_hash,
                    {"size_bytes": record.size_bytes, **_shareable(record.metadata)},
                    thumbnail_b64(record),
                )
                frame = self.current_frame() if self.frame_check.isChecked() else None
                drawn_at = self.overlay.draft_frame if self.overlay is not None else None
                if annotation is not None and drawn_at is not None:
                    frame = drawn_at  # the note goes where its drawing was drawn
                comment = self.store.add_comment(self.project_id, asset_id, body, frame, annotation)
        except (ValueError, PermissionError, KeyError, RuntimeError) as exc:
            # Too long, not signed in yet, a client role on an unshared asset...: said here, kept typed.
            self._show_error(str(exc))
            return None
        self.error_label.hide()
        self._editing = None
        self.cancel_button.hide()
        self.compose.clear()
        if self.overlay is not None:  # sent: the canvas is clean for the next note
            self.overlay.set_drawing(False)
            self.overlay.reset()
        self.reload()
        self.comment_posted.emit(comment)
        return comment

    def start_edit(self, comment: CommentView) -> None:
        self._editing = comment
        self.compose.setPlainText(comment.body)
        self.compose.setFocus()
        if self.overlay is not None:
            self.overlay.show_annotation(comment.annotation, comment.frame)
        self.comment_selected.emit(comment)  # to its frame, where a new drawing for it would go
        self.cancel_button.show()
        self._update_buttons()

    def cancel_edit(self) -> None:
        if self._editing is not None:
            self.compose.clear()
        self._editing = None
        self.cancel_button.hide()
        self._update_buttons()

    def delete(self, comment: CommentView, *, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(self, "Delete comment", "Delete this comment for everyone?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.store.delete_comment(comment.id)
        except (KeyError, RuntimeError) as exc:
            self._show_error(str(exc))
            return
        self.reload()


def _shareable(metadata: dict[str, Any]) -> dict[str, Any]:
    """The few metadata keys worth sharing (sizes, duration), never paths or EXIF."""
    keys = ("format", "width", "height", "fps", "duration_s", "frames", "codec")
    return {k: metadata[k] for k in keys if k in metadata and isinstance(metadata[k], str | int | float)}
