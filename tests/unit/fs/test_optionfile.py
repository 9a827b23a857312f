"""Parsing and rewriting of single option files (mybase syntax, Skeema rewrite rules)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from schemad.errors import ConfigError, OptionFileError
from schemad.fs.optionfile import OptionFile, OptionValue, unquote

F = "/repo/.skeema"


def parse(text: str, *, ignore_unknown: bool = False) -> OptionFile:
    return OptionFile.parse(text, F, ignore_unknown=ignore_unknown)


@pytest.mark.parametrize(
    ("line", "name", "value", "quote", "bare"),
    [
        ("user=bob", "user", "bob", "", False),
        ("   user   =   bob   ", "user", "bob", "", False),
        ("user=bob # a comment", "user", "bob", "", False),
        ("user=bob#tight comment", "user", "bob", "", False),
        ("user=a\\#b", "user", "a#b", "", False),
        ("user='a#b' # real comment", "user", "a#b", "'", False),
        ('user="x y"', "user", "x y", '"', False),
        ("user='it\\'s'", "user", "it's", "'", False),
        ("user=''", "user", "", "'", False),
        ("password", "password", "", "", True),
        ("password=", "password", "", "", False),
        ("skip-password", "password", "", "", False),
        ("verify", "verify", "1", "", True),
        ("skip-verify", "verify", "", "", False),
        ("disable-verify", "verify", "", "", False),
        ("skip-verify=0", "verify", "1", "", False),
        ("skip-verify=1", "verify", "", "", False),
        ("enable-verify", "verify", "1", "", True),
        ("loose-skip-verify", "verify", "", "", False),
        ("skip-alter-wrapper", "alter-wrapper", "", "", False),
        ("ALTER_WRAPPER=pt-osc", "alter-wrapper", "pt-osc", "", False),
        ("host=`echo db1`", "host", "echo db1", "`", False),
        ("connect-options=sql_mode='A,B#C',x=1", "connect-options", "sql_mode='A,B#C',x=1", "", False),
        ("ignore-table=^foo\\d+$", "ignore-table", "^foo\\d+$", "", False),
        ("concurrent-instances=4", "concurrent-instances", "4", "", False),
        ("ssh=bastion", "ssh", "bastion", "", False),  # Premium-only name: tolerated
    ],
)
def test_parse_line_forms(line: str, name: str, value: str, quote: str, bare: bool) -> None:
    of = parse(f"# leading comment\n{line}\n")
    got = of.get(name)
    assert got is not None
    assert (got.value, got.quote, got.bare, got.line) == (value, quote, bare, 2)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("bogus=1", 1, 'unknown option "bogus"'),
        ("\n\nskip-loose-bogus", 3, 'unknown option "loose-bogus"'),
        ("[prod]\nlint-pk=error\nlint-bogus=error", 3, 'unknown option "lint-bogus"'),
        ("user='abc", 1, "no terminating quote"),
        ("user=abc\\", 1, "single backslash"),
        ("[production", 1, "unterminated section"),
        ("[production] extra", 1, "extra characters"),
        ("us'er=x", 1, "illegal character"),
        ("port", 1, "requires a value"),
        ("lint-pk", 1, "requires a value"),
        ("=x", 1, "missing option name"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(OptionFileError) as info:
        parse(text)
    err = info.value
    assert (err.file, err.line) == (F, line)
    assert reason in err.reason
    assert str(err).startswith(f"{F}:{line}: ")


def test_loose_unknown_is_ignored_silently() -> None:
    of = parse("loose-bogus=1\nloose-skip-other\nuser=x\n")
    assert of.values() == {"user": OptionValue("x", 3)}


def test_ignore_unknown_mode_for_my_cnf() -> None:
    of = parse("!includedir /etc/mysql/conf.d/\n[client]\nprompt=mysql>\nuser=me\n", ignore_unknown=True)
    assert of.values("client") == {"user": OptionValue("me", 4)}


def test_bom_crlf_and_semicolon_comments() -> None:
    of = parse("\ufeffuser=a\r\n; a comment\r\n  # indented comment\r\n[production]\r\nport=3307\r\n")
    assert of.get("user") == OptionValue("a", 1)
    assert of.get("port", "production") == OptionValue("3307", 5)


def test_repeated_key_last_wins_with_its_line() -> None:
    of = parse("user=a\nuser=b\n")
    assert of.get("user") == OptionValue("b", 2)


def test_sections_and_environment_lookup() -> None:
    of = parse(
        "lint-pk=warning\nuser=base\n"
        "[production]\nlint-pk=error\n"
        "[staging]\nuser=stage\n"
        "[production]\nport=3307\n"
    )
    assert of.sections() == ["production", "staging"]
    assert of.has_section("production") and not of.has_section("dev") and not of.has_section("")
    assert of.sections_with("lint-pk") == ["", "production"]
    cases = {
        ("lint-pk", "production"): "error",
        ("lint-pk", "staging"): "warning",
        ("user", "production"): "base",
        ("user", "staging"): "stage",
        ("port", "production"): "3307",
    }
    for (name, env), expected in cases.items():
        got = of.lookup(name, env)
        assert got is not None and got.value == expected, (name, env)
    assert of.lookup("port", "staging") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'a'", ("a", "'")),
        ('"a\\"b"', ('a"b', '"')),
        ("`cmd`", ("cmd", "`")),
        ("'a'b'", ("'a'b'", "")),  # closes early: not one quoted value
        ("'a", ("'a", "")),
        ("  plain  ", ("plain", "")),
        ("'a\\'", ("'a\\'", "")),  # the closing quote is escaped
    ],
)
def test_unquote(text: str, expected: tuple[str, str]) -> None:
    assert unquote(text) == expected


def test_render_follows_skeema_rewrite_rules() -> None:
    of = parse(
        "# top comment\n"
        "[production]\n"
        "port=3306  # comment dropped\n"
        "host=db1\n"
        "flavor=mysql:8.0\n"
        "\n"
        "generator=skeema:1.14.1-community\n"  # still inside [production]
        "[staging]\n"
        "host=`consul-hosts staging`\n"
        "skip-verify\n"
    )
    of.set("schema", "app")  # sectionless keys come first even when added last
    of.set("default-character-set", "utf8mb4")
    of.set("allow-unsafe", True)
    of.set("alter-wrapper", "", "staging")
    of.set("ignore-table", "^tmp#", "staging")
    assert of.render() == (
        "allow-unsafe\n"
        "default-character-set=utf8mb4\n"
        "schema=app\n"
        "\n"
        "[production]\n"
        "flavor=mysql:8.0\n"
        "generator=skeema:1.14.1-community\n"
        "host=db1\n"
        "port=3306\n"
        "\n"
        "[staging]\n"
        "skip-alter-wrapper\n"  # sorted by option name, not by the skip- spelling
        "host=`consul-hosts staging`\n"
        'ignore-table="^tmp#"\n'
        "skip-verify\n"
    )


@pytest.mark.parametrize(
    ("line", "rendered"),
    [
        ("verify=0", "skip-verify"),
        ("verify=off", "skip-verify"),
        ("verify=yes", "verify"),
        ("password", "password"),
        ("password=", "skip-password"),
        ("password=''", "password=''"),
        ("user='$literal'", "user='$literal'"),
        ("user=$USERVAR", "user=$USERVAR"),
        ("ignore-table=^foo\\d+$", "ignore-table=^foo\\d+$"),
        ("allow-definer=a\\#b", 'allow-definer="a#b"'),
        ('user=" padded "', 'user=" padded "'),
        ("concurrent-instances=3", "concurrent-instances=3"),
    ],
)
def test_render_entry(line: str, rendered: str) -> None:
    assert parse(line).render() == rendered + "\n"


def test_render_round_trips_values() -> None:
    text = (
        "user=' lead'\nallow-definer=x\\#y\nhost=`a b`\npassword\n"
        "[e1]\nignore-schema='^(a|b)$'\nconnect-options=a='x,y',b=2\nskip-lint\n"
    )
    first = parse(text)
    second = parse(first.render())
    for section in ("", "e1"):
        # Quotes may be added where needed, but never ones that change meaning (' and `).
        a = {
            k: (v.value, v.bare, v.quote if v.quote in ("'", "`") else "")
            for k, v in first.values(section).items()
        }
        b = {
            k: (v.value, v.bare, v.quote if v.quote in ("'", "`") else "")
            for k, v in second.values(section).items()
        }
        assert a == b
    # programmatic values that need quoting also survive
    of = OptionFile(F)
    for value in ("#x", "a'b", 'q"', "trailing\\", " sp", "`x"):
        of.set("user", value)
        got = parse(of.render()).get("user")
        assert got is not None and got.value == value, of.render()


def test_render_empty_file_and_empty_sections() -> None:
    assert OptionFile(F).render() == ""
    of = parse("[production]\nhost=a\n")
    assert of.unset("host", "production") is True
    assert of.unset("host", "production") is False
    assert of.render() == "[production]\n"


def test_set_validation() -> None:
    of = OptionFile(F)
    with pytest.raises(ConfigError, match="unknown option"):
        of.set("bogus", "1")
    with pytest.raises(ConfigError, match="single line"):
        of.set("user", "a\nb")
    with pytest.raises(ConfigError, match="section"):
        of.set("user", "a", "bad]name")
    of.set("PORT", 3307, "production")
    assert of.get("port", "production") == OptionValue("3307", 0)


def test_write_is_atomic_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / ".skeema"
    target.write_text("# old comment\nuser=old\n")
    os.chmod(target, 0o600)
    of = OptionFile.read(target)
    of.set("user", "new")
    of.set("host", "db1", "production")
    of.write()
    assert target.read_text() == "user=new\n\n[production]\nhost=db1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".skeema"]  # no temp file left behind


def test_write_to_new_path(tmp_path: Path) -> None:
    of = OptionFile(tmp_path / "a" / ".skeema")
    of.set("schema", "app")
    dest = tmp_path / "copy.skeema"
    of.write(dest)
    assert OptionFile.read(dest).get("schema") == OptionValue("app", 1)


def test_read_rejects_invalid_utf8(tmp_path: Path) -> None:
    p = tmp_path / ".skeema"
    p.write_bytes(b"schema=shop\npassword=a\xffb\n")
    with pytest.raises(OptionFileError, match="UTF-8") as info:
        OptionFile.read(p)
    assert (info.value.file, info.value.line) == (str(p), 2)
    assert str(info.value) == f"{p}:2: not valid UTF-8 (at byte 11 of the line)"  # where, never the byte


def test_repr_never_shows_values() -> None:
    of = parse("password=hunter2\n")
    assert "hunter2" not in repr(of.get("password"))
    assert "hunter2" not in repr(of)
