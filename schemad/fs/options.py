"""The registry of Skeema's options and typed parsing of their values.

Every option Skeema (Community, v1.14 / v2-dev) accepts is described here once:
name, short flag, type, default, whether a bare `name` is allowed, enum
choices, which commands take it on the command line, and hidden/deprecated
aliases.  Premium-only names are registered too (flagged `premium`) so that
option files written for Skeema Premium still parse; schemad ignores them.

Option *values* are always strings in files and on the command line; the
`parse_*` functions turn one into a typed value and raise `ConfigError` with
the value's source on failure.

This module does no I/O and holds no mutable state: it does not read option
files (see `optionfile`), resolve the cascade (see `config`) or parse the
command line (the CLI does that with `OptionRegistry.by_short`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType

from schemad.errors import ConfigError

__all__ = [
    "ADD_ENVIRONMENT",
    "ALL_COMMANDS",
    "DIFF",
    "FORMAT",
    "INIT",
    "LINT",
    "PULL",
    "PUSH",
    "SKEEMA_OPTIONS",
    "SYSTEM_SCHEMAS",
    "NormalizedToken",
    "OptionDef",
    "OptionRegistry",
    "OptionType",
    "normalize_token",
    "parse_bool",
    "parse_enum",
    "parse_int",
    "parse_regex",
    "parse_size",
    "parse_value",
]


class OptionType(enum.Enum):
    BOOL = "bool"
    STRING = "string"
    ENUM = "enum"
    INT = "int"
    SIZE = "size"
    REGEX = "regex"


INIT = "init"
ADD_ENVIRONMENT = "add-environment"
PULL = "pull"
DIFF = "diff"
PUSH = "push"
LINT = "lint"
FORMAT = "format"
ALL_COMMANDS: frozenset[str] = frozenset({INIT, ADD_ENVIRONMENT, PULL, DIFF, PUSH, LINT, FORMAT})

# Schemas never managed, whatever `schema` says.
SYSTEM_SCHEMAS: frozenset[str] = frozenset({"information_schema", "performance_schema", "mysql", "sys"})

_WORKSPACE_COMMANDS = frozenset({PULL, LINT, FORMAT, DIFF, PUSH})
_DIFF_PUSH = frozenset({DIFF, PUSH})
_LINT_COMMANDS = frozenset({LINT, DIFF, PUSH})

_FALSE_STRINGS = frozenset({"", "0", "false", "off"})
ON = "1"  # how a true bool default is spelled


@dataclass(frozen=True, slots=True)
class OptionDef:
    """One option.  `default` is the string form, as it would appear in a file."""

    name: str
    type: OptionType
    default: str = ""
    short: str = ""
    commands: frozenset[str] = ALL_COMMANDS
    value_optional: bool = False  # a bare `name` is legal and means "no value given"
    choices: tuple[str, ...] = ()
    # For enums that also accept bool-false spellings (`skip-lint-pk`): the choice they mean.
    false_choice: str = ""
    hidden: bool = False
    deprecated: bool = False
    alias_of: str = ""  # deprecated spelling of another option
    premium: bool = False  # Skeema Premium only: tolerated in files, otherwise unused
    description: str = ""

    @property
    def requires_value(self) -> bool:
        """True when a bare `name` line (no `=`) is an error."""
        return self.type is not OptionType.BOOL and not self.value_optional


@dataclass(frozen=True, slots=True)
class NormalizedToken:
    """An option name as written, split into its canonical name and prefixes."""

    name: str
    negated: bool  # skip- / disable-
    loose: bool  # loose- (unknown names are ignored)


def normalize_token(token: str) -> NormalizedToken:
    """Lower-case, `_` to `-`, then strip `loose-` and one of `skip-`/`disable-`/`enable-`.

    The order matters and follows mybase: `loose-skip-x` is a loose negation,
    `skip-loose-x` names an option called `loose-x`.
    """
    name = token.strip().lower().replace("_", "-")
    loose = name.startswith("loose-")
    if loose:
        name = name[len("loose-") :]
    negated = False
    for prefix, neg in (("skip-", True), ("disable-", True), ("enable-", False)):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            negated = neg
            break
    return NormalizedToken(name=name, negated=negated, loose=loose)


class OptionRegistry:
    """An immutable set of `OptionDef`s, looked up by (normalized) name or short flag."""

    __slots__ = ("_by_name",)

    def __init__(self, options: Iterable[OptionDef]) -> None:
        by_name: dict[str, OptionDef] = {}
        for opt in options:
            if opt.name in by_name:
                raise ValueError(f"option {opt.name} defined twice")
            by_name[opt.name] = opt
        for opt in by_name.values():
            if opt.alias_of and opt.alias_of not in by_name:
                raise ValueError(f"option {opt.name} is an alias of unknown option {opt.alias_of}")
        for cmd in ALL_COMMANDS:
            seen: dict[str, str] = {}
            for opt in by_name.values():
                if opt.short and cmd in opt.commands:
                    if opt.short in seen:
                        raise ValueError(f"short flag -{opt.short} used by {seen[opt.short]} and {opt.name}")
                    seen[opt.short] = opt.name
        self._by_name: Mapping[str, OptionDef] = MappingProxyType(by_name)

    def find(self, name: str) -> OptionDef | None:
        return self._by_name.get(name.strip().lower().replace("_", "-"))

    def __getitem__(self, name: str) -> OptionDef:
        opt = self.find(name)
        if opt is None:
            raise KeyError(f"unknown option {name!r}")
        return opt

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __iter__(self) -> Iterator[OptionDef]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def canonical(self, name: str) -> str:
        """The name an alias stands for (the name itself for non-aliases)."""
        opt = self[name]
        return opt.alias_of or opt.name

    def aliases(self, name: str) -> tuple[str, ...]:
        """Deprecated spellings of `name`."""
        canon = self.canonical(name)
        return tuple(o.name for o in self._by_name.values() if o.alias_of == canon)

    def for_command(self, command: str) -> list[OptionDef]:
        """Options accepted on the command line of `command`, sorted by name."""
        return sorted((o for o in self._by_name.values() if command in o.commands), key=lambda o: o.name)

    def by_short(self, command: str, short: str) -> OptionDef | None:
        for opt in self._by_name.values():
            if opt.short == short and command in opt.commands:
                return opt
        return None


# --------------------------------------------------------------------------- values


def _where(source: str) -> str:
    return f"{source}: " if source else ""


def parse_bool(value: str) -> bool:
    """mybase truthiness: "", "0", "false", "off" (any case) are false, all else true."""
    return value.strip().lower() not in _FALSE_STRINGS


_INT_RE = re.compile(r"[+-]?[0-9]+")


def parse_int(value: str, *, name: str, source: str = "") -> int:
    text = value.strip()
    if not _INT_RE.fullmatch(text):
        raise ConfigError(f"{_where(source)}option {name}: {value!r} is not an integer")
    return int(text)


_SIZE_RE = re.compile(r"([0-9]+)([kmg]?)b?")
_SIZE_MULTIPLIERS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: str, *, name: str, source: str = "") -> int:
    """Bytes: digits with an optional K/M/G suffix (x1024^n, any case, optional trailing B)."""
    text = value.strip().lower()
    if text == "":
        return 0
    m = _SIZE_RE.fullmatch(text)
    if m is None:
        raise ConfigError(f"{_where(source)}option {name}: {value!r} is not a size (e.g. 1024, 64K, 10M, 2G)")
    return int(m.group(1)) * _SIZE_MULTIPLIERS[m.group(2)]


def parse_enum(value: str, opt: OptionDef, *, source: str = "") -> str:
    """The matching choice (in its registry spelling); the default is always allowed."""
    text = value.strip().lower()
    if opt.false_choice and text in _FALSE_STRINGS:
        return opt.false_choice
    allowed = list(opt.choices)
    if opt.default.lower() not in (c.lower() for c in allowed):
        allowed.append(opt.default)
    for choice in allowed:
        if text == choice.lower():
            return choice
    listed = ", ".join(f'"{c}"' for c in allowed)
    raise ConfigError(f"{_where(source)}option {opt.name} can only be set to one of these values: {listed}")


# RE2's `\z` (end of text) is Python's `\Z`; other common syntax is shared.
_RE2_END = re.compile(r"(?<!\\)((?:\\\\)*)\\z")


def parse_regex(value: str, *, name: str, source: str = "") -> re.Pattern[str] | None:
    """Compile a Go RE2-style pattern with Python `re`; an empty value means no pattern."""
    if value == "":
        return None
    try:
        return re.compile(_RE2_END.sub(r"\1\\Z", value))
    except re.error as exc:
        raise ConfigError(f"{_where(source)}invalid regular expression for option {name}: {exc}") from None


def parse_value(opt: OptionDef, value: str, *, source: str = "") -> bool | int | str | re.Pattern[str] | None:
    """Typed value of `opt` (strings come back unchanged)."""
    if opt.type is OptionType.BOOL:
        return parse_bool(value)
    if opt.type is OptionType.INT:
        return parse_int(value, name=opt.name, source=source)
    if opt.type is OptionType.SIZE:
        return parse_size(value, name=opt.name, source=source)
    if opt.type is OptionType.ENUM:
        return parse_enum(value, opt, source=source)
    if opt.type is OptionType.REGEX:
        return parse_regex(value, name=opt.name, source=source)
    return value


# --------------------------------------------------------------------------- the options


_SEVERITIES = ("ignore", "warning", "error")


def _lint(
    rule: str, default: str, description: str, *, hidden: bool = False, deprecated: bool = False
) -> OptionDef:
    return OptionDef(
        name=f"lint-{rule}",
        type=OptionType.ENUM,
        default=default,
        commands=_LINT_COMMANDS,
        choices=_SEVERITIES,
        false_choice="ignore",
        hidden=hidden,
        deprecated=deprecated,
        description=description,
    )


def _premium(name: str) -> OptionDef:
    # Value-optional strings accept every spelling Premium files use (bare, =x, skip-).
    return OptionDef(name=name, type=OptionType.STRING, value_optional=True, premium=True, hidden=True)


def _definitions() -> list[OptionDef]:
    b = partial(OptionDef, type=OptionType.BOOL)
    s = partial(OptionDef, type=OptionType.STRING)
    e = partial(OptionDef, type=OptionType.ENUM)
    i = partial(OptionDef, type=OptionType.INT)
    z = partial(OptionDef, type=OptionType.SIZE)
    r = partial(OptionDef, type=OptionType.REGEX)
    host_cmds = frozenset({INIT, ADD_ENVIRONMENT})
    return [
        # ---- global / connection
        s("host", short="h", commands=host_cmds, description="database host(s); only in .skeema files"),
        i("port", default="3306", short="P", description="TCP port"),
        s(
            "socket",
            default="/tmp/mysql.sock",
            short="S",
            description="unix socket used when host is localhost",
        ),
        s("schema", commands=frozenset({INIT}), description="schema name(s) a directory maps to"),
        s("default-character-set", hidden=True, description="schema default character set"),
        s("default-collation", hidden=True, description="schema default collation"),
        s("flavor", hidden=True, description="vendor:major.minor of the server"),
        s("generator", hidden=True, description="version of the tool that last wrote the dir"),
        s("user", default="root", short="u", description="user to connect as"),
        s("password", short="p", value_optional=True, description="password; bare = prompt on the TTY"),
        s("host-wrapper", short="H", description="command printing the host list"),
        s("connect-options", short="o", description="session variables / driver params"),
        r("ignore-schema", description="ignore schemas matching this regex"),
        r("ignore-table", description="ignore tables matching this regex"),
        r("ignore-proc", description="ignore procedures matching this regex"),
        r("ignore-func", description="ignore functions matching this regex"),
        e("ssl-mode", choices=("disabled", "preferred", "required"), description="TLS use"),
        b("debug", description="debug logging"),
        b("my-cnf", default=ON, deprecated=True, description="read ~/.my.cnf"),
        # ---- workspace
        e(
            "workspace",
            default="temp-schema",
            short="w",
            commands=_WORKSPACE_COMMANDS,
            choices=("temp-schema", "docker"),
            description="where CREATEs are test-run",
        ),
        s(
            "temp-schema",
            default="_skeema_tmp",
            short="t",
            commands=_WORKSPACE_COMMANDS | {INIT},
            description="scratch schema name",
        ),
        e(
            "temp-schema-mode",
            default="regular",
            commands=_WORKSPACE_COMMANDS,
            choices=("serial", "light", "regular", "heavy", "extreme"),
            description="workspace load vs speed",
        ),
        i("temp-schema-threads", default="5", commands=_WORKSPACE_COMMANDS, deprecated=True),
        e(
            "temp-schema-binlog",
            default="auto",
            commands=_WORKSPACE_COMMANDS,
            choices=("on", "off", "auto"),
            deprecated=True,
        ),
        e(
            "docker-cleanup",
            default="none",
            commands=_WORKSPACE_COMMANDS,
            choices=("none", "stop", "destroy"),
            description="what to do with workspace containers at exit",
        ),
        b("reuse-temp-schema", commands=_WORKSPACE_COMMANDS, hidden=True, deprecated=True),
        # ---- init / add-environment / pull / lint / format
        # init's real default is the host name (computed by the command); add-environment's is ".".
        s("dir", default=".", short="d", commands=host_cmds, description="host directory to create or edit"),
        b("include-auto-inc", commands=frozenset({INIT, PULL}), description="keep AUTO_INCREMENT=n"),
        b(
            "strip-partitioning",
            commands=frozenset({INIT, PULL, LINT, FORMAT}),
            description="omit PARTITION BY in files",
        ),
        b("update-partitioning", commands=frozenset({PULL}), description="refresh PARTITION BY in files"),
        b("format", default=ON, commands=frozenset({PULL, LINT}), description="canonicalise files"),
        b(
            "normalize",
            default=ON,
            commands=frozenset({PULL}),
            alias_of="format",
            hidden=True,
            deprecated=True,
        ),
        b("new-schemas", default=ON, commands=frozenset({PULL}), description="create dirs for new schemas"),
        b("write", default=ON, commands=frozenset({FORMAT}), description="rewrite files (skip-write: check)"),
        # ---- diff / push
        b("exact-match", commands=_DIFF_PUSH, description="also apply cosmetic differences"),
        b("compare-metadata", commands=_DIFF_PUSH, description="compare routine creation metadata"),
        b("alter-validate-virtual", commands=_DIFF_PUSH, deprecated=True),
        b("lax-column-order", commands=_DIFF_PUSH, description="ignore column-position changes"),
        b("lax-comments", commands=_DIFF_PUSH, description="ignore comment-only changes"),
        e(
            "alter-lock",
            commands=_DIFF_PUSH,
            choices=("none", "shared", "exclusive", "default"),
            description="LOCK= clause for ALTER TABLE",
        ),
        e(
            "alter-algorithm",
            commands=_DIFF_PUSH,
            choices=("inplace", "copy", "instant", "nocopy", "default"),
            description="ALGORITHM= clause for ALTER TABLE",
        ),
        e(
            "partitioning",
            default="keep",
            commands=_DIFF_PUSH,
            choices=("keep", "remove", "modify"),
            description="partitioning differences",
        ),
        s("alter-wrapper", short="x", commands=_DIFF_PUSH, description="command replacing ALTER TABLE"),
        z("alter-wrapper-min-size", default="0", commands=_DIFF_PUSH, description="min table size for it"),
        s("ddl-wrapper", short="X", commands=_DIFF_PUSH, description="command wrapping every DDL"),
        b("lint", default=ON, commands=_DIFF_PUSH, description="lint changed objects"),
        b("verify", default=ON, commands=_DIFF_PUSH, description="test ALTERs in a workspace"),
        b("allow-unsafe", commands=_DIFF_PUSH, description="permit destructive DDL"),
        b("dry-run", commands=_DIFF_PUSH, description="print DDL only"),
        b("foreign-key-checks", commands=_DIFF_PUSH, description="check new FKs"),
        # schemad addition: a push holds a per-schema lock; a second push waits this long.
        i("push-lock-timeout", default="30", commands=frozenset({PUSH}), description="seconds to wait"),
        # schemad addition: how `lint` reports findings (text logs; json/sarif/github on STDOUT).
        e(
            "output",
            default="text",
            commands=frozenset({LINT}),
            choices=("text", "json", "sarif", "github"),
            description="lint findings as text, json, sarif or github",
        ),
        # schemad addition: bypass the on-disk canonical-form cache of the workspace.
        b("no-cache", commands=_WORKSPACE_COMMANDS, description="run every CREATE in the workspace"),
        z("safe-below-size", default="0", commands=_DIFF_PUSH, description="tables below may get unsafe DDL"),
        b("first-only", short="1", commands=_DIFF_PUSH, description="first host and schema per dir only"),
        b("brief", short="q", commands=_DIFF_PUSH, description="list differing servers only"),
        i(
            "concurrent-servers",
            default="1",
            short="c",
            commands=_DIFF_PUSH,
            description="servers in parallel",
        ),
        i(
            "concurrent-instances",
            default="1",
            commands=_DIFF_PUSH,
            alias_of="concurrent-servers",
            hidden=True,
            deprecated=True,
        ),
        # ---- lint rules and their companions
        _lint("pk", "warning", "table without PRIMARY KEY"),
        _lint("dupe-index", "warning", "redundant index"),
        _lint("charset", "warning", "character set not allowed"),
        _lint("engine", "warning", "storage engine not allowed"),
        _lint("compression", "warning", "compression not allowed"),
        _lint("auto-inc", "warning", "auto_increment type not allowed or near its max"),
        _lint("definer", "error", "routine DEFINER not allowed"),
        _lint("zero-date", "warning", "zero date default"),
        _lint("reserved-word", "warning", "reserved word as a name"),
        _lint("fk-parent", "warning", "foreign key parent missing or without unique index"),
        _lint("display-width", "warning", "non-default int display width", deprecated=True),
        _lint("has-enum", "ignore", "ENUM/SET columns"),
        _lint("has-fk", "ignore", "any foreign key"),
        _lint("has-float", "ignore", "FLOAT/DOUBLE columns"),
        _lint("has-time", "ignore", "TIMESTAMP/DATETIME/TIME columns"),
        _lint("has-routine", "ignore", "any procedure or function"),
        _lint("name-case", "ignore", "table name with uppercase letters"),
        _lint("pk-type", "ignore", "primary key column type not allowed"),
        _lint("ids", "ignore", "id columns not bigint unsigned", hidden=True),
        _lint("nullable", "ignore", "nullable columns", hidden=True),
        # schemad additions (Premium has rules of the same names): default ignore.
        _lint("has-view", "ignore", "any view"),
        _lint("has-trigger", "ignore", "any trigger"),
        _lint("has-event", "ignore", "any event"),
        s("allow-charset", default="latin1,utf8mb4", commands=_LINT_COMMANDS, description="for lint-charset"),
        s("allow-engine", default="innodb", commands=_LINT_COMMANDS, description="for lint-engine"),
        s(
            "allow-compression",
            default="none,4kb,8kb",
            commands=_LINT_COMMANDS,
            description="for lint-compression",
        ),
        s(
            "allow-auto-inc",
            default="int unsigned, bigint unsigned",
            commands=_LINT_COMMANDS,
            description="for lint-auto-inc",
        ),
        s("allow-definer", default="%@%", commands=_LINT_COMMANDS, description="for lint-definer"),
        s("allow-pk-type", commands=_LINT_COMMANDS, description="for lint-pk-type"),
        s("warnings", commands=_LINT_COMMANDS, hidden=True, deprecated=True),
        s("errors", commands=_LINT_COMMANDS, hidden=True, deprecated=True),
        # ---- Premium-only names, tolerated so shared .skeema files parse
        *(
            _premium(n)
            for n in (
                "ignore-view",
                "ignore-trigger",
                "ignore-event",
                "inserts",
                "update-seed-inserts",
                "update-views",
                "strip-definer",
                "ssl-ca",
                "ssl-cert",
                "ssl-key",
                "ssl-verify-server-cert",
                "server-public-key-path",
                "ssh",
                "ssh-to-db",
                "temp-schema-environment",
            )
        ),
    ]


# Immutable: built once from constants, no I/O.
SKEEMA_OPTIONS = OptionRegistry(_definitions())
