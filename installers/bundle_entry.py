"""The bundle's one program. Run as ``stratopipe`` it is the desktop app and its CLI (and, with
``--child MODULE``, the app's own render, probe and upscaler children); run under the name
``stratopipe-server`` (a symlink on Linux and macOS, a second executable on Windows) it is the studio
server. One program keeps the bundle's Python modules in one archive instead of two."""

import multiprocessing
import sys
from pathlib import Path


def _main() -> int:
    # Dask's nanny starts its worker processes with multiprocessing's "spawn": in a bundle that is
    # this program again, which must become the worker instead of the app.
    multiprocessing.freeze_support()
    if Path(sys.argv[0]).stem == "stratopipe-server":
        from server.cli import main
    else:
        from app.cli import main
    return main()


if __name__ == "__main__":
    sys.exit(_main())
