"""Ingest: turn dropped files and folders into catalog assets.

Three phases. *Scan* walks the paths (recursive, hidden/system files skipped, symlink loops safe) and
groups image sequences. *Examine* runs on the media lane, one file per task: kind by content, size
limit, content hash, metadata probe. *Register* writes examined files to the catalog in bulk
(executemany), deduplicated by content hash within the project, copying into the project library
when asked. A bad file becomes one clear :class:`IngestFailure`; the batch goes on; a cancel keeps
everything already registered.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.catalog.records import NewAsset
from core.jobs.steps import CancelToken
from core.media.errors import MediaError, NotASequenceError
from core.media.hashing import content_hash, sequence_hash
from core.media.kinds import IMAGE_EXTENSIONS, AssetKind, detect_kind, is_hidden_or_system
from core.media.probe import check_file_size, check_sequence_frames, probe, probe_sequence
from core.media.sequences import FrameSequence, group_sequences
from core.media.sidecars import model_sidecars
from core.roots import root_location

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Mapping, Sequence
    from concurrent.futures import Executor, Future

    from core.catalog.catalog import Catalog
    from core.media.limits import MediaLimits
    from core.paths import AppPaths

log = logging.getLogger(__name__)

REGISTER_BATCH = 200
UNSUPPORTED_MESSAGE = (
    "Unsupported file type{ext}: StratoPipe catalogs images, image sequences, video, "
    "3D geometry and documents"
)


@dataclass(frozen=True)
class IngestCandidate:
    path: Path
    sequence: FrameSequence | None = None
    sidecars: tuple[Path, ...] = ()  # files the model references (glTF buffers, OBJ materials, textures)

    @property
    def display_path(self) -> str:
        if self.sequence is not None:
            return str(self.sequence.directory / self.sequence.display_name)
        return str(self.path)


@dataclass(frozen=True)
class IngestFailure:
    path: str
    error: str


@dataclass(frozen=True)
class IngestProgress:
    done: int
    total: int
    current: str
    phase: str  # scanning | examining | registering | finished
    registered: tuple[int, ...] = ()  # asset ids registered since the previous progress


@dataclass
class IngestReport:
    project_id: int
    project_name: str
    added: list[int] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    failures: list[IngestFailure] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    scanned: int = 0

    @property
    def summary(self) -> str:
        total = len(self.added) + len(self.duplicates) + len(self.failures)
        parts = [f"{len(self.added)} new"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} already in the project")
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        text = f"Ingested {total} file{'s' if total != 1 else ''}: " + ", ".join(parts)
        return text + (" (cancelled)" if self.cancelled else "")


@dataclass(frozen=True)
class ExaminedFile:
    candidate: IngestCandidate
    kind: AssetKind
    content_hash: str
    size_bytes: int
    metadata: dict[str, Any]


# ---- scan ---------------------------------------------------------------------------------------


def scan_paths(
    paths: Iterable[Path], cancel: CancelToken | None = None
) -> tuple[list[IngestCandidate], list[IngestFailure]]:
    """Expand files and folders into candidates. Folders recurse; each real folder is visited once.

    Whatever is not cataloged is said so, one failure per entry: names that are not valid UTF-8 (the
    catalog stores text), pipes, devices and sockets (reading one blocks or never ends), broken links,
    and links to folders outside the folder that was dropped (following one would ingest its parent).
    Paths are made absolute here, so the catalog never holds a path that means something else when
    read from another folder. A model's non-image sidecars (``.bin``, ``.mtl``) go with the model;
    textures stay assets of their own as well.
    """
    files: list[Path] = []
    failures: list[IngestFailure] = []
    visited_dirs: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(os.path.abspath(Path(raw).expanduser()))
        if cancel is not None and cancel.cancelled:
            break
        refusal = _refusal(path)
        if refusal is not None:
            failures.append(refusal)
        elif path.is_dir():
            _walk(path, files, failures, visited_dirs, cancel)
        else:
            files.append(path)
    sidecars = {path: model_sidecars(path) for path in files if path.suffix.lower() in (".gltf", ".obj")}
    claimed = {
        sidecar
        for found in sidecars.values()
        for sidecar in found
        if sidecar.suffix.lower() not in IMAGE_EXTENSIONS and sidecar not in sidecars
    }
    sequences, singles = group_sequences([path for path in files if path not in claimed])
    candidates = [IngestCandidate(s.paths[0], s) for s in sequences]
    candidates.extend(IngestCandidate(p, sidecars=sidecars.get(p, ())) for p in singles)
    return candidates, failures


def readable_path(path: Path | str) -> str:
    """A path as text the catalog, logs and a terminal can hold: bytes that are not UTF-8 are shown
    as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _refusal(path: Path, root: str | None = None) -> IngestFailure | None:
    """Why ``path`` (inside the dropped folder ``root``, if any) is not scanned, or None."""
    shown = readable_path(path)
    name = readable_path(path.name or str(path))
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return IngestFailure(
            shown, f"{name}: the name is not valid UTF-8 text, so it cannot be cataloged; rename it"
        )
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return IngestFailure(shown, f"{name} is a broken link (its target does not exist); skipped")
        return IngestFailure(shown, f"{name} does not exist")
    except OSError as exc:
        return IngestFailure(shown, f"Cannot read {name}: {exc.strerror or exc}")
    if stat.S_ISDIR(info.st_mode):
        if root is not None and path.is_symlink():
            target = os.path.realpath(path)
            if os.path.commonpath([root, target]) != root:
                return IngestFailure(
                    shown, f"{name} links to a folder outside the dropped folder ({target}); not followed"
                )
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    return IngestFailure(shown, f"{name} is {_special_file_kind(info.st_mode)}, not a regular file; skipped")


