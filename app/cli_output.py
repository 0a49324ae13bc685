"""What every ``stratopipe`` command shares about its outcome: exit codes, usage errors, and a standard
output that carries only the result."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_ALL_FAILED = 3


def batch_exit_code(succeeded: int, failed: int) -> int:
    """0 when anything succeeded (or there was nothing to do), 3 when every item failed."""
    return EXIT_ALL_FAILED if failed and not succeeded else EXIT_OK


class UsageError(Exception):
    """A command was called in a way that cannot work; the message says how to call it."""


@contextlib.contextmanager
def result_stdout() -> Iterator[TextIO]:
    """A writer on the real standard output, while descriptor 1 points at standard error.

    Redirecting ``sys.stdout`` would not do: C code (OpenEXR, OpenGL drivers) and child processes write
    to descriptor 1 directly. The C library's own buffer is flushed before descriptor 1 is given back,
    or its text would follow the result out at exit.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    out = os.fdopen(os.dup(saved), "w", encoding="utf-8")
    try:
        yield out
    finally:
        _flush_c_stdio()
        sys.stdout.flush()
        out.close()
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None) if os.name == "posix" else ctypes.cdll.msvcrt
        libc.fflush(None)
