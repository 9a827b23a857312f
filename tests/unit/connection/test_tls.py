"""TLS settings: how the options combine, the SSLContext per mode, file errors, TLS errors in words."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from schemad.connection.tls import SslMode, TlsSettings, parse_ssl_mode
from schemad.connection.tlsdriver import TlsConnector, TlsUnavailable, describe_tls_error
from schemad.errors import ConfigError, ConnectError
from tests.tls_pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("", None),
        ("disabled", SslMode.DISABLED),
        ("PREFERRED", SslMode.PREFERRED),
        ("required", SslMode.REQUIRED),
        ("verify-ca", SslMode.VERIFY_CA),
        ("VERIFY_CA", SslMode.VERIFY_CA),
        ("verify_identity", SslMode.VERIFY_IDENTITY),
        (" Verify-Identity ", SslMode.VERIFY_IDENTITY),
    ],
)
def test_mode_spellings(text: str, mode: SslMode | None) -> None:
    assert parse_ssl_mode(text) is mode


@pytest.mark.parametrize(
    ("mode", "ca", "verify_server_cert", "expected"),
    [
        ("", "", False, SslMode.PREFERRED),  # Skeema's default
        ("", "/ca.pem", False, SslMode.VERIFY_CA),  # ssl-ca alone verifies, as the mysql client
        ("preferred", "/ca.pem", False, SslMode.PREFERRED),  # an explicit mode wins
        ("required", "", False, SslMode.REQUIRED),
        ("", "", True, SslMode.VERIFY_IDENTITY),  # the MariaDB client's spelling
        ("required", "/ca.pem", True, SslMode.VERIFY_IDENTITY),
        ("verify-ca", "/ca.pem", True, SslMode.VERIFY_IDENTITY),
        ("disabled", "/ca.pem", False, SslMode.DISABLED),
    ],
)
def test_options_combine_as_the_mysql_clients(
    mode: str, ca: str, verify_server_cert: bool, expected: SslMode
) -> None:
    s = TlsSettings.resolve(mode=mode, ca=ca, verify_server_cert=verify_server_cert)
    assert s.mode is expected and s.ca == ca


def test_contradictions_are_config_errors_naming_where() -> None:
    where = {"ssl-cert": "/repo/.skeema:3", "ssl-key": "/repo/.skeema:4", "ssl-mode": "command line"}
    with pytest.raises(ConfigError, match=r"^/repo/\.skeema:3: option ssl-cert is set without ssl-key"):
        TlsSettings.resolve(mode="", cert="/c.pem", source=lambda n: where.get(n, ""))
    with pytest.raises(ConfigError, match=r"option ssl-key is set without ssl-cert"):
        TlsSettings.resolve(mode="", key="/k.pem")
    with pytest.raises(ConfigError, match=r"ssl-verify-server-cert .* ssl-mode is disabled \(command line\)"):
        TlsSettings.resolve(mode="disabled", verify_server_cert=True, source=lambda n: where.get(n, ""))
    with pytest.raises(ConfigError, match=r"^command line: option ssl-mode can only be one of .*'verify'"):
        TlsSettings.resolve(mode="verify", source=lambda n: where.get(n, ""))


def _context(settings: TlsSettings, host: str = "db.example") -> ssl.SSLContext:
    ctx = TlsConnector(settings, host=host, address=f"{host}:3306").driver_kwargs(tcp=True)["ssl"]
    assert isinstance(ctx, ssl.SSLContext)
    return ctx


def test_one_context_per_mode(pki: Pki) -> None:
    assert "ssl" not in TlsConnector(TlsSettings(), host="h", address="h:1").driver_kwargs(tcp=True)
    for mode in (SslMode.PREFERRED, SslMode.REQUIRED):
        ctx = _context(TlsSettings(mode=mode, ca=str(pki.ca)))
        assert ctx.verify_mode is ssl.CERT_NONE and not ctx.check_hostname
    ctx = _context(TlsSettings(mode=SslMode.VERIFY_CA, ca=str(pki.ca)))
    assert ctx.verify_mode is ssl.CERT_REQUIRED and not ctx.check_hostname
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "schemad test CA"),),)]
    ctx = _context(TlsSettings(mode=SslMode.VERIFY_IDENTITY, ca=str(pki.ca)))
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    # The name checked is the params' host, whatever address the socket was opened to (an SSH tunnel's).
    obj = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="127.0.0.1")
    assert obj.server_hostname == "db.example"


def test_the_context_is_built_once_per_instance_and_sockets_stay_plain(pki: Pki) -> None:
    tc = TlsConnector(TlsSettings(mode=SslMode.REQUIRED), host="h", address="h:1")
    assert tc.driver_kwargs(tcp=True)["ssl"] is tc.driver_kwargs(tcp=True)["ssl"]
    assert tc.driver_kwargs(tcp=False) == {}


def test_client_certificate_is_loaded(pki: Pki, tmp_path: Path) -> None:
    settings = TlsSettings(mode=SslMode.REQUIRED, cert=str(pki.client_cert), key=str(pki.client_key))
    _context(settings)  # loads
    bad = tmp_path / "key.pem"
    bad.write_text("not a key\n")
    with pytest.raises(ConnectError, match=r"^cannot connect to db\.example:3306: ssl-cert/ssl-key .*PEM"):
        _context(TlsSettings(mode=SslMode.REQUIRED, cert=str(pki.client_cert), key=str(bad)))


def test_unreadable_files_are_connect_errors_naming_host_option_and_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(
        ConnectError, match=rf"^cannot connect to db\.example:3306: ssl-ca {missing}: No such file"
    ):
        _context(TlsSettings(mode=SslMode.VERIFY_CA, ca=missing))
    tc = TlsConnector(TlsSettings(server_public_key_path=missing), host="h", address="h:3306")
    with pytest.raises(
        ConnectError, match=r"^cannot connect to h:3306: server-public-key-path .*No such file"
    ):
        tc.driver_kwargs(tcp=True)


def test_server_public_key_is_read_and_handed_to_the_driver(tmp_path: Path) -> None:
    key = tmp_path / "public.pem"
    key.write_bytes(b"-----BEGIN PUBLIC KEY-----\nMFww\n-----END PUBLIC KEY-----\n")
    tc = TlsConnector(TlsSettings(server_public_key_path=str(key)), host="h", address="h:3306")
    assert tc.driver_kwargs(tcp=True) == {"server_public_key": key.read_bytes()}  # TLS disabled: no ssl
    assert tc.driver_kwargs(tcp=False) == {"server_public_key": key.read_bytes()}  # sockets too


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}"
    )
    exc.verify_code = code
    exc.verify_message = message
    return exc


@pytest.mark.parametrize(
    ("code", "message", "words"),
    [
        (10, "certificate has expired", "the server's certificate has expired"),
        (20, "unable to get local issuer certificate", "signed by a CA that is not trusted (ssl-ca)"),
        (62, "Hostname mismatch, certificate is not valid for 'h'.", "not valid for host name 'db1'"),
        (50, "application verification failure", "failed verification (application verification failure)"),
    ],
)
def test_certificate_errors_in_words(code: int, message: str, words: str) -> None:
    # asyncmy wraps the ssl error as the cause of its own connect error.
    wrapper = OSError(2003, "Can't connect to MySQL server")
    wrapper.__cause__ = _verify_error(code, message)
    text = describe_tls_error(wrapper, "db1")
    assert text is not None and text.startswith("TLS: ") and words in text


def test_other_errors() -> None:
    assert describe_tls_error(OSError("refused"), "h") is None
    unavailable = TlsUnavailable("the server does not offer TLS (ssl-mode=required)")
    assert describe_tls_error(unavailable, "h") == "the server does not offer TLS (ssl-mode=required)"
