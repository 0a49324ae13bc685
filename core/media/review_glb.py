"""A model's GLB for review, exported in a sandboxed child (``python -m core.media.review_glb``).

The export parses the whole model with trimesh, as the geometry probe does, and for the same reasons
runs where a hostile file can only hurt a child: its own session (a timeout kills the group), a
stripped environment, an address-space ceiling set once its imports are done
(``core.media.geometry_sandbox`` explains the limits). The child writes the GLB to the path it is given
and prints one JSON line: the face count, or the error to raise in the parent.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from core.media.errors import InvalidMediaError

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)


def export_glb_sandboxed(source: Path, target: Path, limits: MediaLimits) -> int:
    """Write ``source`` as a GLB at ``target`` (nothing there unless it worked); returns its faces."""
    from core.child_process import python_command
    from core.media.geometry_sandbox import ChildTimedOutError, answer_of_child
    from core.media.probe_geometry import precheck_geometry

    precheck_geometry(source, limits)  # no child for what the header already refuses
    argv = python_command(
        "core.media.review_glb",
        f"--memory-mb={limits.probe_memory_mb}",
        f"--max-faces={limits.max_mesh_faces}",
        str(source),
        str(target),
    )
    try:
        answer, returncode = answer_of_child(argv, limits.probe_timeout_s, "glb export")
    except ChildTimedOutError:
        target.unlink(missing_ok=True)
        raise InvalidMediaError(
            f"{source.name}: exporting it as GLB took longer than {limits.probe_timeout_s:,.0f} s "
            f"(render_timeout_s) and was stopped",
            source,
        ) from None
    if answer is None:
        answer = {"message": f"{source.name}: the GLB export stopped (exit code {returncode})"}
    if "faces" in answer and target.is_file():
        return int(answer["faces"])
    target.unlink(missing_ok=True)
    raise InvalidMediaError(str(answer.get("message")), source)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="core.media.review_glb")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-faces", type=int, required=True)
    parser.add_argument("source")
    parser.add_argument("target")
    args = parser.parse_args(argv)

    from pathlib import Path

    import trimesh  # noqa: F401  (imported before the memory cap: the cap is for the model alone)

    from core.render.api import RenderError
    from core.render.sandbox import apply_memory_limit
    from core.render.scene_loading import load_model
    from core.render.worker_main import Channel

    channel = Channel()
    apply_memory_limit(args.memory_mb)
    source, target = Path(args.source), Path(args.target)
    try:
        model = load_model(source, max_faces=args.max_faces)
        data = model.scene.export(file_type="glb")  # type: ignore[no-untyped-call]
        target.write_bytes(data if isinstance(data, bytes) else bytes(data))
        channel.send({"faces": model.face_count})
    except RenderError as exc:
        channel.send({"message": str(exc)})
    except MemoryError:
        channel.send({"message": f"{source.name} needs more than the {args.memory_mb:,} MB memory limit"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
