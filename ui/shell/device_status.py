"""The status bar's inference device ("AI: cpu", "AI: cuda:0 (fp16)").

Finding it imports torch (seconds), so it runs on a worker thread after the window is built; the label
says "AI: …" until then. The probe is passed in (the app asks ``core.ai.device.choose_device``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.ai.device import DeviceChoice

log = logging.getLogger(__name__)


def device_label(choice: DeviceChoice) -> str:
    return f"AI: {choice.device}" + (" (fp16)" if choice.fp16 else "")


class _ProbeRelay(QObject):
    done = Signal(object, object)  # DeviceChoice | None, error | None


class _ProbeTask(QRunnable):
    def __init__(self, probe: Callable[[], DeviceChoice], relay: _ProbeRelay) -> None:
        super().__init__()
        self._probe, self._relay = probe, relay

    def run(self) -> None:
        try:
            choice, error = self._probe(), None
        except Exception as exc:  # noqa: BLE001 - any failure is shown in the label, not raised
            choice, error = None, exc
        self._relay.done.emit(choice, error)


class DeviceStatus(QLabel):
    determined = Signal(object)  # DeviceChoice, or None when the probe failed

    def __init__(self, probe: Callable[[], DeviceChoice], parent: QWidget | None = None) -> None:
        super().__init__("AI: …", parent)
        self.setObjectName("Dim")
        self.setToolTip("Finding the device AI sorting runs on…")
        self._probe = probe
        self._started = False
        self.choice: DeviceChoice | None = None

    def start(self) -> None:
        """Run the probe on a worker thread (never on the UI thread: it imports torch)."""
        if self._started:
            return
        self._started = True
        # The relay belongs to the application, not to this label: the probe may outlive the window.
        relay = _ProbeRelay(QCoreApplication.instance())
        relay.done.connect(self._on_done)
        relay.done.connect(lambda *_: relay.deleteLater())
        QThreadPool.globalInstance().start(_ProbeTask(self._probe, relay))

    def _on_done(self, choice: DeviceChoice | None, error: BaseException | None) -> None:
        if choice is not None:
            self._on_choice(choice)
        else:
            self._on_error(error or RuntimeError("no device"))

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
