"""Blender backend process handling, against a fake `blender` that follows the script's contract.

CI has no Blender; the fake is a real executable run by the real child, so timeouts, crashes and
group kills are exercised for real. The script itself (resources/blender/render_model.py) was run
against Debian's Blender 3.4.1 by hand (see the render README in the report).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import av
import pytest

from core.render import (
    InvalidModelError,
    RenderBackendUnavailableError,
    RenderCrashedError,
    RenderRequest,
    RenderService,
    RenderTimeoutError,
    blender_backend,
    find_blender,
)
from core.render.api import frames_scratch_dir, partial_output_path
from core.render.blender_backend import SCRIPT_PATH, blender_command, blender_version
from tests.core.render.image_checks import assert_framed, coverage

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def blender_service(fake_blender: Path) -> Iterator[RenderService]:
    with RenderService(
        timeout_s=30, memory_mb=1024, backend="blender", blender_path=str(fake_blender)
    ) as service:
        yield service


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned grandchild is reaped by init, maybe late)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _copy(models: dict[str, Path], name: str, folder: Path, new_name: str) -> Path:
    target = folder / new_name
    target.write_bytes(models[name].read_bytes())
    return target


def _request(source: Path, output: Path, **kwargs: object) -> RenderRequest:
    return RenderRequest(
        source=source,
        output=output,
        size=64,
        product="thumbnail",
        backend="blender",
        **kwargs,  # type: ignore[arg-type]
    )


def test_find_blender_prefers_configured_then_path(
    fake_blender: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(blender_backend, "_platform_candidates", list)
    assert find_blender(str(fake_blender)) == fake_blender
    assert find_blender(str(fake_blender.parent)) == fake_blender  # an install folder works too
    monkeypatch.setenv("PATH", str(fake_blender.parent))
    assert find_blender() == fake_blender
    assert find_blender(str(tmp_path / "nowhere")) == fake_blender  # bad setting: PATH still
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_blender() is None
    assert blender_version(fake_blender) == "Blender 9.9.9 (fake)"


def test_command_line_is_headless_factory_startup(fake_blender: Path) -> None:
    command = blender_command(fake_blender, {"source": "x.glb"})
    assert command[:4] == [str(fake_blender), "-b", "--factory-startup", "-noaudio"]
    assert command[command.index("--python") + 1] == str(SCRIPT_PATH)
    assert SCRIPT_PATH.is_file()
    assert json.loads(command[command.index("--") + 1]) == {"source": "x.glb"}


def test_blender_renders_still_and_reports_device(
    models: dict[str, Path], blender_service: RenderService, tmp_path: Path
) -> None:
    output = tmp_path / "still.png"
    result = blender_service.render(_request(models["glb_multi_mesh"], output))
    assert result.backend == "blender"
    assert result.gl_platform == "cycles-cpu"
    assert result.device == "blender/cycles-cpu"
    assert "Blender 9.9.9" in (result.gl_renderer or "")
    assert_framed(coverage(output))
    assert not partial_output_path(output).exists()


def test_blender_turntable_frames_are_encoded(
    models: dict[str, Path], blender_service: RenderService, tmp_path: Path
) -> None:
    output = tmp_path / "spin.mp4"
    request = RenderRequest(
        source=models["glb_multi_mesh"], output=output, size=64, product="turntable",
        frames=5, backend="blender",
    )  # fmt: skip
    result = blender_service.render(request)
    with av.open(str(output)) as container:
        assert len(list(container.decode(video=0))) == 5 == result.frames
    assert not frames_scratch_dir(output).exists(), "per-frame PNGs are cleaned up"


def test_blender_hang_is_killed_with_its_process_group(
    models: dict[str, Path], blender_service: RenderService, tmp_path: Path
) -> None:
    source = _copy(models, "glb_multi_mesh", tmp_path, "hang.glb")
    with pytest.raises(RenderTimeoutError, match=r"exceeded 2 s"):
        blender_service.render(_request(source, tmp_path / "h.png"), timeout_s=2)
    blender_pid = int(Path(str(source) + ".pid").read_text())
    deadline = time.monotonic() + 3
    while _running(blender_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(blender_pid), f"blender (pid {blender_pid}) outlived the timeout"
    result = blender_service.render(_request(models["glb_multi_mesh"], tmp_path / "ok.png"))
    assert result.output.is_file()


def test_blender_crash_and_import_failure_are_clear_and_child_survives(
    models: dict[str, Path], blender_service: RenderService, tmp_path: Path
) -> None:
    blender_service.start()
    pid = blender_service.pid
    crash = _copy(models, "glb_multi_mesh", tmp_path, "crash.glb")
    with pytest.raises(RenderCrashedError, match=r"Blender crashed \(SIGSEGV\)"):
        blender_service.render(_request(crash, tmp_path / "c.png"))
    broken = _copy(models, "glb_multi_mesh", tmp_path, "broken.glb")
    with pytest.raises(InvalidModelError, match="could not import"):
        blender_service.render(_request(broken, tmp_path / "b.png"))
    assert blender_service.pid == pid, "Blender failing is not the render child failing"
    assert blender_service.render(_request(models["glb_multi_mesh"], tmp_path / "ok.png"))


def test_blender_backend_refuses_hostile_headers_before_starting_blender(
    hostile_models: dict[str, Path], blender_service: RenderService, tmp_path: Path
) -> None:
    with pytest.raises(InvalidModelError, match="50,000,000 faces"):
        blender_service.render(_request(hostile_models["stl_50m_faces"], tmp_path / "x.png"))
    assert not Path(str(hostile_models["stl_50m_faces"]) + ".pid").exists()


def test_missing_blender_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(blender_backend, "_platform_candidates", list)
    with pytest.raises(RenderBackendUnavailableError, match="Blender is not installed"):
        blender_backend.BlenderRenderer(str(tmp_path / "x"))
