"""Jobs, wired where they meet the notification centre and the viewer: alerts from the scheduler
(a stalled step, jobs recovered after a crash) and a lost sync connection go to the Alerts section;
a finished batch becomes one notification (an ingest batch with failures also lists the failed files);
a finished shot analysis shows its plot (the shown clip is reopened with it, and its notification
opens the clip in the viewer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from core.jobs.model import JobState
from core.media.kinds import AssetKind
from core.notify import notification_kind_of_batch
from core.pipeline import JobKind
from ui.common.dialogs import IngestFailuresDialog
from ui.shell.notifications import SyncLossAlerts

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.jobs.model import JobDocument
    from core.notify import BatchSummary
    from ui.shell.notifications import NotificationCentre, Notifier
    from workers.job_controller import JobController

MAX_STORED_FAILURES = 500  # a notification is stored in the catalog: a huge batch must not bloat it


class AnalysisResults:
    """Reopens the clip the viewer shows once its analysis is in the catalog, so the plot appears."""

    def __init__(
        self, shown: Callable[[], AssetRecord | None], reopen: Callable[[AssetRecord], None]
    ) -> None:
        self._shown = shown
        self._reopen = reopen
        self._finished: set[int] = set()

    def on_job_updated(self, doc: JobDocument) -> None:
        # The job's completion arrives before the catalog write; the asset change after it.
        if doc.kind == JobKind.ANALYSIS and doc.state == JobState.COMPLETED and doc.asset_id is not None:
            self._finished.add(doc.asset_id)

    def on_asset_changed(self, record: AssetRecord) -> None:
        if record.id not in self._finished:
            return
        self._finished.discard(record.id)
        shown = self._shown()
        if (
            shown is not None
            and shown.id == record.id
            and record.kind in (AssetKind.VIDEO, AssetKind.SEQUENCE)
        ):
            self._reopen(record)


class BatchNotices(QObject):
    """One notification per batch; a batch with failures also opens the list of failed files."""

    # A QObject child of the window: Qt drops its connection with it, so a batch that ends after the
    # window is gone opens no dialog.
    def __init__(self, notifier: Notifier, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self._notifier = notifier
        self._dialog_parent = dialog_parent

    def on_batch_finished(self, summary: BatchSummary) -> None:
        failures = [[str(p), str(e)] for p, e in summary.failures[:MAX_STORED_FAILURES]]
        target = {**summary.target, "failures": failures}
        level = "warning" if summary.failed else "success"
        self._notifier.notify(
            notification_kind_of_batch(summary.kind), summary.title, summary.body, level, target
        )
        if summary.failures and summary.kind == "ingest":
            IngestFailuresDialog(
                [(p, e) for p, e in failures], self._dialog_parent, title=summary.title
            ).show()


@dataclass(frozen=True)
class JobNotices:
    sync: SyncLossAlerts
    analysis: AnalysisResults
    batches: BatchNotices


def connect_job_notices(
    jobs: JobController,
    notifier: Notifier,
    centre: NotificationCentre,
    catalog: Catalog,
    shown_in_viewer: Callable[[], AssetRecord | None],
    open_in_viewer: Callable[[AssetRecord], None],
    reveal: Callable[[int], None],
    *,
    dialog_parent: QWidget,
) -> JobNotices:
    """Connect it all; the window keeps the result (its ``sync`` hears the sync state)."""
    jobs.alert_raised.connect(notifier.alert)
    batches = BatchNotices(notifier, dialog_parent)
    jobs.batch_finished.connect(batches.on_batch_finished)
    results = AnalysisResults(shown_in_viewer, open_in_viewer)
    jobs.job_updated.connect(results.on_job_updated)
    jobs.asset_changed.connect(results.on_asset_changed)

    def open_asset(asset_id: int) -> None:
        reveal(asset_id)
        record = catalog.get_asset(asset_id)
        if record is not None:
            open_in_viewer(record)

    centre.asset_open_requested.connect(open_asset)
    return JobNotices(SyncLossAlerts(notifier), results, batches)
