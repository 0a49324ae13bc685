"""Geometry is probed in a sandboxed child process, with the render child's time and memory limits.

trimesh parses a whole mesh before anyone can count it (a 200 MB OBJ takes 4 GB) and opens whatever
a file references (an OBJ whose ``mtllib`` is a FIFO blocks forever). So the parse runs in
``python -m core.media.geometry_sandbox``: its own session (a timeout kills the whole group), a
stripped environment, and an address-space ceiling it sets itself once its imports are done. The
child prints one JSON line: the metadata, or the media error to raise in the parent.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from core.media.errors import InvalidMediaError, MediaError, UnreadableMediaError, UnsupportedMediaError

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

_ERRORS: dict[str, type[MediaError]] = {
    cls.__name__: cls for cls in (InvalidMediaError, UnsupportedMediaError, UnreadableMediaError)
}


def probe_geometry_sandboxed(path: Path, limits: MediaLimits) -> dict[str, Any]:
    """:func:`probe_geometry` in a child bounded by ``limits.probe_timeout_s`` and ``probe_memory_mb``."""
    from core.media.probe_geometry import precheck_geometry

    precheck_geometry(path, limits)  # no child for what the header already refuses
    from core.child_process import python_command

    argv = python_command(
        "core.media.geometry_sandbox",
        f"--memory-mb={limits.probe_memory_mb}",
        f"--max-faces={limits.max_mesh_faces}",
        f"--max-vertices={limits.max_mesh_vertices}",
        f"--max-file-size={limits.max_file_size_bytes}",
        str(path),
    )
    try:
        answer, returncode = answer_of_child(argv, limits.probe_timeout_s, "geometry probe")
    except ChildTimedOutError:
        raise InvalidMediaError(
            f"{path.name}: reading its geometry took longer than {limits.probe_timeout_s:,.0f} s "
            f"(render_timeout_s) and was stopped; does it reference a file that never ends, such as "
            f"a pipe? ({path})",
            path,
        ) from None
    if answer is None:
        raise InvalidMediaError(
            f"{path.name}: the geometry reader stopped ({_exit_reason(returncode)}) before it "
            f"could describe the file; it may need more than the {limits.probe_memory_mb:,} MB memory "
            f"limit (render_memory_mb) ({path})",
            path,
        )
    if "metadata" in answer:
        return dict(answer["metadata"])
    raise _ERRORS.get(answer.get("error", ""), InvalidMediaError)(str(answer.get("message")), path)


class ChildTimedOutError(Exception):
    """A sandboxed child ran past its time; its whole process group was killed."""


def answer_of_child(argv: list[str], timeout_s: float, label: str) -> tuple[dict[str, Any] | None, int]:
    """Run ``argv`` as a sandboxed child (own session, stripped environment): the JSON of the last line
    it printed (None when it printed none, e.g. killed by its memory ceiling) and its exit code. Its
    standard error goes to the debug log under ``label``. Raises ``ChildTimedOutError`` past
    ``timeout_s``."""
    from core.render.sandbox import kill_process_group, sanitized_environment, spawn_child

    process = spawn_child(argv, sanitized_environment())
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_process_group(process)
        process.communicate()
        raise ChildTimedOutError from None
    for line in stderr.decode("utf-8", "replace").splitlines():
        log.debug("[%s %d] %s", label, process.pid, line)
    try:
        answer = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, process.returncode
    return (answer if isinstance(answer, dict) else None), process.returncode


def _exit_reason(returncode: int) -> str:
    from core.render.service import describe_exit

    return describe_exit(returncode)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="core.media.geometry_sandbox")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-faces", type=int, required=True)
    parser.add_argument("--max-vertices", type=int, required=True)
    parser.add_argument("--max-file-size", type=int, required=True)
    parser.add_argument("path")
    args = parser.parse_args(argv)

    from pathlib import Path

    import trimesh  # noqa: F401  (imported before the memory cap: the cap is for the mesh alone)

    from core.media.limits import MediaLimits
    from core.media.probe_geometry import probe_geometry
    from core.render.sandbox import apply_memory_limit
    from core.render.worker_main import Channel

    channel = Channel()
    apply_memory_limit(args.memory_mb)
    path = Path(args.path)
    limits = MediaLimits(
        max_file_size_bytes=args.max_file_size,
        max_image_pixels=1,  # images are never probed here
        max_mesh_faces=args.max_faces,
        max_mesh_vertices=args.max_vertices,
    )
    try:
        channel.send({"metadata": probe_geometry(path, limits)})
    except MediaError as exc:
        channel.send({"error": type(exc).__name__, "message": str(exc)})
    except MemoryError:
        channel.send(
            {
                "error": InvalidMediaError.__name__,
                "message": f"{path.name} needs more than the {args.memory_mb:,} MB memory limit to read "
                f"(render_memory_mb) ({path})",
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
