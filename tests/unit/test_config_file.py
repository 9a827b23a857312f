"""DaemonConfig.load: the TOML file of `schemad serve`, its values and its error messages."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from schemad.daemon_config import (
    DEFAULT_STATE_DIR,
    EXAMPLE_REPO,
    DaemonConfig,
    FetchConfig,
    ListenAddress,
    PollSchedule,
    RepoConfig,
    Token,
    WorkspaceConfig,
    parse_duration,
)
from schemad.errors import ConfigError

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "config" / "schemad.example.toml"

CI_TOKEN = "s3cr3t-ci-token"
CI_SHA = hashlib.sha256(CI_TOKEN.encode()).hexdigest()
OPS_TOKEN = "ops-token"
OPS_SHA = hashlib.sha256(OPS_TOKEN.encode()).hexdigest()

FULL = f"""
listen = ["0.0.0.0:8080", "unix:run/api.sock", "[::1]:9090"]
state_dir = "state"
log_format = "json"
audit_stdout = true
allow_anonymous_read = true
refresh_min_interval = "2s"
workspace = {{ temp_schema = "_ws", threads = 3 }}

[[repos]]
name = "app"
path = "checkouts/app"
environments = ["production", "staging"]
fetch = {{ interval = "10m", ref = "origin/release" }}
[repos.poll]
interval = "30s"
jitter = "500ms"
[repos.poll.staging]
cron = "*/5 * * * 1-5"

[[repos]]
name = "billing"
path = "{{billing}}"

[[tokens]]
name = "ci"
sha256 = "{CI_SHA.upper()}"
scopes = ["read", "lint", "push:staging"]

