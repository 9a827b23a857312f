"""The option registry and typed value parsing."""

from __future__ import annotations

import pytest

from schemad.errors import ConfigError
from schemad.fs.registry import (
    ALL_COMMANDS,
    SKEEMA_OPTIONS,
    NormalizedToken,
    OptionDef,
    OptionRegistry,
    OptionType,
    normalize_token,
    parse_bool,
    parse_enum,
    parse_int,
    parse_regex,
    parse_size,
    parse_value,
)

# Every option named in the reference (skeema.md §2 and §7) plus schemad's additions.
REFERENCE_OPTIONS = [
    "host",
    "port",
    "socket",
    "schema",
    "default-character-set",
    "default-collation",
    "flavor",
    "generator",
    "user",
    "password",
    "host-wrapper",
    "connect-options",
    "ignore-schema",
    "ignore-table",
    "ignore-proc",
    "ignore-func",
    "ignore-view",
    "ignore-trigger",
    "ignore-event",
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "ssl-verify-server-cert",
    "server-public-key-path",
    "ssh",
    "ssh-to-db",
    "debug",
    "my-cnf",
    "workspace",
    "temp-schema",
    "temp-schema-mode",
    "temp-schema-threads",
    "temp-schema-binlog",
    "docker-cleanup",
    "reuse-temp-schema",
    "temp-schema-environment",
    "inserts",
    "update-seed-inserts",
    "dir",
    "include-auto-inc",
    "strip-partitioning",
    "strip-definer",
    "update-views",
    "update-partitioning",
    "format",
    "normalize",
    "new-schemas",
    "write",
    "exact-match",
    "compare-metadata",
    "alter-validate-virtual",
    "lax-column-order",
    "lax-comments",
    "alter-lock",
    "alter-algorithm",
    "partitioning",
    "alter-wrapper",
    "alter-wrapper-min-size",
    "ddl-wrapper",
    "lint",
    "verify",
    "allow-unsafe",
    "dry-run",
    "foreign-key-checks",
    "safe-below-size",
    "first-only",
    "brief",
    "concurrent-servers",
    "concurrent-instances",
    "warnings",
    "errors",
    "lint-pk",
    "lint-dupe-index",
    "lint-charset",
    "lint-engine",
    "lint-compression",
    "lint-auto-inc",
    "lint-definer",
    "lint-zero-date",
    "lint-reserved-word",
    "lint-fk-parent",
    "lint-display-width",
    "lint-has-enum",
    "lint-has-fk",
    "lint-has-float",
    "lint-has-time",
    "lint-has-routine",
    "lint-name-case",
    "lint-pk-type",
    "lint-ids",
    "lint-nullable",
    "lint-has-view",
    "lint-has-trigger",
    "lint-has-event",
    "allow-charset",
    "allow-engine",
    "allow-compression",
    "allow-auto-inc",
    "allow-definer",
    "allow-pk-type",
]

PREMIUM: list[str] = []


# Options schemad adds to Skeema's set (each documented in the README).
SCHEMAD_ONLY = [
    "push-lock-timeout",
    "no-cache",
    "output",
    "verbose",
    "fold-standalone",
    "docker-image",
    "local-workspace-idle",
    "lint-stale-rename",
    "osc-max-transaction-age",
    "osc-skip-checks",
    "ssh-known-hosts",
    "ssh-identity-file",
    "wrapper-timeout",
]


def test_every_reference_option_is_registered() -> None:
    missing = [n for n in REFERENCE_OPTIONS + PREMIUM if n not in SKEEMA_OPTIONS]
    assert missing == []
    assert {o.name for o in SKEEMA_OPTIONS} == set(REFERENCE_OPTIONS) | set(PREMIUM) | set(SCHEMAD_ONLY)


def test_premium_names_are_flagged_and_tolerant() -> None:
    for name in PREMIUM:
        opt = SKEEMA_OPTIONS[name]
        assert opt.premium and not opt.requires_value, name
    assert not any(SKEEMA_OPTIONS[n].premium for n in REFERENCE_OPTIONS)


