"""The `[state]` table of the daemon's configuration: where jobs, the audit log and the ops tables live.

`backend = "sqlite"` (the default) keeps them in one SQLite file in
`state_dir`.  `backend = "mysql"` keeps them in a control schema on a MySQL or
MariaDB server (`schemad.service.state_mysql`), so that several daemons can
share them.  `parse_state` is called by `daemon_config`'s loader and reports
problems the same way (`schemad.toml: state.port: ...`).

The control server's password is never in the file: `password_file` (e.g.
systemd's `$CREDENTIALS_DIRECTORY/...`) or `password_env` names where it is,
and it is read only when the store opens (`SecretRef.read`, masked `Secret`).
TLS uses the mysql clients' vocabulary (`ssl_mode`, `ssl_ca`, `ssl_cert`,
`ssl_key`, `ssl_verify_server_cert`), resolved by `connection.tls`.

What it will not do: connect anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from schemad import lazyre
from schemad.connection.tls import SslMode, TlsSettings
from schemad.errors import ConfigError
from schemad.records import dataclass
from schemad.webhook_config import SecretRef

__all__ = ["PASSWORD_KEYS", "MysqlStateConfig", "StateBackend", "StateConfig", "parse_state"]

StateBackend = Literal["sqlite", "mysql"]

#: The only password-like keys the file may hold: where the password is, never the password.
PASSWORD_KEYS = frozenset({"password_file", "password_env"})

_MYSQL_KEYS = frozenset(
    {
        "host",
        "port",
        "socket",
        "user",
        "schema",
        "ssl_mode",
        "ssl_ca",
        "ssl_cert",
        "ssl_key",
        "ssl_verify_server_cert",
        "connect_timeout",
        "migrate_wait",
        "pool_size",
    }
    | PASSWORD_KEYS
)
_SCHEMA_NAME = lazyre.compile(r"[A-Za-z0-9_$]{1,64}")
_USER = lazyre.compile(r"[^\s'\"`\\]{1,80}")
_PREFERRED = TlsSettings(mode=SslMode.PREFERRED)  # the mysql clients' default without ssl-ca


@dataclass(frozen=True, slots=True)
class MysqlStateConfig:
    """How to reach the control schema; the password is only referred to (`password`)."""

    host: str = "127.0.0.1"  # also the name a verify-identity certificate must carry
    port: int = 3306
    socket: Path | None = None  # a unix socket instead of TCP (never TLS: it does not leave the host)
    user: str = "schemad"
    schema: str = "schemad_control"
    password: SecretRef | None = None  # None: no password (e.g. unix_socket authentication)
    tls: TlsSettings = _PREFERRED
    connect_timeout: float = 10.0  # seconds
    migrate_wait: float = 60.0  # seconds to wait for another daemon's schema migration
    pool_size: int = 8  # connections kept open at most

    @property
    def location(self) -> str:
        """`mysql://user@host:port/schema` (or `@unix:/path`), for messages; no password in it."""
        where = f"unix:{self.socket}" if self.socket is not None else f"{self.host}:{self.port}"
        return f"mysql://{self.user}@{where}/{self.schema}"


@dataclass(frozen=True, slots=True)
class StateConfig:
    """Which state backend the daemon uses."""

    backend: StateBackend = "sqlite"
    mysql: MysqlStateConfig | None = None  # set exactly when backend is "mysql"


class _Loader(Protocol):
    """What `parse_state` uses of daemon_config's loader (its checks and its error format)."""

    environ: Mapping[str, str]

    def error(self, key: str, message: str) -> ConfigError: ...
    def table(self, value: object, key: str) -> dict[str, Any]: ...
    def known(self, table: Mapping[str, object], allowed: frozenset[str], prefix: str) -> None: ...
    def string(self, value: object, key: str) -> str: ...
    def boolean(self, value: object, key: str) -> bool: ...
    def duration(self, value: object, key: str, *, positive: bool) -> float: ...
    def local_path(self, text: str) -> Path: ...