def _special_file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _walk(
    root: Path,
    files: list[Path],
    failures: list[IngestFailure],
    visited: set[tuple[int, int]],
    cancel: CancelToken | None,
) -> None:
    real_root = os.path.realpath(root)
    stack = [root]
    while stack:
        if cancel is not None and cancel.cancelled:
            return
        directory = stack.pop()
        try:
            info = directory.stat()
        except OSError as exc:
            failures.append(
                IngestFailure(readable_path(directory), f"Cannot open folder: {exc.strerror or exc}")
            )
            continue
        identity = (info.st_dev, info.st_ino)
        if identity in visited:
            continue  # a symlink loop or a folder reachable twice
        visited.add(identity)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            failures.append(
                IngestFailure(readable_path(directory), f"Cannot list folder: {exc.strerror or exc}")
            )
            continue
        subdirs: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            if is_hidden_or_system(path):
                continue
            refusal = _refusal(path, real_root)
            if refusal is not None:
                failures.append(refusal)
            elif path.is_dir():
                subdirs.append(path)
            else:
                files.append(path)
        stack.extend(reversed(subdirs))


# ---- examine ------------------------------------------------------------------------------------


def examine(candidate: IngestCandidate, limits: MediaLimits) -> ExaminedFile:
    """Everything ingest needs to know about one file or sequence. Thread-safe; raises MediaError."""
    sequence = candidate.sequence
    if sequence is not None:
        size = 0
        for frame in sequence.paths:
            size += check_file_size(frame, limits)
        kind = detect_kind(sequence.paths[0])
        if kind != AssetKind.IMAGE:
            raise MediaError(f"{sequence.display_name}: frames are not images", candidate.path)
        reason = check_sequence_frames(sequence, limits)
        metadata = probe_sequence(sequence, limits)
        metadata["grouped_because"] = reason
        metadata["sequence"] = {
            "directory": str(sequence.directory),
            "pattern": sequence.pattern,
            "frames": list(sequence.frames),
        }
        return ExaminedFile(candidate, AssetKind.SEQUENCE, sequence_hash(sequence.paths), size, metadata)
    path = candidate.path
    size = check_file_size(path, limits)
    kind = detect_kind(path)
    if kind == AssetKind.OTHER:
        ext = f" ({path.suffix})" if path.suffix else ""
        raise MediaError(f"{path.name}: " + UNSUPPORTED_MESSAGE.format(ext=ext), path)
    metadata = probe(path, kind, limits)
    kind = AssetKind(metadata["kind"])  # the streams may say more than the header (sound-only MP4)
    if candidate.sidecars:
        metadata["sidecars"] = [os.path.relpath(p, path.parent) for p in candidate.sidecars]
    return ExaminedFile(candidate, kind, content_hash(path), size, metadata)


# ---- register -----------------------------------------------------------------------------------