@pytest.mark.parametrize(
    ("name", "type_", "default", "short"),
    [
        ("host", OptionType.STRING, "", "h"),
        ("port", OptionType.INT, "3306", "P"),
        ("socket", OptionType.STRING, "/tmp/mysql.sock", "S"),
        ("user", OptionType.STRING, "root", "u"),
        ("password", OptionType.STRING, "", "p"),
        ("host-wrapper", OptionType.STRING, "", "H"),
        ("connect-options", OptionType.STRING, "", "o"),
        ("ignore-table", OptionType.REGEX, "", ""),
        ("ssl-mode", OptionType.ENUM, "", ""),
        ("my-cnf", OptionType.BOOL, "1", ""),
        ("workspace", OptionType.ENUM, "temp-schema", "w"),
        ("temp-schema", OptionType.STRING, "_skeema_tmp", "t"),
        ("temp-schema-mode", OptionType.ENUM, "regular", ""),
        ("temp-schema-threads", OptionType.INT, "5", ""),
        ("temp-schema-binlog", OptionType.ENUM, "auto", ""),
        ("docker-cleanup", OptionType.ENUM, "none", ""),
        ("dir", OptionType.STRING, ".", "d"),
        ("format", OptionType.BOOL, "1", ""),
        ("new-schemas", OptionType.BOOL, "1", ""),
        ("write", OptionType.BOOL, "1", ""),
        ("partitioning", OptionType.ENUM, "keep", ""),
        ("alter-wrapper", OptionType.STRING, "", "x"),
        ("alter-wrapper-min-size", OptionType.SIZE, "0", ""),
        ("ddl-wrapper", OptionType.STRING, "", "X"),
        ("lint", OptionType.BOOL, "1", ""),
        ("verify", OptionType.BOOL, "1", ""),
        ("allow-unsafe", OptionType.BOOL, "", ""),
        ("safe-below-size", OptionType.SIZE, "0", ""),
        ("first-only", OptionType.BOOL, "", "1"),
        ("brief", OptionType.BOOL, "", "q"),
        ("concurrent-servers", OptionType.INT, "1", "c"),
        ("allow-charset", OptionType.STRING, "latin1,utf8mb4", ""),
        ("allow-engine", OptionType.STRING, "innodb", ""),
        ("allow-compression", OptionType.STRING, "none,4kb,8kb", ""),
        ("allow-auto-inc", OptionType.STRING, "int unsigned, bigint unsigned", ""),
        ("allow-definer", OptionType.STRING, "%@%", ""),
        ("allow-pk-type", OptionType.STRING, "", ""),
    ],
)
def test_option_definitions(name: str, type_: OptionType, default: str, short: str) -> None:
    opt = SKEEMA_OPTIONS[name]
    assert (opt.type, opt.default, opt.short) == (type_, default, short)


@pytest.mark.parametrize(
    ("rule", "default"),
    [
        ("pk", "warning"),
        ("dupe-index", "warning"),
        ("charset", "warning"),
        ("engine", "warning"),
        ("compression", "warning"),
        ("auto-inc", "warning"),
        ("definer", "error"),
        ("zero-date", "warning"),
        ("reserved-word", "warning"),
        ("fk-parent", "warning"),
        ("display-width", "warning"),
        ("has-enum", "ignore"),
        ("has-fk", "ignore"),
        ("has-float", "ignore"),
        ("has-time", "ignore"),
        ("has-routine", "ignore"),
        ("name-case", "ignore"),
        ("pk-type", "ignore"),
        ("ids", "ignore"),
        ("nullable", "ignore"),
        ("has-view", "ignore"),
        ("has-trigger", "ignore"),
        ("has-event", "ignore"),
    ],
)
def test_lint_rules(rule: str, default: str) -> None:
    opt = SKEEMA_OPTIONS[f"lint-{rule}"]
    assert opt.type is OptionType.ENUM
    assert opt.default == default
    assert opt.choices == ("ignore", "warning", "error")
    assert opt.commands == frozenset({"lint", "diff", "push"})


def test_hidden_lint_rules() -> None:
    assert SKEEMA_OPTIONS["lint-ids"].hidden and SKEEMA_OPTIONS["lint-nullable"].hidden
    assert not SKEEMA_OPTIONS["lint-pk"].hidden


def test_aliases() -> None:
    assert SKEEMA_OPTIONS.canonical("concurrent-instances") == "concurrent-servers"
    assert SKEEMA_OPTIONS.canonical("normalize") == "format"
    assert SKEEMA_OPTIONS.canonical("port") == "port"
    assert SKEEMA_OPTIONS.aliases("concurrent-servers") == ("concurrent-instances",)
    assert SKEEMA_OPTIONS.aliases("format") == ("normalize",)
    assert SKEEMA_OPTIONS["normalize"].deprecated


def test_commands_and_short_flags() -> None:
    assert SKEEMA_OPTIONS.by_short("init", "h") is SKEEMA_OPTIONS["host"]
    assert SKEEMA_OPTIONS.by_short("push", "h") is None  # host only on init/add-environment CLIs
    assert SKEEMA_OPTIONS.by_short("push", "x") is SKEEMA_OPTIONS["alter-wrapper"]
    assert SKEEMA_OPTIONS.by_short("pull", "x") is None
    push = {o.name for o in SKEEMA_OPTIONS.for_command("push")}
    assert {"allow-unsafe", "lint-pk", "workspace", "user", "concurrent-servers"} <= push
    assert {"host", "schema", "dir", "include-auto-inc", "write"}.isdisjoint(push)
    init = {o.name for o in SKEEMA_OPTIONS.for_command("init")}
    assert {"host", "schema", "dir", "include-auto-inc", "temp-schema"} <= init
    for opt in SKEEMA_OPTIONS:
        assert opt.commands and opt.commands <= ALL_COMMANDS, opt.name


def test_requires_value() -> None:
    assert SKEEMA_OPTIONS["port"].requires_value
    assert not SKEEMA_OPTIONS["password"].requires_value
    assert not SKEEMA_OPTIONS["verify"].requires_value


