"""Directories: walking, the target rule, host/schema/user/password interpretation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemad.errors import ConfigError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir, HostPort


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class Repo:
    """A git repo under a fake home, with no global files."""

    def __init__(self, tmp: Path) -> None:
        self.home = tmp / "home"
        self.root = self.home / "repo"
        (self.root / ".git").mkdir(parents=True)
        self.environ: dict[str, str] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def sources(self) -> ConfigSources:
        return ConfigSources(home=self.home, global_files=(), environ=self.environ)

    def open(self, rel: str = "", env: str = "production") -> Dir:
        return Dir.open(self.root / rel, env, self.sources())

    def walk(self, env: str = "production", max_depth: int = 5) -> list[Dir]:
        return list(Dir.walk(self.root, env, max_depth, self.sources()))

    def rel(self, d: Dir) -> str:
        return d.path.relative_to(self.root).as_posix()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


@pytest.fixture
def layout(repo: Repo) -> Repo:
    write(repo.root / ".skeema", "lint-pk=error\n")
    write(repo.root / "db1" / ".skeema", "[production]\nhost=db1\n[staging]\nhost=stage1\n")
    write(repo.root / "db1" / "app" / ".skeema", "schema=app\ndefault-character-set=utf8mb4\n")
    write(repo.root / "db1" / "app" / "b.sql")
    write(repo.root / "db1" / "app" / "a.sql")
    write(repo.root / "db1" / "app" / "notes.txt")
    write(repo.root / "db1" / "app" / "sub" / "c.sql")  # inherits schema, has no own .skeema
    write(repo.root / "db1" / "app" / "tuned" / ".skeema", "lint-pk=ignore\n[staging]\nuser=x\n")  # no schema
    write(repo.root / "db1" / "analytics" / ".skeema", "[staging]\nschema=analytics\n")
    write(repo.root / "db1" / ".hidden" / ".skeema", "schema=hidden\n")
    write(repo.root / "flat" / ".skeema", "host=db2\nschema=flat\n")
    write(repo.root / "noschema" / "x" / ".skeema", "schema=orphan\n")  # no host anywhere
    os.symlink(repo.root / "db1", repo.root / "link")
    return repo


def test_walk_order_skips_dot_dirs_and_symlinked_dirs(layout: Repo) -> None:
    assert [layout.rel(d) for d in layout.walk()] == [
        ".",
        "db1",
        "db1/analytics",
        "db1/app",
        "db1/app/sub",
        "db1/app/tuned",
        "flat",
        "noschema",
        "noschema/x",
    ]


@pytest.mark.parametrize(
    ("env", "targets"),
    [
        ("production", ["db1/app", "flat"]),
        ("staging", ["db1/analytics", "db1/app", "flat"]),
        ("development", ["flat"]),
    ],
)
def test_target_rule(layout: Repo, env: str, targets: list[str]) -> None:
    dirs = layout.walk(env)
    assert [layout.rel(d) for d in dirs if d.is_target] == targets
    # inherited schema and host do not make a subdir a target, with or without its own .skeema
    for rel in ("db1/app/sub", "db1/app/tuned"):
        sub = next(d for d in dirs if layout.rel(d) == rel)
        if env != "development":
            assert (sub.config.get("schema"), bool(sub.config.get("host"))) == ("app", True)
        assert not sub.is_target


def test_walk_max_depth(repo: Repo) -> None:
    (repo.root / "a" / "b" / "c" / "d").mkdir(parents=True)
    assert [repo.rel(d) for d in repo.walk(max_depth=2)] == [".", "a", "a/b"]
    assert [repo.rel(d) for d in repo.walk(max_depth=0)] == ["."]
    assert len(repo.walk()) == 5


def test_dir_config_and_option_file(layout: Repo) -> None:
    app = layout.open("db1/app")
    assert app.option_file is not None and app.option_file.path == layout.root / "db1" / "app" / ".skeema"
    assert app.config.get_enum("lint-pk") == "error"  # from the repo root's .skeema
    assert app.config.get("default-character-set") == "utf8mb4"
    assert app.name == "app" and app.environment == "production"
    assert layout.open("db1/app/sub").option_file is None
    assert repr(app) == f"Dir({str(layout.root / 'db1' / 'app')!r})"


def test_open_requires_a_directory(repo: Repo) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        repo.open("missing")


def test_sql_files(layout: Repo, tmp_path: Path) -> None:
    app = layout.root / "db1" / "app"
    (app / "dir.sql").mkdir()
    os.symlink(write(layout.root / "shared" / "s.sql"), app / "linked.sql")
    os.symlink(write(tmp_path / "outside.sql"), app / "outside.sql")
    os.symlink(app / "nowhere.sql", app / "dangling.sql")
    assert [p.name for p in layout.open("db1/app").sql_files()] == ["a.sql", "b.sql", "linked.sql"]


# ---------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("", {}, []),
        ("host=db1", {}, [HostPort("db1", 3306)]),
        ("host=db1, db2", {}, [HostPort("db1"), HostPort("db2")]),
        ("host=db1:3307,db2", {}, [HostPort("db1", 3307), HostPort("db2", 3306)]),
        ("host=db1:3307\nport=3307", {}, [HostPort("db1", 3307)]),
        ("host=db1\nport=3310", {}, [HostPort("db1", 3310)]),
        ("host=[::1]:3307", {}, [HostPort("::1", 3307)]),
        ("host=::1", {}, [HostPort("::1", 3306)]),
        ("host=localhost", {}, [HostPort("localhost", 3306, "/tmp/mysql.sock")]),
        ("host=localhost\nsocket=/run/m.sock", {}, [HostPort("localhost", 3306, "/run/m.sock")]),
        ("host=localhost\nport=3307", {}, [HostPort("127.0.0.1", 3307)]),
        ("host=localhost\nport=3307\nsocket=/s", {}, [HostPort("localhost", 3307, "/s")]),
        ("host=localhost:3308", {}, [HostPort("127.0.0.1", 3308)]),
        ("host=$DBHOSTS", {"DBHOSTS": "a,b:3310"}, [HostPort("a"), HostPort("b", 3310)]),
        ('host="$DBHOSTS"', {"DBHOSTS": "a"}, [HostPort("a")]),
        ("host='$DBHOSTS'", {"DBHOSTS": "a"}, [HostPort("$DBHOSTS")]),
        ("host=$UNSET", {}, []),
        ("host=db1\nport=$DBPORT", {"DBPORT": "3399"}, [HostPort("db1", 3399)]),
        ("host=`echo db1; echo db2:3307`", {}, [HostPort("db1"), HostPort("db2", 3307)]),
        ("host=`echo db1,db2`", {}, [HostPort("db1"), HostPort("db2")]),
        # quoted values are backslash-unescaped: the file holds a double backslash, printf gets one
        ("host=`printf 'a\\\\tb'`", {}, [HostPort("a"), HostPort("b")]),
        ("host=`echo {ENVIRONMENT}-$DIRNAME`", {}, [HostPort("production-hostdir")]),
        ("host=ph\nhost-wrapper=echo {HOST}-1 {HOST}-2", {}, [HostPort("ph-1"), HostPort("ph-2")]),
    ],
)
def test_hosts(repo: Repo, text: str, environ: dict[str, str], expected: list[HostPort]) -> None:
    repo.environ.update(environ)
    write(repo.root / "hostdir" / ".skeema", text + "\n")
    assert repo.open("hostdir").hosts() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("host=db1:3307\nport=3306", r"port given as 3307 in host db1:3307 but as 3306 in .*\.skeema:2"),
        ("host=db1:abc", "invalid port in host"),
        ("host=[::1", "unterminated"),
        ("host=db1\nport=x", "option port: 'x' is not an integer"),
        ("host=`echo oops >&2; exit 4`", "host command exited with status 4: oops"),
    ],
)
def test_host_errors(repo: Repo, text: str, message: str) -> None:
    write(repo.root / "hostdir" / ".skeema", text + "\n")
    with pytest.raises(ConfigError, match=message):
        repo.open("hostdir").hosts()


def test_host_str() -> None:
    assert str(HostPort("db1", 3307)) == "db1:3307"
    assert str(HostPort("localhost", 3306, "/tmp/mysql.sock")) == "localhost:/tmp/mysql.sock"


# ---------------------------------------------------------------- schema names

SERVER = [
    "mysql",
    "b_app",
    "a_app",
    "information_schema",
    "_skeema_tmp",
    "Sys",
    "other",
    "performance_schema",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schema=app", ["app"]),
        ("schema=app1, app2", ["app1", "app2"]),
        ("schema=app,mysql,SYS,information_schema", ["app"]),
        ("schema=*", ["a_app", "b_app", "other"]),
        ("schema=/_app$/", ["a_app", "b_app"]),
        ("schema=/(?i)^A_/", ["a_app"]),
        ("schema=*\nignore-schema=^b", ["a_app", "other"]),
        ("schema=a,b,c\nignore-schema=^b$", ["a", "c"]),
        ("schema=*\ntemp-schema=other", ["_skeema_tmp", "a_app", "b_app"]),
        ("schema=$SCHEMAS", ["s1", "s2"]),
        ("schema='$SCHEMAS'", ["$SCHEMAS"]),
        ("schema=$WILD", ["a_app", "b_app", "other"]),
        ("schema=`echo {HOST}_a; echo $DIRNAME`", ["db9_a", "sd"]),
        ("schema=`echo s_{USER}_{PASSWORD}`\npassword=pw", ["s_root_pw"]),
        ("skip-schema", []),
    ],
)
def test_schema_names(repo: Repo, text: str, expected: list[str]) -> None:
    repo.environ.update({"SCHEMAS": "s1,s2", "WILD": "*"})
    write(repo.root / "sd" / ".skeema", "host=db9\n" + text + "\n")
    d = repo.open("sd")
    assert d.schema_names(lambda: list(SERVER), host=HostPort("db9")) == expected


def test_schema_wildcard_needs_the_server_list(repo: Repo) -> None:
    write(repo.root / "sd" / ".skeema", "schema=*\n")
    with pytest.raises(ConfigError, match=r"schema=\* needs the server's list of schemas"):
        repo.open("sd").schema_names()


def test_schema_regex_error_names_source(repo: Repo) -> None:
    write(repo.root / "sd" / ".skeema", "schema=/(/\n")
    with pytest.raises(ConfigError, match=r"\.skeema:1: invalid regular expression for option schema"):
        repo.open("sd").schema_names(lambda: ["a"])


def test_inherited_schema_still_expands_for_subdir(layout: Repo) -> None:
    # Not a target, but a caller asking for names gets the inherited value.
    assert layout.open("db1/app/sub").schema_names() == ["app"]


# ---------------------------------------------------------------- user and password


class FakeStdin:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("", {}, ""),
        ("", {"MYSQL_PWD": "frompwd"}, "frompwd"),
        ("", {"MYSQL_PWD": "$notavar", "notavar": "x"}, "$notavar"),
        ("password=static", {"MYSQL_PWD": "frompwd"}, "static"),
        ("password=", {"MYSQL_PWD": "frompwd"}, ""),
        ("password=$PW", {"PW": "varpw"}, "varpw"),
        ("password='$PW'", {"PW": "varpw"}, "$PW"),
        ("password=`echo {USER}@{HOST}-$ENVIRONMENT`\nuser=app", {}, "app@db1-production"),
    ],
)
def test_password(repo: Repo, text: str, environ: dict[str, str], expected: str) -> None:
    repo.environ.update(environ)
    write(repo.root / "d" / ".skeema", text + "\n")
    assert repo.open("d").password(HostPort("db1")) == expected


def test_bare_password_without_tty(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo.root / "d" / ".skeema", "password\n")
    monkeypatch.setattr("sys.stdin", FakeStdin(False))
    with pytest.raises(ConfigError) as info:
        repo.open("d").password(HostPort("db1"))
    assert str(info.value) == "password prompt needed but stdin is not a terminal"


def test_bare_password_prompts_once_per_user_host(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo.root / "d" / ".skeema", "password\nuser=app\n")
    monkeypatch.setattr("sys.stdin", FakeStdin(True))
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return "typed"

    cache: dict[str, str] = {}
    d = repo.open("d")
    assert d.password(HostPort("db1"), cache=cache, prompt=prompt) == "typed"
    assert d.password(HostPort("db1"), cache=cache, prompt=prompt) == "typed"
    assert prompts == ["Enter password for app@db1:3306: "]
    assert cache == {"app@db1:3306": "typed"}
    d.password(HostPort("db2"), cache=cache, prompt=prompt)
    assert len(prompts) == 2


def test_bare_password_on_cli_prompts(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo.root / "d").mkdir()
    monkeypatch.setattr("sys.stdin", FakeStdin(False))
    d = Dir.open(
        repo.root / "d", "production", ConfigSources(home=repo.home, global_files=(), cli={"password": None})
    )
    with pytest.raises(ConfigError, match="stdin is not a terminal"):
        d.password()


def test_password_never_leaks(repo: Repo) -> None:
    write(repo.root / "d" / ".skeema", "password=`echo s3cret-out; echo s3cret-err >&2; exit 3`\n")
    d = repo.open("d")
    with pytest.raises(ConfigError) as info:
        d.password(HostPort("db1"))
    assert "s3cret" not in str(info.value)
    assert "password command exited with status 3" in str(info.value)
    write(repo.root / "d" / ".skeema", "password=hunter2\n")
    d = repo.open("d")
    assert d.password() == "hunter2"
    assert "hunter2" not in repr(d) and "hunter2" not in repr(d.config)
    assert "hunter2" not in repr(d.config.setting("password"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "root"),
        ("user=app", "app"),
        ("user=$DBUSER", "envuser"),
        ("user=`echo cmd-{HOST}`", "cmd-db1"),
    ],
)
def test_user(repo: Repo, text: str, expected: str) -> None:
    repo.environ["DBUSER"] = "envuser"
    write(repo.root / "d" / ".skeema", text + "\n")
    assert repo.open("d").user(HostPort("db1")) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("user=a:b", "may not contain a colon"), ("user=`true`", "user command printed nothing")],
)
def test_user_errors(repo: Repo, text: str, message: str) -> None:
    write(repo.root / "d" / ".skeema", text + "\n")
    with pytest.raises(ConfigError, match=message):
        repo.open("d").user()


def test_unknown_option_in_subdir_fails_the_walk(layout: Repo) -> None:
    write(layout.root / "flat" / ".skeema", "host=db2\nschema=flat\nbogus=1\n")
    with pytest.raises(ConfigError, match=r"flat/\.skeema:3: unknown option \"bogus\""):
        layout.walk()


def test_walk_reports_an_unreadable_subdir_and_skips_its_subtree(layout: Repo) -> None:
    (layout.root / "db1" / "app" / ".skeema").write_bytes(b"schema=app\n\xff\n")
    write(layout.root / "flat" / ".skeema", "host=db2\nschema=flat\nbogus=1\n")
    seen: list[tuple[str, str]] = []
    dirs = Dir.walk(
        layout.root,
        "production",
        sources=layout.sources(),
        on_error=lambda p, e: seen.append((p.name, str(e))),
    )
    assert [layout.rel(d) for d in dirs] == [".", "db1", "db1/analytics", "noschema", "noschema/x"]
    assert seen == [
        ("app", f"{layout.root}/db1/app/.skeema:2: not valid UTF-8 (at byte 1 of the line)"),
        ("flat", f'{layout.root}/flat/.skeema:3: unknown option "bogus"'),
    ]
