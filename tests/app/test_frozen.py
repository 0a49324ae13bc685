"""The frozen-aware launcher and resource lookup (core/child_process.py), from source and in a PyInstaller
bundle's layout. The bundle itself is built and run by `make dist` / `make dist-test`
(tests/bundle/test_bundle_smoke.py); here the bundle is a real folder of the same shape with
``sys.frozen`` and ``sys._MEIPASS`` set as its bootloader sets them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from core.ai.models import builtin_manifest_dir, load_manifest, package_dir, packaged_model_file
from core.child_process import (
    CHILD_FLAG,
    CHILD_MODULES,
    UnknownChildModuleError,
    child_environment,
    python_command,
    resources_dir,
    restore_system_library_path,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-folder bundle as installers/stratopipe.spec lays it out, entered as its bootloader would."""
    root = tmp_path / "stratopipe"
    internal = root / "_internal"
    shutil.copytree(REPO / "resources" / "models", internal / "resources" / "models")
    app = root / "stratopipe"
    app.write_bytes(b"\x7fELF")
    app.chmod(0o755)
    (root / "stratopipe-server").symlink_to("stratopipe")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    return root


def test_from_source_a_child_is_python_dash_m_and_imports_this_checkout(tmp_path: Path) -> None:
    command = python_command("core.media.geometry_sandbox", "--help")
    assert command[:3] == [sys.executable, "-m", "core.media.geometry_sandbox"]
    # From another folder and without an installed package in the way: PYTHONPATH finds the code.
    env = child_environment({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage: core.media.geometry_sandbox" in done.stdout


def test_a_child_module_the_bundle_would_lack_is_refused_from_source() -> None:
    with pytest.raises(UnknownChildModuleError, match="CHILD_MODULES"):
        python_command("core.render.service")


def test_the_app_entry_runs_a_child_as_the_bundle_starts_it(tmp_path: Path) -> None:
    """The frozen executable runs app.cli.main, so `python -m app --child ...` is the same path."""
    module = "core.media.geometry_sandbox"
    command = [sys.executable, "-m", "app", CHILD_FLAG, module, "--help"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"usage: {module}" in done.stdout


def test_child_flag_runs_only_stratopipe_children(capsys: pytest.CaptureFixture[str]) -> None:
    # A file manager hands the same executable file names and links: those must never pick code to run.
    assert main([CHILD_FLAG, "os"]) == 2
    assert "os is not a StratoPipe child module" in capsys.readouterr().err
    assert main([CHILD_FLAG]) == 2


def test_frozen_children_start_the_bundles_app_executable(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in sorted(CHILD_MODULES):
        assert python_command(module, "--x=1") == [str(bundle / "stratopipe"), CHILD_FLAG, module, "--x=1"]
    # Started from stratopipe-server (a symlink to the same program) children still go to stratopipe.
    monkeypatch.setattr(sys, "executable", str(bundle / "stratopipe-server"))
    assert python_command("core.ai.ncnn_worker")[:2] == [str(bundle / "stratopipe"), CHILD_FLAG]
    # No PYTHONPATH pointing at a checkout: the bundle's children import from the bundle only.
    assert "PYTHONPATH" not in child_environment({"HOME": "/home/ana"})


def test_frozen_resources_and_model_weights_come_from_the_bundle(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert resources_dir() == internal / "resources"
    assert builtin_manifest_dir() == internal / "resources" / "models"
    entries = {e.name: e for e in load_manifest(builtin_manifest_dir())}
    listed = json.loads((REPO / "resources" / "models" / "manifest.json").read_text())["models"]
    assert set(entries) == {m["name"] for m in listed}
    mobilenet = entries["mobilenet-v2-imagenet"]
    assert mobilenet.package is not None
    # Not in the bundle yet: the installed package elsewhere on this machine must not stand in for it.
    assert package_dir(mobilenet.package) is None
    # Copied where the spec copies it: found there and verified against the manifest's sha256.
    installed = Path(__import__(mobilenet.package).__file__).parent / mobilenet.file
    copied = internal / mobilenet.package / mobilenet.file
    copied.parent.mkdir(parents=True)
    copied.symlink_to(installed)
    assert package_dir(mobilenet.package) == internal / mobilenet.package
    assert packaged_model_file(mobilenet) == copied


def test_programs_started_from_a_bundle_get_the_users_library_path(bundle: Path) -> None:
    env = {
        "LD_LIBRARY_PATH": f"{bundle}/_internal:/opt/studio/lib",
        "LD_LIBRARY_PATH_ORIG": "/opt/studio/lib",
    }
    restore_system_library_path(env)
    assert env == {"LD_LIBRARY_PATH": "/opt/studio/lib"}
    env = {"LD_LIBRARY_PATH": f"{bundle}/_internal"}
    restore_system_library_path(env)
    assert env == {}


def test_from_source_the_library_path_is_left_alone() -> None:
    env = {"LD_LIBRARY_PATH": "/opt/studio/lib", "LD_LIBRARY_PATH_ORIG": "/elsewhere"}
    restore_system_library_path(env)
    assert env == {"LD_LIBRARY_PATH": "/opt/studio/lib", "LD_LIBRARY_PATH_ORIG": "/elsewhere"}
