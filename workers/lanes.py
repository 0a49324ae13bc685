"""Lanes: one executor per scarce resource, as ``concurrent.futures.Executor`` over ``QThreadPool``.

Core code (the job scheduler, ingest) only knows ``Executor``; the app gets Qt-managed threads that
stop cleanly with the application. Renders run in child processes, so their lane needs one thread;
the GPU belongs to one inference thread; catalog writes are serialised on one writer thread.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from PySide6.QtCore import QRunnable, QThreadPool

from core.ai.batcher import INFERENCE_JOBS_IN_FLIGHT
from core.jobs.model import Lane

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _FutureRunnable(QRunnable):
    def __init__(self, future: Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._future = future
        self._fn = fn
        self._args = args
        self._kwargs = kwargs

    def run(self) -> None:
        if not self._future.set_running_or_notify_cancel():
            return
        try:
            result = self._fn(*self._args, **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            self._future.set_exception(exc)
        else:
            self._future.set_result(result)


class LaneExecutor(Executor):
    """An Executor whose threads are a dedicated QThreadPool."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max(1, threads))
        self.pool.setObjectName(f"lane-{name}")
        self._shutdown = False

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        if self._shutdown:
            future.cancel()
            future.set_running_or_notify_cancel()
            return future
        self.pool.start(_FutureRunnable(future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
        if cancel_futures:
            self.pool.clear()
        if wait:
            self.pool.waitForDone()


@dataclass
class Lanes:
    media: LaneExecutor
    render: LaneExecutor
    inference: LaneExecutor
    writer: LaneExecutor

    @classmethod
    def create(
        cls,
        media_threads: int = 0,
        render_threads: int = 1,
        inference_threads: int = INFERENCE_JOBS_IN_FLIGHT,
    ) -> Lanes:
        """``render_threads`` and ``inference_threads`` grow when those steps run on a farm (a lane
        thread then only waits for the cluster, and more jobs in flight make fuller batches there)."""
        threads = media_threads or os.cpu_count() or 2
        lanes = cls(
            media=LaneExecutor("media", threads),
            render=LaneExecutor("render", render_threads),
            inference=LaneExecutor("inference", inference_threads),
            writer=LaneExecutor("catalog-writer", 1),
        )
        log.info(
            "Lanes: media %d threads, render %d, inference %d jobs, catalog writer 1",
            threads,
            render_threads,
            inference_threads,
        )
        return lanes

    def by_name(self) -> dict[Lane, Executor]:
        return {Lane.MEDIA: self.media, Lane.RENDER: self.render, Lane.INFERENCE: self.inference}

    def shutdown(self) -> None:
        """Stop the work lanes (queued jobs dropped, running ones finish or see their cancel token),
        then drain the writer, so every catalog write those jobs queued lands before the catalog
        closes: an interrupted job is then recorded as such and recovered at the next start."""
        for lane in (self.media, self.render, self.inference):
            lane.shutdown(wait=True, cancel_futures=True)
        self.writer.shutdown(wait=True)
