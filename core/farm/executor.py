"""The client side: step functions of the render and inference lanes, run on a Dask cluster.

``FarmExecutor.wrap`` returns a step function with the local step's contract (core/jobs/steps.py), so
the lanes, the runner, job documents and retries stay as they are: a lane thread submits the step
(``retries=0``), streams its progress back as ``Progress``, maps the job's cancel token onto a
``distributed.Event`` the task watches, and returns the step's output with its files in the local
cache. A lost worker becomes a ``RecoverableError`` (our runner retries, on whichever worker is
free); invalid input comes back as ``InvalidInputError`` and is never retried. When the scheduler
cannot be reached, the step runs locally and the fallback is reported once per outage. Small steps
(``COALESCED_STEPS``) of jobs submitted close together share one task (core/farm/coalesce.py); the
lane thread waits on its own job's handle either way (core/farm/tasks.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.farm.coalesce import StepCoalescer
from core.farm.dask_api import FarmUnavailableError, distributed
from core.farm.paths import PathMapping
from core.farm.wire import (
    FILE_PARAMS,
    MACHINE_SETTINGS,
    RemoteAsset,
    RemoteInput,
    RemoteStepCall,
    ShipBudget,
    localize_output,
    portable_params,
    ship_input,
)
from core.jobs.model import Lane
from core.jobs.steps import (
    InvalidInputError,
    JobCancelledError,
    Progress,
    RecoverableError,
    StepContext,
    StepFunction,
    StepOutput,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from pathlib import Path

    from core.farm.tasks import RemoteTask
    from core.farm.wire import RemoteStepOutcome
    from core.settings import Settings

log = logging.getLogger(__name__)

PROGRESS_TOPIC = "stratopipe-progress"
DEFAULT_CONNECT_TIMEOUT_S = 5.0
# After a failed connect, steps run locally without trying again for this long.
RECONNECT_AFTER_S = 30.0
# How long a cancelled step may take to report back before the lane gives up waiting for it.
CANCEL_GRACE_S = 10.0
# What `stratopipe farm worker` advertises per worker: how many renders it runs at once.
RENDER_RESOURCE = "render"
# How often the workers and their resources are looked at again (workers join and leave).
LOOK_EVERY_S = 10.0
# While a step waits for a free worker, a progress report this often (see the stall watchdog).
QUEUED_HEARTBEAT_S = 1.0
# Steps cheap enough that the per-task path is a large part of their cost: jobs submitted close
# together share one task. Renders and enhancements (seconds each) keep a task of their own.
COALESCED_STEPS = frozenset({"classify", "focus_crop"})
_WAKE = object()
_DONE = object()


@dataclass(frozen=True)
class FarmStatus:
    connected: bool
    message: str


def unreachable_message(address: str) -> str:
    return f"Farm unreachable — running locally ({address})"


def farm_address(settings: Settings, executor: str | None = None) -> str | None:
    """The scheduler to use: ``--executor`` (``local`` or ``dask://HOST:PORT``) over the settings'
    ``execution``/``dask_scheduler``; None for the local lanes."""
    if executor is not None:
        if executor == "local":
            return None
        scheme, _, rest = executor.partition("://")
        if scheme not in ("dask", "tcp", "tls") or not rest:
            raise ValueError(f"--executor takes local or dask://HOST:PORT, not {executor!r}")
        return f"{'tcp' if scheme == 'dask' else scheme}://{rest}"
    if settings.execution != "dask":
        return None
    if not settings.dask_scheduler.strip():
        log.warning("execution is dask but no dask_scheduler is set: running locally")
        return None
    address = settings.dask_scheduler.strip()
    return address if "://" in address else f"tcp://{address}"


class FarmExecutor:
    """One Dask client for the app (or a CLI run); thread-safe, used from the lanes' threads."""

    def __init__(
        self,
        address: str,
        *,
        mapping: PathMapping | None = None,
        ship_max_bytes: int = 256 * 2**20,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        on_status: Callable[[FarmStatus], None] | None = None,
        coalescer: StepCoalescer | None = None,
        coalesced_steps: frozenset[str] = COALESCED_STEPS,
    ) -> None:
        self.address = address
        self.mapping = mapping or PathMapping()
        self.ship_max_bytes = ship_max_bytes
        self.connect_timeout_s = connect_timeout_s
        self._listeners: list[Callable[[FarmStatus], None]] = [on_status] if on_status else []
        self._lock = threading.Lock()
        self._client: Any = None  # distributed.Client
        self._failed_at: float | None = None
        self._closed = False
        self._channels: dict[str, queue.Queue[object]] = {}
        self._looked_at = 0.0
        self._workers = 0
        self._has_gpu = False
        self._has_render_slots = False
        self.status = FarmStatus(False, f"Farm not connected yet ({address})")
        self.coalescer = coalescer or StepCoalescer()
        self.coalesced_steps = coalesced_steps

    @classmethod
    def from_settings(
        cls, settings: Settings, address: str, on_status: Callable[[FarmStatus], None] | None = None
    ) -> FarmExecutor:
        return cls(
            address,
            mapping=PathMapping(settings.path_mappings),
            ship_max_bytes=settings.farm_ship_max_mb * 2**20,
            connect_timeout_s=settings.farm_connect_timeout_s,
            on_status=on_status,
        )

    # --- connection -----------------------------------------------------------------------------

    def connect(self) -> bool:
        """True when the scheduler answers and has workers; a failed connect is not retried for
        ``RECONNECT_AFTER_S``."""
        with self._lock:
            if self._closed:
                return False
            if self._client is not None and self._client.status != "running":
                self._drop_client()
            if self._client is None:
                if self._failed_at is not None and time.monotonic() - self._failed_at < RECONNECT_AFTER_S:
                    return False
                status = self._open()
            else:
                status = self._look()
            changed = status != self.status
            self.status = status
        if changed:
            log.log(logging.INFO if status.connected else logging.WARNING, status.message)
            for listener in list(self._listeners):
                listener(status)
        return status.connected

    def _open(self) -> FarmStatus:
        try:
            self._client = distributed().Client(
                self.address, timeout=self.connect_timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError, ValueError, FarmUnavailableError) as exc:
            self._failed_at = time.monotonic()
            log.info("Cannot connect to the farm at %s: %s", self.address, exc)
            return FarmStatus(False, unreachable_message(self.address))
        self._failed_at = None
        self._client.subscribe_topic(PROGRESS_TOPIC, self._on_progress)
        self._looked_at = 0.0
        return self._look()

    def _look(self) -> FarmStatus:
        """The cluster's workers and their resources, asked again at most every ``LOOK_EVERY_S``.
        With no worker, jobs would wait for one forever: they run locally meanwhile."""
        now = time.monotonic()
        if now - self._looked_at >= LOOK_EVERY_S:
            try:
                workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
            except (OSError, TimeoutError) as exc:
                log.info("The farm at %s stopped answering: %s", self.address, exc)
                self._drop_client()
                self._failed_at = now
                return FarmStatus(False, unreachable_message(self.address))
            self._workers = len(workers)
            resources = [w.get("resources", {}) for w in workers.values()]
            self._has_gpu = any(r.get("GPU", 0) >= 1 for r in resources)
            self._has_render_slots = any(r.get(RENDER_RESOURCE, 0) >= 1 for r in resources)
            self._looked_at = now
        if not self._workers:
            return FarmStatus(False, f"Farm has no workers — running locally ({self.address})")
        return FarmStatus(True, f"Farm {self.address}: {self._workers} worker(s)")

    def add_listener(self, listener: Callable[[FarmStatus], None]) -> None:
        """``listener(status)`` on every change (called on the thread that saw it: a lane's)."""
        self._listeners.append(listener)

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # a client of a dead scheduler may fail to close
                log.debug("Closing the Dask client failed", exc_info=True)

    def close(self) -> None:
        self.coalescer.close()
        with self._lock:
            self._closed = True
            self._drop_client()

    def _on_progress(self, event: tuple[float, dict[str, Any]]) -> None:
        """Runs on the client's event loop: hand the message to the lane threads waiting for it (a
        batch's "started" names all its jobs)."""
        message = event[1]
        for key in message.get("keys") or [message.get("key")]:
            channel = self._channels.get(str(key))
            if channel is not None:
                channel.put(message)

    # --- steps ----------------------------------------------------------------------------------

    def wrap(
        self,
        name: str,
        local: StepFunction,
        lane: Lane,
        source: tuple[str, str],
        *,
        coalesce: bool | None = None,
    ) -> StepFunction:
        """``local`` on the farm when it is reachable, else ``local`` itself on this machine.

        ``source`` is the (module, function) a worker imports the step from; ``coalesce`` (by default
        for ``coalesced_steps``): jobs submitted close together share one task.
        """
        batched = name in self.coalesced_steps if coalesce is None else coalesce

        def run(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
            if not self.connect():
                return (yield from local(ctx))
            return (yield from self._run_remote(name, source, ctx, lane, batched))

        run.__name__ = f"farm_{name}"
        return run

    def _prepare(self, name: str, source: tuple[str, str], ctx: StepContext, key: str) -> RemoteStepCall:
        budget = ShipBudget(self.ship_max_bytes)
        asset = None
        if ctx.asset is not None:
            geometry = ctx.asset.kind == "geometry"
            asset = RemoteAsset(
                id=ctx.asset.id,
                kind=ctx.asset.kind,
                content_hash=ctx.asset.content_hash,
                metadata=dict(ctx.asset.metadata),
                path=ship_input(ctx.asset.path, self.mapping, budget, sidecars=geometry),
                frames=tuple(ship_input(f, self.mapping, budget, sidecars=False) for f in ctx.asset.frames),
            )
        file_params: dict[str, RemoteInput] = {}
        for param in FILE_PARAMS:
            value = ctx.params.get(param)
            if value:
                file_params[param] = ship_input(_path(value), self.mapping, budget, sidecars=False)
        remote_cache_dir = self.mapping.to_remote(ctx.paths.cache_dir)
        cache_inputs: dict[str, bytes] = {}
        preview = _made_preview(ctx) if name in ("classify", "focus_crop", "enhance") else None
        if preview is not None and remote_cache_dir is None:
            cache_inputs[preview.relative_to(ctx.paths.cache_dir).as_posix()] = budget.take(preview)
        settings = ctx.settings.model_dump(mode="json", exclude=set(MACHINE_SETTINGS))
        model_dir = self.mapping.to_remote(ctx.settings.model_dir) if ctx.settings.model_dir else None
        if model_dir is not None:
            settings["model_dir"] = model_dir
        return RemoteStepCall(
            key=key,
            step=name,
            source=source,
            asset=asset,
            params=portable_params(ctx.params),
            file_params=file_params,
            settings=settings,
            cancel_event=f"{key}-cancel",
            progress_topic=PROGRESS_TOPIC,
            remote_cache_dir=remote_cache_dir,
            cache_inputs=cache_inputs,
        )

    def _run_remote(
        self, name: str, source: tuple[str, str], ctx: StepContext, lane: Lane, batched: bool
    ) -> Generator[Progress, None, StepOutput]:
        from core.farm.tasks import SingleTask

        client = self._client
        if client is None:  # closed meanwhile
            raise RecoverableError("the farm connection was closed")
        key = f"stratopipe-{name}-{uuid.uuid4().hex}"
        call = self._prepare(name, source, ctx, key)
        channel: queue.Queue[object] = queue.Queue()
        self._channels[key] = channel
        resources = self._resources(lane)
        task: RemoteTask | None = None
        cancel_sent = False
        try:
            if batched:
                task = self.coalescer.add(client, call, resources)
            else:
                task = SingleTask(client, call, resources)
            task.on_done(lambda: channel.put(_DONE))
            ctx.cancel.on_cancel(lambda: channel.put(_WAKE))
            deadline: float | None = None
            started = False
            waiting_since = time.monotonic()
            while not task.done():
                if ctx.cancel.cancelled and not cancel_sent:
                    task.cancel()
                    cancel_sent = True
                    deadline = time.monotonic() + CANCEL_GRACE_S
                if deadline is not None and time.monotonic() > deadline:
                    raise JobCancelledError
                try:
                    item = channel.get(timeout=0.25)
                except queue.Empty:
                    # Queued behind other jobs on the farm is waiting, not stalling: say so to the stall
                    # watchdog until a worker starts the step; from then on only its progress counts.
                    if not started and time.monotonic() - waiting_since >= QUEUED_HEARTBEAT_S:
                        waiting_since = time.monotonic()
                        yield Progress(0.0, f"Waiting for a farm worker ({self.address})")
                    continue
                if isinstance(item, dict):
                    if "ended" in item:  # this job of a batch stopped; the others go on
                        if cancel_sent:
                            raise JobCancelledError
                        continue
                    started = True
                    yield Progress(float(item["fraction"]), str(item.get("message", "")))
            outcome = task.outcome()
        except GeneratorExit:
            # The runner stopped listening (a cancel seen between two progress reports, a lane
            # shutting down): the task must not go on alone on the farm.
            if task is not None and not task.done() and not cancel_sent:
                task.cancel()
            raise
        finally:
            self._channels.pop(key, None)
            if task is not None:
                task.close()
        return self._finish(ctx, outcome)

    def _resources(self, lane: Lane) -> dict[str, float] | None:
        """What a step asks of its worker, only when some worker offers it (else it would wait
        forever): a GPU for inference; one of the worker's render slots for a render (workers run
        several threads so that classifications batch, but one render child renders at a time)."""
        if lane == Lane.INFERENCE and self._has_gpu:
            return {"GPU": 1}
        if lane == Lane.RENDER and self._has_render_slots:
            return {RENDER_RESOURCE: 1}
        return None

    def _finish(self, ctx: StepContext, outcome: RemoteStepOutcome) -> StepOutput:
        if outcome.status == "cancelled":
            raise JobCancelledError
        where = outcome.worker
        if outcome.status == "invalid":
            raise InvalidInputError(outcome.message)
        if outcome.status == "recoverable":
            raise RecoverableError(f"{outcome.message} (on farm worker {where})")
        ctx.device = f"{outcome.device}@{_host(where)}" if outcome.device else None
        return localize_output(outcome, ctx.paths.cache_dir)


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def _path(value: object) -> Path:
    from pathlib import Path

    return Path(str(value))


def _made_preview(ctx: StepContext) -> Path | None:
    """The render or poster an AI step reads for a model or a clip (made earlier, in the local cache)."""
    if ctx.asset is None or ctx.asset.kind not in ("geometry", "video") or "preview_image" in ctx.params:
        return None
    size = ctx.settings.thumbnail_size
    if ctx.asset.kind == "geometry":
        from core.render.steps import artifact_path

        candidate = artifact_path(ctx, "thumbnail", size)
    else:
        from core.media.thumbnails import thumbnail_path

        candidate = thumbnail_path(ctx.paths.thumbnail_dir, ctx.asset.content_hash, size)
    return candidate if candidate.is_file() else None