[[tokens]]
name = "ops"
sha256 = "{OPS_SHA}"
scopes = ["push:production"]
"""


def write_config(tmp_path: Path, text: str, name: str = "schemad.toml") -> Path:
    (tmp_path / "etc" / "checkouts" / "app").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "etc" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_full_file_loads_into_dataclasses(tmp_path: Path) -> None:
    billing = tmp_path / "billing"
    billing.mkdir()
    path = write_config(tmp_path, FULL.replace("{billing}", str(billing)))
    etc = (tmp_path / "etc").resolve()

    config = DaemonConfig.load(path, environ={})

    assert config == DaemonConfig(
        listen_host="0.0.0.0",
        listen_port=8080,
        repos=(
            RepoConfig(
                name="app",
                path=etc / "checkouts" / "app",
                environments=("production", "staging"),
                fetch=FetchConfig(interval=600.0, ref="origin/release"),
                poll=PollSchedule(interval=30.0, cron=None, jitter=0.5),
                poll_overrides=(("staging", PollSchedule(interval=None, cron="*/5 * * * 1-5", jitter=0.5)),),
            ),
            RepoConfig(name="billing", path=billing.resolve()),
        ),
        embedded=False,
        listen=(
            ListenAddress(host="0.0.0.0", port=8080),
            ListenAddress(unix=etc / "run" / "api.sock"),
            ListenAddress(host="::1", port=9090),
        ),
        workspace=WorkspaceConfig(temp_schema="_ws", threads=3),
        tokens=(
            Token(name="ci", sha256=CI_SHA, scopes=frozenset({"read", "lint", "push:staging"})),
            Token(name="ops", sha256=OPS_SHA, scopes=frozenset({"push:production"})),
        ),
        allow_anonymous_read=True,
        state_dir=etc / "state",
        log_format="json",
        audit_stdout=True,
        refresh_min_interval=2.0,
        source=path,
    )
    app = config.repos[0]
    assert app.poll_for("staging").cron == "*/5 * * * 1-5"
    assert app.poll_for("production") == PollSchedule(interval=30.0, jitter=0.5)
    assert [str(a) for a in config.listen] == ["0.0.0.0:8080", f"unix:{etc}/run/api.sock", "[::1]:9090"]


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    config = DaemonConfig.load(path, environ={})
    assert config.listen == (ListenAddress("127.0.0.1", 7480),)
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 7480)
    assert config.repos == ()
    assert config.tokens == ()
    assert config.workspace == WorkspaceConfig()
    assert config.state_dir == DEFAULT_STATE_DIR
    assert config.log_format == "text"
    assert not config.allow_anonymous_read and not config.audit_stdout
    assert config.refresh_min_interval == 10.0


def test_state_dir_from_systemd_when_not_in_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    config = DaemonConfig.load(path, environ={"STATE_DIRECTORY": "/var/lib/schemad-a:/var/lib/other"})
    assert config.state_dir == Path("/var/lib/schemad-a")
    explicit = write_config(tmp_path, 'state_dir = "/srv/state"', "explicit.toml")
    assert DaemonConfig.load(explicit, environ={"STATE_DIRECTORY": "/x"}).state_dir == Path("/srv/state")


def test_unix_only_listen_keeps_default_tcp_fields(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'listen = ["unix:/run/schemad.sock"]')
    config = DaemonConfig.load(path, environ={})
    assert config.listen == (ListenAddress(unix=Path("/run/schemad.sock")),)
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 7480)


def test_relative_repo_path_is_relative_to_the_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf" / "repo").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "conf" / "schemad.toml"
    path.write_text('state_dir = "st"\n[[repos]]\nname = "r"\npath = "repo"\n')
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = DaemonConfig.load(Path("../conf/schemad.toml"), environ={})
    assert config.repos[0].path == (tmp_path / "conf" / "repo").resolve()
    assert config.state_dir == (tmp_path / "conf" / "st").resolve()


def test_example_file_loads() -> None:
    config = DaemonConfig.load(EXAMPLE_FILE, environ={})
    assert [(r.name, r.path, r.environments) for r in config.repos] == [
        ("example", EXAMPLE_REPO, ("embedded",))
    ]
    assert config.repos[0].poll_for("embedded").cron == "*/5 * * * *"
    assert config.listen == (ListenAddress("127.0.0.1", 7480),)
    assert config.tokens[0].scopes == frozenset({"read", "lint", "push:embedded"})


# ///// errors: (case, file text, key path in the message, words in the message) /////

REPO = '[[repos]]\nname = "app"\npath = "checkouts/app"\n'
TWICE = "\n".join(f'[[tokens]]\nname = "{n}"\nsha256 = "{CI_SHA}"\nscopes = ["read"]' for n in "ab")
ERRORS: list[tuple[str, str, str, str]] = [
    ("unknown top key", 'lsiten = ["127.0.0.1:1"]', "lsiten", "unknown key"),
    ("unknown repo key", REPO + 'enviroments = ["x"]', "repos[0].enviroments", "unknown key"),
    (
        "unknown workspace key",
        "workspace = { temp_schema = 'x', thread = 2 }",
        "workspace.thread",
        "unknown key",
    ),
    ("unknown token key", '[[tokens]]\nname = "a"\nscope = []', "tokens[0].scope", "unknown key"),
    ("unknown poll env", REPO + "[repos.poll.prod]\ninterval = '1s'", "repos[0].poll.prod", "unknown key"),
    (
        "unknown poll override key",
        REPO + "[repos.poll.production]\nintervl = '1s'",
        "repos[0].poll.production.intervl",
        "unknown key",
    ),
    (
        "unknown fetch key",
        REPO + "fetch = { interval = '1m', branch = 'main' }",
        "repos[0].fetch.branch",
        "unknown key",
    ),
    (
        "bad duration",
        REPO + '[repos.poll]\ninterval = "soon"',
        "repos[0].poll.interval",
        'expected a duration like "30s", got "soon"',
    ),
    (
        "number duration",
        REPO + "[repos.poll]\ninterval = 30",
        "repos[0].poll.interval",
        'expected a duration like "30s", got 30',
    ),
    ("zero interval", REPO + '[repos.poll]\ninterval = "0s"', "repos[0].poll.interval", "greater than zero"),
    ("bad jitter", REPO + '[repos.poll]\njitter = "5 s"', "repos[0].poll.jitter", "expected a duration"),
    (
        "bad fetch interval",
        REPO + "fetch = { interval = '5min' }",
        "repos[0].fetch.interval",
        "expected a duration",
    ),
    (
        "interval and cron",
        REPO + '[repos.poll]\ninterval = "1m"\ncron = "* * * * *"',
        "repos[0].poll",
        "not both",
    ),
    (
        "interval and cron in override",
        REPO + '[repos.poll.production]\ninterval = "1m"\ncron = "* * * * *"',
        "repos[0].poll.production",
        "not both",
    ),
    ("bad cron", REPO + '[repos.poll]\ncron = "61 * * * *"', "repos[0].poll.cron", "minute must be 0-59"),
    ("short cron", REPO + '[repos.poll]\ncron = "*/5 * *"', "repos[0].poll.cron", "expected 5 fields"),
    ("missing path", '[[repos]]\nname = "app"\npath = "nowhere"', "repos[0].path", "is not a directory"),
    ("no path key", '[[repos]]\nname = "app"', "repos[0].path", "missing"),
    ("duplicate repo name", REPO + REPO, "repos[1].name", "duplicate repo name 'app'"),
    ("bad repo name", '[[repos]]\nname = "a b"\npath = "checkouts/app"', "repos[0].name", "letters, digits"),
    ("duplicate environment", REPO + 'environments = ["a", "a"]', "repos[0].environments[1]", "duplicate"),
    ("bad fetch ref", REPO + "fetch = { ref = '--upload-pack=x' }", "repos[0].fetch.ref", "git ref"),
    (
        "bad scope",
        REPO + f'[[tokens]]\nname = "t"\nsha256 = "{CI_SHA}"\nscopes = ["admin"]',
        "tokens[0].scopes[0]",
        'expected "read", "lint" or "push:<environment>"',
    ),
    (
        "push without env",
        REPO + f'[[tokens]]\nname = "t"\nsha256 = "{CI_SHA}"\nscopes = ["push:"]',
        "tokens[0].scopes[0]",
        "push:<environment>",
    ),
    (
        "cutover to unknown env",
        REPO + f'[[tokens]]\nname = "t"\nsha256 = "{CI_SHA}"\nscopes = ["cutover:prod"]',
        "tokens[0].scopes[0]",
        "no repo has environment 'prod'",
    ),
    (
        "push to unknown env",
        REPO + f'[[tokens]]\nname = "t"\nsha256 = "{CI_SHA}"\nscopes = ["push:prod"]',
        "tokens[0].scopes[0]",
        "no repo has environment 'prod'",
    ),
    (
        "bad sha256",
        f'[[tokens]]\nname = "t"\nsha256 = "{CI_SHA[:-1]}"\nscopes = ["read"]',
        "tokens[0].sha256",
        "64 hex digits",
    ),
    (
        "token in sha256",
        '[[tokens]]\nname = "t"\nsha256 = "my-token"\nscopes = ["read"]',
        "tokens[0].sha256",
        "never the token itself",
    ),
    (
        "duplicate token",
        TWICE,
        "tokens[1].sha256",
        "twice",
    ),
    ("password key", REPO + 'password = "hunter2"', "repos[0].password", "credentials file"),
    ("passwd key", 'passwd = "x"', "passwd", ".skeema files, an environment variable"),
    ("secret key nested", REPO + "fetch = { secret = 'x' }", "repos[0].fetch.secret", "LoadCredential"),
    (
        "db_password key",
        "[workspace]\ndb_password = 'x'",
        "workspace.db_password",
        "must not be in this file",
    ),
    ("bad listen", 'listen = ["localhost"]', "listen[0]", "HOST:PORT"),
    ("bad listen port", 'listen = ["127.0.0.1:99999"]', "listen[0]", "HOST:PORT"),
    ("half-bracketed listen host", 'listen = ["[::1:8080"]', "listen[0]", "HOST:PORT"),
    ("empty unix", 'listen = ["unix:"]', "listen[0]", "unix:/path/to.sock"),
    ("listen not a list", 'listen = "127.0.0.1:7480"', "listen", "expected a list"),
    ("duplicate listen", 'listen = ["a:1", "a:1"]', "listen[1]", "duplicate"),
    ("bad log format", 'log_format = "xml"', "log_format", '"json" or "text"'),
    ("bad threads", "workspace = { threads = 0 }", "workspace.threads", "1 to 256"),
    ("bad temp schema", "workspace = { temp_schema = 'a.b' }", "workspace.temp_schema", "schema name"),
    ("bad bool", 'audit_stdout = "yes"', "audit_stdout", "true or false"),
    ("bad refresh interval", "refresh_min_interval = 10", "refresh_min_interval", "duration"),
]


@pytest.mark.parametrize(("text", "key", "words"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_names_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        DaemonConfig.load(path, environ={})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message


def test_password_rejected_before_unknown_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[mysql]\npassword = 'x'")
    with pytest.raises(ConfigError, match=r"mysql\.password: passwords and secrets must not be"):
        DaemonConfig.load(path, environ={})


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read"):
        DaemonConfig.load(tmp_path / "missing.toml", environ={})
    path = write_config(tmp_path, "listen = [")
    with pytest.raises(ConfigError, match=r"schemad\.toml: not valid TOML"):
        DaemonConfig.load(path, environ={})
    path.write_bytes(b'log_format = "json"\n\xff\xfe\x00binary')  # tomllib decodes the whole file first
    with pytest.raises(ConfigError, match=r"schemad\.toml: not valid UTF-8 \(byte 20 of the file\)"):
        DaemonConfig.load(path, environ={})


# ///// durations, tokens, scopes /////


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0), ("1.5s", 1.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30", "s", "5 m", "-1s", "1d", "30s "])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_token_matches() -> None:
    token = Token(name="ci", sha256=CI_SHA, scopes=frozenset({"read"}))
    assert token.matches(CI_TOKEN)
    assert not token.matches(CI_TOKEN + "x")
    assert not token.matches(CI_SHA)  # the digest itself is not the token
    assert not token.matches("")
    assert not token.matches("\udcff\udcfe")  # a header that is not UTF-8: no match, no exception


TOKENS = (
    Token(name="ci", sha256=CI_SHA, scopes=frozenset({"read", "lint", "push:staging"})),
    Token(name="ops", sha256=OPS_SHA, scopes=frozenset({"push:production"})),
)


@pytest.mark.parametrize(
    ("anonymous_read", "presented", "expected"),
    [
        (False, None, set()),
        (True, None, {"read"}),
        (False, CI_TOKEN, {"read", "lint", "push:staging"}),
        (False, OPS_TOKEN, {"push:production"}),
        (True, OPS_TOKEN, {"read", "push:production"}),
        (False, "unknown", set()),
        (True, "unknown", set()),
        (True, "", set()),
    ],
)
def test_scopes_for(anonymous_read: bool, presented: str | None, expected: set[str]) -> None:
    config = DaemonConfig(tokens=TOKENS, allow_anonymous_read=anonymous_read)
    assert config.scopes_for(presented) == frozenset(expected)


def test_existing_constructor_calls_still_work() -> None:
    config = DaemonConfig(
        listen_host="0.0.0.0", listen_port=1, repos=(RepoConfig("a", Path("/x")),), embedded=True
    )
    assert config.repos[0].environments == ("production",)
    assert config.repos[0].poll_for("production") == PollSchedule(interval=60.0)
    assert DaemonConfig.parse_listen(":80") == ("127.0.0.1", 80)
    assert DaemonConfig.parse_listen("[::1]:8080") == ("::1", 8080)
    assert DaemonConfig.parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    for bad in ("[::1:8080", "::1]:8080", "a b:80"):
        with pytest.raises(ConfigError, match="--listen"):
            DaemonConfig.parse_listen(bad)
    with pytest.raises(ConfigError, match="--listen expects HOST:PORT"):
        DaemonConfig.parse_listen("nope")


def test_cutover_scope_is_its_own(tmp_path: Path) -> None:
    """cutover:<env> approves cut-overs; it is not push:<env>, and push:<env> does not include it."""
    text = FULL.replace("{billing}", str(tmp_path)).replace(
        'scopes = ["push:production"]', 'scopes = ["cutover:production"]'
    )
    config = DaemonConfig.load(write_config(tmp_path, text), environ={})
    assert config.scopes_for(OPS_TOKEN) - {"read"} == {"cutover:production"}  # (anonymous read is on)
    assert "cutover:staging" not in config.scopes_for(CI_TOKEN)
