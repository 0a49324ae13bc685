"""Ingest that is always right: numbered names that are no sequence, model sidecars, absolute paths,
roots and relinking — on files nobody on the team wrote where possible (CPython's IDLE icon set)."""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import trimesh

from app.runtime import open_runtime
from core.catalog.records import AssetQuery
from core.ingest import Ingestor, IngestReport, scan_paths, sequence_frames
from core.roots import plan_relink, plan_root_relink

from .conftest import write_image

IDLE_ICONS = Path(sysconfig.get_paths()["stdlib"]) / "idlelib" / "Icons"


def _idle_icon_set(folder: Path) -> list[Path]:
    """IDLE's own icons: idle_16.png, idle_32.png, idle_48.png, idle_256.png (16x16 ... 256x256)."""
    icons = sorted(IDLE_ICONS.glob("idle_*.png")) if IDLE_ICONS.is_dir() else []
    if len(icons) < 3:
        pytest.skip("this Python ships without IDLE's icons")
    folder.mkdir(parents=True)
    return [Path(shutil.copy(icon, folder / icon.name)) for icon in icons]


def _ingest(data_dir: Path, inputs: list[Path], roots: dict[str, str] | None = None) -> tuple:
    runtime = open_runtime(str(data_dir))
    project = runtime.catalog.ensure_project("Show")
    with ThreadPoolExecutor(2) as pool:
        run = Ingestor(runtime.catalog, runtime.paths, runtime.limits, pool, roots=roots).run(
            inputs, project.id
        )
        try:
            while True:
                next(run)
        except StopIteration as done:
            report: IngestReport = done.value
    return runtime, report


def test_an_icon_set_is_four_images_not_a_sequence(tmp_path: Path) -> None:
    icons = _idle_icon_set(tmp_path / "icons")
    runtime, report = _ingest(tmp_path / "data", [tmp_path / "icons"])
    assert report.failures == []
    assets = runtime.catalog.get_assets(report.added)
    assert sorted(a.name for a in assets) == sorted(p.name for p in icons)
    assert {a.kind for a in assets} == {"image"}


def test_same_size_frames_numbered_alike_group_and_say_why(tmp_path: Path) -> None:
    for frame in range(1, 5):
        write_image(tmp_path / "renders" / f"beauty_{frame:03d}.png", frame, (24, 32))
    runtime, report = _ingest(tmp_path / "data", [tmp_path / "renders"])
    (asset,) = runtime.catalog.get_assets(report.added)
    assert asset.kind == "sequence"
    assert asset.metadata["grouped_because"] == (
        "4 frames 1–4, 3-digit padded frame numbers, no gaps; every frame PNG 32×24"
    )


def test_pictures_numbered_alike_but_sized_differently_are_separate_images(tmp_path: Path) -> None:
    # Neighbouring numbers, one padding, one format: only the sizes tell these are two pictures.
    write_image(tmp_path / "refs" / "pic1.png", 1, (40, 40))
    write_image(tmp_path / "refs" / "pic2.png", 2, (30, 50))
    runtime, report = _ingest(tmp_path / "data", [tmp_path / "refs"])
    assets = runtime.catalog.get_assets(report.added)
    assert sorted((a.name, a.kind) for a in assets) == [("pic1.png", "image"), ("pic2.png", "image")]


def test_splitting_a_sequence_gives_one_image_per_frame(tmp_path: Path) -> None:
    for frame in range(10, 13):
        write_image(tmp_path / "turntable" / f"view.{frame}.png", frame, (20, 20))
    runtime, report = _ingest(tmp_path / "data", [tmp_path / "turntable"])
    (sequence,) = report.added
    frames = sequence_frames(runtime.catalog.get_asset(sequence).metadata)
    with ThreadPoolExecutor(1) as pool:
        ingestor = Ingestor(runtime.catalog, runtime.paths, runtime.limits, pool)
        split = ingestor.split_sequence(sequence)
    assert split.failures == []
    assert runtime.catalog.count_assets(AssetQuery(kind="sequence")) == 0
    images = runtime.catalog.get_assets(split.added)
    assert sorted(a.path for a in images) == sorted(str(p) for p in frames)
    assert {a.kind for a in images} == {"image"}
    assert all(a.metadata["split_from"] == "view.[10-12].png" for a in images)


def test_gltf_buffers_and_obj_materials_belong_to_their_models(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    # trimesh's own glTF exporter writes the JSON and its .bin buffer side by side.
    for name, data in trimesh.creation.box().scene().export(file_type="gltf").items():
        (models / ("crate.gltf" if name == "model.gltf" else name)).write_bytes(data)
    texture = _idle_icon_set(tmp_path / "tex")[0]
    shutil.copy(texture, models / "rock albedo.png")
    (models / "rock.mtl").write_text("newmtl rock\nKd 1 1 1\nmap_Kd -bm 1.0 rock albedo.png\n")
    (models / "rock.obj").write_text(
        "mtllib rock.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl rock\nf 1 2 3\n", encoding="utf-8"
    )
    runtime, report = _ingest(tmp_path / "data", [models])
    assert report.failures == []
    assets = {a.name: a for a in runtime.catalog.get_assets(report.added)}
    assert set(assets) == {"crate.gltf", "rock.obj", "rock albedo.png"}
    buffers = [n for n in os.listdir(models) if n.endswith(".bin")]
    assert buffers
    assert sorted(assets["crate.gltf"].metadata["sidecars"]) == sorted(buffers)
    assert assets["rock.obj"].metadata["sidecars"] == ["rock.mtl", "rock albedo.png"]


def test_relative_inputs_are_stored_absolute_with_their_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    show = tmp_path / "show"
    write_image(show / "plates" / "bg.png", 3)
    monkeypatch.chdir(show)
    runtime, report = _ingest(tmp_path / "data", [Path("plates/bg.png")], roots={"show": str(show)})
    (asset,) = runtime.catalog.get_assets(report.added)
    assert asset.path == str(show / "plates" / "bg.png")
    assert asset.metadata["location"] == {"root": "show", "relative": "plates/bg.png"}

    # The show moves (another machine, another mount): the root's new folder finds the file again.
    moved = tmp_path / "mnt" / "show"
    moved.parent.mkdir()
    show.rename(moved)
    records = list(runtime.catalog.iter_assets(AssetQuery()))
    (by_root,) = plan_root_relink(records, {"show": str(moved)})
    assert (by_root.new_path, by_root.exists) == (str(moved / "plates" / "bg.png"), True)
    (by_prefix,) = plan_relink(records, str(show), str(moved))
    assert by_prefix == by_root
    assert plan_relink(records, str(show) + "2", str(moved)) == []  # whole folder names only


def test_scan_claims_sidecars_only_for_models_present(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "orphan.mtl").write_text("newmtl x\n")
    candidates, _ = scan_paths([loose])
    assert [c.path.name for c in candidates] == ["orphan.mtl"]  # no model claims it: it stays a file
    assert json.loads(json.dumps([str(c.path) for c in candidates]))[0].startswith(os.sep)
