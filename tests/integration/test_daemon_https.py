"""The daemon's HTTPS listener, against a real `schemad serve` process.

The daemon listens plain on one port and with TLS on another (a certificate
for 127.0.0.1 from a throwaway CA, tests/listener_pki.py).  A client that
verifies against the CA gets the configured certificate and the API; plain
HTTP on the TLS port gets no HTTP answer; a SIGHUP after the files were
replaced serves the new certificate to new connections while a connection
opened before keeps working; a bad new pair keeps the old certificate; a bad
pair at start stops the daemon before it listens, naming the key and the file.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.errors import EXIT_CONFIG
from schemad.listen_tls import TlsFiles, load
from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    USERS,
    DaemonRepo,
    RunningDaemon,
    TlsListen,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.listener_pki import Issued, ListenerPki, fingerprint, peer_certificate

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ListenerPki:
    return ListenerPki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def one(pki: ListenerPki) -> Issued:
    return pki.issue("one")


@pytest.fixture(scope="module")
def two(pki: ListenerPki) -> Issued:
    return pki.issue("two", days=30)  # ends before `one`: the expiry metric moves on reload


def not_after(issued: Issued) -> float:
    return load(TlsFiles(issued.cert, issued.key))[1].not_after.timestamp()


def install(issued: Issued, tls: TlsListen) -> None:
    """Put a pair where the daemon's configuration points (as a renewal would)."""
    shutil.copyfile(issued.cert, tls.cert)
    shutil.copyfile(issued.key, tls.key)


@pytest.fixture
def repo(server: DBServer, tmp_path: Path) -> Iterator[DaemonRepo]:
    ensure_db_user(server)
    schema = f"https_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, USERS, schema)
    try:
        yield DaemonRepo.create(tmp_path / "repo", server, schema, {"users.sql": USERS})
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {schema}")


@pytest.fixture
def daemon(repo: DaemonRepo, tmp_path: Path, pki: ListenerPki, one: Issued) -> Iterator[RunningDaemon]:
    tls = TlsListen(cert=tmp_path / "tls" / "cert.pem", key=tmp_path / "tls" / "key.pem", ca=pki.ca)
    tls.cert.parent.mkdir()
    install(one, tls)
    d = RunningDaemon(repo, tmp_path / "run", tls=tls).start()
    try:
        yield d
    finally:
        code = d.stop() if d.proc is not None and d.proc.poll() is None else None
        assert_no_password(d)
    assert code == 0


def test_https_listener_serves_the_configured_certificate(daemon: RunningDaemon, one: Issued) -> None:
    assert daemon.tls is not None
    assert peer_certificate(daemon.tls.port, daemon.tls.ca) == (fingerprint(one.cert), "one")
    r = daemon.get("/v1/repos", https=True)
    assert r.status == 200 and r.json()["repos"][0]["name"] == "app"
    assert daemon.get("/v1/repos", https=True, token=None).status == 401  # the same API, the same auth

    # A client that trusts only the system's CAs refuses it.
    with pytest.raises(ssl.SSLCertVerificationError):
        peer_certificate(daemon.tls.port, ca=None, verify_system=True)

    # Plain HTTP on the TLS port gets no HTTP answer.
    with socket.create_connection(("127.0.0.1", daemon.tls.port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert not data.startswith(b"HTTP/")

    log = daemon.log_path.read_text()
    assert f"listening on https://127.0.0.1:{daemon.tls.port} with a certificate sha256 " in log
    assert fingerprint(one.cert) in log
    assert f"listening on http://127.0.0.1:{daemon.port}" in log


def test_sighup_serves_new_files_to_new_connections_and_keeps_open_ones(
    daemon: RunningDaemon, one: Issued, two: Issued
) -> None:
    tls, proc = daemon.tls, daemon.proc
    assert tls is not None and proc is not None
    expiry = "schemad_listen_certificate_expiry_timestamp_seconds"
    assert daemon.metric(expiry, listen=f"127.0.0.1:{tls.port}") == not_after(one)
    # A keep-alive connection opened before the reload.
    before = http.client.HTTPSConnection(
        "127.0.0.1", tls.port, timeout=10, context=ssl.create_default_context(cafile=str(tls.ca))
    )
    before.request("GET", "/healthz")
    assert before.getresponse().read() == b'{"status": "ok"}'
    sock = before.sock

    install(two, tls)
    proc.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: peer_certificate(tls.port, tls.ca)[0] == fingerprint(two.cert), timeout=15)
    assert peer_certificate(tls.port, tls.ca) == (fingerprint(two.cert), "two")
    # Published once the whole reload is done, a moment after the listener switched.
    daemon.wait_for(lambda: daemon.metric(expiry, listen=f"127.0.0.1:{tls.port}") == not_after(two))

    # The connection from before was not dropped: same socket, still the first certificate.
    before.request("GET", "/v1/repos", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert before.getresponse().status == 200
    assert before.sock is sock
    assert isinstance(sock, ssl.SSLSocket)
    der = sock.getpeercert(binary_form=True)
    assert der is not None and ssl.DER_cert_to_PEM_cert(der).strip() == one.cert.read_text().strip()
    before.close()

    # A key that does not match the new certificate: the reload is refused, the old pair serves on.
    shutil.copyfile(one.cert, tls.cert)  # `two`'s key stays
    proc.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: "configuration not reloaded" in daemon.log_path.read_text(), timeout=15)
    log = daemon.log_path.read_text()
    assert "listen[1].tls_key" in log and f"{tls.key}: the key does not match the certificate" in log
    assert peer_certificate(tls.port, tls.ca) == (fingerprint(two.cert), "two")
    assert daemon.get("/healthz", https=True, token=None).status == 200
    assert daemon.metric(expiry, listen=f"127.0.0.1:{tls.port}") == not_after(two)


def test_a_bad_pair_stops_the_start_naming_the_key_and_the_file(
    repo: DaemonRepo, tmp_path: Path, pki: ListenerPki
) -> None:
    expired = pki.issue("expired", start="20200101000000Z", end="20200102000000Z")
    d = RunningDaemon(repo, tmp_path / "run", tls=TlsListen(expired.cert, expired.key, pki.ca))
    d.start(wait=False)
    assert d.proc is not None
    assert d.proc.wait(60) == EXIT_CONFIG
    log = d.log_path.read_text()
    assert f"listen[1].tls_cert: {expired.cert}: the certificate expired on 2020-01-02 00:00 UTC" in log
    assert "listening on" not in log and "serving on" not in log  # nothing was bound
