"""The media download cache on real files: least recently used out first, a file being viewed never."""

from __future__ import annotations

import os
from pathlib import Path

from core.sync.media_cache import MediaCache


def cached(cache: MediaCache, name: str, size: int, used_at: float) -> str:
    sha = name * 64
    cache.partial(sha).write_bytes(os.urandom(size))
    cache.path(sha).parent.mkdir(exist_ok=True)
    os.replace(cache.partial(sha), cache.path(sha))
    os.utime(cache.path(sha), (used_at, used_at))
    return sha


def test_the_least_recently_used_file_goes_first_and_a_viewed_one_stays(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media", limit_bytes=3500)
    old, viewed, recent = (cached(cache, n, 1000, t) for n, t in (("a", 100.0), ("b", 200.0), ("c", 300.0)))
    assert cache.get(old) is not None  # reading it makes it the most recently used
    with cache.pinned(viewed) as path:
        assert path is not None
        cache.partial("d" * 64).write_bytes(os.urandom(1500))
        cache.commit("d" * 64)  # 4,500 bytes: the least recently used unpinned file must go
        assert path.is_file()
    assert cache.get(recent) is None
    assert cache.get(old) is not None
    assert cache.usage() <= 3500
    assert cache.get(viewed) is not None


def test_nothing_partial_is_ever_found_as_cached(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media", limit_bytes=1 << 20)
    cache.partial("e" * 64).write_bytes(b"half a file")
    assert cache.get("e" * 64) is None
    assert cache.usage() == 0
