"""Daemon configuration: a frozen value built from the command line or one TOML file.

`DaemonConfig.load(path)` reads `schemad.toml` (stdlib `tomllib`) and validates
all of it at start: every problem is a `ConfigError` naming the file and the key
path (`schemad.toml: repos[1].poll.interval: expected a duration like "30s", got
"soon"`), and unknown keys are errors so that typos never pass silently.  See
`config/schemad.example.toml` for every key.

No I/O beyond reading that one file, checking that repo paths exist and
reading the listeners' TLS certificates and keys (listen_tls.py checks them).
Passwords never live here: they come from the repos' `.skeema` files, an
environment variable or a credentials file (systemd `LoadCredential=`), and a
key named like a password is rejected.  Bearer tokens are stored only as the
hex SHA-256 of the token.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.resources
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, Literal

from schemad import lazyre
from schemad.errors import ConfigError
from schemad.listen_tls import TlsFileError, TlsFiles
from schemad.listen_tls import load as load_tls
from schemad.records import dataclass
from schemad.state_config import PASSWORD_KEYS, StateConfig, parse_state
from schemad.webhook_config import WebhookConfig, parse_public_url, parse_webhooks

__all__ = [
    "DEFAULT_STATE_DIR",
    "EXAMPLE_REPO",
    "DaemonConfig",
    "FetchConfig",
    "ListenAddress",
    "PollSchedule",
    "ReplicaConfig",
    "RepoConfig",
    "StateConfig",
    "TlsFiles",
    "Token",
    "WorkspaceConfig",
    "parse_duration",
]

DEFAULT_STATE_DIR = Path("/var/lib/schemad")

LogFormat = Literal["json", "text"]


# ///// values /////


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """One address the API listens on: TCP `host:port` (HTTPS with `tls`) or a Unix socket `unix`."""

    host: str | None = None  # TCP only; IPv6 without brackets
    port: int | None = None  # TCP only
    unix: Path | None = None  # Unix socket path (then host and port are None)
    tls: TlsFiles | None = None  # TCP only: serve HTTPS with this certificate and key

    @property
    def url(self) -> str:
        """How a client on this host reaches it: `https://HOST:PORT`, `http://HOST:PORT`, `unix:/path`."""
        if self.unix is not None:
            return str(self)
        return f"{'https' if self.tls else 'http'}://{self}"

    def same_place(self, other: ListenAddress) -> bool:
        """Whether both name the same socket, TLS or not."""
        return (self.host, self.port, self.unix) == (other.host, other.port, other.unix)

    @classmethod
    def parse(cls, text: str, base: Path | None = None) -> ListenAddress:
        """`"HOST:PORT"`, `"[::1]:PORT"` or `"unix:/path"` (relative to `base`); ValueError if malformed."""
        if text.startswith("unix:"):
            raw = text[len("unix:") :]
            if not raw:
                raise ValueError(f'expected "unix:/path/to.sock", got {text!r}')
            sock = Path(raw)
            if not sock.is_absolute() and base is not None:
                sock = base / sock
            return cls(unix=sock)
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f'expected "HOST:PORT" or "unix:/path/to.sock", got {text!r}')
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or any(c.isspace() or c in "[]" for c in host):
            raise ValueError(f'expected "HOST:PORT" or "unix:/path/to.sock", got {text!r}')
        return cls(host=host, port=int(port))

    def __str__(self) -> str:
        if self.unix is not None:
            return f"unix:{self.unix}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """Periodic `git fetch` + fast-forward of a repo checkout."""

    interval: float = 300.0  # seconds between fetches
    ref: str = "origin/main"  # the ref the checkout is fast-forwarded to


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """When an environment is introspected: every `interval` seconds or on a `cron` expression."""

    interval: float | None = 60.0  # seconds; None when `cron` is set
    cron: str | None = None  # five-field crontab expression (minute hour day month day-of-week)
    jitter: float = 0.0  # each run is delayed by a random 0..jitter seconds


@dataclass(frozen=True, slots=True)
class RepoConfig:
    name: str
    path: Path  # a checkout in Skeema layout
    environments: tuple[str, ...] = ("production",)
    fetch: FetchConfig | None = None  # None: the checkout is updated by someone else
    poll: PollSchedule = PollSchedule()  # the default schedule of every environment
    poll_overrides: tuple[tuple[str, PollSchedule], ...] = ()  # (environment, schedule)

    def poll_for(self, environment: str) -> PollSchedule:
        """The poll schedule of `environment`: its override, else the repo's default."""
        for env, schedule in self.poll_overrides:
            if env == environment:
                return schedule
        return self.poll


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    """The scratch schema where the files' CREATEs are run (Skeema's `temp-schema`)."""

    temp_schema: str = "_skeema_tmp"
    threads: int = 5  # concurrent CREATEs in the workspace (Skeema's `temp-schema-threads`)


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """Environments whose dirs map to many shards (host-wrapper, several hosts or schemas): `[fleet]`."""

    refresh: float = 300.0  # seconds between re-runs of host-wrapper (and the schema lists) of a fleet
    concurrency: int = 8  # targets an environment's poll reads at once


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Several daemons on one control schema (`[state] backend = "mysql"` only): `[replicas]`."""

    id: str | None = None  # this daemon's replica id; None: <hostname>-<uuid> kept in state_dir/replica-id
    lease_ttl: float = 15.0  # seconds an environment's lease lasts unless renewed (every lease_ttl/4)
    push_wait: float = 60.0  # seconds a push handed to another replica waits for it to be taken
    poll_log_retention: float = 168 * 3600.0  # seconds the control schema's poll_log rows are kept
    push_request_retention: float = 24 * 3600.0  # seconds ended push_requests rows are kept


@dataclass(frozen=True, slots=True)
class Token:
    """An API bearer token, known only by the hex SHA-256 of its text."""

    name: str
    sha256: str  # 64 lowercase hex digits
    # "read", "lint", "push:<environment>", "ack:<environment>", "cutover:<environment>"
    scopes: frozenset[str] = frozenset()

    def matches(self, presented: str) -> bool:
        """Whether `presented` is this token (constant-time comparison of the digests)."""
        # A header that is not UTF-8 arrives with lone surrogates: encodable this way, and never a match.
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest()
        return hmac.compare_digest(digest, self.sha256)


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    listen_host: str = "127.0.0.1"  # the first TCP address of `listen` (what `serve` binds)
    listen_port: int = 7480
    repos: tuple[RepoConfig, ...] = ()
    embedded: bool = False  # start a throwaway MariaDB and seed the repos' schemas into it
    listen: tuple[ListenAddress, ...] = ()  # every address from the file; () = listen_host:listen_port
    workspace: WorkspaceConfig = WorkspaceConfig()
    tokens: tuple[Token, ...] = ()
    allow_anonymous_read: bool = False  # requests without a token get the "read" scope
    state_dir: Path = DEFAULT_STATE_DIR
    log_format: LogFormat = "text"
    audit_stdout: bool = False  # also write the audit log to stdout
    shutdown_grace: float = 30.0  # seconds a stopping daemon waits for statements in flight
    refresh_min_interval: float = 10.0  # least seconds between polls ?refresh=true starts, per environment
    source: Path | None = None  # the file this was loaded from, if any
    public_url: str | None = None  # how people reach the API, for links in webhook events
    webhooks: tuple[WebhookConfig, ...] = ()  # where events go (schemad.webhook_config)
    push_requires_drift_ack: bool = False  # push refuses (409) while unacknowledged drift is in its way
    fleet: FleetConfig = FleetConfig()  # host-wrapper re-runs and poll concurrency
    state: StateConfig = field(default_factory=StateConfig)  # where jobs/audit/ops tables live
    replicas: ReplicaConfig = ReplicaConfig()  # ownership of environments among daemons (mysql state)

    @classmethod
    def parse_listen(cls, text: str) -> tuple[str, int]:
        """--listen's `HOST:PORT` or `[IPv6]:PORT`, read as a `listen` entry is; `:PORT` is 127.0.0.1."""
        try:
            addr = ListenAddress.parse("127.0.0.1" + text if text.startswith(":") else text)
        except ValueError:
            addr = ListenAddress()
        if addr.host is None or addr.port is None:  # malformed, or a unix: socket
            raise ConfigError(f"--listen expects HOST:PORT, got {text!r}")
        return addr.host, addr.port

    def scopes_for(self, token: str | None) -> frozenset[str]:
        """The scopes granted to a request presenting `token` (None: no token).

        Anonymous requests get {"read"} only with `allow_anonymous_read`.  A known
        token gets its scopes plus what anonymous requests get; an unknown token gets
        nothing (so the API answers 401 rather than silently downgrading it).
        """
        anonymous = frozenset({"read"}) if self.allow_anonymous_read else frozenset()
        if token is None:
            return anonymous
        granted: frozenset[str] | None = None
        for t in self.tokens:  # no early exit: the time taken does not depend on which token matched
            if t.matches(token) and granted is None:
                granted = t.scopes
        return frozenset() if granted is None else granted | anonymous

    @classmethod
    def load(cls, path: Path, environ: Mapping[str, str] = os.environ) -> DaemonConfig:
        """Read and validate one TOML file; ConfigError names the file and the key path.

        Relative paths in the file (repo paths, `state_dir`, `unix:` sockets, TLS
        files) are relative to the file's directory.  Without `state_dir` in the file, systemd's
        `$STATE_DIRECTORY` (from `environ`) is used, else /var/lib/schemad.
        """
        return _Loader(path, environ).load()


