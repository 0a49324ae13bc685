"""Comments, drawings and tasks between two people through a real sync server on 127.0.0.1.

Each person has their own local store (their own SQLite file) and ``SyncBridge``; the server is the real
one (``server.embedded.ServerThread``) over a throw-away SQLite database, stopped and restarted on the same
port to prove offline work is kept and delivered.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDropEvent, QImage

from core.catalog.catalog import Catalog
from core.settings import Settings
from core.sync.credentials import TokenStore
from core.sync.local_store import LocalStore
from core.sync.wording import describe_status
from server import admin
from server.app import ServerConfig
from server.db import default_db_url, open_database
from server.embedded import ServerThread
from tests.ui.conftest import new_assets
from ui.collab.annotation import AnnotationOverlay, strokes_from_json
from ui.collab.comments import CommentsPanel
from ui.collab.login import LoginDialog, ProjectLinks
from ui.collab.tasks import TasksPanel
from ui.shell.sync_wiring import SyncUi
from ui.viewer.image_canvas import ImageCanvas
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from ui.shell.main_window import MainWindow

FAST_RECONNECT = {"backoff_initial_s": 0.05, "backoff_max_s": 0.3}


@dataclass
class Studio:
    """A running server with alice and bob (artists) in project "show"."""

    config: ServerConfig
    project: int
    users: dict[str, int]
    tokens: dict[str, str]
    thread: ServerThread | None = None

    @property
    def url(self) -> str:
        assert self.thread is not None
        return self.thread.url

    def start(self) -> None:
        self.thread = ServerThread(self.config).start()
        self.config = replace(self.config, port=self.thread.port)  # a restart keeps the port

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()
            self.thread = None


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    url = default_db_url(data_dir)
    engine = open_database(url)
    project = admin.add_project(engine, "show")
    users, tokens = {}, {}
    for name in ("alice", "bob"):
        users[name] = admin.add_user(engine, name, "artist", f"{name}-password")
        admin.add_member(engine, "show", name)
        tokens[name] = admin.issue_token(engine, users[name]).token
    engine.dispose()
    running = Studio(ServerConfig(db_url=url, port=0, ping_interval_s=None), project, users, tokens)
    running.start()
    yield running
    running.stop()


def _bridge(qtbot: Any, tmp_path: Path, name: str) -> SyncBridge:
    store = LocalStore(tmp_path / f"{name}-catalog.db")
    return SyncBridge(store, TokenStore(), Settings(), BackgroundWork(), client_options=FAST_RECONNECT)


@pytest.fixture
def people(qtbot: Any, tmp_path: Path, studio: Studio) -> Iterator[dict[str, SyncBridge]]:
    bridges = {name: _bridge(qtbot, tmp_path, name) for name in ("alice", "bob")}
    for name, bridge in bridges.items():
        bridge.start(studio.url, studio.tokens[name])
    for bridge in bridges.values():
        qtbot.waitUntil(lambda b=bridge: describe_status(b.status) == "online", timeout=10_000)
    yield bridges
    for bridge in bridges.values():
        bridge.close()


@pytest.fixture
def shot(catalog: Catalog) -> AssetRecord:
    project = catalog.create_project("Local show")
    ids = catalog.add_assets(new_assets(project.id, 1, prefix="shot040"))
    record = catalog.get_asset(next(iter(ids.values())))
    assert record is not None
    return record


def _status_text(window: MainWindow) -> str:
    return window.status_label.text()


def test_sign_in_through_the_dialog(qtbot: Any, tmp_path: Path, studio: Studio, catalog: Catalog) -> None:
    bridge = _bridge(qtbot, tmp_path, "alice")
    links = ProjectLinks(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    local = catalog.create_project("show")
    dialog = LoginDialog(bridge, links, local)
    qtbot.addWidget(dialog)
    try:
        dialog.url_edit.setText("127.0.0.1:1")  # nothing listens there
        dialog.user_edit.setText("alice")
        dialog.password_edit.setText("alice-password")
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Cannot reach" in dialog.error_label.text(), timeout=15_000)

        dialog.url_edit.setText(studio.url)
        dialog.password_edit.setText("wrong")
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.error_label.text() == "Wrong user name or password", timeout=10_000)
        assert bridge.client is None

        dialog.password_edit.setText("alice-password")
        with qtbot.waitSignal(bridge.signed_in, timeout=10_000):
            qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
        # No keyring here (null backend): the dialog says the sign-in lasts for this session only.
        assert "session only" in dialog.info_label.text()
        assert "alice" in dialog.account_label.text()
        assert bridge.tokens.load(studio.url, "alice") is not None
        assert (bridge.settings.server_url, bridge.settings.username) == (studio.url, "alice")
        # The server project with the local project's name is linked at once.
        assert dialog.link_combo.currentText() == "show"
        assert links.server_project(local.id) == studio.project
        qtbot.waitUntil(lambda: describe_status(bridge.status) == "online", timeout=10_000)
    finally:
        bridge.close()


def test_comments_travel_and_wait_offline(
    qtbot: Any,
    studio: Studio,
    people: dict[str, SyncBridge],
    window: MainWindow,
    tray: Any,
    shot: AssetRecord,
) -> None:
    alice, bob = people["alice"], people["bob"]
    # Bob works in the full window: his local project is linked to the server's "show".
    bob_ui = SyncUi(window, bob)
    bob_ui.links.link(shot.project_id, studio.project)
    window.sidebar.reload_projects(shot.project_id)
    window.grid.select_asset(shot.id)
    qtbot.waitUntil(lambda: bob_ui.inspector_comments.record is not None, timeout=5000)
    assert bob_ui.inspector_comments.project_id == studio.project
    assert "online" in _status_text(window)

    alice_panel = CommentsPanel(alice)
    qtbot.addWidget(alice_panel)
    alice_panel.set_context(studio.project, shot)
    alice_panel.compose.setPlainText("Edge is soft on the left, @bob can you look?")
    qtbot.keyClick(alice_panel.compose, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [c.body for c in alice_panel.comments()] == ["Edge is soft on the left, @bob can you look?"]

    bob_panel = bob_ui.inspector_comments
    qtbot.waitUntil(lambda: len(bob_panel.comments()) == 1, timeout=10_000)
    assert bob_panel.card(0).author_label.text() == "<b>alice</b>"
    # The mention reaches Bob as one balloon through the notifier (immediate by default).
    qtbot.waitUntil(lambda: any(t == "alice mentioned you" for t, _b, _l in tray.messages), timeout=5000)
    body = next(b for t, b, _l in tray.messages if t == "alice mentioned you")
    assert "Edge is soft" in body
    assert shot.name in body

    # Offline: the server goes away; Alice keeps working.
    studio.stop()
    qtbot.waitUntil(lambda: describe_status(alice.status) in ("offline", "connecting…"), timeout=10_000)
    qtbot.waitUntil(lambda: "offline" in _status_text(window) or "connecting" in _status_text(window))
    alice_panel.compose.setPlainText("Second pass: also the grain")
    qtbot.mouseClick(alice_panel.send_button, Qt.MouseButton.LeftButton)
    latest = alice_panel.comments()[-1]
    assert latest.sync_state == "pending"
    assert "pending" in alice_panel.card(1).badges
    assert alice.store.pending_count() == 1

    studio.start()  # same database, same port
    qtbot.waitUntil(lambda: alice.store.pending_count() == 0, timeout=15_000)
    qtbot.waitUntil(lambda: "pending" not in alice_panel.card(1).badges, timeout=10_000)
    qtbot.waitUntil(lambda: len(bob_panel.comments()) == 2, timeout=15_000)
    assert bob_panel.comments()[1].body == "Second pass: also the grain"
    qtbot.waitUntil(lambda: "online" in _status_text(window), timeout=10_000)

    # Alice edits her comment; Bob sees the edit and cannot edit it himself.
    alice_panel.start_edit(latest)
    alice_panel.compose.setPlainText("Second pass: the grain too")
    alice_panel.send()
    qtbot.waitUntil(lambda: bob_panel.comments()[1].body == "Second pass: the grain too", timeout=10_000)
    assert "edited" in bob_panel.card(1).badges
    assert bob_panel.card(1).findChildren(type(bob_panel.send_button)) == []


def test_drawing_round_trips_with_the_comment(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], shot: AssetRecord
) -> None:
    alice, bob = people["alice"], people["bob"]
    canvases = []
    for _ in range(2):
        canvas = ImageCanvas()
        qtbot.addWidget(canvas)
        canvas.resize(400, 300)
        canvas.show()
        image = QImage(200, 100, QImage.Format.Format_RGB888)
        image.fill(Qt.GlobalColor.darkGray)
        canvas.set_image(image)
        canvases.append(canvas)
    alice_overlay = AnnotationOverlay(canvases[0], canvases[0].image_rect)
    bob_overlay = AnnotationOverlay(canvases[1], canvases[1].image_rect)
    alice_panel = CommentsPanel(alice, overlay=alice_overlay)
    bob_panel = CommentsPanel(bob, overlay=bob_overlay)
    for panel in (alice_panel, bob_panel):
        qtbot.addWidget(panel)
        panel.set_context(studio.project, shot)

    alice_overlay.set_drawing(True)
    rect = canvases[0].image_rect()
    start = rect.topLeft() + QPointF(rect.width() * 0.25, rect.height() * 0.5)
    end = rect.topLeft() + QPointF(rect.width() * 0.75, rect.height() * 0.5)
    qtbot.mousePress(alice_overlay, Qt.MouseButton.LeftButton, pos=start.toPoint())
    qtbot.mouseMove(alice_overlay, pos=((start + end) / 2).toPoint())
    qtbot.mouseMove(alice_overlay, pos=end.toPoint())
    qtbot.mouseRelease(alice_overlay, Qt.MouseButton.LeftButton, pos=end.toPoint())
    alice_panel.compose.setPlainText("This line is crooked")
    sent = alice_panel.send()
    assert sent is not None
    strokes = strokes_from_json(sent.annotation)
    assert len(strokes) == 1
    (x0, y0), (x1, y1) = strokes[0].points[0], strokes[0].points[-1]
    assert (x0, y0) == pytest.approx((0.25, 0.5), abs=0.02)
    assert (x1, y1) == pytest.approx((0.75, 0.5), abs=0.02)
    assert "✎ drawing" in alice_panel.card(0).badges

    qtbot.waitUntil(lambda: len(bob_panel.comments()) == 1, timeout=10_000)
    assert bob_overlay.visible_strokes() == []
    qtbot.mouseClick(bob_panel.list.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(20, 10))
    assert len(bob_overlay.visible_strokes()) == 1
    # Normalised points stay on the same pixels at another zoom.
    canvases[1].zoom_by(2.0)
    rect = canvases[1].image_rect()
    shown = bob_overlay.to_widget(bob_overlay.visible_strokes()[0].points[0])
    assert shown.x() == pytest.approx(rect.x() + 0.25 * rect.width(), abs=rect.width() * 0.02)


def test_task_board_moves_and_conflicts(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], shot: AssetRecord
) -> None:
    alice, bob = people["alice"], people["bob"]
    boards = {name: TasksPanel(bridge) for name, bridge in people.items()}
    for board in boards.values():
        qtbot.addWidget(board)
        board.set_project(studio.project)
    due = "2030-01-31"
    task = boards["alice"].create_from(
        {
            "title": "Fix the comp edge",
            "description": "",
            "assignee": studio.users["bob"],
            "status": "open",
            "due_date": due,
        }
    )
    assert task is not None
    qtbot.waitUntil(lambda: boards["bob"].card_titles("open") == ["Fix the comp edge"], timeout=10_000)

    # Bob drags the card from Open to In progress (the drop the board receives).
    source = boards["bob"].columns["open"]
    target = boards["bob"].columns["in_progress"]
    mime = source.mimeData([source.item(0)])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    target.dropEvent(drop)
    assert boards["bob"].card_titles("in_progress") == ["Fix the comp edge"]
    qtbot.waitUntil(
        lambda: boards["alice"].card_titles("in_progress") == ["Fix the comp edge"], timeout=10_000
    )
    qtbot.waitUntil(lambda: bob.store.pending_count() == 0, timeout=10_000)

    # Bob goes offline and moves it to Completed; meanwhile Alice sends it to Review.
    bob.stop()
    boards["bob"].move_task(task.id, "completed")
    boards["alice"].move_task(task.id, "review")
    qtbot.waitUntil(lambda: alice.store.pending_count() == 0, timeout=10_000)
    bob.start(studio.url, studio.tokens["bob"])
    qtbot.waitUntil(lambda: not boards["bob"].conflict_bar.isHidden(), timeout=15_000)
    message = boards["bob"].conflict_label.text()
    assert "Fix the comp edge" in message
    assert 'status (was "review"' in message
    # Server order decided: Bob's later change won, and everyone sees the same board.
    qtbot.waitUntil(lambda: boards["alice"].card_titles("completed") == ["Fix the comp edge"], timeout=10_000)
    qtbot.waitUntil(lambda: not boards["alice"].conflict_bar.isHidden(), timeout=10_000)
    assert "bob" in boards["alice"].conflict_label.text()


def test_closing_the_bridge_mid_sign_in_leaves_nothing_running(qtbot: Any, tmp_path: Path) -> None:
    # A server that accepts the connection and never answers: the sign-in would wait out its timeouts.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        bridge = _bridge(qtbot, tmp_path, "alice")
        answers: list[object] = []
        bridge.signed_in.connect(answers.append)
        bridge.sign_in_failed.connect(answers.append)
        bridge.sign_in(f"127.0.0.1:{silent.getsockname()[1]}", "alice", "alice-password")
        silent.settimeout(10)
        connection, _address = silent.accept()  # the sign-in is now waiting for an answer
        with connection:
            assert bridge.signing_in
            bridge.close()
            assert not bridge.signing_in, "close() waited for the sign-in worker to end"
            # A late answer would be delivered by the event loop now.
            with (
                qtbot.assertNotEmitted(bridge.signed_in, wait=100),
                qtbot.assertNotEmitted(bridge.sign_in_failed, wait=100),
            ):
                pass
        assert answers == []
        assert bridge.client is None


def test_a_comment_written_through_the_store_is_announced_and_sent(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], shot: AssetRecord
) -> None:
    alice, bob = people["alice"], people["bob"]
    asset_id = alice.store.ensure_asset(studio.project, shot.name, shot.kind, shot.content_hash)
    with qtbot.waitSignal(alice.local_change, check_params_cb=lambda kind: kind == "comment"):
        alice.store.add_comment(studio.project, asset_id, "straight to the store")
    qtbot.waitUntil(
        lambda: [c.body for c in bob.store.list_comments(asset_id)] == ["straight to the store"],
        timeout=10_000,
    )


def test_sign_in_over_wss_with_a_studio_ca_through_the_dialog(
    qtbot: Any, tmp_path: Path, catalog: Catalog
) -> None:
    from tests.core.sync.test_tls import add_studio_users, make_pki

    pki = make_pki(tmp_path / "pki")
    config = ServerConfig(
        db_url=add_studio_users(tmp_path / "tls-server"),
        port=0,
        ping_interval_s=None,
        ssl_context=pki.server_context(),
    )
    server = ServerThread(config).start()
    bridge = _bridge(qtbot, tmp_path, "alice")
    state = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    state.setValue("sync/links/99", 5)  # a link the app kept in ui.ini before the shared links file
    links = ProjectLinks(state)
    assert links.server_project(99) == 5
    assert not state.contains("sync/links/99")
    dialog = LoginDialog(bridge, links, catalog.create_project("show"))
    qtbot.addWidget(dialog)
    try:
        dialog.url_edit.setText("ws://studio-server:8765")
        assert not dialog.insecure_label.isHidden()
        assert "without encryption" in dialog.insecure_label.text()
        dialog.url_edit.setText(server.url)
        assert dialog.insecure_label.isHidden()

        dialog.ca_edit.setText(str(make_pki(tmp_path / "stranger", "Someone else's CA").ca_file))
        dialog.user_edit.setText("alice")
        dialog.password_edit.setText("alice-password")
        with qtbot.waitSignal(bridge.sign_in_failed, timeout=10_000):
            qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        assert "certificate could not be verified" in dialog.error_label.text()
        assert bridge.client is None

        dialog.ca_edit.setText(str(pki.ca_file))
        with qtbot.waitSignal(bridge.signed_in, timeout=10_000):
            qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        assert bridge.settings.ca_file == str(pki.ca_file)
        # The running client trusts the same CA: it connects, over TLS.
        qtbot.waitUntil(lambda: describe_status(bridge.status) == "online", timeout=10_000)
    finally:
        bridge.close()
        server.stop()


def test_a_note_written_without_a_server_is_shared_once_after_linking(
    qtbot: Any,
    tmp_path: Path,
    studio: Studio,
    people: dict[str, SyncBridge],
    window: MainWindow,
    shot: AssetRecord,
) -> None:
    laptop = _bridge(qtbot, tmp_path, "alice-laptop")  # never signed in yet
    try:
        ui = SyncUi(window, laptop)
        window.sidebar.reload_projects(shot.project_id)
        window.grid.select_asset(shot.id)
        panel = ui.inspector_comments
        qtbot.waitUntil(lambda: panel.record is not None, timeout=5000)
        panel.compose.setPlainText("Written on the train")
        note = panel.send()
        assert note is not None
        assert note.sync_state == "private"
        assert "private" in panel.card(0).badges

        laptop.start(studio.url, studio.tokens["alice"])
        qtbot.waitUntil(lambda: describe_status(laptop.status) == "online", timeout=10_000)
        assert laptop.store.pending_count() == 0, "signing in shares nothing unasked"
        ui.links.link(shot.project_id, studio.project)
        ui.update_context()
        qtbot.waitUntil(lambda: laptop.store.pending_count() == 0, timeout=10_000)
        qtbot.waitUntil(lambda: [c.sync_state for c in panel.comments()] == ["synced"], timeout=10_000)

        bob = people["bob"]
        asset = bob.store.asset_key(studio.project, shot.content_hash)
        qtbot.waitUntil(lambda: len(bob.store.list_comments(asset)) == 1, timeout=10_000)
        ui.update_context()  # linking again, or any later context change, shares nothing twice
        assert laptop.store.share_private_notes(shot.project_id, studio.project) == 0
        studio.stop()
        studio.start()  # a reconnect replays nothing either
        qtbot.waitUntil(lambda: describe_status(laptop.status) == "online", timeout=15_000)
        assert [c.body for c in bob.store.list_comments(asset)] == ["Written on the train"]
        assert [c.id for c in bob.store.list_comments(asset)] == [note.id]
    finally:
        laptop.close()


def test_a_teammates_playlist_plays_from_the_review_menu_and_ours_is_shared(
    qtbot: Any,
    studio: Studio,
    people: dict[str, SyncBridge],
    window: MainWindow,
    tray: Any,
    shot: AssetRecord,
) -> None:
    alice, bob = people["alice"], people["bob"]
    bob_ui = SyncUi(window, bob)
    bob_ui.links.link(shot.project_id, studio.project)
    window.sidebar.reload_projects(shot.project_id)
    made = alice.store.save_playlist(studio.project, "Alice's dailies", [shot.content_hash, "not-here"])
    qtbot.waitUntil(lambda: bool(window.review.teammates_playlists()), timeout=10_000)

    menu = window.review.play_menu
    menu.aboutToShow.emit()
    action = next(a for a in menu.actions() if a.text().startswith("Alice's dailies"))
    window.review.run.set_still_seconds(60)
    action.trigger()
    assert window.viewer.bar.title.text() == shot.name
    assert (
        '1 of 2 items of "Alice\'s dailies" are not on this computer' in window.statusBar().currentMessage()
    )

    window.grid.select_asset(shot.id)
    ours = window.review.create_playlist("Bob's picks")
    assert ours is not None
    qtbot.waitUntil(
        lambda: (
            [p.name for p in alice.store.list_playlists(studio.project)] == ["Alice's dailies", "Bob's picks"]
        ),
        timeout=10_000,
    )
    assert next(p for p in alice.store.list_playlists(studio.project) if p.id != made.id).items == [
        shot.content_hash
    ]
