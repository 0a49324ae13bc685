"""Test set-up shared by every suite: headless Qt and throw-away profile directories."""

from __future__ import annotations

import importlib.abc
import os
import sys

QT_MODULES = frozenset({"PySide6", "shiboken6", "superqt", "pyqtgraph"})


class _QtBlocker(importlib.abc.MetaPathFinder):
    """Makes Qt unimportable, proving core/ runs without it (``STRATOPIPE_BLOCK_QT=1``)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in QT_MODULES:
            raise ImportError(f"{fullname} is blocked: core/ must not need Qt")


if os.environ.get("STRATOPIPE_BLOCK_QT") == "1":
    sys.meta_path.insert(0, _QtBlocker())

# Must happen before any QApplication exists; without a display Qt aborts the whole run otherwise.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """tests/core runs with pytest-qt blocked: its ini keys in pyproject.toml must still be known."""
    if pluginmanager.is_blocked("pytest-qt"):
        parser.addini("qt_log_level_fail", "unused: pytest-qt is blocked")
        parser.addini("qt_log_ignore", "unused: pytest-qt is blocked", type="linelist")


@pytest.fixture(autouse=True)
def isolated_profile(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data dir so nothing touches a real user profile."""
    root = tmp_path_factory.mktemp("profile")
    monkeypatch.setenv("STRATOPIPE_DATA_DIR", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "xdg-data"))
    return root


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """A test that runs a program's main() in this process (the CLI, the server's CLI) sets up its
    logging: a handler on the stream pytest was capturing for that test. Left in place, every later
    log record would be written to that closed stream ("--- Logging error ---"). Each test gets the
    root logger back as it found it."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
