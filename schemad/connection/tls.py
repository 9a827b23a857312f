"""TLS settings of a connection: `ssl-mode` and the certificate options, as plain values.

The options follow the mysql/mariadb command-line clients, as Skeema's do:

* `ssl-mode` is disabled, preferred, required, verify-ca or verify-identity
  (any case; `verify_ca` and `VERIFY_IDENTITY` spell the same modes).  Unset,
  it is preferred, or verify-ca when `ssl-ca` is given (the MySQL client's rule).
* `ssl-verify-server-cert` (the MariaDB client's spelling) asks for the CA and
  the host name to be checked: it raises any mode but disabled to
  verify-identity, and contradicts disabled.
* `ssl-cert` and `ssl-key` come together (a client certificate, for accounts
  created `REQUIRE X509`).
* Without `ssl-ca` the verify modes check the server against the system's
  trusted CAs.

Pure: no file is read and no socket opened here (see `connection.tlsdriver`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from schemad.errors import ConfigError
from schemad.records import dataclass

__all__ = ["SslMode", "TlsSettings", "parse_ssl_mode"]


class SslMode(enum.StrEnum):
    """How a connection uses TLS (the MySQL client's `--ssl-mode`)."""

    DISABLED = "disabled"  #: never
    PREFERRED = "preferred"  #: when the server offers it, without checking its certificate
    REQUIRED = "required"  #: always, without checking the certificate
    VERIFY_CA = "verify-ca"  #: always; the certificate must chain to a trusted CA
    VERIFY_IDENTITY = "verify-identity"  #: verify-ca, and it must name the host connected to

    @property
    def verifies(self) -> bool:
        return self in (SslMode.VERIFY_CA, SslMode.VERIFY_IDENTITY)


def parse_ssl_mode(text: str) -> SslMode | None:
    """The mode `text` names (any case, `_` or `-`); None for "".  ValueError for anything else."""
    value = text.strip().lower().replace("_", "-")
    if not value:
        return None
    return SslMode(value)


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """What a connection needs to set up TLS; file names are absolute ("" = not given)."""

    mode: SslMode = SslMode.DISABLED  # ConnParams built in code (workspaces, tests) use no TLS
    ca: str = ""  # PEM file of trusted CAs ("" = the system's, in the verify modes)
    cert: str = ""  # client certificate (PEM)
    key: str = ""  # its private key (PEM)
    server_public_key_path: str = ""  # RSA public key for caching_sha2_password without TLS

    @property
    def uses_tls(self) -> bool:
        return self.mode is not SslMode.DISABLED

    @classmethod
    def resolve(
        cls,
        *,
        mode: str,
        ca: str = "",
        cert: str = "",
        key: str = "",
        verify_server_cert: bool = False,
        server_public_key_path: str = "",
        source: Callable[[str], str] = lambda name: "",
    ) -> TlsSettings:
        """Combine the options as the mysql clients do; ConfigError (naming where) for a contradiction.

        `source(name)` says where option `name` was set, for messages.
        """
        try:
            chosen = parse_ssl_mode(mode)
        except ValueError:
            allowed = ", ".join(m.value for m in SslMode)
            raise ConfigError(
                f"{_where(source('ssl-mode'))}option ssl-mode can only be one of {allowed},"
                f" not {mode.strip()!r}"
            ) from None
        if bool(cert) != bool(key):
            have, lacks = ("ssl-cert", "ssl-key") if cert else ("ssl-key", "ssl-cert")
            raise ConfigError(
                f"{_where(source(have))}option {have} is set without {lacks}: give both or neither"
            )
        if chosen is None:
            chosen = SslMode.VERIFY_CA if ca else SslMode.PREFERRED
        if verify_server_cert:
            if chosen is SslMode.DISABLED:
                raise ConfigError(
                    f"{_where(source('ssl-verify-server-cert'))}option ssl-verify-server-cert asks to verify "
                    f"the server's certificate, but ssl-mode is disabled ({source('ssl-mode') or 'default'})"
                )
            chosen = SslMode.VERIFY_IDENTITY
        return cls(mode=chosen, ca=ca, cert=cert, key=key, server_public_key_path=server_public_key_path)


def _where(source: str) -> str:
    return f"{source}: " if source and source != "default" else ""
