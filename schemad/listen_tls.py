"""TLS for the daemon's own listeners: check a certificate and key, serve them, swap them on reload.

`load(files)` reads a `tls_cert` / `tls_key` pair the way a listener will use it
and says what is wrong in words an operator can act on (which file, unreadable,
not PEM, encrypted, key not matching, expired); the configuration loader calls it
so that a bad pair stops the start, or a reload, before anything listens.

`ServerTls` is what one listener is created with.  Its `context` never changes
(the asyncio server holds it); an SNI callback, which OpenSSL runs on every
ClientHello whether or not the client sent a name, points each new handshake at
the newest context.  So `reload()` takes effect for new connections without
re-binding, and connections already open keep the certificate they shook hands
with.  Calling `load_cert_chain` again on the context in use is avoided on
purpose: a failure half way leaves the new certificate paired with the old key.

What it will not do: client certificates (mTLS), encrypted keys (nobody is there
to type a passphrase), fetching or renewing certificates, OCSP stapling.  It never
logs or repeats what the key file holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from schemad import lazyre
from schemad.records import dataclass

__all__ = ["CertInfo", "ServerTls", "TlsFileError", "TlsFiles", "announce", "load", "reload_all"]

log = logging.getLogger(__name__)

EXPIRY_WARNING = timedelta(days=14)  # a certificate closer than this to its end is logged as a warning
MAX_FILE_BYTES = 1 << 20  # a PEM chain is a few kB; a path to something endless is an error, not a hang

_CERT_PEM = lazyre.compile(rb"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL)
_KEY_PEM = lazyre.compile(rb"-----BEGIN ((?:[A-Z]+ )?PRIVATE KEY)-----(.*?)-----END \1-----", re.DOTALL)


class TlsFileError(Exception):
    """A certificate or key a listener can't serve: `which` file ("cert" or "key"), its path, why."""

    def __init__(self, which: Literal["cert", "key"], path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.which = which
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The PEM files of one TLS listener."""

    cert: Path  # the server certificate first, then any intermediates
    key: Path  # its private key, unencrypted


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What the daemon says about the certificate it serves (never anything of the key)."""

    sha256: str  # fingerprint of the server certificate, "AB:CD:…" as `openssl x509 -fingerprint` shows it
    not_before: datetime  # UTC
    not_after: datetime  # UTC

    def describe(self) -> str:
        return f"certificate sha256 {self.sha256}, valid until {self.not_after:%Y-%m-%d %H:%M} UTC"


def load(files: TlsFiles, now: datetime | None = None) -> tuple[ssl.SSLContext, CertInfo]:
    """A server-side context serving `files` (TLS 1.2 at least); TlsFileError says what is wrong.

    A certificate outside its validity period at `now` (default: the current time)
    is refused: clients that verify would reject it anyway, and the habit of
    turning verification off that it teaches is worse than a daemon that will not
    start (or a reload that keeps the previous certificate).
    """
    der = _leaf_der(files.cert, _read(files.cert, "cert"))
    try:
        not_before, not_after = _validity(der)
    except (ValueError, IndexError):
        raise TlsFileError("cert", files.cert, "the first certificate is not valid X.509 (DER)") from None
    digest = hashlib.sha256(der).hexdigest().upper()
    info = CertInfo(":".join(digest[i : i + 2] for i in range(0, 64, 2)), not_before, not_after)
    now = now or datetime.now(UTC)
    if now > not_after:
        raise TlsFileError("cert", files.cert, f"the certificate expired on {not_after:%Y-%m-%d %H:%M} UTC")
    if now < not_before:
        raise TlsFileError(
            "cert", files.cert, f"the certificate is not valid before {not_before:%Y-%m-%d %H:%M} UTC"
        )
    _check_key(files.key, _read(files.key, "key"))

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        # The callback refuses any passphrase prompt (OpenSSL would otherwise read the terminal).
        ctx.load_cert_chain(files.cert, files.key, password=_no_passphrase)
    except _Encrypted:
        raise TlsFileError("key", files.key, _ENCRYPTED) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsFileError(
                "key", files.key, f"the key does not match the certificate {files.cert}"
            ) from None
        raise TlsFileError("cert", files.cert, f"OpenSSL cannot use the pair: {exc.reason or exc}") from None
    except OSError as exc:  # replaced or removed since it was read
        raise TlsFileError("cert", files.cert, f"cannot read: {exc.strerror or exc}") from None
    return ctx, info


class ServerTls:
    """One TLS listener's context, whose certificate `reload()` replaces for new handshakes."""

    __slots__ = ("_current", "context", "files", "info")

    def __init__(self, files: TlsFiles, *, now: datetime | None = None) -> None:
        self.context, self.info = load(files, now)
        self.files = files
        self._current = self.context
        self.context.sni_callback = self._pick

    def reload(self, files: TlsFiles, *, now: datetime | None = None) -> CertInfo:
        """Serve `files` from the next handshake on; on TlsFileError nothing changes."""
        ctx, info = load(files, now)
        self._current, self.files, self.info = ctx, files, info
        return info

    def _pick(self, conn: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
        # Called with server_name None too (a client connecting to an IP address sends no name).
        if self._current is not self.context:
            conn.context = self._current


def reload_all(listeners: Mapping[str, ServerTls], files: Mapping[str, TlsFiles | None]) -> None:
    """Give each listener (by address) its files from a new configuration, and log what it serves.

    A listener whose address is gone from the new configuration, or is no longer TLS,
    keeps serving its certificate: listeners change only at a restart.  A pair that
    can't be served is logged and the listener keeps its previous certificate.
    """
    for address, tls in listeners.items():
        new = files.get(address)
        if new is None:
            log.warning(
                "listener %s: not a TLS address in the new configuration; listeners change at a "
                "restart, it keeps serving its %s",
                address,
                tls.info.describe(),
            )
            continue
        try:
            info = tls.reload(new)
        except TlsFileError as exc:
            log.error("listener %s: keeping its %s: %s", address, tls.info.describe(), exc)
        else:
            announce(f"https://{address}", info)


def announce(url: str, info: CertInfo, now: datetime | None = None) -> None:
    """Log the certificate a listener serves; a warning when it ends within EXPIRY_WARNING."""
    left = info.not_after - (now or datetime.now(UTC))
    if left < EXPIRY_WARNING:
        days = f"{left.days} day{'' if left.days == 1 else 's'}"
        log.warning("listening on %s with a %s: it expires in %s", url, info.describe(), days)
    else:
        log.info("listening on %s with a %s", url, info.describe())


# ///// reading the files /////

_ENCRYPTED = "the key is encrypted; the daemon cannot ask for a passphrase (decrypt it: `openssl pkey`)"


class _Encrypted(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _Encrypted


def _read(path: Path, which: Literal["cert", "key"]) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TlsFileError(which, path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise TlsFileError(which, path, f"larger than {MAX_FILE_BYTES} bytes: not a PEM file")
    return data


def _leaf_der(path: Path, data: bytes) -> bytes:
    m = _CERT_PEM.search(data)
    if m is None:
        raise TlsFileError("cert", path, "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file")
    try:
        return base64.b64decode(b"".join(m.group(1).split()), validate=True)
    except binascii.Error:
        raise TlsFileError("cert", path, "the first PEM certificate is not valid base64") from None


def _check_key(path: Path, data: bytes) -> None:
    m = _KEY_PEM.search(data)
    if m is None:
        raise TlsFileError("key", path, "no PEM private key (-----BEGIN PRIVATE KEY-----) in the file")
    if m.group(1).startswith(b"ENCRYPTED") or b"Proc-Type: 4,ENCRYPTED" in m.group(2):
        raise TlsFileError("key", path, _ENCRYPTED)


# ///// X.509 validity, from DER (the standard library decodes only certificates it verified) /////


def _element(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start, end) of the DER element at `pos`: its content is der[start:end]."""
    tag, length = der[pos], der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if not 1 <= n <= 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    if pos + length > len(der):
        raise ValueError("DER element runs past the end")
    return tag, pos, pos + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    while start < end:
        out.append(_element(der, start))
        start = out[-1][2]
    return out


def _validity(der: bytes) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) of a certificate: Certificate > TBSCertificate > Validity (RFC 5280)."""
    _, start, end = _element(der, 0)
    _, start, end = _element(der, start)
    fields = _children(der, start, end)
    if fields[0][0] == 0xA0:  # [0] version, absent in v1 certificates
        fields = fields[1:]
    tag, start, end = fields[3]  # serialNumber, signature, issuer, validity
    if tag != 0x30:
        raise ValueError("no validity")
    times = [_time(t, der[s:e]) for t, s, e in _children(der, start, end)]
    if len(times) != 2:
        raise ValueError("no validity")
    return times[0], times[1]


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY < 50 is 20YY
        year = int(text[:2])
        text = f"{2000 + year if year < 50 else 1900 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("not a time")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
