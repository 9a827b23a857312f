"""TLS for asyncmy connections: one `TlsConnector` per Instance builds its SSLContext once.

What each `SslMode` becomes:

* disabled: no context; the connection is plain.
* preferred: a context without verification, used only when the server's
  greeting offers TLS (asyncmy alone would try TLS on any server and fail).
* required: the same, and a server without TLS is an error.
* verify-ca: the certificate must chain to `ssl-ca` (or the system's CAs).
* verify-identity: and name the server's host, checked against the real
  database host even when the socket leads elsewhere (an SSH tunnel's local
  end): the name comes from the Instance's params, not from the address.

A certificate problem fails the connection with a message naming what
failed (expired, not valid for the host name, unknown CA, unreadable file);
nothing falls back to a plain or unverified connection.  Unix sockets never
use TLS: they do not leave the machine (the MySQL client treats them alike).

`server-public-key-path` hands the RSA key to asyncmy, which uses it for
MySQL 8's caching_sha2_password / sha256_password over a plain connection
instead of asking the server for it.
"""

from __future__ import annotations

import ssl
from typing import Any

from schemad.connection.driver import asyncmy
from schemad.connection.tls import SslMode, TlsSettings
from schemad.errors import ConnectError

__all__ = ["TlsConnector", "TlsUnavailable", "describe_tls_error"]

_CLIENT_SSL = 0x800  # CLIENT_SSL in the server greeting's capability flags


class TlsUnavailable(ConnectionError):
    """The server offers no TLS but the mode requires it (an OSError, so asyncmy reports a connect error)."""


class _NamedContext(ssl.SSLContext):
    """An SSLContext that verifies `verify_name` whatever host name the caller passes."""

    verify_name: str = ""

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = self.verify_name or server_hostname
        return super().wrap_bio(incoming, outgoing, server_side, name, session)


class _Connection(asyncmy.Connection):
    """asyncmy's connection, deciding about TLS once the server's greeting is read."""

    schemad_mode: SslMode = SslMode.DISABLED
    # asyncmy's own attributes (its stubs leave them out)
    _ssl_context: ssl.SSLContext | None
    _client_flag: int
    server_capabilities: int

    async def _get_server_information(self) -> None:
        await super()._get_server_information()  # type: ignore[misc]
        if self._ssl_context is None or self.server_capabilities & _CLIENT_SSL:
            return
        if self.schemad_mode is SslMode.PREFERRED:
            self._ssl_context = None
            self._client_flag &= ~_CLIENT_SSL
            return
        raise TlsUnavailable(f"the server does not offer TLS (ssl-mode={self.schemad_mode})")


class TlsConnector:
    """Opens asyncmy connections with one Instance's TLS settings; the context is built on first use."""

    def __init__(self, settings: TlsSettings, *, host: str, address: str) -> None:
        self.settings = settings
        self.host = host  # the name a verify-identity certificate must carry
        self.address = address  # for messages
        self._kwargs: dict[str, Any] | None = None

    def driver_kwargs(self, *, tcp: bool) -> dict[str, Any]:
        """asyncmy.connect() arguments for TLS and the RSA key; ConnectError for an unusable file."""
        if self._kwargs is None:
            out: dict[str, Any] = {}
            s = self.settings
            if s.server_public_key_path:
                out["server_public_key"] = self._read("server-public-key-path", s.server_public_key_path)
            if s.uses_tls:
                out["ssl"] = self._context()
            self._kwargs = out
        if tcp:
            return self._kwargs
        return {k: v for k, v in self._kwargs.items() if k != "ssl"}

    async def connect(self, **kwargs: Any) -> Any:
        conn = _Connection(**kwargs)  # type: ignore[no-untyped-call]
        conn.schemad_mode = self.settings.mode
        await conn.connect()
        return conn

    def _context(self) -> ssl.SSLContext:
        s = self.settings
        ctx = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if s.mode.verifies:
            ctx.verify_mode = ssl.CERT_REQUIRED
            try:
                if s.ca:
                    ctx.load_verify_locations(cafile=s.ca)
                else:
                    ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
            except (OSError, ssl.SSLError) as exc:
                raise self._file_error("ssl-ca", s.ca, exc) from None
            ctx.check_hostname = s.mode is SslMode.VERIFY_IDENTITY
            ctx.verify_name = self.host if ctx.check_hostname else ""
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if s.cert:
            try:
                ctx.load_cert_chain(s.cert, s.key)
            except (OSError, ssl.SSLError) as exc:
                raise self._file_error("ssl-cert/ssl-key", f"{s.cert}, {s.key}", exc) from None
        return ctx

    def _read(self, option: str, path: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise self._file_error(option, path, exc) from None

    def _file_error(self, option: str, path: str, exc: BaseException) -> ConnectError:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, ssl.SSLError) and exc.reason:
            why = f"not a usable PEM file ({exc.reason})"
        return ConnectError(f"cannot connect to {self.address}: {option} {path}: {why}", host=self.address)


# OpenSSL verify codes worth saying in words.
_VERIFY_WORDS = {
    9: "the server's certificate is not valid yet",
    10: "the server's certificate has expired",
    18: "the server's certificate is self-signed and not trusted (ssl-ca)",
    19: "the server's certificate chain ends in a CA that is not trusted (ssl-ca)",
    20: "the server's certificate was signed by a CA that is not trusted (ssl-ca)",
    21: "the server's certificate cannot be verified against a trusted CA (ssl-ca)",
}


def describe_tls_error(exc: BaseException, host: str) -> str | None:
    """What TLS problem caused `exc` (asyncmy keeps the ssl error as its cause), in words; None if none."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, TlsUnavailable):
            return str(cur)
        if isinstance(cur, ssl.SSLCertVerificationError):
            code = cur.verify_code
            if code in (62, 64):  # host name / IP address mismatch
                return f"TLS: the server's certificate is not valid for host name {host!r}"
            words = (
                _VERIFY_WORDS.get(code)
                or f"the server's certificate failed verification ({cur.verify_message})"
            )
            return f"TLS: {words}"
        if isinstance(cur, ssl.SSLError):
            return f"TLS handshake failed: {cur.reason or cur}"
        cur = cur.__cause__ or cur.__context__
    return None