def test_registry_validation() -> None:
    a = OptionDef(name="a", type=OptionType.BOOL, short="z")
    with pytest.raises(ValueError, match="twice"):
        OptionRegistry([a, a])
    with pytest.raises(ValueError, match="short flag -z"):
        OptionRegistry([a, OptionDef(name="b", type=OptionType.BOOL, short="z")])
    with pytest.raises(ValueError, match="alias of unknown"):
        OptionRegistry([OptionDef(name="c", type=OptionType.BOOL, alias_of="nope")])
    reg = OptionRegistry([a])
    assert reg.find("A") is a and "a" in reg and "b" not in reg and len(reg) == 1
    with pytest.raises(KeyError):
        reg["b"]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("verify", NormalizedToken("verify", False, False)),
        ("Skip_Verify", NormalizedToken("verify", True, False)),
        ("disable-verify", NormalizedToken("verify", True, False)),
        ("enable-verify", NormalizedToken("verify", False, False)),
        ("loose-skip-foo", NormalizedToken("foo", True, True)),
        ("skip-loose-foo", NormalizedToken("loose-foo", True, False)),
        ("  alter_wrapper ", NormalizedToken("alter-wrapper", False, False)),
    ],
)
def test_normalize_token(token: str, expected: NormalizedToken) -> None:
    assert normalize_token(token) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("OFF", False), ("False", False),
     ("1", True), ("true", True), ("on", True), ("yes", True), ("2", True)],
)  # fmt: skip
def test_parse_bool(value: str, expected: bool) -> None:
    assert parse_bool(value) is expected


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("42", 42), ("-3", -3), ("+7", 7), (" 8 ", 8)])
def test_parse_int(value: str, expected: int) -> None:
    assert parse_int(value, name="n") == expected


@pytest.mark.parametrize("value", ["", "4.5", "1_000", "ten", "0x10"])
def test_parse_int_errors(value: str) -> None:
    with pytest.raises(ConfigError, match=r"f:3: option n: .* is not an integer"):
        parse_int(value, name="n", source="f:3")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", 0),
        ("0", 0),
        ("1000", 1000),
        ("1k", 1024),
        ("1K", 1024),
        ("2KB", 2048),
        ("2kb", 2048),
        ("10M", 10 * 1024**2),
        ("1m", 1024**2),
        ("3G", 3 * 1024**3),
        ("1gB", 1024**3),
        ("512b", 512),
    ],
)
def test_parse_size(value: str, expected: int) -> None:
    assert parse_size(value, name="safe-below-size") == expected


@pytest.mark.parametrize("value", ["1.5G", "abc", "k", "-1", "1T", "B", "1 M"])
def test_parse_size_errors(value: str) -> None:
    with pytest.raises(ConfigError, match="is not a size"):
        parse_size(value, name="safe-below-size")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("workspace", "DOCKER", "docker"),
        ("workspace", "temp-schema", "temp-schema"),
        ("alter-lock", "", ""),  # the default is always allowed
        ("alter-lock", "None", "none"),
        ("lint-pk", "ERROR", "error"),
        ("lint-pk", "", "ignore"),  # skip-lint-pk
        ("lint-pk", "0", "ignore"),
        ("lint-pk", "off", "ignore"),
        ("ssl-mode", "Required", "required"),
    ],
)
def test_parse_enum(name: str, value: str, expected: str) -> None:
    assert parse_enum(value, SKEEMA_OPTIONS[name]) == expected


def test_parse_enum_error_lists_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        parse_enum("podman", SKEEMA_OPTIONS["workspace"], source="/r/.skeema:2")
    assert str(info.value) == (
        "/r/.skeema:2: option workspace can only be set to one of these values: "
        '"temp-schema", "docker", "local"'
    )
    with pytest.raises(ConfigError, match='"none", "shared", "exclusive", "default", ""'):
        parse_enum("full", SKEEMA_OPTIONS["alter-lock"])


def test_parse_regex() -> None:
    assert parse_regex("", name="ignore-table") is None
    pattern = parse_regex("(?i)^tmp_", name="ignore-table")
    assert pattern is not None and pattern.search("TMP_foo") and not pattern.search("xtmp_")
    end = parse_regex(r"_old\z", name="ignore-table")  # RE2 end-of-text
    assert end is not None and end.search("t_old") and not end.search("t_old\n")
    escaped = parse_regex(r"a\\z", name="ignore-table")  # literal backslash + z, untouched
    assert escaped is not None and escaped.search("a\\z")
    with pytest.raises(ConfigError, match=r"^x:1: invalid regular expression for option ignore-table"):
        parse_regex("(unclosed", name="ignore-table", source="x:1")


def test_parse_value_dispatch() -> None:
    assert parse_value(SKEEMA_OPTIONS["verify"], "off") is False
    assert parse_value(SKEEMA_OPTIONS["port"], "3307") == 3307
    assert parse_value(SKEEMA_OPTIONS["safe-below-size"], "1M") == 1024**2
    assert parse_value(SKEEMA_OPTIONS["lint-pk"], "Error") == "error"
    assert parse_value(SKEEMA_OPTIONS["user"], " x ") == " x "
    assert parse_value(SKEEMA_OPTIONS["ignore-schema"], "") is None
