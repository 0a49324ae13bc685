"""The worker side: run one step of a ``RemoteStepCall`` inside a Dask worker process.

Dask cannot interrupt a running task, so a watcher thread long-polls the call's ``distributed.Event``
and fires a local ``CancelToken``; the step reacts as it does locally (the render service kills its
sandboxed child's process group, AI steps stop between units of work). Progress goes out as worker
events on one topic that the client subscribed to. The outcome is data, never a raised exception:
our error types must not depend on pickling across machines.

A batch of small steps (``run_remote_batch``, sent by core/farm/coalesce.py) runs its jobs side by
side in one task, each with its own token, scratch folder and outcome; their classifications meet in
this worker's inference batcher. One watcher long-polls the batch's doorbell Event and, when it rings,
fires the tokens of the jobs whose own cancel Event is set.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.farm.dask_api import distributed
from core.farm.wire import (
    RemoteBatchCall,
    RemoteStepCall,
    RemoteStepOutcome,
    files_under,
    materialize,
)
from core.jobs.steps import (
    AssetRef,
    CancelToken,
    InvalidInputError,
    JobCancelledError,
    RecoverableError,
    StepContext,
    StepFunction,
)
from core.settings import Settings, env_overrides

if TYPE_CHECKING:
    from distributed import Worker

    from core.farm.worker_state import FarmWorkerState

log = logging.getLogger(__name__)

CANCEL_POLL_S = 0.5
PROGRESS_INTERVAL_S = 0.1


def _worker_settings(shipped: dict[str, Any]) -> Settings:
    """The client's settings, with what this worker's environment pins (STRATOPIPE_BLENDER_PATH...)."""
    import os

    pinned = {name: os.environ[variable] for name, variable in env_overrides().items()}
    return Settings.model_validate({**shipped, **pinned, "execution": "local"})


def _step_function(source: tuple[str, str]) -> StepFunction:
    module_name, function_name = source
    function: StepFunction = getattr(importlib.import_module(module_name), function_name)
    return function


class _CancelWatcher:
    """Long-polls the call's Event on the scheduler; sets the local token when it fires."""

    def __init__(self, event_name: str, token: CancelToken) -> None:
        self._event = distributed().Event(event_name)
        self._token = token
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"cancel-{event_name}", daemon=True)

    def already_set(self) -> bool:
        return bool(self._event.is_set())

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                fired = self._event.wait(timeout=CANCEL_POLL_S)
            except Exception:  # noqa: BLE001 - the worker is closing: nothing left to cancel
                return
            if fired:
                log.info("Cancel received for %s", self._event.name)
                self._token.cancel()
                return

    def stop(self) -> None:
        self._done.set()


class _DoorbellWatcher:
    """A batch's cancel watcher: one long-poll for all its jobs. When the doorbell rings it is cleared
    first and the jobs' own Events read after, so a cancel rung meanwhile rings it again."""

    def __init__(self, batch: RemoteBatchCall, tokens: dict[str, CancelToken]) -> None:
        dask = distributed()
        self._doorbell = dask.Event(batch.doorbell)
        self._events = {call.key: dask.Event(call.cancel_event) for call in batch.calls}
        self._tokens = tokens
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"cancel-{batch.key}", daemon=True)

    def start(self) -> None:
        if self._doorbell.is_set():
            self._answer()
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                if self._doorbell.wait(timeout=CANCEL_POLL_S):
                    self._answer()
            except Exception:  # noqa: BLE001 - the worker is closing: nothing left to cancel
                return

    def _answer(self) -> None:
        self._doorbell.clear()
        for key, event in self._events.items():
            token = self._tokens[key]
            if not token.cancelled and event.is_set():
                log.info("Cancel received for %s", key)
                token.cancel()

    def stop(self) -> None:
        self._done.set()


