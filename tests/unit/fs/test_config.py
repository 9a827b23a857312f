"""The option cascade: layers, environments, placement rules, typed getters."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from schemad.errors import ConfigError, OptionFileError
from schemad.fs.cascade import Config, ConfigSources, LayerKind, split_list
from schemad.fs.optionfile import OptionFile


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@dataclass
class Tree:
    """A fake machine: home, two global files and a git repo inside home."""

    tmp: Path
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.tmp / "home"

    @property
    def etc(self) -> Path:
        return self.tmp / "etc" / "skeema"

    @property
    def local_etc(self) -> Path:
        return self.tmp / "usr" / "local" / "etc" / "skeema"

    @property
    def repo(self) -> Path:
        return self.home / "repo"

    def sources(
        self,
        cli: dict[str, str | None] | None = None,
        *,
        allow_host: bool = False,
        allow_schema: bool = False,
    ) -> ConfigSources:
        return ConfigSources(
            home=self.home,
            global_files=(self.etc, self.local_etc),
            environ=self.environ,
            cli=cli or {},
            allow_cli_host=allow_host,
            allow_cli_schema=allow_schema,
        )

    def load(
        self, start: Path | None = None, env: str = "production", cli: dict[str, str | None] | None = None
    ) -> Config:
        return Config.load(start if start is not None else self.repo, env, self.sources(cli))


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    t = Tree(tmp_path)
    t.home.mkdir()
    (t.repo / ".git").mkdir(parents=True)
    return t


def test_defaults_only(tree: Tree) -> None:
    cfg = tree.load()
    assert cfg.get("user") == "root"
    assert cfg.get_int("port") == 3306
    assert cfg.get_bool("verify") is True
    assert cfg.get_enum("lint-definer") == "error"
    assert (cfg.is_set("user"), cfg.source("user")) == (False, "default")
    assert cfg.repo_base == tree.repo


# Layers from lowest to highest; each case keeps the first n of them.
LAYERS = ["etc", "local_etc", "my_cnf", "home_skeema", "repo", "sub", "cli"]


@pytest.mark.parametrize("n", range(len(LAYERS) + 1))
def test_override_order_across_layers(tree: Tree, n: int) -> None:
    present = LAYERS[:n]
    sub = tree.repo / "sub"
    sub.mkdir()
    files = {
        "etc": tree.etc,
        "local_etc": tree.local_etc,
        "my_cnf": tree.home / ".my.cnf",
        "home_skeema": tree.home / ".skeema",
        "repo": tree.repo / ".skeema",
        "sub": sub / ".skeema",
    }
    for layer in present:
        if layer == "my_cnf":
            write(files[layer], "[client]\nuser=fromclient\n[skeema]\nalter-wrapper=my_cnf\n")
        elif layer != "cli":
            write(files[layer], f"# comment\nalter-wrapper={layer}\n")
    cfg = tree.load(sub, cli={"alter-wrapper": "cli"} if "cli" in present else None)
    top = present[-1] if present else None
    if top is None:
        assert (cfg.get("alter-wrapper"), cfg.source("alter-wrapper")) == ("", "default")
    elif top == "cli":
        assert (cfg.get("alter-wrapper"), cfg.source("alter-wrapper")) == ("cli", "command line")
    else:
        line = 4 if top == "my_cnf" else 2
        assert cfg.get("alter-wrapper") == top
        assert cfg.source("alter-wrapper") == f"{files[top]}:{line}"
        assert (
            cfg.setting("alter-wrapper").kind
            is {
                "etc": LayerKind.GLOBAL_FILE,
                "local_etc": LayerKind.GLOBAL_FILE,
                "my_cnf": LayerKind.MY_CNF,
                "home_skeema": LayerKind.GLOBAL_FILE,
                "repo": LayerKind.DIR_FILE,
                "sub": LayerKind.DIR_FILE,
            }[top]
        )


@pytest.mark.parametrize(
    ("env", "expected"),
    [("production", "error"), ("staging", "ignore"), ("development", "warning")],
)
def test_environment_section_overrides_sectionless(tree: Tree, env: str, expected: str) -> None:
    write(
        tree.repo / ".skeema",
        "lint-pk=warning\n[production]\nlint-pk=error\n[staging]\nlint-pk=ignore\n[other]\nuser=x\n",
    )
    cfg = tree.load(env=env)
    assert cfg.get_enum("lint-pk") == expected
    assert cfg.get("user") == "root"  # sections of other environments never apply
    assert cfg.environment == env


def test_sectionless_in_deeper_file_beats_env_section_in_parent(tree: Tree) -> None:
    write(tree.repo / ".skeema", "[production]\nalter-wrapper=parent-prod\n")
    write(tree.repo / "db" / ".skeema", "alter-wrapper=child-any\n")
    assert tree.load(tree.repo / "db").get("alter-wrapper") == "child-any"


def test_host_dir_and_schema_dir_inheritance(tree: Tree) -> None:
    write(tree.repo / "db1" / ".skeema", "[production]\nhost=db1\nport=3307\n[staging]\nhost=stage1\n")
    write(tree.repo / "db1" / "app" / ".skeema", "schema=app\ndefault-character-set=utf8mb4\n")
    prod = tree.load(tree.repo / "db1" / "app")
    assert (prod.get("host"), prod.get_int("port"), prod.get("schema")) == ("db1", 3307, "app")
    assert prod.source("host") == f"{tree.repo / 'db1' / '.skeema'}:2"
    stage = tree.load(tree.repo / "db1" / "app", env="staging")
    assert (stage.get("host"), stage.get_int("port"), stage.get("schema")) == ("stage1", 3306, "app")


def test_child_layers_stay_below_the_command_line(tree: Tree) -> None:
    cfg = tree.load(cli={"alter-wrapper": "cli"})
    sub = OptionFile.parse("alter-wrapper=sub\nlint-pk=error\n[production]\nlint-pk=ignore\n", "/x/.skeema")
    child = cfg.child(sub)
    assert child.get("alter-wrapper") == "cli"
    assert child.get_enum("lint-pk") == "ignore"
    assert child.source("lint-pk") == "/x/.skeema:4"
    assert cfg.get_enum("lint-pk") == "warning"  # the parent is unchanged


def test_with_cli_merges_and_normalises(tree: Tree) -> None:
    write(tree.repo / ".skeema", "verify\nlint-pk=error\n")
    cfg = tree.load().with_cli({"skip-verify": None, "lint_pk": "ignore"})
    assert cfg.get_bool("verify") is False
    assert cfg.get_enum("lint-pk") == "ignore"
    again = cfg.with_cli({"allow-unsafe": None, "loose-bogus": "1"})
    assert again.get_bool("allow-unsafe") and again.get_bool("verify") is False
    password = tree.load(cli={"password": None}).setting("password")
    assert password.bare and password.kind is LayerKind.CLI


@pytest.mark.parametrize(
    ("cli", "message"),
    [({"bogus": "1"}, 'unknown option "bogus"'), ({"port": None}, "requires a value")],
)
def test_cli_errors(tree: Tree, cli: dict[str, str | None], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tree.load(cli=cli)


def test_aliases_resolve_to_canonical(tree: Tree) -> None:
    write(tree.repo / ".skeema", "concurrent-instances=4\n")
    assert tree.load().get_int("concurrent-servers") == 4
    write(tree.repo / ".skeema", "concurrent-servers=2\nconcurrent-instances=4\n")
    assert tree.load().get_int("concurrent-servers") == 2  # same file: canonical name wins
    assert tree.load(cli={"concurrent-instances": "8"}).get_int("concurrent-servers") == 8


# ---------------------------------------------------------------- ~/.my.cnf


def test_my_cnf_restrictions(tree: Tree) -> None:
    write(
        tree.home / ".my.cnf",
        "!includedir /etc/mysql/conf.d/\n"
        "[mysql]\nuser=mysqluser\nsocket=/mysql.sock\nprompt=\\u>\n"
        "[client]\nuser=clientuser\nhost=dbhost\nport=3310\nssl-mode=REQUIRED\nlint-pk=error\n"
        "no-auto-rehash\n"
        "[skeema]\nlint-has-fk=warning\n",
    )
    cfg = tree.load()
    assert cfg.get("user") == "clientuser"  # [client] beats [mysql], as in Skeema
    assert cfg.get("socket") == "/mysql.sock"
    assert cfg.get_int("port") == 3310
    assert cfg.get_enum("ssl-mode") == "required"
    assert cfg.get("host") == ""  # never taken from ~/.my.cnf
    assert cfg.get_enum("lint-pk") == "warning"  # not one of the client options
    assert cfg.get_enum("lint-has-fk") == "warning"  # [skeema] may set anything
    assert cfg.setting("user").kind is LayerKind.MY_CNF


def test_my_cnf_skeema_section_wins_and_home_skeema_overrides(tree: Tree) -> None:
    write(tree.home / ".my.cnf", "[client]\nuser=a\npassword=pw1\n[skeema]\nuser=b\n")
    assert tree.load().get("user") == "b"
    write(tree.home / ".skeema", "user=c\n")
    cfg = tree.load()
    assert (cfg.get("user"), cfg.get("password")) == ("c", "pw1")


def test_malformed_my_cnf_is_skipped(tree: Tree) -> None:
    write(tree.home / ".my.cnf", "[client]\nuser='broken\n")
    assert tree.load().get("user") == "root"


def test_skip_my_cnf(tree: Tree) -> None:
    write(tree.home / ".my.cnf", "[client]\nuser=a\n")
    assert tree.load(cli={"skip-my-cnf": None}).get("user") == "root"
    write(tree.etc, "skip-my-cnf\n")
    assert tree.load().get("user") == "root"


# ---------------------------------------------------------------- password / $MYSQL_PWD


def test_mysql_pwd_is_the_password_default(tree: Tree) -> None:
    tree.environ["MYSQL_PWD"] = "envpw"
    cfg = tree.load()
    assert (cfg.get("password"), cfg.source("password"), cfg.is_set("password")) == (
        "envpw",
        "$MYSQL_PWD",
        True,
    )
    write(tree.repo / ".skeema", "password=\n")
    cfg = tree.load()
    assert (cfg.get("password"), cfg.setting("password").bare) == ("", False)  # explicit: no password
    write(tree.repo / ".skeema", "password\n")
    assert tree.load().setting("password").bare  # prompt wanted
    assert tree.load(cli={"password": "clipw"}).get("password") == "clipw"


def test_no_password_in_repr_or_setting_repr(tree: Tree) -> None:
    write(tree.repo / ".skeema", "password=s3cret\n")
    cfg = tree.load()
    assert "s3cret" not in repr(cfg)
    assert "s3cret" not in repr(cfg.setting("password"))


# ---------------------------------------------------------------- host / schema placement


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        ("etc", "host=db1\n", "option host cannot be set in global option file"),
        ("local_etc", "[production]\nschema=app\n", "option schema cannot be set in global option file"),
        ("home_skeema", "host=db1\n", "cannot be set in global option file"),
        ("my_cnf", "[skeema]\nschema=app\n", "option schema cannot be set in global option file"),
    ],
)
def test_host_and_schema_rejected_in_global_files(tree: Tree, where: str, text: str, message: str) -> None:
    path = {
        "etc": tree.etc,
        "local_etc": tree.local_etc,
        "home_skeema": tree.home / ".skeema",
        "my_cnf": tree.home / ".my.cnf",
    }[where]
    write(path, text)
    with pytest.raises(ConfigError, match=message) as info:
        tree.load()
    assert str(path) in str(info.value)


def test_empty_host_in_global_file_and_other_env_section_are_fine(tree: Tree) -> None:
    write(tree.home / ".skeema", "host=\n[staging]\nhost=db1\n")
    assert tree.load().get("host") == ""
    with pytest.raises(ConfigError):
        tree.load(env="staging")


@pytest.mark.parametrize(
    ("cli", "flags", "ok"),
    [
        ({"host": "db1"}, {}, False),
        ({"schema": "app"}, {}, False),
        ({"host": "db1"}, {"allow_host": True}, True),
        ({"schema": "app"}, {"allow_host": True}, False),
        ({"schema": "app"}, {"allow_schema": True}, True),
    ],
)
def test_host_and_schema_on_the_command_line(
    tree: Tree, cli: dict[str, str | None], flags: dict[str, bool], ok: bool
) -> None:
    def load() -> Config:
        sources = tree.sources(
            cli, allow_host=flags.get("allow_host", False), allow_schema=flags.get("allow_schema", False)
        )
        return Config.load(tree.repo, "production", sources)

    if ok:
        name = next(iter(cli))
        assert load().get(name) == cli[name]
    else:
        with pytest.raises(ConfigError, match="cannot be set on the command line"):
            load()


def test_with_cli_also_checks_placement(tree: Tree) -> None:
    with pytest.raises(ConfigError, match="command line"):
        tree.load().with_cli({"host": "db1"})


def test_host_in_repo_files_is_fine(tree: Tree) -> None:
    write(tree.repo / ".skeema", "host=db1\nschema=app\n")
    cfg = tree.load()
    assert (cfg.get("host"), cfg.get("schema")) == ("db1", "app")


# ---------------------------------------------------------------- the upward climb


def test_climb_stops_at_git(tree: Tree) -> None:
    outer = tree.tmp / "outer"
    write(outer / ".skeema", "alter-wrapper=outer\nlint-pk=error\n")
    write(outer / "repo" / ".skeema", "lint-has-fk=error\n")
    (outer / "repo" / ".git").mkdir()
    start = outer / "repo" / "a" / "b"
    start.mkdir(parents=True)
    write(outer / "repo" / "a" / ".skeema", "user=a\n")
    cfg = tree.load(start)
    assert cfg.get("alter-wrapper") == ""  # above the repo: not read
    assert cfg.get_enum("lint-pk") == "warning"
    assert cfg.get_enum("lint-has-fk") == "error"  # the .git dir's own .skeema counts
    assert cfg.get("user") == "a"
    assert cfg.repo_base == outer / "repo"


def test_climb_stops_at_home(tree: Tree) -> None:
    write(tree.tmp / ".skeema", "alter-wrapper=above-home\n")
    write(tree.home / ".skeema", "user=homeuser\n")
    write(tree.home / "proj" / ".skeema", "lint-pk=error\n")
    start = tree.home / "proj" / "db"
    start.mkdir()
    cfg = tree.load(start)
    assert cfg.get("alter-wrapper") == ""
    assert cfg.get("user") == "homeuser"
    assert cfg.setting("user").kind is LayerKind.GLOBAL_FILE  # ~/.skeema is a global file
    assert cfg.get_enum("lint-pk") == "error"
    assert cfg.repo_base == tree.home / "proj"  # outermost dir with a .skeema


def test_include_start_dir_false(tree: Tree) -> None:
    write(tree.repo / ".skeema", "user=repo\n")
    write(tree.repo / "x" / ".skeema", "user=x\n")
    assert tree.load(tree.repo / "x").get("user") == "x"
    only_parents = Config.load(tree.repo / "x", "production", tree.sources(), include_start_dir=False)
    assert only_parents.get("user") == "repo"


def test_no_start_dir(tree: Tree) -> None:
    write(tree.home / ".skeema", "user=h\n")
    cfg = Config.load(None, "production", tree.sources())
    assert cfg.get("user") == "h" and cfg.repo_base is None


def test_unknown_option_in_a_file_reports_file_and_line(tree: Tree) -> None:
    path = write(tree.repo / "db" / ".skeema", "user=a\n[production]\nlint-bogus=1\n")
    with pytest.raises(OptionFileError) as info:
        tree.load(tree.repo / "db")
    assert (info.value.file, info.value.line) == (str(path), 3)


def test_symlinked_option_file_must_stay_in_repo(tree: Tree) -> None:
    outside = write(tree.tmp / "elsewhere.cnf", "user=x\n")
    (tree.repo / "db").mkdir()
    os.symlink(outside, tree.repo / "db" / ".skeema")
    with pytest.raises(OptionFileError, match="outside of its repository"):
        tree.load(tree.repo / "db")
    inside = write(tree.repo / "shared.cnf", "user=shared\n")
    (tree.repo / "db" / ".skeema").unlink()
    os.symlink(inside, tree.repo / "db" / ".skeema")
    assert tree.load(tree.repo / "db").get("user") == "shared"


# ---------------------------------------------------------------- typed getters and values


def test_typed_getters(tree: Tree) -> None:
    write(
        tree.repo / ".skeema",
        "safe-below-size=10M\nalter-wrapper-min-size=2g\nworkspace=Docker\n"
        "ignore-table=(?i)^tmp_\nallow-charset=latin1, 'utf8mb4' ,,x\nconcurrent-servers=3\n",
    )
    cfg = tree.load()
    assert cfg.get_size("safe-below-size") == 10 * 1024**2
    assert cfg.get_size("alter-wrapper-min-size") == 2 * 1024**3
    assert cfg.get_enum("workspace") == "docker"
    pattern = cfg.get_regex("ignore-table")
    assert pattern is not None and pattern.search("TMP_x")
    assert cfg.get_regex("ignore-proc") is None
    assert cfg.get_list("allow-charset") == ["latin1", "utf8mb4", "x"]
    assert cfg.get_int("concurrent-servers") == 3


@pytest.mark.parametrize(
    ("text", "getter", "message"),
    [
        ("port=abc\n", "get_int", r"\.skeema:1: option port: 'abc' is not an integer"),
        ("safe-below-size=1T\n", "get_size", r"\.skeema:1: option safe-below-size: '1T' is not a size"),
        ("workspace=vm\n", "get_enum", r"\.skeema:1: option workspace can only be set to one of"),
        ("ignore-table=(\n", "get_regex", r"\.skeema:1: invalid regular expression for option ignore-table"),
    ],
)
def test_typed_getter_errors_name_the_source(tree: Tree, text: str, getter: str, message: str) -> None:
    write(tree.repo / ".skeema", text)
    cfg = tree.load()
    name = text.split("=")[0]
    with pytest.raises(ConfigError, match=message):
        getattr(cfg, getter)(name)


def test_unknown_name_is_a_programming_error(tree: Tree) -> None:
    with pytest.raises(KeyError):
        tree.load().get("no-such-option")
    with pytest.raises(TypeError):
        tree.load().get_enum("user")


@pytest.mark.parametrize(
    ("line", "cli", "expected"),
    [
        ("user=$DBUSER", None, "alice"),
        ('user="$DBUSER"', None, "alice"),
        ("user='$DBUSER'", None, "$DBUSER"),
        ("user=$UNSET_VAR", None, ""),
        ("user=x$DBUSER", None, "x$DBUSER"),  # whole value only
        ("user=$", None, "$"),
        ("", {"user": "$DBUSER"}, "$DBUSER"),  # the shell already expanded CLI values
    ],
)
def test_expand_env_var(tree: Tree, line: str, cli: dict[str, str | None] | None, expected: str) -> None:
    tree.environ["DBUSER"] = "alice"
    write(tree.repo / ".skeema", line + "\n")
    assert tree.load(cli=cli).expand("user") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a,b", ["a", "b"]),
        (" a , b ,", ["a", "b"]),
        ("'a,b',c", ["a,b", "c"]),
        ('"x",`y`', ["x", "y"]),
        ("a\\,b,c", ["a\\,b", "c"]),
        ("", []),
    ],
)
def test_split_list(value: str, expected: list[str]) -> None:
    assert split_list(value) == expected
