"""The built bundle (dist/stratopipe/, `make dist`) run as an artist would run it: `make dist-test`.

Every command here runs the bundle's own executables with no PYTHONPATH and from a folder outside the
checkout, so a module, library, plugin or data file the spec forgot fails here and not on an artist's
machine. Skipped unless STRATOPIPE_BUNDLE names the bundle folder (`make test` does not build it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

BUNDLE_ENV = "STRATOPIPE_BUNDLE"
BUNDLE = Path(os.environ.get(BUNDLE_ENV, "")).resolve() if os.environ.get(BUNDLE_ENV) else None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BUNDLE is None, reason=f"{BUNDLE_ENV} is not set: `make dist-test` sets it"),
]


def bundle_env(**extra: str) -> dict[str, str]:
    hidden = ("PYTHONPATH", "STRATOPIPE_DATA_DIR", "VIRTUAL_ENV", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update(extra)
    return env


def run(
    program: str, *args: str, cwd: Path, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    assert BUNDLE is not None
    return subprocess.run(
        [str(BUNDLE / program), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=bundle_env(**env),
        timeout=timeout,
        check=False,
    )


def stratopipe_json(data: Path, *args: str, **env: str) -> object:
    done = run("stratopipe", "--data-dir", str(data), *args, "--json", cwd=data.parent, **env)
    assert done.returncode == 0, f"stratopipe {' '.join(args)}:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real file of each kind an artist drops in: a photo, an EXR, a video clip and a mesh."""
    import av
    import cv2
    import numpy as np
    import OpenEXR
    import trimesh

    folder = tmp_path_factory.mktemp("drop")
    rng = np.random.default_rng(7)
    photo = folder / "plate.png"
    cv2.imwrite(str(photo), (rng.random((96, 128, 3)) * 255).astype(np.uint8))
    exr = folder / "sky.exr"
    rgb = np.linspace(0.0, 4.0, 64 * 48 * 3, dtype=np.float32).reshape(48, 64, 3)
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {"RGB": rgb}).write(str(exr))
    clip = folder / "shot.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(24):
            pixels = np.full((48, 64, 3), index * 10, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    mesh = folder / "crate.stl"
    trimesh.creation.box((1.0, 1.0, 2.0)).export(mesh)
    return {"image": photo, "exr": exr, "video": clip, "geometry": mesh}


def test_version_and_help(tmp_path: Path) -> None:
    version = run("stratopipe", "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"stratopipe \d+\.\d+\.\d+\S*\n", version.stdout)
    server = run("stratopipe-server", "--help", cwd=tmp_path)
    assert server.returncode == 0, server.stderr
    assert "serve" in server.stdout
    # As the README suggests: links in ~/.local/bin still find the bundle and keep their names.
    assert BUNDLE is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("stratopipe", "stratopipe-server"):
        (bin_dir / name).symlink_to(BUNDLE / name)
    linked = subprocess.run(
        [str(bin_dir / "stratopipe-server"), "--help"], capture_output=True, text=True, env=bundle_env()
    )
    assert linked.returncode == 0, linked.stderr
    assert "serve" in linked.stdout
    linked = subprocess.run([str(bin_dir / "stratopipe"), "--version"], capture_output=True, text=True)
    assert linked.stdout == version.stdout, linked.stderr


def test_ingest_renders_thumbnails_and_categories_in_the_bundle(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    data = tmp_path / "data"
    result = stratopipe_json(data, "ingest", *map(str, media.values()), "--project", "Smoke")
    assert isinstance(result, dict)
    assert result["failed"] == []
    assert result["ingested"] == len(media)
    by_name = {Path(a["path"]).name: a for a in result["assets"]}
    assert {a["kind"] for a in result["assets"]} == {"image", "video", "geometry"}
    for asset in result["assets"]:
        assert asset["status"] != "failed", asset
        assert asset["thumbnail"], asset
        assert Path(asset["thumbnail"]).is_file(), asset
    mesh = by_name[media["geometry"].name]
    # The placeholder thumbnail was replaced by a render from the sandboxed render child.
    assert mesh["thumbnail"].endswith(".png")
    assert "3d-model/render" in {t["name"] for t in mesh["tags"]}
    jobs = stratopipe_json(data, "jobs")
    assert isinstance(jobs, list)
    assert jobs
    assert {j["state"] for j in jobs} == {"completed"}, [j for j in jobs if j["state"] != "completed"]


@pytest.mark.parametrize("gl_platform", ["egl", "osmesa"])
def test_render_child_renders_with_each_gl_platform(
    tmp_path: Path, media: dict[str, Path], gl_platform: str
) -> None:
    import cv2

    data = tmp_path / "data"
    done = run(
        "stratopipe", "--data-dir", str(data), "render", str(media["geometry"]), "--size", "128", "--json",
        cwd=tmp_path, PYOPENGL_PLATFORM=gl_platform,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    (result,) = json.loads(done.stdout)["results"]
    assert result["error"] is None, result
    # The preferred platform, not the fallback: the child falls back to the other one by itself.
    assert result["device"].startswith("pyrender/"), result
    assert gl_platform in result["device"], result
    image = cv2.imread(result["outputs"][0]["path"])
    assert image is not None
    assert image.shape[:2] == (128, 128)
    assert image.std() > 1, "the render is not a blank image"


def test_classify_and_enhance_use_the_bundled_models(tmp_path: Path, media: dict[str, Path]) -> None:
    data = tmp_path / "data"
    classified = stratopipe_json(data, "classify", str(media["image"]))
    assert isinstance(classified, dict)
    output = next(o for o in classified["results"][0]["outputs"] if o["step"] == "classify")
    assert output["subject_model"].startswith("mobilenet-v2-imagenet"), output  # torch + bundled weights
    assert output["subject_note"] == ""

    enhanced = stratopipe_json(data, "enhance", str(media["image"]))
    assert isinstance(enhanced, dict)
    output = next(o for o in enhanced["results"][0]["outputs"] if o["step"] == "enhance")
    assert output["method"].startswith("model:realesr"), output  # the ncnn child: `stratopipe --child`
    assert Path(output["path"]).is_file()


def test_doctor_finds_every_built_in_model_and_the_renderer(tmp_path: Path) -> None:
    report = stratopipe_json(tmp_path / "data", "doctor")
    assert isinstance(report, dict)
    models = report["ai"]["builtin_models"]
    assert models
    assert all(state.startswith("ready") for state in models.values()), models
    assert report["render"]["pyrender"]["available"], report["render"]


def test_server_starts_and_answers_health(tmp_path: Path) -> None:
    assert BUNDLE is not None
    log_file = tmp_path / "server.log"
    with log_file.open("wb") as log_output:
        process = subprocess.Popen(
            [str(BUNDLE / "stratopipe-server"), "serve", "--port", "0", "--data-dir", str(tmp_path / "srv")],
            stdout=log_output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=bundle_env(),
        )
    try:
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline:
            found = re.search(r"event=listening host=\S+ port=(\d+)", log_file.read_text())
            port = int(found.group(1)) if found else None
            assert process.poll() is None, log_file.read_text()
            time.sleep(0.1)
        assert port is not None, log_file.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log_file.read_text()


@pytest.mark.parametrize("platform", ["offscreen", "xcb"])
def test_gui_starts_shows_its_window_and_quits(tmp_path: Path, platform: str) -> None:
    marker = tmp_path / "shown"
    command = ["stratopipe", "--data-dir", str(tmp_path / "data")]
    env = {"QT_QPA_PLATFORM": platform, "STRATOPIPE_QUIT_AFTER_SHOWN": str(marker)}
    if platform == "xcb":
        if shutil.which("xvfb-run") is None:
            pytest.skip("xvfb-run is not installed (apt-get install xvfb xauth)")
        assert BUNDLE is not None
        done = subprocess.run(
            ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", str(BUNDLE / "stratopipe"), *command[1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=bundle_env(**env),
            timeout=180,
            check=False,
        )
    else:
        done = run(*command, cwd=tmp_path, timeout=180, **env)
    log = (tmp_path / "data" / "logs" / "stratopipe.log").read_text() if done.returncode else ""
    assert done.returncode == 0, done.stderr[-4000:] + log[-4000:]
    assert marker.is_file(), "the window was never shown"


def test_desktop_entry_points_at_the_bundle_and_uninstalls(tmp_path: Path) -> None:
    assert BUNDLE is not None
    script = BUNDLE / "installers" / "install-desktop-entry.sh"
    env = bundle_env(XDG_DATA_HOME=str(tmp_path / "share"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    installed = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    entry = tmp_path / "share" / "applications" / "stratopipe.desktop"
    assert f"Exec={BUNDLE / 'stratopipe'} %U" in entry.read_text()
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "stratopipe.svg"
    assert icon.read_text().startswith("<svg")
    removed = subprocess.run(
        ["bash", str(script), "--uninstall"], env=env, capture_output=True, text=True, check=False
    )
    assert removed.returncode == 0, removed.stderr
    assert not entry.exists()
    assert not icon.exists()


def test_programs_the_app_starts_get_the_users_library_path(tmp_path: Path) -> None:
    """Blender (here a fake one on PATH) must load its own libraries, not the bundle's."""
    assert BUNDLE is not None
    seen = tmp_path / "blender-env.txt"
    fake = tmp_path / "bin" / "blender"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$LD_LIBRARY_PATH" > {seen}\necho "Blender 4.2.0"\n')
    fake.chmod(0o755)
    report = stratopipe_json(
        tmp_path / "data", "doctor", PATH=f"{fake.parent}:/usr/bin:/bin", LD_LIBRARY_PATH="/opt/studio/lib"
    )
    assert isinstance(report, dict)
    assert report["render"]["blender"]["version"] == "Blender 4.2.0"
    entries = [os.path.normpath(p) for p in seen.read_text().strip().split(":") if p]
    assert "/opt/studio/lib" in entries
    internal = str(BUNDLE / "_internal")
    assert not [p for p in entries if p == internal or p.startswith(internal + os.sep)], entries


def test_the_player_can_make_sound_in_the_bundle() -> None:
    # QtMultimedia is imported lazily by the player (ui/viewer/audio_output.py): only the spec's hidden
    # import puts it, and the FFmpeg media plugin it plays through, into the bundle.
    assert BUNDLE is not None
    assert list(BUNDLE.rglob("QtMultimedia.abi3.so")), "PySide6.QtMultimedia is missing from the bundle"
    assert list(BUNDLE.rglob("libQt6Multimedia.so*")), "Qt's multimedia library is missing"
