"""Hostile files, hangs, crashes, cancels and secrets: only the one request fails, cleanly."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from core.jobs.steps import CancelToken, JobCancelledError
from core.render import (
    InvalidModelError,
    RenderCrashedError,
    RenderMemoryError,
    RenderRequest,
    RenderService,
    RenderTimeoutError,
)
from core.render.api import partial_output_path
from core.render.sandbox import is_secret_name, sanitized_environment
from tests.core.render.image_checks import assert_framed, coverage

HOSTILE_MESSAGES = {
    "nan_vertices": "NaN or infinite",
    "broken_glb_header": "broken GLB header",
    "truncated_glb": "truncated GLB",
    "stl_50m_faces": "50,000,000 faces",
    "truncated_stl": "truncated binary STL",
    "empty_file": "empty",
    "no_geometry": "no renderable geometry",
}


def _request(source: Path, output: Path, **kwargs: object) -> RenderRequest:
    return RenderRequest(source=source, output=output, size=64, product="thumbnail", **kwargs)  # type: ignore[arg-type]


def _assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _assert_service_still_renders(service: RenderService, source: Path, tmp_path: Path) -> None:
    output = tmp_path / "after.png"
    service.render(_request(source, output))
    assert_framed(coverage(output))


@pytest.mark.parametrize("name", sorted(HOSTILE_MESSAGES))
def test_hostile_file_fails_with_clear_error_and_child_survives(
    name: str,
    hostile_models: dict[str, Path],
    models: dict[str, Path],
    render_service: RenderService,
    tmp_path: Path,
) -> None:
    render_service.start()
    pid = render_service.pid
    output = tmp_path / "hostile.png"
    with pytest.raises(InvalidModelError, match=HOSTILE_MESSAGES[name]) as caught:
        render_service.render(_request(hostile_models[name], output))
    assert hostile_models[name].name in str(caught.value), "the error names the file"
    assert not output.exists()
    assert not partial_output_path(output).exists()
    assert render_service.pid == pid, "an invalid file should not cost the warm child"
    _assert_service_still_renders(render_service, models["obj_plain"], tmp_path)


def test_face_limit_applies_after_loading(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    with pytest.raises(InvalidModelError, match="over the render limit of 100"):
        render_service.render(_request(models["obj_plain"], tmp_path / "x.png", max_faces=100))


def test_hang_is_killed_at_the_timeout(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    render_service.start()
    pid = render_service.pid
    assert pid is not None
    output = tmp_path / "hang.png"
    with pytest.raises(RenderTimeoutError, match=r"render exceeded 1\.5 s"):
        render_service.render(_request(models["obj_plain"], output, fault="sleep"), timeout_s=1.5)
    _assert_gone(pid)
    assert not partial_output_path(output).exists(), "the hung render's partial file is removed"
    _assert_service_still_renders(render_service, models["obj_plain"], tmp_path)
    assert render_service.pid != pid


@pytest.mark.parametrize(("fault", "reason"), [("segv", "SIGSEGV"), ("exit", "exit code 3")])
def test_crashing_child_fails_only_that_request(
    fault: str,
    reason: str,
    models: dict[str, Path],
    render_service: RenderService,
    tmp_path: Path,
) -> None:
    with pytest.raises(RenderCrashedError, match=reason):
        render_service.render(_request(models["obj_plain"], tmp_path / "c.png", fault=fault))
    _assert_service_still_renders(render_service, models["obj_plain"], tmp_path)


def test_memory_bomb_hits_the_limit_and_child_is_recycled(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    render_service.start()
    pid = render_service.pid
    assert pid is not None
    with pytest.raises(RenderMemoryError, match="render memory limit"):
        render_service.render(_request(models["obj_plain"], tmp_path / "m.png", fault="memory"))
    _assert_gone(pid)
    _assert_service_still_renders(render_service, models["obj_plain"], tmp_path)


def test_cancel_kills_the_process_group_and_removes_partial_output(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    render_service.start()
    pid = render_service.pid
    assert pid is not None
    output = tmp_path / "long.mp4"
    # A real long render: 1440 frames of a turntable; the encoder writes the partial file early.
    request = RenderRequest(
        source=models["obj_plain"], output=output, size=64, product="turntable", frames=1440
    )
    token = CancelToken()
    outcome: dict[str, BaseException] = {}

    def render() -> None:
        try:
            render_service.render(request, token)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=render)
    thread.start()
    deadline = time.monotonic() + 20
    while not partial_output_path(output).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert partial_output_path(output).exists(), "the turntable should be under way"
    token.cancel()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), JobCancelledError)
    _assert_gone(pid)
    assert not output.exists()
    assert not partial_output_path(output).exists()
    _assert_service_still_renders(render_service, models["obj_plain"], tmp_path)


def test_already_cancelled_token_starts_nothing(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelledError):
        render_service.render(_request(models["obj_plain"], tmp_path / "n.png"), token)
    assert not (tmp_path / "n.png").exists()


def test_secret_names_are_recognised() -> None:
    secrets = ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "OPENAI_API_KEY", "SSH_AUTH_SOCK"]
    harmless = ["PATH", "HOME", "LANG", "PYOPENGL_PLATFORM", "LD_LIBRARY_PATH", "DISPLAY"]
    assert all(is_secret_name(name) for name in secrets)
    assert not any(is_secret_name(name) for name in harmless)
    cleaned = sanitized_environment({"PATH": "/bin", "MY_TOKEN": "x"}, extra={"A": "1"})
    assert cleaned == {"PATH": "/bin", "A": "1"}


def test_child_does_not_inherit_secrets_and_osmesa_fallback_platform_renders(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STUDIO_API_TOKEN", "hunter2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter3")
    monkeypatch.setenv("RENDER_TEST_HARMLESS", "kept")
    with RenderService(timeout_s=60, memory_mb=1024, gl_platform="osmesa") as service:
        ready = service.start()
        assert service.pid is not None
        environ = Path(f"/proc/{service.pid}/environ").read_bytes().split(b"\0")
        names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
        assert "RENDER_TEST_HARMLESS" in names
        assert not {"STUDIO_API_TOKEN", "AWS_SECRET_ACCESS_KEY"} & names
        assert ready["gl_platform"] == "osmesa"
        assert ready["gl_renderer"], "the child reports which GL renderer it got"
        result = service.render(_request(models["obj_textured"], tmp_path / "o.png"))
    assert result.gl_platform == "osmesa"
    found = coverage(result.output)
    assert_framed(found)
    assert found.mean_rgb[0] > 2 * found.mean_rgb[1], "texture survives on OSMesa"


def test_closed_service_refuses_work(models: dict[str, Path], tmp_path: Path) -> None:
    service = RenderService(timeout_s=10, memory_mb=1024)
    service.close()
    with pytest.raises(Exception, match="closed"):
        service.render(_request(models["obj_plain"], tmp_path / "z.png"))