class Ingestor:
    """Runs one ingest batch. Plain Python: the UI runs it on a worker, the CLI on a thread pool."""

    def __init__(
        self,
        catalog: Catalog,
        paths: AppPaths,
        limits: MediaLimits,
        executor: Executor,
        roots: Mapping[str, str] | None = None,
    ) -> None:
        self._catalog = catalog
        self._paths = paths
        self._limits = limits
        self._executor = executor
        self._roots = dict(roots or {})  # see core.roots: where each asset sits relative to a named root

    def run(
        self,
        inputs: Sequence[Path],
        project_id: int,
        *,
        copy_into_library: bool = False,
        cancel: CancelToken | None = None,
        max_in_flight: int = 8,
    ) -> Generator[IngestProgress, None, IngestReport]:
        cancel = cancel or CancelToken()
        started = time.perf_counter()
        project = self._catalog.project(project_id)
        if project is None:
            raise ValueError(f"No project with id {project_id}")
        report = IngestReport(project_id=project.id, project_name=project.name)
        yield IngestProgress(0, 0, "", "scanning")
        candidates, scan_failures = scan_paths(inputs, cancel)
        report.failures.extend(scan_failures)
        report.scanned = len(candidates)
        total = len(candidates)
        pending: deque[tuple[IngestCandidate, Future[ExaminedFile]]] = deque()
        examined: list[ExaminedFile] = []
        queue = deque(candidates)
        done = 0
        while queue or pending:
            while queue and len(pending) < max_in_flight and not cancel.cancelled:
                candidate = queue.popleft()
                pending.append((candidate, self._executor.submit(examine, candidate, self._limits)))
            if cancel.cancelled:
                queue.clear()
            if not pending:
                break
            candidate, future = pending.popleft()
            try:
                examined.append(future.result())
            except NotASequenceError as exc:
                # Numbered alike, shaped differently: each file is examined as the image it is.
                log.info("%s", exc)
                queue.extend(IngestCandidate(frame) for frame in exc.frames)
                total += len(exc.frames) - 1
                yield IngestProgress(done, total, candidate.display_path, "examining")
                continue
            except MediaError as exc:
                report.failures.append(IngestFailure(candidate.display_path, str(exc)))
            except Exception as exc:
                log.exception("Unexpected error examining %s", candidate.display_path)
                report.failures.append(
                    IngestFailure(candidate.display_path, f"Unexpected error: {exc or type(exc).__name__}")
                )
            done += 1
            registered: tuple[int, ...] = ()
            if len(examined) >= REGISTER_BATCH or (not queue and not pending):
                registered = self._register(examined, project.id, project.name, copy_into_library, report)
                examined = []
            yield IngestProgress(done, total, candidate.display_path, "examining", registered)
        if examined:
            registered = self._register(examined, project.id, project.name, copy_into_library, report)
            yield IngestProgress(done, total, "", "registering", registered)
        report.cancelled = cancel.cancelled
        report.seconds = time.perf_counter() - started
        yield IngestProgress(done, total, "", "finished")
        return report

    def split_sequence(self, asset_id: int) -> IngestReport:
        """Replace a sequence asset by one image asset per frame (the user's "this is no sequence").

        Frames are examined as single images (hash, probe) on the caller's thread; a frame that fails
        is reported and left out. The sequence's record goes in the same transaction that adds the
        images. The report's ``added`` ids need thumbnail jobs, as after an ingest.
        """
        record = self._catalog.get_asset(asset_id)
        if record is None or not record.is_sequence:
            raise ValueError(f"Asset {asset_id} is not a sequence")
        report = IngestReport(project_id=record.project_id, project_name="")
        rows: list[NewAsset] = []
        for frame in sequence_frames(record.metadata):
            try:
                item = examine(IngestCandidate(frame), self._limits)
            except MediaError as exc:
                report.failures.append(IngestFailure(readable_path(frame), str(exc)))
                continue
            row = self._new_asset(item, record.project_id, "", copy_into_library=False)
            # Frames copied into the library are the library's files: deleting an image removes its copy.
            rows.append(
                replace(row, copied=record.copied, metadata={**row.metadata, "split_from": record.name})
            )
        inserted = self._catalog.replace_asset(asset_id, rows)
        report.added.extend(inserted[r.content_hash] for r in rows if r.content_hash in inserted)
        return report

    def _register(
        self,
        examined: list[ExaminedFile],
        project_id: int,
        project_name: str,
        copy_into_library: bool,
        report: IngestReport,
    ) -> tuple[int, ...]:
        existing = self._catalog.existing_hashes(project_id, (e.content_hash for e in examined))
        fresh: dict[str, ExaminedFile] = {}
        same_content: list[ExaminedFile] = []  # a second copy of a file earlier in this batch
        for item in examined:
            known = existing.get(item.content_hash)
            if known is not None:
                report.duplicates.append((item.candidate.display_path, known))
            elif item.content_hash in fresh:
                same_content.append(item)
            else:
                fresh[item.content_hash] = item
        rows: list[NewAsset] = []
        for item in fresh.values():
            try:
                rows.append(self._new_asset(item, project_id, project_name, copy_into_library))
            except OSError as exc:
                report.failures.append(
                    IngestFailure(
                        item.candidate.display_path,
                        f"Cannot copy into the project library: {exc.strerror or exc}",
                    )
                )
        inserted = self._catalog.add_assets(rows)
        # A copy points at the asset registered for the same content (-1 if that one failed to copy).
        report.duplicates.extend(
            (item.candidate.display_path, inserted.get(item.content_hash, -1)) for item in same_content
        )
        # Registered by another process between our look-up and our insert: its asset, its jobs.
        raced = [r.content_hash for r in rows if r.content_hash not in inserted]
        if raced:
            winners = self._catalog.existing_hashes(project_id, raced)
            report.duplicates.extend(
                (fresh[digest].candidate.display_path, winners.get(digest, -1)) for digest in raced
            )
        ids = tuple(inserted[r.content_hash] for r in rows if r.content_hash in inserted)
        report.added.extend(ids)
        return ids

    def _new_asset(
        self, item: ExaminedFile, project_id: int, project_name: str, copy_into_library: bool
    ) -> NewAsset:
        candidate = item.candidate
        sequence = candidate.sequence
        path = candidate.path
        metadata = item.metadata
        if copy_into_library:
            target_dir = self._paths.library_dir / _safe_folder(project_name) / item.content_hash[:2]
            target_dir.mkdir(parents=True, exist_ok=True)
            if sequence is not None:
                seq_dir = target_dir / f"{item.content_hash[:12]}_{_safe_folder(sequence.prefix or 'seq')}"
                seq_dir.mkdir(exist_ok=True)
                for frame_path in sequence.paths:
                    shutil.copy2(frame_path, seq_dir / frame_path.name)
                path = seq_dir / sequence.paths[0].name
                metadata = {**metadata, "sequence": {**metadata["sequence"], "directory": str(seq_dir)}}
            elif candidate.sidecars:
                # A model finds its buffers and materials by relative name: they move together.
                model_dir = target_dir / f"{item.content_hash[:12]}_{_safe_folder(path.stem)}"
                for source in (path, *candidate.sidecars):
                    relative = os.path.relpath(source, path.parent)
                    if relative.startswith(os.pardir):
                        continue  # outside the model's folder: a copy could land outside the library
                    target = model_dir / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
                path = model_dir / path.name
            else:
                target = target_dir / f"{item.content_hash[:12]}_{path.name}"
                shutil.copy2(path, target)
                path = target
        location = root_location(path, self._roots)
        if location is not None:
            metadata = {**metadata, "location": location}
        return NewAsset(
            project_id=project_id,
            name=sequence.display_name if sequence is not None else candidate.path.name,
            path=str(path),
            kind=item.kind,
            content_hash=item.content_hash,
            size_bytes=item.size_bytes,
            metadata=metadata,
            copied=copy_into_library,
            frame_first=sequence.first if sequence is not None else None,
            frame_last=sequence.last if sequence is not None else None,
        )


_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def _safe_folder(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "project"


def sequence_frames(metadata: dict[str, Any]) -> tuple[Path, ...]:
    """The frame files of a sequence asset, rebuilt from its stored pattern."""
    info = metadata.get("sequence")
    if not isinstance(info, dict):
        return ()
    directory = Path(str(info.get("directory", "")))
    pattern = str(info.get("pattern", ""))
    hashes = len(pattern) - len(pattern.lstrip("#")) if pattern.startswith("#") else pattern.count("#")
    prefix, _, rest = pattern.partition("#" * hashes) if hashes else (pattern, "", "")
    return tuple(directory / f"{prefix}{str(frame).zfill(hashes)}{rest}" for frame in info.get("frames", []))
