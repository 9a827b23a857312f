"""The `[[webhooks]]` tables of the daemon's configuration: where events go, how they are signed.

`parse_webhooks` is called by `daemon_config`'s loader and reports problems the
same way (`schemad.toml: webhooks[0].events[1]: ...`).  Secrets never live in
the configuration file, as for database passwords: a target's signing key,
and a URL that holds a token (a Slack incoming webhook), are named by an
environment variable (`*_env`) or a file (`*_file`, e.g. systemd's
`$CREDENTIALS_DIRECTORY/...`), and read only when the daemon starts
(`SecretRef.read`).  A read secret is a `Secret`, whose `str()` and `repr()`
are masked, so no log line, answer or exception text built from it shows it.

What it will not do: deliver anything (that is `schemad.service.webhooks`), or
echo a URL or a secret in an error message.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from schemad.errors import ConfigError
from schemad.records import dataclass

__all__ = [
    "EVENTS",
    "Secret",
    "SecretRef",
    "WebhookConfig",
    "WebhookFormat",
    "parse_public_url",
    "parse_webhooks",
]

#: Every event a webhook target can receive.
EVENTS = (
    "drift.detected",
    "drift.resolved",
    "drift.acknowledged",
    "push.planned",
    "push.started",
    "push.pending_cutover",
    "push.succeeded",
    "push.failed",
    "lint.failed",
    "campaign.started",
    "campaign.wave_done",
    "campaign.halted",
    "campaign.finished",
)

WebhookFormat = Literal["json", "slack"]

_KEYS = frozenset(
    {
        "name",
        "url",
        "url_env",
        "url_file",
        "signing_key_env",
        "signing_key_file",
        "events",
        "format",
        "timeout",
        "max_age",
        "queue_limit",
    }
)


class Secret:
    """A secret value read at start; printed, logged or repr'd only as `*****`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: for the HTTP request or the HMAC, never for text."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('*****')"

    def __str__(self) -> str:
        return "*****"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret is read from (exactly one of `env` and `file`); never the secret itself."""

    env: str | None = None  # an environment variable of the daemon
    file: Path | None = None  # a file whose text (stripped) is the secret

    def read(self, what: str, environ: Mapping[str, str] = os.environ) -> Secret:
        """The secret; ConfigError naming the variable or file (never its content) if it is missing."""
        if self.env is not None:
            value = environ.get(self.env, "").strip()
            if not value:
                raise ConfigError(f"{what}: environment variable {self.env} is not set or empty")
            return Secret(value)
        assert self.file is not None
        try:
            value = self.file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise ConfigError(f"{what}: cannot read {self.file}: {reason}") from None
        if not value:
            raise ConfigError(f"{what}: {self.file} is empty")
        return Secret(value)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """One webhook target: where events go, which ones, in which format, signed with which key."""

    name: str  # unique; the only name logs and metrics use for it
    url: str | None = field(default=None, repr=False)  # given in the file; else `url_ref`
    url_ref: SecretRef | None = None  # a URL that holds a token, read at start
    signing_key: SecretRef | None = None  # HMAC key; required for format "json"
    events: tuple[str, ...] = ("*",)  # event names or patterns ("push.*", "*")
    format: WebhookFormat = "json"
    timeout: float = 10.0  # seconds for one delivery attempt (connect to last byte)
    max_age: float = 86400.0  # an event still undelivered after this long is dropped (counted, logged)
    queue_limit: int = 10000  # undelivered events kept; beyond it the oldest is dropped (counted, logged)

    def wants(self, event: str) -> bool:
        """Whether `event` matches one of the target's `events` patterns."""
        return any(fnmatch.fnmatchcase(event, p) for p in self.events)


class _Loader(Protocol):
    """What `parse_webhooks` uses of daemon_config's loader (its checks and its error format)."""

    def error(self, key: str, message: str) -> ConfigError: ...
    def table(self, value: object, key: str) -> dict[str, Any]: ...
    def known(self, table: Mapping[str, object], allowed: frozenset[str], prefix: str) -> None: ...
    def string(self, value: object, key: str) -> str: ...
    def strings(self, value: object, key: str) -> list[str]: ...
    def name(self, value: object, key: str) -> str: ...
    def duration(self, value: object, key: str, *, positive: bool) -> float: ...
    def local_path(self, text: str) -> Path: ...


