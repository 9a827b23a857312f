"""A dir's TLS options (`ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`, `ssl-verify-server-cert`,
`server-public-key-path`) read into a `TlsSettings`.

File names are made absolute as Skeema does: a relative one is relative to
the directory of the option file that set it (`.skeema`, a global file,
`~/.my.cnf`), or to the working directory when given on the command line;
`~` is expanded.  Nothing is read or checked on disk here: a missing file is
found when a connection is opened, with the host in the message.
"""

from __future__ import annotations

import os

from schemad.connection.tls import TlsSettings
from schemad.fs.cascade import Config, LayerKind

__all__ = ["path_option", "tls_settings"]

_FILE_KINDS = (LayerKind.DIR_FILE, LayerKind.GLOBAL_FILE, LayerKind.MY_CNF)


def tls_settings(cfg: Config) -> TlsSettings:
    """The TLS settings `cfg` gives; ConfigError (naming the option's source) for a contradiction."""
    return TlsSettings.resolve(
        mode=cfg.get_enum("ssl-mode"),
        ca=path_option(cfg, "ssl-ca"),
        cert=path_option(cfg, "ssl-cert"),
        key=path_option(cfg, "ssl-key"),
        verify_server_cert=cfg.get_bool("ssl-verify-server-cert"),
        server_public_key_path=path_option(cfg, "server-public-key-path"),
        source=cfg.source,
    )


def path_option(cfg: Config, name: str) -> str:
    """Option `name` as an absolute file name ("" when unset)."""
    value = os.path.expanduser(cfg.get(name).strip())
    if not value or os.path.isabs(value):
        return value
    setting = cfg.setting(name)
    if setting.kind in _FILE_KINDS:
        path, _, line = setting.source.rpartition(":")
        file = path if line.isdigit() else setting.source
        return os.path.normpath(os.path.join(os.path.dirname(file), value))
    return os.path.abspath(value)
