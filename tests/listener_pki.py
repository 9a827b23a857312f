"""Certificates for the tests of the daemon's HTTPS listeners, made with the `openssl` command line.

`ListenerPki.create(dir)` makes a throwaway CA; `issue(name)` signs a server
certificate for 127.0.0.1 (SAN IP, CN = name) with a fresh unencrypted EC P-256
key.  It signs with `openssl ca`, which takes explicit dates, so a certificate
that expired years ago is one call too.  `fingerprint(cert)` is what
`openssl x509 -fingerprint -sha256` prints, to compare with what a client saw.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

_CA_CONFIG = """[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[any_name]
commonName = supplied
"""


def openssl(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, cwd=cwd)


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ListenerPki:
    dir: Path
    ca: Path  # the CA certificate clients verify against
    ca_key: Path

    @classmethod
    def create(cls, d: Path) -> ListenerPki:
        d.mkdir(parents=True, exist_ok=True)
        (d / "issued").mkdir()
        (d / "index.txt").write_text("")
        (d / "serial").write_text("01\n")
        (d / "ca.cnf").write_text(_CA_CONFIG)
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", d / "ca-key.pem", "-out", d / "ca.pem", "-days", "90",
            "-subj", "/CN=schemad listener test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        return cls(d, d / "ca.pem", d / "ca-key.pem")

    def issue(
        self, name: str, *, start: str = "", end: str = "", days: int = 60, key: Path | None = None
    ) -> Issued:
        """A server certificate for 127.0.0.1; `start`/`end` as YYYYMMDDHHMMSSZ (default: now, `days`)."""
        key = key or self.dir / f"{name}-key.pem"
        csr, cert = self.dir / f"{name}.csr", self.dir / f"{name}.pem"
        new_key = () if key.exists() else ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        openssl(
            "req", "-new", *new_key, *(("-key", key) if key.exists() else ("-keyout", key)),
            "-out", csr, "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
        )  # fmt: skip
        dates = ("-startdate", start, "-enddate", end) if start else ("-days", str(days))
        openssl(
            "ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", self.ca, "-keyfile", self.ca_key,
            "-in", csr, "-out", cert, *dates, cwd=self.dir,
        )  # fmt: skip
        return Issued(cert, key)


def fingerprint(cert: Path) -> str:
    """SHA-256 of the (first) certificate in a PEM file, as "AB:CD:…"."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def peer_certificate(port: int, ca: Path | None, *, verify_system: bool = False) -> tuple[str, str]:
    """(fingerprint, subject CN) of the certificate a TLS client of 127.0.0.1:`port` sees.

    The client verifies against `ca`, or the system's CAs with `verify_system`, else not at all.
    """
    if ca is not None or verify_system:
        ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    else:  # see what is served, whatever it is
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    digest = hashlib.sha256(der).hexdigest().upper()
    pem = ssl.DER_cert_to_PEM_cert(der)
    subject = _subject_cn(pem)
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2)), subject


def _subject_cn(pem: str) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"],
        input=pem,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line.split("=", 1)[1].strip() for line in out.splitlines() if "commonName" in line)