def _http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in text)


def parse_public_url(loader: _Loader, value: object) -> str:
    """`public_url`: the daemon's address as people and chat clients reach it, for links in events."""
    text = loader.string(value, "public_url").rstrip("/")
    if not _http_url(text):
        raise loader.error("public_url", 'expected an http(s) URL like "https://schemad.example.com"')
    return text


def parse_webhooks(loader: _Loader, value: object) -> tuple[WebhookConfig, ...]:
    """The `[[webhooks]]` array of tables; ConfigError (file and key path) for anything wrong."""
    if not isinstance(value, list):
        raise loader.error("webhooks", "expected an array of tables ([[webhooks]])")
    out: list[WebhookConfig] = []
    for i, item in enumerate(value):
        hook = _webhook(loader, item, f"webhooks[{i}]")
        if any(h.name == hook.name for h in out):
            raise loader.error(f"webhooks[{i}].name", f"duplicate webhook name {hook.name!r}")
        out.append(hook)
    return tuple(out)


def _ref(loader: _Loader, t: Mapping[str, object], key: str, stem: str) -> SecretRef | None:
    env, file = t.get(f"{stem}_env"), t.get(f"{stem}_file")
    if env is not None and file is not None:
        raise loader.error(key, f"set either {stem}_env or {stem}_file, not both")
    if env is not None:
        name = loader.string(env, f"{key}.{stem}_env")
        if not name or "=" in name or "\0" in name:
            raise loader.error(f"{key}.{stem}_env", "expected the name of an environment variable")
        return SecretRef(env=name)
    if file is not None:
        return SecretRef(file=loader.local_path(loader.string(file, f"{key}.{stem}_file")))
    return None


def _webhook(loader: _Loader, value: object, key: str) -> WebhookConfig:
    t = loader.table(value, key)
    loader.known(t, _KEYS, key)
    if "name" not in t:
        raise loader.error(f"{key}.name", "missing (every webhook needs a name)")
    name = loader.name(t["name"], f"{key}.name")

    url: str | None = None
    url_ref = _ref(loader, t, key, "url")
    if "url" in t:
        if url_ref is not None:
            raise loader.error(key, "set one of url, url_env and url_file")
        url = loader.string(t["url"], f"{key}.url")
        if not _http_url(url):  # the value is not echoed: it may hold a token
            raise loader.error(f"{key}.url", "expected an http(s) URL")
    elif url_ref is None:
        raise loader.error(key, "missing url (or url_env / url_file for a URL that holds a token)")

    fmt = loader.string(t.get("format", "json"), f"{key}.format")
    if fmt not in ("json", "slack"):
        raise loader.error(f"{key}.format", f'expected "json" or "slack", got {fmt!r}')
    signing_key = _ref(loader, t, key, "signing_key")
    if fmt == "json" and signing_key is None:
        raise loader.error(
            key, 'format "json" is signed: set signing_key_env or signing_key_file (the HMAC key)'
        )

    events = tuple(loader.strings(t.get("events", ["*"]), f"{key}.events"))
    if not events:
        raise loader.error(f"{key}.events", "expected at least one event (or leave it out: all of them)")
    for j, pattern in enumerate(events):
        if not any(fnmatch.fnmatchcase(e, pattern) for e in EVENTS):
            raise loader.error(
                f"{key}.events[{j}]", f"{pattern!r} matches no event (events: {', '.join(EVENTS)})"
            )

    limit = t.get("queue_limit", 10000)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1_000_000:
        raise loader.error(f"{key}.queue_limit", "expected an integer from 1 to 1000000")
    return WebhookConfig(
        name=name,
        url=url,
        url_ref=url_ref,
        signing_key=signing_key,
        events=events,
        format="slack" if fmt == "slack" else "json",
        timeout=loader.duration(t.get("timeout", "10s"), f"{key}.timeout", positive=True),
        max_age=loader.duration(t.get("max_age", "24h"), f"{key}.max_age", positive=True),
        queue_limit=limit,
    )
