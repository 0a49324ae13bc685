"""The farm's reachability, carried from whichever thread saw it to the UI as a Qt signal.

``FarmExecutor`` calls its listeners on a lane thread (or the connect thread); a signal emitted there
reaches slots of objects that live in the UI thread through the event loop, never directly.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from core.farm.executor import FarmExecutor, FarmStatus

log = logging.getLogger(__name__)

# How long a "connected" note stays in the status bar; "unreachable" stays until replaced.
CONNECTED_MESSAGE_MS = 8000


class FarmStatusRelay(QObject):
    message = Signal(str, int)  # text, milliseconds to show it (0: until replaced)

    def start(self, farm: FarmExecutor) -> None:
        """Listen to ``farm`` and connect it now, off the UI thread (a dead scheduler takes seconds)."""
        farm.add_listener(self._relay)
        threading.Thread(target=farm.connect, name="farm-connect", daemon=True).start()

    def _relay(self, status: FarmStatus) -> None:
        self.message.emit(status.message, CONNECTED_MESSAGE_MS if status.connected else 0)
