"""Connection parameters and Skeema's `connect-options` parsing.

Pure values, no I/O.  The password is kept out of `repr()` and out of every
message built here.
"""

from __future__ import annotations

from dataclasses import field

from schemad import lazyre
from schemad.connection.sshopts import SshRoute
from schemad.connection.tls import TlsSettings
from schemad.errors import ConfigError
from schemad.records import dataclass

# connect-options that configure the driver rather than the session; Skeema
# passes these to go-sql-driver and they never become `SET SESSION` vars.
DRIVER_PARAMS = frozenset(
    {
        "allowallfiles",
        "allowcleartextpasswords",
        "allownativepasswords",
        "allowoldpasswords",
        "charset",
        "checkconnliveness",
        "clientfoundrows",
        "collation",
        "columnswithalias",
        "interpolateparams",
        "loc",
        "maxallowedpacket",
        "multistatements",
        "parsetime",
        "readtimeout",
        "rejectreadonly",
        "serverpubkey",
        "timeout",
        "tls",
        "writetimeout",
        "zerodatetime",
    }
)


# What a connect-options pair may hold: it becomes `SET SESSION name=value` verbatim, so a
# value is one quoted string without backslashes (read alike with and without
# NO_BACKSLASH_ESCAPES) or one bare word; nothing can end the statement.
_OPTION_NAME = lazyre.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPTION_VALUE = lazyre.compile(r"'[^'\\;]*'|\"[^\"\\;]*\"|[\w.+:@-]+")


def parse_connect_options(text: str) -> dict[str, str]:
    """Split `a=1,b='x,y'` into an ordered dict, honouring quotes.

    Each name must be a variable name and each value a quoted string (no
    backslash or semicolon) or a bare word: ConfigError otherwise.
    """
    out: dict[str, str] = {}
    if not text.strip():
        return out
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quote:
        raise ConfigError(f"connect-options: unterminated quote in {text!r}")
    parts.append("".join(buf))
    for part in parts:
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"connect-options: expected name=value, got {part!r}")
        key, value = key.strip(), value.strip()
        if not _OPTION_NAME.fullmatch(key) or not _OPTION_VALUE.fullmatch(value):
            raise ConfigError(
                f"connect-options: {key[:64]!r} must be a variable name set to a quoted string"
                " (without backslashes or semicolons) or a single word"
            )
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class ConnParams:
    host: str = "127.0.0.1"
    port: int = 3306
    socket: str | None = None  # a unix socket path; when set, host/port are only labels
    user: str = "root"
    password: str = field(default="", repr=False)
    connect_options: tuple[tuple[str, str], ...] = ()
    database: str | None = None  # default schema of every connection
    ssh: SshRoute | None = None  # reached through SSH; host/port/socket stay the real server's
    tls: TlsSettings = field(default_factory=TlsSettings)  # verify-identity checks `host`

    @property
    def address(self) -> str:
        """host:port, or host + socket path; never includes credentials."""
        if self.socket:
            return f"{self.host}:{self.socket}" if self.host != "localhost" else f"localhost:{self.socket}"
        return f"{self.host}:{self.port}"

    def with_session(self, **variables: str) -> ConnParams:
        """A copy with extra session variables (set on every new connection)."""
        from dataclasses import replace

        return replace(self, connect_options=self.connect_options + tuple(variables.items()))

    @property
    def session_vars(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.connect_options if k.lower() not in DRIVER_PARAMS]

    @property
    def driver_params(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.connect_options if k.lower() in DRIVER_PARAMS}

    @classmethod
    def from_dsn(cls, dsn: str) -> ConnParams:
        """Parse `mysql://user:pass@host:port/?socket=/path` (the test-suite DSN form)."""
        from urllib.parse import parse_qs, unquote, urlsplit

        u = urlsplit(dsn)
        if u.scheme not in ("mysql", "mariadb"):
            raise ConfigError("DSN must start with mysql:// or mariadb://")
        q = parse_qs(u.query)
        return cls(
            host=u.hostname or "127.0.0.1",
            port=u.port or 3306,
            socket=q.get("socket", [None])[0],
            user=unquote(u.username or "root"),
            password=unquote(u.password or ""),
        )
