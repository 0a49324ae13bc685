"""Review media between teammates over a real server on 127.0.0.1: alice publishes a clip with sound,
a photograph (a float EXR) and a mesh from her catalog; bob, who has none of the files, finds them as
remote tiles of his linked project (thumbnail first), fetches them, and reviews the proxy: same frame
count, same rate, every frame in place. And a 200 MB publication cut half way resumes and arrives
bit-identical at a teammate."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import av
import numpy as np
import skimage.data
import trimesh
from PIL import Image

from core.catalog.catalog import Catalog
from core.catalog.records import AssetRecord, NewAsset
from core.media.hashing import content_hash
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.media.probe_video import probe_video
from core.media.thumbnails import make_thumbnail
from core.settings import Settings
from core.sync.media_cache import MediaCache
from core.sync.media_publish import fetch, prepare, publish, published_assets, review_files
from core.sync.media_uploads import PendingUploads
from core.sync.remote_assets import (
    SeenPublications,
    add_remote_assets,
    is_remote,
    mark_downloaded,
    remote_info,
)
from core.sync.review_publish import review_publication
from tests.core.media.sound_clips import write_clip_with_sound
from tests.core.media.test_images import write_exr
from tests.core.media.test_review_media import glb_faces
from tests.core.video.clips import read_number
from tests.server.conftest import RunningServer
from tests.server.harness import wait_until
from tests.server.media_proxy import FaultyRelay
from tests.server.test_media import _signed_in_store, two_clients

__all__ = ["two_clients"]  # the fixture this module shares

LIMITS = MediaLimits.from_settings(Settings())


def run(coroutine: Any, timeout: float = 120) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(8 << 20):
            hasher.update(block)
    return hasher.hexdigest()


def catalog_asset(catalog: Catalog, project: int, path: Path, kind: AssetKind, thumbs: Path) -> AssetRecord:
    digest = content_hash(path)
    new = NewAsset(project, path.name, str(path), kind, digest, path.stat().st_size)
    asset_id = catalog.add_assets([new])[digest]
    thumbnail = make_thumbnail(path, kind, thumbs, digest, 256, LIMITS)
    catalog.set_thumbnail(asset_id, str(thumbnail.path))
    record = catalog.get_asset(asset_id)
    assert record is not None
    return record


def test_a_teammate_sees_fetches_and_reviews_a_clip_a_photo_and_a_model(
    sync_server: RunningServer, two_clients: tuple[Any, Any], tmp_path: Path
) -> None:
    alice, bob = two_clients
    cast, url = sync_server.cast, sync_server.url
    files = tmp_path / "alice-files"
    files.mkdir()
    clip = write_clip_with_sound(files / "shot010.mov", seconds=2.0, fps=25, size=(320, 180))
    astronaut = skimage.data.astronaut()  # type: ignore[no-untyped-call]
    photo = write_exr(files / "plate.exr", (astronaut.astype(np.float32) / 255.0) ** 2.2)
    mesh = files / "rock.obj"
    trimesh.creation.icosphere(subdivisions=3).export(mesh)
    render = files / "rock_preview.png"
    Image.new("RGB", (128, 128), (120, 110, 100)).save(render)

    mine = Catalog(tmp_path / "alice-app.sqlite3")
    local = mine.create_project("show").id
    thumbs = tmp_path / "alice-thumbs"
    records = [
        catalog_asset(mine, local, path, kind, thumbs)
        for path, kind in ((clip, AssetKind.VIDEO), (photo, AssetKind.IMAGE), (mesh, AssetKind.GEOMETRY))
    ]
    mine.add_artifact(records[2].id, "preview", str(render), size=2048)
    pending = PendingUploads(tmp_path / "alice-uploads.json")
    for record in records:
        publication = review_publication(
            pending,
            cast.project,
            record,
            mine.artifacts(record.id),
            tmp_path / "alice-cache",
            LIMITS,
            include_original=record.kind == AssetKind.IMAGE,  # the EXR goes too, for whoever asks
        )
        run(publish(alice.store, url, cast.tokens["alice"], publication, pending))
    mine.close()

    # Bob's catalog: the same show, linked; none of alice's files.
    wait_until(lambda: len(published_assets(bob.store, cast.project)) == 3)
    theirs = Catalog(tmp_path / "bob-app.sqlite3")
    bob_local = theirs.create_project("show").id
    cache = MediaCache(tmp_path / "bob-cache" / "media", limit_bytes=1 << 30)
    links, thumbs = {bob_local: cast.project}, tmp_path / "bob-thumbs"
    seen = SeenPublications(tmp_path / "bob-remote-assets.json")
    added = add_remote_assets(theirs, bob.store, links, cache, thumbs, seen)
    assert len(added) == 3
    assert add_remote_assets(theirs, bob.store, links, cache, thumbs, seen) == []  # once only
    remote = {r.name: r for r in theirs.get_assets(added)}
    assert {n: (r.kind, is_remote(r)) for n, r in remote.items()} == {
        "shot010.mov": (AssetKind.VIDEO, True),
        "plate.exr": (AssetKind.IMAGE, True),
        "rock.obj": (AssetKind.GEOMETRY, True),
    }
    # Thumbnail first: the tile shows the picture the record carried before anything is fetched.
    for record in remote.values():
        assert record.thumbnail is not None
        with Image.open(record.thumbnail) as thumbnail:
            assert max(thumbnail.size) == 256
        assert not Path(record.path).exists()
        assert record.content_hash in {r.content_hash for r in records}  # notes land on the same asset

    for name, record in remote.items():
        info = remote_info(record)
        assert info is not None
        wanted = review_files(info.files)
        report = run(fetch(url, cast.tokens["bob"], cast.project, wanted, cache))
        remote[name] = mark_downloaded(theirs, record, wanted, report.paths)
        assert not is_remote(remote[name])
        assert Path(remote[name].path).is_file()

    proxy = Path(remote["shot010.mov"].path)
    probed, original = probe_video(proxy), probe_video(clip)
    assert (probed["frames"], probed["fps_rational"]) == (original["frames"], original["fps_rational"])
    assert (probed["width"], probed["height"], probed["audio"]) == (320, 180, True)
    with av.open(str(proxy)) as container:
        numbers = [read_number(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert numbers == list(range(original["frames"]))
    assert remote_info(remote["shot010.mov"]).files[0].role == "review"  # type: ignore[union-attr]
    # The original EXR was published too; reviewing it needed only the preview.
    plate_files = remote_info(remote["plate.exr"]).files  # type: ignore[union-attr]
    assert [f.role for f in plate_files] == ["review", "original"]
    assert cache.get(plate_files[1].sha256, plate_files[1].name) is None
    with Image.open(remote["plate.exr"].path) as preview:
        assert (preview.format, preview.size) == ("JPEG", (512, 512))
    assert glb_faces(Path(remote["rock.obj"].path)) == 1280
    (preview_render,) = theirs.artifacts(remote["rock.obj"].id, "preview")
    assert Path(preview_render.path).read_bytes() == render.read_bytes()  # the viewer shows the render
    # Bob removes the model from his grid: it stays removed until alice publishes it again.
    theirs.delete_assets([remote["rock.obj"].id])
    assert add_remote_assets(theirs, bob.store, links, cache, thumbs, seen) == []
    theirs.close()


def random_file(path: Path, size: int, block: int = 8 << 20) -> Path:
    with path.open("wb") as stream:
        for start in range(0, size, block):
            stream.write(os.urandom(min(block, size - start)))
    return path


def test_a_200_mb_publication_cut_at_half_resumes_and_arrives_bit_identical(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast, size = sync_server.cast, 200 * 1000 * 1000
    source = random_file(tmp_path / "plate_4k.bin", size)
    state = tmp_path / "client" / "media-uploads.json"
    publication = prepare(PendingUploads(state), cast.project, "plate_4k", "file", "plate-4k", [source])
    store = _signed_in_store(sync_server, tmp_path, "alice")
    port = sync_server.thread.port  # type: ignore[union-attr]

    async def cut_at_half() -> int:
        async with FaultyRelay(port, cut_after_sent=size // 2) as relay:
            try:
                await publish(store, relay.url, cast.tokens["alice"], publication, PendingUploads(state))
            except ConnectionError:
                return relay.sent
        raise AssertionError("the cut did not interrupt the publication")

    sent_before_cut = run(cut_at_half())
    assert size * 0.49 < sent_before_cut < size * 0.52
    (resumed,) = PendingUploads(state).all()  # as the next run of the program reads it
    report = run(publish(store, sync_server.url, cast.tokens["alice"], resumed, PendingUploads(state)))
    assert report.resumed_files == 1
    assert size * 0.45 < report.sent_bytes < size * 0.55  # the rest, not the whole file again
    store.close()

    cache = MediaCache(tmp_path / "carol-cache", limit_bytes=1 << 30)
    fetched = run(fetch(sync_server.url, cast.tokens["carol"], cast.project, report.files, cache))
    (arrived,) = fetched.paths
    assert arrived.stat().st_size == size
    assert sha256(arrived) == sha256(source)
