"""``stratopipe publish|fetch`` as pipeline scripts run them: child processes, a ``stratopipe-server``
process serving wss:// (a certificate from a CA this test made), a real photograph."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import skimage.data

from server import admin
from server.db import default_db_url, open_database
from tests.app.test_cli_sync import EXIT_REFUSED, catalog_with_shot, cli, ok
from tests.core.sync.test_tls import Pki, add_studio_users, make_pki
from tests.server.harness import ServerProcess

PHOTO = Path(skimage.data.__file__).with_name("astronaut.png")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def server(tmp_path: Path, pki: Pki) -> Iterator[str]:
    data = tmp_path / "server"
    add_studio_users(data)
    engine = open_database(default_db_url(data))
    admin.add_user(engine, "bob", "artist", "bob-password")
    admin.add_member(engine, "show", "bob")
    engine.dispose()
    tls = ("--tls-cert", str(pki.cert_file), "--tls-key", str(pki.key_file))
    running = ServerProcess(data, *tls, "--media-quota-mib", "1").start()
    yield f"wss://127.0.0.1:{running.port}"
    running.stop()


def machine(tmp_path: Path, user: str, url: str, pki: Pki) -> tuple[Path, Path]:
    data, token = tmp_path / user, tmp_path / f"{user}-token"
    catalog_with_shot(data)
    login = ("sync", "login", "--server", url, "--user", user, "--password-stdin", "--json")
    ok(
        cli(
            data,
            *login,
            "--ca-file",
            str(pki.ca_file),
            "--token-file",
            str(token),
            stdin=f"{user}-password\n",
        )
    )
    ok(cli(data, "sync", "link", "--project", "Local show", "--server-project", "show", "--json"))
    return data, token


def test_an_artist_publishes_a_photo_and_a_teammate_fetches_it(tmp_path: Path, server: str, pki: Pki) -> None:
    alice, alice_token = machine(tmp_path, "alice", server, pki)
    bob, bob_token = machine(tmp_path, "bob", server, pki)
    publish = ("publish", str(PHOTO), "--project", "Local show", "--json")
    published = ok(cli(alice, *publish, "--token-file", str(alice_token)))
    assert isinstance(published, dict)
    assert published["sent_bytes"] == PHOTO.stat().st_size
    assert published["pushed"] is True

    listed = ok(
        cli(bob, "fetch", "--list", "--project", "Local show", "--json", "--token-file", str(bob_token))
    )
    assert isinstance(listed, list)
    assert [(a["name"], a["files"], a["state"]) for a in listed] == [("astronaut.png", 1, "remote")]
    out = tmp_path / "review"
    fetch = ("fetch", "astronaut.png", "--project", "Local show", "--out", str(out), "--json")
    fetched = ok(cli(bob, *fetch, "--token-file", str(bob_token)))
    assert isinstance(fetched, dict)
    copy = out / "astronaut.png"
    assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(PHOTO.read_bytes()).digest()
    assert fetched["received_bytes"] == PHOTO.stat().st_size

    # The project's quota is 1 MiB; the photo took most of it.
    big = tmp_path / "plate.bin"
    big.write_bytes(bytes(600 << 10))
    over = cli(alice, "publish", str(big), "--project", "Local show", "--token-file", str(alice_token))
    assert over.returncode == EXIT_REFUSED
    assert "quota" in over.stderr


def test_a_clip_is_published_as_an_h264_proxy_and_the_original_only_when_asked(
    tmp_path: Path, server: str, pki: Pki
) -> None:
    from core.media.probe_video import probe_video
    from tests.core.media.sound_clips import write_clip_with_sound

    alice, alice_token = machine(tmp_path, "alice", server, pki)
    bob, bob_token = machine(tmp_path, "bob", server, pki)
    clip = write_clip_with_sound(tmp_path / "shot030.mov", seconds=1.0, fps=24, size=(160, 90))
    published = ok(
        cli(alice, "publish", str(clip), "--project", "Local show", "--original", "--json",
            "--token-file", str(alice_token))
    )  # fmt: skip
    assert isinstance(published, dict)
    (entry,) = published["published"]
    assert [f["role"] for f in entry["files"]] == ["review", "original"]
    assert entry["files"][0]["name"] == "shot030_proxy.mp4"

    fetch = ("fetch", "shot030.mov", "--project", "Local show", "--json", "--token-file", str(bob_token))
    fetched = ok(cli(bob, *fetch))
    assert isinstance(fetched, dict)
    assert fetched["review"]["frames"] == 24
    assert fetched["review"]["fps"] == "24/1"
    proxy = Path(fetched["files"][0]["path"])
    assert (probe_video(proxy)["frames"], probe_video(proxy)["fps_rational"]) == (24, "24/1")
    assert Path(fetched["files"][1]["path"]).read_bytes() == clip.read_bytes()
    assert isinstance(fetched["catalog_asset"], int)  # the app's grid shows it downloaded
