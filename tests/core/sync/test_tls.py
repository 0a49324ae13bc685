"""wss:// with a studio's own certificate authority: a real server on 127.0.0.1 with a certificate this
test makes, signed in to and synced with from the real client; a wrong CA is refused in words.

``make_pki`` is shared with the CLI and dialog tests. ``cryptography`` comes with ``keyring`` on Linux
(SecretStorage needs it).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.sync.client import SyncClient
from core.sync.local_store import LocalStore
from core.sync.sign_in import LoginResult, SignInAttempt, SignInFailure
from core.sync.tls import CertificateRefusedError, insecure_connection_warning
from server import admin
from server.app import ServerConfig
from server.db import default_db_url, open_database
from server.embedded import ServerThread


@dataclass(frozen=True)
class Pki:
    ca_file: Path  # the studio CA's certificate (PEM): what a client is told to trust
    cert_file: Path  # the server's certificate for 127.0.0.1 and localhost, signed by that CA
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(folder: Path, ca_name: str = "Test studio CA") -> Pki:
    """A CA and a server certificate it signed, valid for a day, written as PEM files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("stratopipe-server"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def add_studio_users(data_dir: Path) -> str:
    """Project "show" with artist alice (password ``alice-password``); returns the database URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = default_db_url(data_dir)
    engine = open_database(url)
    admin.add_project(engine, "show")
    admin.add_user(engine, "alice", "artist", "alice-password")
    admin.add_member(engine, "show", "alice")
    engine.dispose()
    return url


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def tls_server(tmp_path: Path, pki: Pki) -> Iterator[ServerThread]:
    config = ServerConfig(
        db_url=add_studio_users(tmp_path / "server"),
        port=0,
        ping_interval_s=None,
        ssl_context=pki.server_context(),
    )
    server = ServerThread(config).start()
    yield server
    server.stop()


def test_sign_in_and_sync_over_wss_with_the_studio_ca(
    tmp_path: Path, pki: Pki, tls_server: ServerThread
) -> None:
    url = tls_server.url.replace("127.0.0.1", "localhost")  # the certificate names both
    assert url.startswith("wss://")
    result = SignInAttempt(url, "alice", "alice-password", str(pki.ca_file)).run()
    assert isinstance(result, LoginResult), result
    assert [p.name for p in result.projects] == ["show"]

    store = LocalStore(tmp_path / "catalog.db")
    try:
        store.save_session(result.user, result.projects, url, result.server_id)
        project = result.projects[0].id
        store.create_task(project, "Roto the left edge")
        client = SyncClient(store, url, result.token, ca_file=str(pki.ca_file))
        asyncio.run(client.run_once("pushed"))
        assert store.pending_count() == 0
        assert [t.sync_state for t in store.list_tasks(project)] == ["synced"]
    finally:
        store.close()


def test_a_certificate_from_another_ca_is_refused_in_words(tmp_path: Path, tls_server: ServerThread) -> None:
    stranger = make_pki(tmp_path / "other", "Someone else's CA")
    for ca_file in (str(stranger.ca_file), ""):  # the wrong CA, and the system's CAs alone
        failure = SignInAttempt(tls_server.url, "alice", "alice-password", ca_file).run()
        assert isinstance(failure, SignInFailure)
        assert failure.code == "certificate"
        assert "certificate could not be verified" in failure.message
        assert "CA file" in failure.message

    store = LocalStore(tmp_path / "catalog.db")
    try:
        client = SyncClient(store, tls_server.url, "any-token", ca_file=str(stranger.ca_file))
        with pytest.raises(CertificateRefusedError, match="could not be verified"):
            asyncio.run(client.run_once("caught_up"))
    finally:
        store.close()


def test_an_unusable_ca_file_is_named(tmp_path: Path, tls_server: ServerThread) -> None:
    missing = tmp_path / "nowhere.pem"
    failure = SignInAttempt(tls_server.url, "alice", "alice-password", str(missing)).run()
    assert isinstance(failure, SignInFailure)
    assert (failure.code, failure.message) == ("bad_ca", f"The CA file {missing} does not exist.")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    failure = SignInAttempt(tls_server.url, "alice", "alice-password", str(garbage)).run()
    assert isinstance(failure, SignInFailure)
    assert failure.code == "bad_ca"
    assert "PEM" in failure.message


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("ws://studio-server:8765", True),
        ("ws://10.1.2.3:8765", True),
        ("ws://127.0.0.1:8765", False),
        ("ws://localhost:8765", False),
        ("ws://[::1]:8765", False),
        ("wss://studio-server:8765", False),
    ],
)
def test_plain_websockets_off_this_machine_are_warned_about(url: str, warned: bool) -> None:
    assert bool(insecure_connection_warning(url)) is warned
