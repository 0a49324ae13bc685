"""How StratoPipe starts its own Python children, and where its resources are: from a source checkout and
from a PyInstaller bundle alike.

From source a child (the render worker, the geometry probe, the ncnn upscaler) is ``python -m MODULE``.
A bundle has no ``python`` to run: its ``stratopipe`` executable is started as ``stratopipe --child
MODULE ...`` and ``app.cli.main`` hands that to :func:`run_child_if_asked` before anything else. Only
the modules in :data:`CHILD_MODULES` can be run that way: the same executable receives file names and
``stratopipe://`` links from file managers, and those must never choose code to run. The list is also
what the PyInstaller spec bundles as the children's entry points, so a new child module that is not
listed fails from source at once (:func:`python_command` refuses it), not only in an artist's bundle.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping, Sequence

CHILD_FLAG = "--child"
CHILD_MODULES = frozenset(
    {
        "core.render.worker_main",
        "core.media.geometry_sandbox",
        "core.media.review_glb",
        "core.ai.ncnn_worker",
        "server",  # the studio server's worker processes (server/supervisor.py)
        "distributed.cli.dask_scheduler",  # `stratopipe farm scheduler`
        "distributed.cli.dask_worker",  # `stratopipe farm worker`
    }
)
# The bundle's executable that dispatches CHILD_FLAG (stratopipe-server does not).
APP_EXECUTABLE = "stratopipe"
EXIT_USAGE = 2  # as app.cli_output.EXIT_USAGE (core cannot import app)

# PyInstaller's bootloader puts the bundle's own libraries first on this path and keeps the user's in
# the _ORIG variable. Programs the app starts (Blender, a DCC app from "Open with", the file manager)
# must not load the bundle's libpython, Qt or libstdc++ instead of their own.
_LIBRARY_PATH = "LD_LIBRARY_PATH"
_LIBRARY_PATH_ORIG = "LD_LIBRARY_PATH_ORIG"


class UnknownChildModuleError(ValueError):
    """A child module that the bundle would not contain or refuse to run: add it to CHILD_MODULES."""


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def app_root() -> Path:
    """The folder that holds the ``core``, ``app`` and ``resources`` packages: the checkout (or
    site-packages) from source, the bundle's ``_internal`` folder (``sys._MEIPASS``) when frozen."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parents[1]


def resources_dir() -> Path:
    """The ``resources`` folder: theme, model manifest, ImageNet groups, the Blender render script."""
    return app_root() / "resources"


def child_executable() -> Path:
    """The executable a frozen bundle starts its children with: ``stratopipe`` beside the running one
    (so that ``stratopipe-server`` could start children too), else the running one."""
    running = Path(sys.executable)
    sibling = running.with_name(APP_EXECUTABLE + running.suffix)
    return sibling if sibling.is_file() else running


def python_command(module: str, *args: str) -> list[str]:
    """The command line that runs ``module`` as a program with ``args``, frozen or not."""
    if module not in CHILD_MODULES:
        raise UnknownChildModuleError(
            f"{module} is not a StratoPipe child module; add it to core.child_process.CHILD_MODULES"
        )
    if is_frozen():
        return [str(child_executable()), CHILD_FLAG, module, *args]
    return [sys.executable, "-m", module, *args]


def child_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` plus what a child needs to import this very code base, wherever the app was started
    from (a checkout run without installing it). A bundle's children find it by themselves."""
    env = dict(base)
    if not is_frozen():
        root = str(app_root())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def restore_system_library_path(environ: MutableMapping[str, str] | None = None) -> None:
    """In a bundle, give programs started from now on the library path the user had.

    This process is not affected: the dynamic loader read the variable when the process started, and
    the bundle's own children get the bundle's path again from their bootloader.
    """
    if not is_frozen():
        return
    env = os.environ if environ is None else environ
    original = env.pop(_LIBRARY_PATH_ORIG, None)
    if original:
        env[_LIBRARY_PATH] = original
    else:
        env.pop(_LIBRARY_PATH, None)


def run_child_if_asked(argv: Sequence[str]) -> int | None:
    """Run ``--child MODULE ARGS...`` as ``python -m MODULE ARGS...`` would; None for any other
    command line. A child's ``sys.exit`` ends the process with its status, as from source."""
    restore_system_library_path()
    if not argv or argv[0] != CHILD_FLAG:
        return None
    if len(argv) < 2 or argv[1] not in CHILD_MODULES:
        named = argv[1] if len(argv) > 1 else "nothing"
        print(f"stratopipe {CHILD_FLAG}: {named} is not a StratoPipe child module", file=sys.stderr)
        return EXIT_USAGE
    module = argv[1]
    sys.argv = [module, *argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0
