"""The target's TLS settings as pt-online-schema-change's option file and gh-ost's arguments take them."""

from __future__ import annotations

import pytest

from schemad.apply.clientcnf import render_client_options
from schemad.apply.wrapper_tls import client_tls_lines, ghost_tls_arguments
from schemad.connection.params import ConnParams
from schemad.connection.tls import SslMode, TlsSettings

CA, CERT, KEY = "/pki/ca.pem", "/pki/client.pem", "/pki/client-key.pem"


@pytest.mark.parametrize(
    ("settings", "lines", "args"),
    [
        (TlsSettings(), [], ()),
        (TlsSettings(mode=SslMode.PREFERRED, ca=CA), [], ()),
        (
            TlsSettings(mode=SslMode.REQUIRED),
            [("ssl-enforce", "1"), ("ssl-mode", "REQUIRED")],
            ("--ssl", "--ssl-allow-insecure"),
        ),
        (
            TlsSettings(mode=SslMode.VERIFY_CA, ca=CA),
            [("ssl-enforce", "1"), ("ssl-mode", "VERIFY_CA"), ("ssl-ca", CA)],
            ("--ssl", f"--ssl-ca={CA}"),
        ),
        (  # no ssl-ca: Connector/C checks the system CAs only together with the name (stricter)
            TlsSettings(mode=SslMode.VERIFY_CA),
            [("ssl-enforce", "1"), ("ssl-mode", "VERIFY_CA"), ("ssl-verify-server-cert", "1")],
            ("--ssl",),
        ),
        (
            TlsSettings(mode=SslMode.VERIFY_IDENTITY, ca=CA, cert=CERT, key=KEY),
            [
                ("ssl-enforce", "1"),
                ("ssl-mode", "VERIFY_IDENTITY"),
                ("ssl-ca", CA),
                ("ssl-verify-server-cert", "1"),
                ("ssl-cert", CERT),
                ("ssl-key", KEY),
            ],
            ("--ssl", f"--ssl-ca={CA}", f"--ssl-cert={CERT}", f"--ssl-key={KEY}"),
        ),
        (
            TlsSettings(mode=SslMode.PREFERRED, cert=CERT, key=KEY),
            [("ssl-cert", CERT), ("ssl-key", KEY)],
            ("--ssl", "--ssl-allow-insecure", f"--ssl-cert={CERT}", f"--ssl-key={KEY}"),
        ),
        (TlsSettings(mode=SslMode.DISABLED, cert=CERT, key=KEY), [], ()),
    ],
)
def test_each_mode(settings: TlsSettings, lines: list[tuple[str, str]], args: tuple[str, ...]) -> None:
    assert client_tls_lines(settings) == lines
    assert ghost_tls_arguments(settings) == args


def test_the_option_file_carries_them_only_when_asked() -> None:
    params = ConnParams(
        host="db1",
        port=3306,
        user="u",
        password="pw",
        tls=TlsSettings(mode=SslMode.VERIFY_CA, ca='/a "b"/ca.pem'),
    )
    plain = render_client_options(params)
    assert "ssl" not in plain
    text = render_client_options(params, tls=True)
    assert text.startswith(plain)
    assert text[len(plain) :] == (
        'ssl-enforce = "1"\nssl-mode = "VERIFY_CA"\nssl-ca = "/a \\"b\\"/ca.pem"\n'
    )  # quoted and escaped like every value of the file
