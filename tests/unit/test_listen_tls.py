"""HTTPS listeners: the `listen` TOML shapes, the checks of tls_cert / tls_key, the certificate swap.

Certificates come from a throwaway CA (`openssl`, tests/listener_pki.py).  The
swap is checked on a real asyncio TLS server: what a client's handshake
receives before and after `reload()`, with and without SNI, and that a
connection opened before the reload keeps working.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemad.daemon_config import DaemonConfig, ListenAddress
from schemad.errors import ConfigError
from schemad.listen_tls import ServerTls, TlsFileError, TlsFiles, announce, load, reload_all
from schemad.service.reload import ConfigReloader
from schemad.service.systemd import Notifier
from tests.listener_pki import Issued, ListenerPki, fingerprint, openssl


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ListenerPki:
    return ListenerPki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def one(pki: ListenerPki) -> Issued:
    return pki.issue("one")


@pytest.fixture(scope="module")
def two(pki: ListenerPki) -> Issued:
    return pki.issue("two")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schemad.toml"
    path.write_text(text)
    return path


def table(cert: Path | str, key: Path | str, address: str = "127.0.0.1:7443") -> str:
    return f'{{address = "{address}", tls_cert = "{cert}", tls_key = "{key}"}}'


# ///// the TOML shapes /////


def test_strings_and_tables_mix_and_only_tables_with_files_serve_https(tmp_path: Path, one: Issued) -> None:
    text = (
        f'listen = ["127.0.0.1:7480", {table(one.cert, one.key, "0.0.0.0:7443")}, {{address = "[::1]:7481"}}]'
    )
    config = DaemonConfig.load(write(tmp_path, text))
    plain, tls, v6 = config.listen
    assert (plain.tls, v6.tls) == (None, None)
    assert tls.tls == TlsFiles(one.cert, one.key)
    assert [a.url for a in config.listen] == [
        "http://127.0.0.1:7480",
        "https://0.0.0.0:7443",
        "http://[::1]:7481",
    ]
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 7480)  # the first TCP address


def test_array_of_tables_form_and_paths_relative_to_the_file(tmp_path: Path, one: Issued) -> None:
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "cert.pem").write_bytes(one.cert.read_bytes())
    (tmp_path / "tls" / "key.pem").write_bytes(one.key.read_bytes())
    text = '[[listen]]\naddress = "127.0.0.1:7443"\ntls_cert = "tls/cert.pem"\ntls_key = "tls/key.pem"\n'
    (address,) = DaemonConfig.load(write(tmp_path, text)).listen
    assert address.tls == TlsFiles(tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem")
    assert str(address) == "127.0.0.1:7443"


@pytest.mark.parametrize(
    ("listen", "key", "words"),
    [
        (
            '[{address = "unix:/run/s.sock", tls_cert = "c", tls_key = "k"}]',
            "listen[0].tls_cert",
            "unix socket",
        ),
        ('[{address = "127.0.0.1:1", tls_cert = "CERT"}]', "listen[0].tls_key", "missing"),
        ('[{address = "127.0.0.1:1", tls_key = "KEY"}]', "listen[0].tls_cert", "missing"),
        ('[{tls_cert = "CERT", tls_key = "KEY"}]', "listen[0].address", "missing"),
        ('[{address = "127.0.0.1:1", tls_ca = "x"}]', "listen[0].tls_ca", "unknown key"),
        ('[{address = "nowhere"}]', "listen[0].address", "HOST:PORT"),
        (
            '["127.0.0.1:1", {address = "127.0.0.1:1", tls_cert = "CERT", tls_key = "KEY"}]',
            "listen[1]",
            "duplicate",
        ),
        ("[7443]", "listen[0]", "expected"),
        ('"127.0.0.1:1"', "listen", "expected a list"),
    ],
)
def test_shape_errors_name_the_key(tmp_path: Path, one: Issued, listen: str, key: str, words: str) -> None:
    path = write(tmp_path, f"listen = {listen.replace('CERT', str(one.cert)).replace('KEY', str(one.key))}\n")
    with pytest.raises(ConfigError) as e:
        DaemonConfig.load(path)
    assert str(e.value).startswith(f"{path}: {key}: "), e.value
    assert words in str(e.value)


# ///// the files /////


def test_file_errors_name_the_key_and_the_file(
    tmp_path: Path, pki: ListenerPki, one: Issued, two: Issued
) -> None:
    expired = pki.issue("expired", start="20200101000000Z", end="20200102000000Z")
    future = pki.issue("future", start="20990101000000Z", end="20990102000000Z")
    encrypted = tmp_path / "encrypted-key.pem"
    openssl("pkey", "-in", one.key, "-aes256", "-passout", "pass:secret", "-out", encrypted)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a pem file\n")
    unreadable = tmp_path / "unreadable.pem"
    unreadable.write_bytes(one.key.read_bytes())
    unreadable.chmod(0)
    cases = [
        (tmp_path / "missing.pem", one.key, "tls_cert", "missing.pem: cannot read: No such file"),
        (one.cert, tmp_path / "missing.pem", "tls_key", "missing.pem: cannot read: No such file"),
        (garbage, one.key, "tls_cert", "garbage.pem: no PEM certificate"),
        (one.cert, garbage, "tls_key", "garbage.pem: no PEM private key"),
        (one.key, one.key, "tls_cert", "no PEM certificate"),  # the two swapped
        (one.cert, two.key, "tls_key", f"two-key.pem: the key does not match the certificate {one.cert}"),
        (one.cert, encrypted, "tls_key", "encrypted-key.pem: the key is encrypted"),
        (
            expired.cert,
            expired.key,
            "tls_cert",
            "expired.pem: the certificate expired on 2020-01-02 00:00 UTC",
        ),
        (future.cert, future.key, "tls_cert", "future.pem: the certificate is not valid before 2099-01-01"),
        (tmp_path, one.key, "tls_cert", "cannot read"),  # a directory
    ]
    if os.geteuid() != 0:  # root reads any file
        cases.append((one.cert, unreadable, "tls_key", "unreadable.pem: cannot read: Permission denied"))
    for cert, key, which, words in cases:
        path = write(tmp_path, f'listen = ["127.0.0.1:7480", {table(cert, key)}]\n')
        with pytest.raises(ConfigError) as e:
            DaemonConfig.load(path)
        message = str(e.value)
        assert message.startswith(f"{path}: listen[1].{which}: "), message
        assert words in message, message
        assert "secret" not in message


def test_a_chain_file_serves_its_first_certificate(tmp_path: Path, pki: ListenerPki, one: Issued) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_text(one.cert.read_text() + pki.ca.read_text())
    _, info = load(TlsFiles(chain, one.key))
    assert info.sha256 == fingerprint(one.cert)


def test_validity_is_read_from_the_certificate(pki: ListenerPki) -> None:
    # GeneralizedTime (2050 and later) as well as UTCTime.
    issued = pki.issue("long", start="20200101000000Z", end="20510203040506Z")
    _, info = load(TlsFiles(issued.cert, issued.key))
    assert info.not_before == datetime(2020, 1, 1, tzinfo=UTC)
    assert info.not_after == datetime(2051, 2, 3, 4, 5, 6, tzinfo=UTC)
    with pytest.raises(TlsFileError, match="expired on 2051-02-03 04:05 UTC") as e:
        load(TlsFiles(issued.cert, issued.key), now=datetime(2052, 1, 1, tzinfo=UTC))
    assert e.value.which == "cert"


def test_a_certificate_near_its_end_is_announced_as_a_warning(
    one: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    _, info = load(TlsFiles(one.cert, one.key))
    with caplog.at_level(logging.INFO, "schemad.listen_tls"):
        announce("https://h:1", info, now=info.not_after - timedelta(days=30))
        announce("https://h:1", info, now=info.not_after - timedelta(days=3, hours=1))
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING"]
    assert "expires in 3 days" in caplog.records[1].getMessage()
    assert info.sha256 in caplog.records[0].getMessage()


# ///// the swap on reload /////


class TlsServer:
    """A real asyncio TLS server on 127.0.0.1 with a ServerTls; answers each line with "ok"."""

    def __init__(self, tls: ServerTls) -> None:
        self.tls = tls
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> TlsServer:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.readline():
                writer.write(b"ok\n")
                await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=self.tls.context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def connect(
        self, ca: Path, *, server_name: str | None = None
    ) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
        """(fingerprint seen, reader, writer); verifies against `ca` (no SNI unless `server_name`)."""
        ctx = ssl.create_default_context(cafile=str(ca))
        if server_name is not None:  # sent as SNI; the certificate is for 127.0.0.1 only
            ctx.check_hostname = False
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=ctx, server_hostname=server_name
        )
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        digest = hashlib.sha256(der).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, 64, 2)), reader, writer


async def seen_by_a_new_client(server: TlsServer, ca: Path) -> str:
    seen, _, writer = await server.connect(ca)
    writer.close()
    await writer.wait_closed()
    return seen


async def roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"ping\n")
    await writer.drain()
    return await reader.readline()


async def test_reload_serves_the_new_certificate_to_new_connections_only(
    pki: ListenerPki, one: Issued, two: Issued
) -> None:
    tls = ServerTls(TlsFiles(one.cert, one.key))
    async with TlsServer(tls) as server:
        seen, r1, w1 = await server.connect(pki.ca)
        assert seen == fingerprint(one.cert)

        assert tls.reload(TlsFiles(two.cert, two.key)).sha256 == fingerprint(two.cert)
        for name in (None, "schemad.example.com"):  # a client of an IP address sends no SNI
            seen, r2, w2 = await server.connect(pki.ca, server_name=name)
            assert seen == fingerprint(two.cert)
            assert await roundtrip(r2, w2) == b"ok\n"
            w2.close()
            await w2.wait_closed()
        # The connection from before the reload was not dropped, and keeps its certificate.
        assert await roundtrip(r1, w1) == b"ok\n"
        assert w1.get_extra_info("ssl_object").getpeercert(binary_form=True) is not None

        # Bad new files: nothing changes, the second certificate keeps serving.
        with pytest.raises(TlsFileError):
            tls.reload(TlsFiles(one.cert, two.key))
        assert tls.info.sha256 == fingerprint(two.cert)
        assert await seen_by_a_new_client(server, pki.ca) == fingerprint(two.cert)
        w1.close()
        await w1.wait_closed()


async def test_a_sighup_reloads_certificates_and_a_bad_file_keeps_the_old_one(
    tmp_path: Path, pki: ListenerPki, one: Issued, two: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(one.cert.read_bytes())
    key.write_bytes(one.key.read_bytes())
    path = write(tmp_path, f'listen = ["127.0.0.1:7480", {table(cert, key)}]\n')
    config = DaemonConfig.load(path)
    listeners = {"127.0.0.1:7443": ServerTls(TlsFiles(cert, key))}
    reloader = ConfigReloader(config)
    async with TlsServer(listeners["127.0.0.1:7443"]) as server:
        # Renewed in place (same paths, as certbot does): the reload reads them again.
        cert.write_bytes(two.cert.read_bytes())
        key.write_bytes(two.key.read_bytes())
        await reloader.reload(None, Notifier(None), listeners)
        assert reloader.reloads == 1
        assert await seen_by_a_new_client(server, pki.ca) == fingerprint(two.cert)

        # A key that does not match: the configuration is not reloaded, the old pair serves on.
        key.write_bytes(one.key.read_bytes())
        with caplog.at_level(logging.ERROR):
            await reloader.reload(None, Notifier(None), listeners)
        assert reloader.reloads == 1
        assert "listen[1].tls_key" in caplog.text and "does not match" in caplog.text
        assert await seen_by_a_new_client(server, pki.ca) == fingerprint(two.cert)


def test_a_listener_that_is_no_longer_tls_keeps_its_certificate(
    one: Issued, two: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    tls = ServerTls(TlsFiles(one.cert, one.key))
    with caplog.at_level(logging.INFO, "schemad.listen_tls"):
        reload_all({"127.0.0.1:7443": tls}, {"127.0.0.1:7443": None})
    assert tls.info.sha256 == fingerprint(one.cert)
    assert "change at a restart" in caplog.text
    reload_all({"127.0.0.1:7443": tls}, {"127.0.0.1:7443": TlsFiles(two.cert, two.key)})
    assert tls.info.sha256 == fingerprint(two.cert)


def test_url_of_each_kind_of_address() -> None:
    files = TlsFiles(Path("c"), Path("k"))
    assert ListenAddress("::1", 7443, tls=files).url == "https://[::1]:7443"
    assert ListenAddress(unix=Path("/run/s.sock")).url == "unix:/run/s.sock"
    assert ListenAddress("h", 1).same_place(ListenAddress("h", 1, tls=files))


def test_serve_listen_keeps_the_tls_the_config_gives_that_address(tmp_path: Path, one: Issued) -> None:
    from schemad.cli.commands.serve import listen_addresses

    config = DaemonConfig.load(write(tmp_path, f'listen = ["127.0.0.1:7480", {table(one.cert, one.key)}]\n'))
    assert listen_addresses(config, None) == list(config.listen)
    assert listen_addresses(config, ListenAddress("127.0.0.1", 7443)) == [config.listen[1]]  # HTTPS
    assert listen_addresses(config, ListenAddress("127.0.0.1", 9000)) == [ListenAddress("127.0.0.1", 9000)]
    assert listen_addresses(DaemonConfig(), None) == [ListenAddress("127.0.0.1", 7480)]
