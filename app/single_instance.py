"""One desktop app per user and data dir: a second launch hands its arguments to the first and exits.

"Open with StratoPipe", a drop on the launcher and a ``stratopipe://`` link all start a new process; it
connects to the running app's local socket, sends ``{"arguments": [...], "cwd": "..."}`` as one JSON
line and waits for ``ok``. The socket is named after the user and the data dir, so two data dirs are two
independent apps. A socket file left by a crashed app refuses connections, so the new launch becomes the
running app: with ``UserAccessOption`` Qt creates the socket privately and renames it into place, which
replaces the stale file. Two launches racing through the same instant can both start; they share the
catalog safely, and links go to the one that listened last.
"""

from __future__ import annotations

import enum
import getpass
import hashlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from core.links import parse_launch_arguments

log = logging.getLogger(__name__)

# Long enough for a busy UI thread (a big ingest starting) to answer; short enough that a hung app
# does not leave the launcher hanging without a word.
HANDOVER_TIMEOUT_MS = 5000
ACK = b"ok\n"
# A handover is a few paths; anything bigger is not one of ours.
MAX_MESSAGE_BYTES = 1 << 20


class Handover(enum.Enum):
    NO_RUNNING_APP = "no running app"
    ACCEPTED = "accepted"
    NO_ANSWER = "no answer"


def server_name(data_dir: Path) -> str:
    """Per user (the socket lives in a shared temp dir) and per resolved data dir."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # a container user without a passwd entry or $USER
        user = "user"
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return f"stratopipe-{user}-{digest}"


def hand_over(name: str, arguments: list[str], cwd: Path, timeout_ms: int = HANDOVER_TIMEOUT_MS) -> Handover:
    """Give this launch's arguments to the running app, if there is one. Blocking waits: it runs before
    any QApplication exists, so the second launch never initialises a GUI."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return Handover.NO_RUNNING_APP  # none listening, or a crashed app's socket file
    message = json.dumps({"arguments": arguments, "cwd": str(cwd)}) + "\n"
    socket.write(message.encode())
    socket.waitForBytesWritten(timeout_ms)
    answer = b""
    while not answer.endswith(b"\n") and socket.waitForReadyRead(timeout_ms):
        answer += bytes(socket.readAll().data())
    socket.abort()
    return Handover.ACCEPTED if answer == ACK else Handover.NO_ANSWER


class InstanceServer(QObject):
    """The running app's end: each accepted handover is parsed and emitted as a ``LaunchRequest``."""

    request_received = Signal(object)  # core.links.LaunchRequest

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server = QLocalServer(self)
        # Only this user may hand over paths: the socket sits in a temp dir others can list.
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    @property
    def full_name(self) -> str:
        return self._server.fullServerName()

    def listen(self) -> bool:
        """Become the running app (call it once ``hand_over`` found none); False when the socket
        cannot be made, the app then works without receiving links."""
        if self._server.listen(self._name):
            return True
        log.warning("Cannot listen for other launches: %s", self._server.errorString())
        return False

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > MAX_MESSAGE_BYTES:
                log.warning("Dropped an oversized message on the launch socket")
                socket.abort()
            return
        line = bytes(socket.readLine().data())
        try:
            message = json.loads(line)
            request = parse_launch_arguments(
                [str(a) for a in message["arguments"]], Path(str(message["cwd"]))
            )
        except (ValueError, KeyError, TypeError):
            log.warning("Ignored a malformed message on the launch socket: %r", line[:200])
            socket.abort()
            return
        socket.write(ACK)
        socket.flush()
        socket.disconnectFromServer()
        log.info(
            "Another launch handed over %d path(s), %d asset link(s)",
            len(request.paths),
            len(request.asset_ids),
        )
        self.request_received.emit(request)