def parse_state(loader: _Loader, value: object) -> StateConfig:
    """The `[state]` table; ConfigError (file and key path) for anything wrong."""
    t = loader.table(value, "state")
    backend = loader.string(t.get("backend", "sqlite"), "state.backend")
    if backend == "sqlite":
        extra = sorted(k for k in t if k != "backend")
        if extra:
            raise loader.error(f"state.{extra[0]}", 'only for backend = "mysql"')
        return StateConfig()
    if backend != "mysql":
        raise loader.error("state.backend", f'expected "sqlite" or "mysql", got {backend!r}')
    loader.known(t, _MYSQL_KEYS | {"backend"}, "state")
    return StateConfig("mysql", _mysql(loader, t))


def _mysql(loader: _Loader, t: Mapping[str, object]) -> MysqlStateConfig:
    if "host" in t and "socket" in t:
        raise loader.error("state", "set either host (and port) or socket, not both")
    if "host" not in t and "socket" not in t:
        raise loader.error("state", 'backend "mysql" needs host (and port) or socket')
    socket: Path | None = None
    host = "localhost"
    if "socket" in t:
        socket = loader.local_path(loader.string(t["socket"], "state.socket"))
        if "port" in t:
            raise loader.error("state.port", "a unix socket has no port")
    else:
        host = loader.string(t["host"], "state.host")
        if not host or any(c.isspace() or c in "/@" for c in host):
            raise loader.error("state.host", f"expected a host name or address, got {host!r}")
    port = t.get("port", 3306)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise loader.error("state.port", "expected an integer from 1 to 65535")
    user = loader.string(t.get("user", "schemad"), "state.user")
    if not _USER.fullmatch(user):
        raise loader.error("state.user", f"expected a user name, got {user!r}")
    schema = loader.string(t.get("schema", "schemad_control"), "state.schema")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise loader.error("state.schema", f"expected a schema name like 'schemad_control', got {schema!r}")
    pool = t.get("pool_size", 8)
    if isinstance(pool, bool) or not isinstance(pool, int) or not 1 <= pool <= 64:
        raise loader.error("state.pool_size", "expected an integer from 1 to 64")
    return MysqlStateConfig(
        host=host,
        port=port,
        socket=socket,
        user=user,
        schema=schema,
        password=_password(loader, t),
        tls=_tls(loader, t),
        connect_timeout=loader.duration(
            t.get("connect_timeout", "10s"), "state.connect_timeout", positive=True
        ),
        migrate_wait=loader.duration(t.get("migrate_wait", "60s"), "state.migrate_wait", positive=True),
        pool_size=pool,
    )


def _password(loader: _Loader, t: Mapping[str, object]) -> SecretRef | None:
    env, file = t.get("password_env"), t.get("password_file")
    if env is not None and file is not None:
        raise loader.error("state", "set either password_env or password_file, not both")
    if env is not None:
        name = loader.string(env, "state.password_env")
        if not name or "=" in name or "\0" in name:
            raise loader.error("state.password_env", "expected the name of an environment variable")
        return SecretRef(env=name)
    if file is not None:
        text = loader.string(file, "state.password_file")
        if text.startswith("$CREDENTIALS_DIRECTORY/"):  # systemd LoadCredential=: known only at start
            creds = loader.environ.get("CREDENTIALS_DIRECTORY")
            if not creds:
                raise loader.error("state.password_file", "$CREDENTIALS_DIRECTORY is not set")
            return SecretRef(file=Path(creds) / text.removeprefix("$CREDENTIALS_DIRECTORY/"))
        return SecretRef(file=loader.local_path(text))
    return None


def _tls(loader: _Loader, t: Mapping[str, object]) -> TlsSettings:
    def path(key: str) -> str:
        return str(loader.local_path(loader.string(t[key], f"state.{key}"))) if key in t else ""

    try:
        return TlsSettings.resolve(
            mode=loader.string(t.get("ssl_mode", ""), "state.ssl_mode"),
            ca=path("ssl_ca"),
            cert=path("ssl_cert"),
            key=path("ssl_key"),
            verify_server_cert=loader.boolean(
                t.get("ssl_verify_server_cert", False), "state.ssl_verify_server_cert"
            ),
            source=lambda name: f"state.{name.replace('-', '_')}",
        )
    except ConfigError as e:
        raise loader.error("", str(e)) from None
