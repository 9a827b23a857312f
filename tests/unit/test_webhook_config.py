"""The `[[webhooks]]`, `public_url` and `push_requires_drift_ack` keys of the daemon's TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemad.daemon_config import DaemonConfig
from schemad.errors import ConfigError
from schemad.webhook_config import Secret, SecretRef, WebhookConfig

HOOKS = """
public_url = "https://schemad.example.com/"
push_requires_drift_ack = true

[[webhooks]]
name = "ci"
url = "https://ci.example.com/schemad"
signing_key_file = "keys/ci.key"
events = ["push.*", "drift.detected"]
timeout = "5s"
max_age = "1h"
queue_limit = 50

[[webhooks]]
name = "chat"
url_env = "SCHEMAD_SLACK_URL"
format = "slack"
"""


def load(tmp_path: Path, text: str) -> DaemonConfig:
    path = tmp_path / "schemad.toml"
    path.write_text(text)
    return DaemonConfig.load(path, environ={})


def test_webhooks_load(tmp_path: Path) -> None:
    config = load(tmp_path, HOOKS)
    assert config.public_url == "https://schemad.example.com"
    assert config.push_requires_drift_ack is True
    ci, chat = config.webhooks
    assert ci == WebhookConfig(
        name="ci",
        url="https://ci.example.com/schemad",
        signing_key=SecretRef(file=tmp_path / "keys" / "ci.key"),
        events=("push.*", "drift.detected"),
        timeout=5.0,
        max_age=3600.0,
        queue_limit=50,
    )
    assert (chat.url, chat.url_ref, chat.format, chat.events) == (
        None,
        SecretRef(env="SCHEMAD_SLACK_URL"),
        "slack",
        ("*",),
    )
    assert ci.wants("push.pending_cutover") and ci.wants("drift.detected") and not ci.wants("drift.resolved")
    assert "ci.example.com" not in repr(ci)  # a URL may hold a token: not in the repr


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert (config.public_url, config.webhooks, config.push_requires_drift_ack) == (None, (), False)


HOOK = '[[webhooks]]\nname = "x"\n'
KEYED = HOOK + 'signing_key_env = "K"\n'
ERRORS = [
    ("no url", KEYED, "webhooks[0]", "missing url"),
    ("two urls", KEYED + 'url = "https://a"\nurl_env = "U"\n', "webhooks[0]", "one of url"),
    ("bad url, not echoed", KEYED + 'url = "ftp://tok3n@a"\n', "webhooks[0].url", "http(s) URL"),
    ("json unsigned", HOOK + 'url = "https://a"\n', "webhooks[0]", "is signed"),
    ("two keys", KEYED + 'url = "https://a"\nsigning_key_file = "f"\n', "webhooks[0]", "not both"),
    ("bad format", KEYED + 'url = "https://a"\nformat = "xml"\n', "webhooks[0].format", '"json" or "slack"'),
    (
        "bad event",
        KEYED + 'url = "https://a"\nevents = ["push.done"]\n',
        "webhooks[0].events[0]",
        "matches no",
    ),
    ("no events", KEYED + 'url = "https://a"\nevents = []\n', "webhooks[0].events", "at least one"),
    ("bad limit", KEYED + 'url = "https://a"\nqueue_limit = 0\n', "webhooks[0].queue_limit", "1 to"),
    (
        "bad timeout",
        KEYED + 'url = "https://a"\ntimeout = "0s"\n',
        "webhooks[0].timeout",
        "greater than zero",
    ),
    ("unknown key", KEYED + 'url = "https://a"\nretries = 3\n', "webhooks[0].retries", "unknown key"),
    (
        "duplicate",
        KEYED + 'url = "https://a"\n' + KEYED + 'url = "https://a"\n',
        "webhooks[1].name",
        "duplicate",
    ),
    ("bad public_url", 'public_url = "schemad.example.com"', "public_url", "http(s) URL"),
    ("secret in the file", KEYED + 'url = "https://a"\nsecret = "x"\n', "webhooks[0].secret", "must not be"),
]


@pytest.mark.parametrize(("text", "key", "words"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'schemad.toml'}: {key}: "), message
    assert words in message and "tok3n" not in message


def test_secret_refs_read_and_never_print(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("  s3cret-key\n")
    s = SecretRef(file=tmp_path / "k").read("webhook x")
    assert s.reveal() == "s3cret-key" and "s3cret" not in f"{s} {s!r}"
    assert SecretRef(env="K").read("webhook x", {"K": "v"}).reveal() == "v"
    with pytest.raises(ConfigError, match="environment variable K is not set"):
        SecretRef(env="K").read("webhook x", {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        SecretRef(file=tmp_path / "empty").read("webhook x")
    with pytest.raises(ConfigError, match="cannot read"):
        SecretRef(file=tmp_path / "none").read("webhook x")
    assert repr(Secret("abc")) == "Secret('*****')"
