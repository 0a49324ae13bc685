"""``stratopipe playlist`` and ``stratopipe report`` as a supervisor runs them after dailies: real
clips and stills ingested, notes written on this machine (one with a drawing), reports exported."""

from __future__ import annotations

import base64
import csv
import json
import re
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from tests.app.test_cli import stratopipe
from tests.core.video.clips import read_number, write_numbered_clip

if TYPE_CHECKING:
    from pathlib import Path

DRAWING = {
    "version": 1,
    "strokes": [{"colour": "#ff453a", "width": 0.01, "points": [[0.1, 0.8], [0.9, 0.8]]}],
}


@pytest.fixture(scope="module")
def dailies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A data dir with three assets, notes on two of them, and a playlist "Dailies 12 May"."""
    root = tmp_path_factory.mktemp("review_cli")
    drop = root / "drop"
    drop.mkdir()
    write_numbered_clip(drop / "shot010_v001.mp4", frames=30, codec="mpeg4", size=(128, 96))
    write_numbered_clip(drop / "shot010_v002.mp4", frames=40, codec="mpeg4", size=(128, 96))
    cv2.imwrite(str(drop / "matte.png"), np.full((60, 80, 3), 90, np.uint8))
    data = root / "data"
    ingested = json.loads(
        stratopipe(data, "ingest", str(drop), "--project", "Show", "--json", "--thumbnails-only").stdout
    )
    ids = {a["name"]: a["id"] for a in ingested["assets"]}
    stratopipe(data, "comment", "add", str(ids["matte.png"]), "Edge <script>alert(1)</script> too hard")
    _note_with_drawing(data, ids["shot010_v002.mp4"], frame=17, text="Hold the camera shake here")
    stratopipe(
        data, "playlist", "create", "Dailies 12 May", "--project", "Show",
        str(ids["shot010_v002.mp4"]), str(ids["matte.png"]), str(ids["shot010_v001.mp4"]),
    )  # fmt: skip
    return data, ids


def _note_with_drawing(data: Path, asset_id: int, frame: int, text: str) -> None:
    """A private note with a drawing, written the way the viewer writes one (the CLI has no pen)."""
    from core.catalog.catalog import Catalog
    from core.sync.local_private import private_project
    from core.sync.local_store import LocalStore

    catalog = Catalog(data / "catalog.sqlite3")
    asset = catalog.get_asset(asset_id)
    assert asset is not None
    store = LocalStore(data / "catalog.sqlite3")
    project = private_project(asset.project_id)
    key = store.ensure_asset(project, asset.name, asset.kind, asset.content_hash, {})
    store.add_comment(project, key, text, frame, DRAWING)
    store.close()
    catalog.close()


def test_playlists_are_listed_and_shown_in_order(dailies: tuple[Path, dict[str, int]]) -> None:
    data, _ = dailies
    listed = json.loads(stratopipe(data, "playlist", "list", "--project", "Show", "--json").stdout)
    assert [(p["name"], p["items"]) for p in listed] == [("Dailies 12 May", 3)]
    shown = json.loads(stratopipe(data, "playlist", "show", "Dailies 12 May", "--json").stdout)
    assert [row["name"] for row in shown] == ["shot010_v002.mp4", "matte.png", "shot010_v001.mp4"]


def test_html_report_shows_each_noted_frame_with_its_drawing(
    dailies: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    data, _ = dailies
    out = tmp_path / "dailies.html"
    summary = json.loads(
        stratopipe(data, "report", "Dailies 12 May", "--format", "html", "-o", str(out), "--json").stdout
    )
    assert summary == {"file": str(out), "format": "html", "items": 3, "notes": 2}
    page = out.read_text(encoding="utf-8")
    assert page.count('<section class="item"') == 3
    assert "src=" not in page.replace('src="data:image/jpeg;base64,', "")  # self-contained
    # The user's text is shown, never run.
    assert "<script>alert(1)</script>" not in page
    assert "Edge &lt;script&gt;alert(1)&lt;/script&gt; too hard" in page
    # The clip's note shows frame 17 itself (its picture reads 17) with the drawing over it.
    section = page[page.index('id="item-1"') : page.index('id="item-2"')]
    assert "Frame 17" in section
    assert "Hold the camera shake here" in section
    jpeg = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", section).group(1))  # type: ignore[union-attr]
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert read_number(picture) == 17
    polyline = re.search(r'<polyline points="([^"]+)"[^>]*stroke="#ff453a"', section)
    assert polyline is not None
    assert polyline.group(1) == "12.8,76.8 115.2,76.8"  # normalised strokes on the 128x96 picture


def test_csv_report_has_a_row_per_note_and_per_unnoted_item(
    dailies: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    data, _ = dailies
    out = tmp_path / "dailies.csv"
    stratopipe(data, "report", "Dailies 12 May", "--project", "Show", "--format", "csv", "-o", str(out))
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["position"], r["asset"], r["frame"], r["has_drawing"]) for r in rows] == [
        ("1", "shot010_v002.mp4", "17", "yes"),
        ("2", "matte.png", "", "no"),
        ("3", "shot010_v001.mp4", "", ""),
    ]
    assert rows[0]["version"] == "2"
    assert rows[0]["author"] == "me (this machine)"
    assert rows[0]["review_status"] == "Pending review"


def test_an_unknown_playlist_is_a_usage_error(dailies: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    data, _ = dailies
    result = stratopipe(data, "report", "Nope", "-o", str(tmp_path / "x.html"), check=False)
    assert result.returncode == 2
    assert "no playlist named 'Nope'" in result.stderr


def test_a_playlist_from_the_cli_is_shared_offline_reordered_and_deleted(
    dailies: tuple[Path, dict[str, int]],
) -> None:
    data, ids = dailies
    first, second = ids["matte.png"], ids["shot010_v001.mp4"]
    stratopipe(data, "playlist", "create", "Second look", "--project", "Show", str(first), str(second))
    shared = json.loads(stratopipe(data, "playlist", "shared", "--project", "Show", "--json").stdout)
    # Not signed in, not linked: shared with the project on this machine first, sent once it is linked.
    second_look = next(p for p in shared if p["name"] == "Second look")
    assert (second_look["items"], second_look["missing"], second_look["sync_state"]) == (
        [first, second],
        [],
        "private",
    )
    stratopipe(data, "playlist", "set-items", "Second look", "--project", "Show", str(second), str(first))
    shared = json.loads(stratopipe(data, "playlist", "shared", "--project", "Show", "--json").stdout)
    assert next(p for p in shared if p["name"] == "Second look")["items"] == [second, first]
    stratopipe(data, "playlist", "delete", "Second look", "--project", "Show")
    shared = json.loads(stratopipe(data, "playlist", "shared", "--project", "Show", "--json").stdout)
    assert [p["name"] for p in shared] == ["Dailies 12 May"]