# The repo `schemad serve --embedded` serves: package data (schemad/embedded/example_repo in the
# checkout), found through importlib.resources so an installed copy serves the one it ships.
# The daemon walks and watches it, so it must be a real directory (not a zipped install).
EXAMPLE_REPO = Path(str(importlib.resources.files("schemad") / "embedded" / "example_repo")).resolve()


# ///// durations /////

_DURATION_PART = lazyre.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """`"500ms"`, `"30s"`, `"5m"`, `"1h"` (or compounds like `"1h30m"`) -> seconds; ValueError otherwise."""
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(f"not a duration: {text!r}")
    return total


# ///// cron /////

# (low, high, names) per crontab field; day-of-week 0 and 7 are both Sunday.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_CRON_ITEM = lazyre.compile(r"(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?")


def _check_cron(expr: str) -> None:
    """ValueError unless `expr` is a five-field crontab expression."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month day-of-week), got {len(values)}")
    for value, (what, low, high, names) in zip(values, _CRON_FIELDS, strict=True):
        for item in value.lower().split(","):
            m = _CRON_ITEM.fullmatch(item)
            if m is None:
                raise ValueError(f"bad {what} field {value!r}")
            if m.group(2) is not None and int(m.group(2)) == 0:
                raise ValueError(f"bad step in {what} field {value!r}")
            if m.group(1) == "*":
                continue
            bounds = [_cron_value(v, low, high, names, what) for v in m.group(1).split("-")]
            if bounds[0] > bounds[-1]:
                raise ValueError(f"backwards range in {what} field {value!r}")


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...], what: str) -> int:
    if text in names:
        return names.index(text) + (low if names is _MONTHS else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{what} must be {low}-{high}, got {text!r}")
    return int(text)


# ///// loading /////

_NAME = lazyre.compile(r"[A-Za-z0-9_-]+")
_SHA256 = lazyre.compile(r"[0-9a-f]{64}")
_SCHEMA_NAME = lazyre.compile(r"[A-Za-z0-9_$]{1,64}")
_REPLICA_ID = lazyre.compile(r"[A-Za-z0-9._:-]{1,128}")
_FORBIDDEN_WORDS = frozenset({"password", "passwd", "pass", "pwd", "secret"})
_POLL_KEYS = frozenset({"interval", "cron", "jitter"})
_LISTEN_KEYS = frozenset({"address", "tls_cert", "tls_key"})

_TOP_KEYS = frozenset(
    {
        "listen",
        "repos",
        "workspace",
        "tokens",
        "allow_anonymous_read",
        "state_dir",
        "log_format",
        "audit_stdout",
        "shutdown_grace",
        "refresh_min_interval",
        "public_url",
        "webhooks",
        "push_requires_drift_ack",
        "state",
        "fleet",
        "replicas",
    }
)


class _Loader:
    """One load of one file: keeps the file name and base directory for messages and paths."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.base = path.resolve().parent

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    # ----- generic checks -----

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {_show(value)}")
        return value

    def known(self, table: Mapping[str, object], allowed: frozenset[str], prefix: str) -> None:
        for k in table:
            if k not in allowed:
                raise self.error(
                    _join(prefix, k), f"unknown key (expected one of {', '.join(sorted(allowed))})"
                )

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_show(value)}")
        return value

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_show(value)}")
        return value

    def strings(self, value: object, key: str) -> list[str]:
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of strings, got {_show(value)}")
        return [self.string(v, f"{key}[{i}]") for i, v in enumerate(value)]

    def name(self, value: object, key: str) -> str:
        text = self.string(value, key)
        if not _NAME.fullmatch(text):
            raise self.error(key, f"expected a name of letters, digits, '_' and '-', got {text!r}")
        return text

    def duration(self, value: object, key: str, *, positive: bool) -> float:
        try:
            if not isinstance(value, str):
                raise ValueError
            seconds = parse_duration(value)
        except ValueError:
            raise self.error(key, f'expected a duration like "30s", got {_show(value)}') from None
        if positive and seconds <= 0:
            raise self.error(key, f"must be greater than zero, got {value!r}")
        return seconds

    def local_path(self, text: str) -> Path:
        return (self.base / Path(text).expanduser()).resolve()

    def reject_secrets(self, value: object, key: str) -> None:
        """A key named like a password anywhere in the tree is an error."""
        if isinstance(value, dict):
            for k, v in value.items():
                sub = _join(key, k)
                if key == "state" and k in PASSWORD_KEYS:
                    continue  # where the control schema's password is, not the password
                if key == "state" and _FORBIDDEN_WORDS & set(re.split(r"[^a-z0-9]+", k.lower())):
                    raise self.error(
                        sub,
                        "the control schema's password must not be in this file: name a credentials "
                        "file with state.password_file (e.g. systemd LoadCredential=, "
                        '"$CREDENTIALS_DIRECTORY/NAME") or an environment variable with state.password_env',
                    )
                if _FORBIDDEN_WORDS & set(re.split(r"[^a-z0-9]+", k.lower())):
                    raise self.error(
                        sub,
                        "passwords and secrets must not be in this file: they come from the repos' "
                        ".skeema files, an environment variable or a credentials file "
                        "(systemd LoadCredential=)",
                    )
                self.reject_secrets(v, sub)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.reject_secrets(v, f"{key}[{i}]")

    # ----- the file -----

    def load(self) -> DaemonConfig:
        try:
            with self.path.open("rb") as f:
                doc = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"{self.path}: cannot read: {e.strerror or e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{self.path}: not valid TOML: {e}") from None
        except UnicodeDecodeError as e:  # tomllib decodes the whole file first
            raise ConfigError(f"{self.path}: not valid UTF-8 (byte {e.start} of the file)") from None
        self.reject_secrets(doc, "")
        self.known(doc, _TOP_KEYS, "")

        listen = self.listen(doc.get("listen", ["127.0.0.1:7480"]))
        tcp = [a for a in listen if a.unix is None]
        repos = self.repos(doc.get("repos", []))
        environments = {env for r in repos for env in r.environments}
        tokens = self.tokens(doc.get("tokens", []), environments)

        if "state_dir" in doc:
            state_dir = self.local_path(self.string(doc["state_dir"], "state_dir"))
        elif self.environ.get("STATE_DIRECTORY"):
            # systemd StateDirectory= may list several (colon-separated); the first is ours.
            state_dir = Path(self.environ["STATE_DIRECTORY"].split(":")[0])
        else:
            state_dir = DEFAULT_STATE_DIR

        log_format = self.string(doc.get("log_format", "text"), "log_format")
        if log_format not in ("json", "text"):
            raise self.error("log_format", f'expected "json" or "text", got {log_format!r}')

        first = tcp[0] if tcp else ListenAddress("127.0.0.1", 7480)
        return DaemonConfig(
            listen_host=first.host or "127.0.0.1",
            listen_port=first.port or 7480,
            repos=repos,
            listen=listen,
            workspace=self.workspace(doc.get("workspace", {})),
            tokens=tokens,
            allow_anonymous_read=self.boolean(doc.get("allow_anonymous_read", False), "allow_anonymous_read"),
            state_dir=state_dir,
            log_format="json" if log_format == "json" else "text",
            audit_stdout=self.boolean(doc.get("audit_stdout", False), "audit_stdout"),
            shutdown_grace=self.duration(doc.get("shutdown_grace", "30s"), "shutdown_grace", positive=False),
            refresh_min_interval=self.duration(
                doc.get("refresh_min_interval", "10s"), "refresh_min_interval", positive=False
            ),
            source=self.path,
            public_url=parse_public_url(self, doc["public_url"]) if "public_url" in doc else None,
            webhooks=parse_webhooks(self, doc.get("webhooks", [])),
            push_requires_drift_ack=self.boolean(
                doc.get("push_requires_drift_ack", False), "push_requires_drift_ack"
            ),
            fleet=self.fleet(doc.get("fleet", {})),
            state=parse_state(self, doc.get("state", {})),
            replicas=self.replicas(doc.get("replicas", {})),
        )

    def listen(self, value: object) -> tuple[ListenAddress, ...]:
        """`listen`: addresses as strings, or tables `{address = "HOST:PORT", tls_cert = …, tls_key = …}`."""
        if not isinstance(value, list):
            raise self.error("listen", f"expected a list of addresses, got {_show(value)}")
        if not value:
            raise self.error("listen", "expected at least one address")
        out: list[ListenAddress] = []
        for i, item in enumerate(value):
            key = f"listen[{i}]"
            address = self.listen_address(item, key)
            if any(address.same_place(a) for a in out):
                raise self.error(key, f"duplicate address {str(address)!r}")
            out.append(address)
        return tuple(out)

    def listen_address(self, item: object, key: str) -> ListenAddress:
        if isinstance(item, dict):
            self.known(item, _LISTEN_KEYS, key)
            if "address" not in item:
                raise self.error(f"{key}.address", 'missing (e.g. address = "0.0.0.0:7443")')
            text = self.string(item["address"], f"{key}.address")
        elif isinstance(item, str):
            text, item = item, {}
        else:
            raise self.error(
                key, f'expected "HOST:PORT", "unix:/path" or a table {{address = …}}, got {_show(item)}'
            )
        try:
            address = ListenAddress.parse(text, self.base)
        except ValueError as e:
            raise self.error(f"{key}.address" if item else key, str(e)) from None
        tls_keys = [k for k in ("tls_cert", "tls_key") if k in item]
        if not tls_keys:
            return address
        if address.unix is not None:
            raise self.error(
                f"{key}.{tls_keys[0]}", "TLS is for TCP addresses; a unix socket is served plain"
            )
        for k in ("tls_cert", "tls_key"):
            if k not in item:
                raise self.error(f"{key}.{k}", "missing (an HTTPS address needs tls_cert and tls_key)")
        # Not resolved: a symlink (certbot's live/ directory) is followed anew at each reload.
        files = TlsFiles(
            cert=self.base / Path(self.string(item["tls_cert"], f"{key}.tls_cert")).expanduser(),
            key=self.base / Path(self.string(item["tls_key"], f"{key}.tls_key")).expanduser(),
        )
        try:
            load_tls(files)  # the listener loads them again at start or reload; here only the check
        except TlsFileError as e:
            raise self.error(f"{key}.tls_{e.which}", str(e)) from None
        return ListenAddress(address.host, address.port, tls=files)

    def repos(self, value: object) -> tuple[RepoConfig, ...]:
        if not isinstance(value, list):
            raise self.error("repos", f"expected an array of tables ([[repos]]), got {_show(value)}")
        out: list[RepoConfig] = []
        for i, item in enumerate(value):
            repo = self.repo(item, f"repos[{i}]")
            if any(r.name == repo.name for r in out):
                raise self.error(f"repos[{i}].name", f"duplicate repo name {repo.name!r}")
            out.append(repo)
        return tuple(out)

    def repo(self, value: object, key: str) -> RepoConfig:
        t = self.table(value, key)
        self.known(t, frozenset({"name", "path", "fetch", "environments", "poll"}), key)
        for required in ("name", "path"):
            if required not in t:
                raise self.error(_join(key, required), "missing (every repo needs a name and a path)")
        name = self.name(t["name"], f"{key}.name")
        path = self.local_path(self.string(t["path"], f"{key}.path"))
        if not path.is_dir():
            raise self.error(f"{key}.path", f"{path} is not a directory")

        environments = tuple(self.strings(t.get("environments", ["production"]), f"{key}.environments"))
        if not environments:
            raise self.error(f"{key}.environments", "expected at least one environment")
        for j, env in enumerate(environments):
            self.name(env, f"{key}.environments[{j}]")
            if env in environments[:j]:
                raise self.error(f"{key}.environments[{j}]", f"duplicate environment {env!r}")

        fetch = None
        if "fetch" in t:
            ft = self.table(t["fetch"], f"{key}.fetch")
            self.known(ft, frozenset({"interval", "ref"}), f"{key}.fetch")
            ref = self.string(ft.get("ref", "origin/main"), f"{key}.fetch.ref")
            if not ref or ref.startswith("-") or any(c.isspace() for c in ref):
                raise self.error(f"{key}.fetch.ref", f"expected a git ref like 'origin/main', got {ref!r}")
            fetch = FetchConfig(
                interval=self.duration(ft.get("interval", "5m"), f"{key}.fetch.interval", positive=True),
                ref=ref,
            )

        poll = PollSchedule()
        overrides: list[tuple[str, PollSchedule]] = []
        if "poll" in t:
            pkey = f"{key}.poll"
            pt = self.table(t["poll"], pkey)
            poll = self.schedule(pt, pkey, PollSchedule(), override=False)
            for env, sub in pt.items():
                if env in _POLL_KEYS:
                    continue
                if env not in environments:
                    raise self.error(
                        _join(pkey, env),
                        f"unknown key: not interval/cron/jitter nor one of this repo's environments "
                        f"({', '.join(environments)})",
                    )
                ekey = _join(pkey, env)
                overrides.append((env, self.schedule(self.table(sub, ekey), ekey, poll, override=True)))
        return RepoConfig(
            name=name,
            path=path,
            environments=environments,
            fetch=fetch,
            poll=poll,
            poll_overrides=tuple(overrides),
        )

    def schedule(
        self, t: Mapping[str, object], key: str, inherit: PollSchedule, *, override: bool
    ) -> PollSchedule:
        """One poll table's interval/cron/jitter; unset keys inherit.

        The default table's other keys are the environments' overrides (the caller's job);
        an override table has no other keys.
        """
        if override:
            self.known(t, _POLL_KEYS, key)
        if "interval" in t and "cron" in t:
            raise self.error(key, "set either interval or cron, not both")
        jitter = inherit.jitter
        if "jitter" in t:
            jitter = self.duration(t["jitter"], f"{key}.jitter", positive=False)
        if "interval" in t:
            return PollSchedule(self.duration(t["interval"], f"{key}.interval", positive=True), None, jitter)
        if "cron" in t:
            cron = self.string(t["cron"], f"{key}.cron")
            try:
                _check_cron(cron)
            except ValueError as e:
                raise self.error(
                    f"{key}.cron", f"expected a crontab expression like '*/5 * * * *': {e}"
                ) from None
            return PollSchedule(None, " ".join(cron.split()), jitter)
        return PollSchedule(inherit.interval, inherit.cron, jitter)

    def fleet(self, value: object) -> FleetConfig:
        t = self.table(value, "fleet")
        self.known(t, frozenset({"refresh", "concurrency"}), "fleet")
        n = t.get("concurrency", 8)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 256:
            raise self.error("fleet.concurrency", f"expected a whole number from 1 to 256, got {_show(n)}")
        return FleetConfig(self.duration(t.get("refresh", "5m"), "fleet.refresh", positive=True), n)

    def replicas(self, value: object) -> ReplicaConfig:
        t = self.table(value, "replicas")
        keys = {"id", "lease_ttl", "push_wait", "poll_log_retention", "push_request_retention"}
        self.known(t, frozenset(keys), "replicas")
        rid = t.get("id")
        if rid is not None and not (isinstance(rid, str) and _REPLICA_ID.fullmatch(rid)):
            raise self.error(
                "replicas.id", f"expected 1 to 128 of A-Z a-z 0-9 . _ : - characters, got {_show(rid)}"
            )
        ttl = self.duration(t.get("lease_ttl", "15s"), "replicas.lease_ttl", positive=True)
        if ttl < 1:
            raise self.error("replicas.lease_ttl", f"expected at least 1s, got {ttl:g}s")
        wait = self.duration(t.get("push_wait", "60s"), "replicas.push_wait", positive=True)
        polls = self.duration(
            t.get("poll_log_retention", "168h"), "replicas.poll_log_retention", positive=True
        )
        requests = self.duration(
            t.get("push_request_retention", "24h"), "replicas.push_request_retention", positive=True
        )
        return ReplicaConfig(rid, ttl, wait, polls, requests)

    def workspace(self, value: object) -> WorkspaceConfig:
        t = self.table(value, "workspace")
        self.known(t, frozenset({"temp_schema", "threads"}), "workspace")
        temp = self.string(t.get("temp_schema", "_skeema_tmp"), "workspace.temp_schema")
        if not _SCHEMA_NAME.fullmatch(temp):
            raise self.error(
                "workspace.temp_schema", f"expected a schema name like '_skeema_tmp', got {temp!r}"
            )
        threads = t.get("threads", 5)
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
            raise self.error("workspace.threads", f"expected an integer from 1 to 256, got {_show(threads)}")
        return WorkspaceConfig(temp_schema=temp, threads=threads)

    def tokens(self, value: object, environments: set[str]) -> tuple[Token, ...]:
        if not isinstance(value, list):
            raise self.error("tokens", f"expected an array of tables ([[tokens]]), got {_show(value)}")
        out: list[Token] = []
        for i, item in enumerate(value):
            key = f"tokens[{i}]"
            t = self.table(item, key)
            self.known(t, frozenset({"name", "sha256", "scopes"}), key)
            for required in ("name", "sha256", "scopes"):
                if required not in t:
                    raise self.error(
                        _join(key, required), "missing (every token needs name, sha256 and scopes)"
                    )
            name = self.name(t["name"], f"{key}.name")
            if any(tok.name == name for tok in out):
                raise self.error(f"{key}.name", f"duplicate token name {name!r}")
            digest = self.string(t["sha256"], f"{key}.sha256").lower()
            if not _SHA256.fullmatch(digest):
                raise self.error(
                    f"{key}.sha256",
                    "expected 64 hex digits, the SHA-256 of the token (e.g. `printf %s TOKEN | sha256sum`), "
                    "never the token itself",
                )
            if any(tok.sha256 == digest for tok in out):
                raise self.error(f"{key}.sha256", "the same token is listed twice")
            scopes = self.strings(t["scopes"], f"{key}.scopes")
            for j, scope in enumerate(scopes):
                self.scope(scope, f"{key}.scopes[{j}]", environments)
            out.append(Token(name=name, sha256=digest, scopes=frozenset(scopes)))
        return tuple(out)

    def scope(self, scope: str, key: str, environments: set[str]) -> None:
        if scope in ("read", "lint"):
            return
        kind, sep, env = scope.partition(":")
        if kind not in ("push", "ack", "cutover") or not sep or not _NAME.fullmatch(env):
            expected = (
                '"read", "lint" or "push:<environment>" (or "ack:<environment>", "cutover:<environment>")'
            )
            raise self.error(key, f"expected {expected}, got {scope!r}")
        if env not in environments:
            known = ", ".join(sorted(environments)) or "none"
            raise self.error(key, f"no repo has environment {env!r} (known: {known})")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: object) -> str:
    """A value as TOML-ish text for messages: strings in double quotes."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)
