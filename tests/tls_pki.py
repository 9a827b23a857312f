"""A throwaway PKI for the TLS tests, made with the `openssl` command line.

`make_pki(dir)` writes a CA, a server certificate it signed (SAN `db.example`
and 127.0.0.1: a connection to `localhost` fails name verification, one to
127.0.0.1 passes), a client certificate for `REQUIRE X509` accounts, and a
second, unrelated CA.  Keys are unencrypted RSA 2048; certificates last a day.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed server and client
    server_cert: Path  # SAN DNS:db.example, IP:127.0.0.1
    server_key: Path
    client_cert: Path  # CN schemad-client, signed by `ca`
    client_key: Path
    other_ca: Path  # an unrelated CA: verification against it fails

    @property
    def server_options(self) -> tuple[str, ...]:
        """EmbeddedServer options that turn TLS on with these files."""
        return (f"ssl-ca={self.ca}", f"ssl-cert={self.server_cert}", f"ssl-key={self.server_key}")


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _signed(d: Path, name: str, ca: tuple[Path, Path], subject: str, ext: str) -> tuple[Path, Path]:
    key, csr, cert, extfile = d / f"{name}-key.pem", d / f"{name}.csr", d / f"{name}.pem", d / f"{name}.ext"
    extfile.write_text(ext + "\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject)
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-days", "1", "-out", cert, "-extfile", extfile,
    )  # fmt: skip
    return cert, key


def make_pki(d: Path) -> Pki:
    d.mkdir(parents=True, exist_ok=True)
    ca = _ca_with_subject(d, "ca", "/CN=schemad test CA")
    other = _ca_with_subject(d, "other-ca", "/CN=someone else's CA")
    server = _signed(d, "server", ca, "/CN=schemad test server", "subjectAltName=DNS:db.example,IP:127.0.0.1")
    client = _signed(d, "client", ca, "/CN=schemad-client", "extendedKeyUsage=clientAuth")
    return Pki(
        ca=ca[0],
        server_cert=server[0],
        server_key=server[1],
        client_cert=client[0],
        client_key=client[1],
        other_ca=other[0],
    )


def _ca_with_subject(d: Path, name: str, subject: str) -> tuple[Path, Path]:
    key, cert = d / f"{name}-key.pem", d / f"{name}.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
        "-days", "1", "-subj", subject,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key
