"""The TLS settings of a target, in the forms the known wrapper tools take them.

* pt-online-schema-change reads `F={DEFAULTSFILE}` through DBD::mysql and
  the client library's option-file reader (`[client]` group).  Checked with
  Debian's percona-toolkit 3.2.1, DBD::mysql 4.050 and MariaDB Connector/C
  3.3 (libmariadb): `ssl-ca` turns TLS on and verifies the chain,
  `ssl-verify-server-cert=1` adds the host name (a bare `ssl-verify-server-cert`
  and `ssl` are not read), `ssl-enforce=1` turns TLS on without verification,
  `ssl-cert`/`ssl-key` present a client certificate, and unknown names such as
  `ssl-mode` are skipped.  MySQL's libmysqlclient reads `ssl-mode` instead and
  skips the MariaDB names, so `client_tls_lines` writes both dialects.  (DBD's
  own `mysql_ssl=1` is refused by DBD::mysql 4.050 on libmariadb, and
  pt-online-schema-change 3.2 has no DSN key for it.)  A verify mode without
  `ssl-ca` gets `ssl-verify-server-cert=1`: Connector/C cannot check the chain
  against the system's CAs without also checking the name, so the tool is
  stricter than schemad there, never looser.
* gh-ost takes `--ssl --ssl-ca --ssl-cert --ssl-key --ssl-allow-insecure`
  on its command line (`ghost_tls_arguments`); Go checks the host name
  whenever it verifies, so verify-ca is verify-identity for gh-ost.

With ssl-mode preferred (the default) and disabled the tools get no TLS
settings but a client certificate, and keep their own defaults.  These lines
are only for pt-online-schema-change: the `mysql` / `mariadb` command lines
refuse option names they do not know (`ssl-enforce`, `ssl-mode`), so the
option file other tools read carries no TLS lines.
"""

from __future__ import annotations

from schemad.connection.tls import SslMode, TlsSettings

__all__ = ["client_tls_lines", "ghost_tls_arguments"]

_MYSQL_MODE = {
    SslMode.REQUIRED: "REQUIRED",
    SslMode.VERIFY_CA: "VERIFY_CA",
    SslMode.VERIFY_IDENTITY: "VERIFY_IDENTITY",
}


def client_tls_lines(tls: TlsSettings) -> list[tuple[str, str]]:
    """`[client]` option file (name, value) pairs for libmariadb and libmysqlclient readers."""
    out: list[tuple[str, str]] = []
    if tls.mode is SslMode.DISABLED:
        return out
    if tls.mode in _MYSQL_MODE:
        out.append(("ssl-enforce", "1"))
        out.append(("ssl-mode", _MYSQL_MODE[tls.mode]))
        if tls.mode.verifies and tls.ca:
            out.append(("ssl-ca", tls.ca))
        if tls.mode is SslMode.VERIFY_IDENTITY or (tls.mode.verifies and not tls.ca):
            out.append(("ssl-verify-server-cert", "1"))
    if tls.cert:
        out.append(("ssl-cert", tls.cert))
        out.append(("ssl-key", tls.key))
    return out


def ghost_tls_arguments(tls: TlsSettings) -> tuple[str, ...]:
    """gh-ost's command-line arguments for `tls` (none for preferred and disabled without a certificate)."""
    if tls.mode is SslMode.DISABLED or (tls.mode is SslMode.PREFERRED and not tls.cert):
        return ()
    args = ["--ssl"]
    if tls.mode.verifies:
        if tls.ca:
            args.append(f"--ssl-ca={tls.ca}")
    else:
        args.append("--ssl-allow-insecure")
    if tls.cert:
        args += [f"--ssl-cert={tls.cert}", f"--ssl-key={tls.key}"]
    return tuple(args)
