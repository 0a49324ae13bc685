"""The Jobs panel's queue control: pause or resume everything or one lane, from one menu button.

The button says what is paused ("Render paused", "All paused") so a queue that does not move explains
itself. The state is read back from the scheduler on every refresh: the tray menu pauses it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from core.jobs.model import Lane
from ui.common import theme

if TYPE_CHECKING:
    from workers.job_controller import JobController

LANE_NAMES = {Lane.MEDIA: "Media", Lane.RENDER: "Render", Lane.INFERENCE: "AI (inference)"}


class PauseButton(QToolButton):
    def __init__(self, jobs: JobController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip("Pause or resume queued jobs, all or one lane; running jobs finish their step")
        menu = QMenu(self)
        self.all_action = QAction("Pause everything", menu, checkable=True)
        self.all_action.toggled.connect(lambda paused: self._jobs.set_paused(paused))
        menu.addAction(self.all_action)
        menu.addSeparator()
        self.lane_actions: dict[Lane, QAction] = {}
        for lane, name in LANE_NAMES.items():
            action = QAction(f"Pause {name} lane", menu, checkable=True)
            action.toggled.connect(lambda paused, ln=lane: self._jobs.set_paused(paused, ln))
            menu.addAction(action)
            self.lane_actions[lane] = action
        self.setMenu(menu)
        jobs.queue_changed.connect(self.refresh)
        self.refresh()

    def paused_lanes(self) -> frozenset[Lane]:
        scheduler = self._jobs.scheduler
        return frozenset(lane for lane in Lane if scheduler.queue.lane_paused(lane))

    def refresh(self) -> None:
        scheduler = self._jobs.scheduler
        everything = scheduler.paused
        lanes = self.paused_lanes()
        for action, checked in (
            (self.all_action, everything),
            *((self.lane_actions[lane], lane in lanes and not everything) for lane in Lane),
        ):
            action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(False)
        for lane, action in self.lane_actions.items():
            action.setEnabled(not everything)
            action.setText(f"{'Resume' if lane in lanes else 'Pause'} {LANE_NAMES[lane]} lane")
        self.all_action.setText("Resume everything" if everything else "Pause everything")
        if everything:
            self.setText("All paused")
        elif lanes:
            self.setText(
                ", ".join(LANE_NAMES[lane].split(" ")[0] for lane in Lane if lane in lanes) + " paused"
            )
        else:
            self.setText("Pause")
        # A queue that does not move must say why at a glance.
        self.setStyleSheet(f"color: {theme.WARNING.name()};" if lanes or everything else "")