def run_remote_batch(batch: RemoteBatchCall) -> list[RemoteStepOutcome]:
    """The Dask task of a batch: its jobs side by side, an outcome each, in the calls' order."""
    from core.farm.worker_state import farm_state

    worker = distributed().get_worker()
    state = farm_state(worker)
    tokens = {call.key: CancelToken() for call in batch.calls}
    watcher = _DoorbellWatcher(batch, tokens)
    scratch = Path(tempfile.mkdtemp(prefix="stratopipe-batch-", dir=worker.local_directory))
    topic = batch.calls[0].progress_topic

    def one(index: int) -> RemoteStepOutcome:
        call = batch.calls[index]
        token = tokens[call.key]
        if token.cancelled:
            outcome = RemoteStepOutcome("cancelled", worker.address, message="Cancelled before it started")
        else:
            folder = scratch / str(index)
            folder.mkdir()
            outcome = _run(call, worker, state, token, folder, quiet=True)
        if outcome.status == "cancelled":
            # Its lane thread need not wait for the rest of the batch to know the job stopped.
            worker.log_event(topic, {"key": call.key, "ended": "cancelled"})
        return outcome

    try:
        watcher.start()
        started = {"keys": [call.key for call in batch.calls], "fraction": 0.0}
        worker.log_event(topic, {**started, "message": f"Started on {worker.address}"})
        with ThreadPoolExecutor(len(batch.calls), thread_name_prefix="stratopipe-batch") as jobs:
            return list(jobs.map(one, range(len(batch.calls))))
    finally:
        watcher.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def run_remote_step(call: RemoteStepCall) -> RemoteStepOutcome:
    """The Dask task: one step, on this worker, with this worker's warm resources."""
    from core.farm.worker_state import farm_state

    worker = distributed().get_worker()
    state = farm_state(worker)
    token = CancelToken()
    watcher = _CancelWatcher(call.cancel_event, token)
    scratch = Path(tempfile.mkdtemp(prefix="stratopipe-step-", dir=worker.local_directory))
    try:
        if watcher.already_set():
            return RemoteStepOutcome("cancelled", worker.address, message="Cancelled before it started")
        watcher.start()
        worker.log_event(
            call.progress_topic, {"key": call.key, "fraction": 0.0, "message": f"Started on {worker.address}"}
        )
        return _run(call, worker, state, token, scratch)
    finally:
        watcher.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _run(
    call: RemoteStepCall,
    worker: Worker,
    state: FarmWorkerState,
    token: CancelToken,
    scratch: Path,
    *,
    quiet: bool = False,
) -> RemoteStepOutcome:
    address = worker.address
    cache_dir = Path(call.remote_cache_dir) if call.remote_cache_dir else scratch / "cache"
    paths = replace(state.paths, cache_dir=cache_dir)
    try:
        settings = _worker_settings(call.settings)
        for relative, data in call.cache_inputs.items():
            target = cache_dir.joinpath(*PurePosixPath(relative).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        asset = None
        if call.asset is not None:
            shipped = call.asset
            asset = AssetRef(
                id=shipped.id,
                path=materialize(shipped.path, scratch / "in" / "asset"),
                kind=shipped.kind,
                content_hash=shipped.content_hash,
                metadata=shipped.metadata,
                frames=tuple(
                    materialize(frame, scratch / "in" / f"frame-{index}")
                    for index, frame in enumerate(shipped.frames)
                ),
            )
        params = dict(call.params)
        for name, item in call.file_params.items():
            params[name] = str(materialize(item, scratch / "in" / name))
        params.update(state.lane_params(call.step, settings))
        ctx = StepContext(asset=asset, paths=paths, settings=settings, cancel=token, params=params)
        output = _drive(_step_function(call.source), ctx, call, worker, quiet=quiet)
    except JobCancelledError:
        return RemoteStepOutcome("cancelled", address, message="Cancelled by the user")
    except InvalidInputError as exc:
        return RemoteStepOutcome("invalid", address, message=str(exc))
    except RecoverableError as exc:
        return RemoteStepOutcome("recoverable", address, message=str(exc))
    except Exception as exc:  # reported to the client, whose runner retries it
        log.exception("Step %s failed on %s", call.step, address)
        return RemoteStepOutcome("recoverable", address, message=f"{type(exc).__name__}: {exc}")
    files = {} if call.remote_cache_dir else files_under(output, cache_dir)
    return RemoteStepOutcome(
        "completed", address, output=output, device=ctx.device, cache_dir=str(cache_dir), files=files
    )


def _drive(
    function: StepFunction, ctx: StepContext, call: RemoteStepCall, worker: Worker, *, quiet: bool
) -> dict[str, Any]:
    """Runs the step, sending its progress at most every ``PROGRESS_INTERVAL_S``; ``quiet``: not at
    its start either (a batch said "Started" for all its jobs, and most end within the interval)."""
    generator = function(ctx)
    last = time.monotonic() if quiet else 0.0
    while True:
        try:
            progress = next(generator)
        except StopIteration as finished:
            return dict(finished.value or {})
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL_S:
            last = now
            worker.log_event(
                call.progress_topic,
                {"key": call.key, "fraction": float(progress.fraction), "message": progress.message},
            )
        ctx.cancel.raise_if_cancelled()
