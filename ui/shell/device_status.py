"""The status bar's inference device ("AI: cpu", "AI: cuda:0 (fp16)").

Finding it imports torch (seconds), so it runs on a worker thread after the window is built; the label
says "AI: …" until then. The probe is passed in (the app asks ``core.ai.device.choose_device``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.ai.device import DeviceChoice
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)


def device_label(choice: DeviceChoice) -> str:
    return f"AI: {choice.device}" + (" (fp16)" if choice.fp16 else "")


class DeviceStatus(QLabel):
    determined = Signal(object)  # DeviceChoice, or None when the probe failed

    def __init__(
        self, probe: Callable[[], DeviceChoice], background: BackgroundWork, parent: QWidget | None = None
    ) -> None:
        super().__init__("AI: …", parent)
        self.setObjectName("Dim")
        self.setToolTip("Finding the device AI sorting runs on…")
        self._probe = probe
        self._background = background
        self._started = False
        self.choice: DeviceChoice | None = None

    def start(self) -> None:
        """Run the probe on a worker thread (never on the UI thread: it imports torch)."""
        if self._started:
            return
        self._started = True
        # Any failure is shown in the label, not reported as a crash: AI sorting is optional.
        self._background.call(self._probe, self._on_choice, errored=self._on_error)

    def _on_choice(self, choice: DeviceChoice) -> None:
        self.choice = choice
        self.setText(device_label(choice))
        self.setToolTip(f"AI sorting runs on {choice.device}: {choice.reason}")
        self.determined.emit(choice)

    def _on_error(self, exc: BaseException) -> None:
        log.warning("Could not determine the inference device: %s", exc)
        self.setText("AI: unavailable")
        self.setToolTip(f"The inference device could not be determined: {exc}")
        self.determined.emit(None)


def probe_device(preference: str) -> DeviceChoice:
    """The default probe: imports torch when called, so only ever from a worker thread."""
    from core.ai.device import choose_device

    return choose_device(preference)
