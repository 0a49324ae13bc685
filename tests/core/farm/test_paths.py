"""Path mapping between this machine and farm workers, the size cap, and what comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.farm.executor import farm_address
from core.farm.paths import PathMapping
from core.farm.wire import RemoteStepOutcome, ShipBudget, localize_output, portable_params, ship_input
from core.jobs.steps import InvalidInputError
from core.settings import Settings

LINUX_TO_WINDOWS = PathMapping([{"local": "/mnt/proj", "remote": "P:\\proj"}])


def test_a_studio_mount_maps_onto_a_windows_drive_and_back() -> None:
    assert (
        LINUX_TO_WINDOWS.to_remote("/mnt/proj/shots/sh010/model.obj") == "P:\\proj\\shots\\sh010\\model.obj"
    )
    assert LINUX_TO_WINDOWS.to_local("P:\\proj\\shots\\sh010\\out.png") == "/mnt/proj/shots/sh010/out.png"
    # Windows names are case-insensitive and take either separator.
    assert LINUX_TO_WINDOWS.to_local("p:/PROJ/shots/a.png") == "/mnt/proj/shots/a.png"
    assert LINUX_TO_WINDOWS.to_remote("/mnt/proj") == "P:\\proj"


def test_a_windows_client_maps_onto_linux_workers_and_unc_shares() -> None:
    mapping = PathMapping([
        {"local": "P:\\proj", "remote": "/mnt/proj"},
        {"local": "\\\\filer\\show", "remote": "/net/filer/show"},
    ])  # fmt: skip
    assert mapping.to_remote("P:\\proj\\a\\b.exr") == "/mnt/proj/a/b.exr"
    assert mapping.to_remote("\\\\filer\\show\\sh010\\plate.exr") == "/net/filer/show/sh010/plate.exr"
    assert mapping.to_local("/net/filer/show/x.png") == "\\\\filer\\show\\x.png"


def test_prefixes_match_whole_folders_and_the_longest_wins() -> None:
    mapping = PathMapping([
        {"local": "/mnt/proj", "remote": "/farm/proj"},
        {"local": "/mnt/proj/cache", "remote": "/fast/cache"},
    ])  # fmt: skip
    assert mapping.to_remote("/mnt/proj2/a.obj") is None  # a sibling folder, not a subfolder
    assert mapping.to_remote("/mnt/proj/cache/x.png") == "/fast/cache/x.png"
    assert mapping.to_remote("/mnt/proj/x.png") == "/farm/proj/x.png"
    assert mapping.to_remote("/home/me/x.png") is None
    assert LINUX_TO_WINDOWS.to_local("Q:\\proj\\a.png") is None
    assert LINUX_TO_WINDOWS.to_remote("/mnt/proj/../etc/passwd") is None


def test_an_unmapped_file_travels_as_bytes_with_its_sidecars(tmp_path: Path) -> None:
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "wood.png").write_bytes(b"png")
    (tmp_path / "box.mtl").write_text("newmtl wood\nmap_Kd tex/wood.png\n")
    model = tmp_path / "box.obj"
    model.write_text("mtllib box.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl wood\nf 1 2 3\n")
    shipped = ship_input(model, PathMapping(), ShipBudget(10_000), sidecars=True)
    assert shipped.remote_path is None
    assert shipped.data == model.read_bytes()
    assert dict(shipped.sidecars) == {"box.mtl": (tmp_path / "box.mtl").read_bytes(), "tex/wood.png": b"png"}


def test_a_file_over_the_cap_is_refused_with_what_to_do(tmp_path: Path) -> None:
    big = tmp_path / "big.exr"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(InvalidInputError, match=r"farm_ship_max_mb.*path mapping"):
        ship_input(big, PathMapping(), ShipBudget(1024), sidecars=False)
    mapped = PathMapping([{"local": str(tmp_path), "remote": "/farm/in"}])
    assert ship_input(big, mapped, ShipBudget(1), sidecars=False).remote_path == "/farm/in/big.exr"


def test_products_come_back_into_the_local_cache(tmp_path: Path) -> None:
    outcome = RemoteStepOutcome(
        "completed",
        "tcp://10.0.0.5:4000",
        output={"path": "C:\\farm\\scratch\\cache\\artifacts\\ab\\x.png", "backend": "pyrender", "n": 3},
        cache_dir="C:\\farm\\scratch\\cache",
        files={"artifacts/ab/x.png": b"\x89PNG"},
    )
    output = localize_output(outcome, tmp_path / "cache")
    assert output == {
        "path": str(tmp_path / "cache" / "artifacts" / "ab" / "x.png"),
        "backend": "pyrender",
        "n": 3,
    }
    assert (tmp_path / "cache" / "artifacts" / "ab" / "x.png").read_bytes() == b"\x89PNG"


def test_lane_objects_stay_local() -> None:
    params = {
        "size": 256,
        "render_service": object(),
        "outputs": {"a": {}},
        "odd": object(),
        "preview_image": "/x",
    }
    assert portable_params(params) == {"size": 256}


def test_the_executor_option_and_settings_choose_the_scheduler() -> None:
    assert farm_address(Settings(), None) is None
    assert farm_address(Settings(), "dask://farm:8786") == "tcp://farm:8786"
    assert farm_address(Settings(execution="dask", dask_scheduler="farm:8786"), None) == "tcp://farm:8786"
    assert farm_address(Settings(execution="dask", dask_scheduler="tcp://farm:1"), "local") is None
    assert farm_address(Settings(execution="dask"), None) is None  # no address: local, with a warning
    with pytest.raises(ValueError, match="dask://HOST:PORT"):
        farm_address(Settings(), "farm:8786")
