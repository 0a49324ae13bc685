"""Launch arguments as the app reads them: terminal paths, file-manager URIs and stratopipe:// links."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.links import LaunchRequest, LinkError, parse_launch_arguments, parse_link


def test_an_asset_link_opens_that_asset() -> None:
    assert parse_link("stratopipe://asset/42") == 42
    assert parse_link("STRATOPIPE://Asset/7/") == 7


def test_an_open_link_ingests_its_path_percent_decoded() -> None:
    assert parse_link("stratopipe://open?path=/shows/a%20b/plate%231.exr") == Path("/shows/a b/plate#1.exr")


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("stratopipe://asset/abc", "positive number"),
        ("stratopipe://asset/0", "positive number"),
        ("stratopipe://asset/", "positive number"),
        ("stratopipe://open", "open?path="),
        ("stratopipe://open?path=/a&path=/b", "open?path="),
        ("stratopipe://delete/3", "unknown action 'delete'"),
        ("https://example.com/asset/3", "not a stratopipe:// link"),
    ],
)
def test_a_link_the_app_cannot_follow_says_why(link: str, reason: str) -> None:
    with pytest.raises(LinkError, match=reason.replace("?", r"\?")):
        parse_link(link)


def test_launch_arguments_mix_paths_uris_and_links(tmp_path: Path) -> None:
    request = parse_launch_arguments(
        [
            "plates/shot.0001.exr",
            "file:///mnt/show/hero%20v2.glb",
            "stratopipe://asset/12",
            "stratopipe://asset/nope",
            "/abs/clip.mov",
        ],
        cwd=tmp_path,
    )
    assert request.paths == (
        tmp_path / "plates/shot.0001.exr",
        Path("/mnt/show/hero v2.glb"),
        Path("/abs/clip.mov"),
    )
    assert request.asset_ids == (12,)
    assert len(request.errors) == 1
    assert "stratopipe://asset/nope" in request.errors[0]


def test_no_arguments_ask_for_nothing(tmp_path: Path) -> None:
    assert parse_launch_arguments([], tmp_path) == LaunchRequest()
    assert LaunchRequest().empty
