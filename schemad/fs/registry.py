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
from functools import partial
from types import MappingProxyType
from typing import TypedDict

from schemad import lazyre
from schemad.errors import ConfigError
from schemad.records import dataclass

__all__ = [
    "ADD_ENVIRONMENT",
    "ALL_COMMANDS",
    "DIFF",
    "FORMAT",
    "GLOBAL_GROUP",
    "INIT",
    "LINT",
    "PULL",
    "PUSH",
    "SKEEMA_OPTIONS",
    "SYSTEM_SCHEMAS",
    "HelpEntry",
    "HelpVariant",
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


# Help groups, named as Skeema's --help names them ("" = the command's own options).
GLOBAL_GROUP = "global"
_WORKSPACE_GROUP = "workspace"
_LINT_GROUP = "linter rule"
_SQL_GROUP = "SQL generation"
_TOOL_GROUP = "External tool"
_SAFETY_GROUP = "safety"
_SHARDING_GROUP = "sharding"
_FORMAT_GROUP = "Format"


@dataclass(frozen=True, slots=True)
class HelpVariant:
    """How the --help of `commands` shows an option, where it differs from the option's own fields."""

    commands: frozenset[str]
    group: str | None = None  # None: the option's group
    hidden: bool | None = None  # None: the option's `hidden`
    description: str = ""  # "": the option's description
    default: str | None = None  # the default as shown, when it is not the literal one (computed, $VAR)


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """One line of a command's --help: an option as that command shows it."""

    option: OptionDef
    group: str
    description: str
    default: str  # as shown; "" = no default worth showing


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
    group: str = ""  # the --help group ("" = the command's own options)
    help_variants: tuple[HelpVariant, ...] = ()  # per-command differences in --help

    @property
    def requires_value(self) -> bool:
        """True when a bare `name` line (no `=`) is an error."""
        return self.type is not OptionType.BOOL and not self.value_optional

    def help_entry(self, command: str) -> HelpEntry | None:
        """How `command`'s --help shows this option; None when it doesn't (hidden, alias, Premium)."""
        if command not in self.commands or self.alias_of or self.premium:
            return None
        group, hidden, description, default = self.group, self.hidden, self.description, self.default
        for v in self.help_variants:
            if command in v.commands:
                group = group if v.group is None else v.group
                hidden = hidden if v.hidden is None else v.hidden
                description = v.description or description
                default = default if v.default is None else v.default
        if hidden:
            return None
        if self.type is OptionType.BOOL:
            default = default if parse_bool(default) else ""
        return HelpEntry(self, group, description, default)


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

    def help_groups(self, command: str) -> list[tuple[str, list[HelpEntry]]]:
        """`command`'s options for --help, grouped as Skeema groups them.

        The command's own options ("" group) first, then the other groups by
        name, global options last; each group sorted by option name.
        """
        groups: dict[str, list[HelpEntry]] = {}
        for opt in self.for_command(command):
            entry = opt.help_entry(command)
            if entry is not None:
                groups.setdefault(entry.group, []).append(entry)
        middle = sorted(g for g in groups if g not in ("", GLOBAL_GROUP))
        order = [g for g in ("", *middle, GLOBAL_GROUP) if g in groups]
        return [(g, groups[g]) for g in order]

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


_INT_RE = lazyre.compile(r"[+-]?[0-9]+")


def parse_int(value: str, *, name: str, source: str = "") -> int:
    text = value.strip()
    if not _INT_RE.fullmatch(text):
        raise ConfigError(f"{_where(source)}option {name}: {value!r} is not an integer")
    return int(text)


_SIZE_RE = lazyre.compile(r"([0-9]+)([kmg]?)b?")
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
    # `_` and `-` are one character in values as in names (ssl-mode=VERIFY_CA = verify-ca).
    text = text.replace("_", "-")
    for choice in allowed:
        if text == choice.lower().replace("_", "-"):
            return choice
    listed = ", ".join(f'"{c}"' for c in allowed)
    raise ConfigError(f"{_where(source)}option {opt.name} can only be set to one of these values: {listed}")


# RE2's `\z` (end of text) is Python's `\Z`; other common syntax is shared.
_RE2_END = lazyre.compile(r"(?<!\\)((?:\\\\)*)\\z")


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
        group=_LINT_GROUP,
    )


def _premium(name: str) -> OptionDef:
    # Value-optional strings accept every spelling Premium files use (bare, =x, skip-).
    return OptionDef(name=name, type=OptionType.STRING, value_optional=True, premium=True, hidden=True)


class _Placement(TypedDict, total=False):
    """Where a family of options is accepted and listed."""

    commands: frozenset[str]
    group: str


def _definitions() -> list[OptionDef]:
    b = partial(OptionDef, type=OptionType.BOOL)
    s = partial(OptionDef, type=OptionType.STRING)
    e = partial(OptionDef, type=OptionType.ENUM)
    i = partial(OptionDef, type=OptionType.INT)
    z = partial(OptionDef, type=OptionType.SIZE)
    r = partial(OptionDef, type=OptionType.REGEX)
    host_cmds = frozenset({INIT, ADD_ENVIRONMENT})
    glob: _Placement = {"group": GLOBAL_GROUP}
    ws: _Placement = {"commands": _WORKSPACE_COMMANDS, "group": _WORKSPACE_GROUP}
    sql: _Placement = {"commands": _DIFF_PUSH, "group": _SQL_GROUP}
    tool: _Placement = {"commands": _DIFF_PUSH, "group": _TOOL_GROUP}
    safety: _Placement = {"commands": _DIFF_PUSH, "group": _SAFETY_GROUP}
    sharding: _Placement = {"commands": _DIFF_PUSH, "group": _SHARDING_GROUP}
    allow: _Placement = {"commands": _LINT_COMMANDS, "group": _LINT_GROUP}
    # port and socket belong in .skeema files: --help lists them where a host is given on the CLI.
    connection_help = (HelpVariant(ALL_COMMANDS - host_cmds, hidden=True),)
    # lint groups its formatting options apart; pull, format and init list them as their own.
    format_help = (HelpVariant(frozenset({LINT}), group=_FORMAT_GROUP),)
    return [
        # ---- global / connection
        s("host", short="h", commands=host_cmds, description="database server (host name, IP, or host:port)"),
        i(
            "port",
            default="3306",
            short="P",
            description="TCP port of the server",
            help_variants=connection_help,
        ),
        s(
            "socket",
            default="/tmp/mysql.sock",
            short="S",
            description="unix socket file, used when host is localhost",
            help_variants=connection_help,
        ),
        s(
            "schema",
            commands=frozenset({INIT}),
            description="export only this schema, into the host dir itself instead of a subdir per schema",
        ),
        s("default-character-set", hidden=True, description="schema default character set"),
        s("default-collation", hidden=True, description="schema default collation"),
        s("flavor", hidden=True, description="vendor:major.minor of the server"),
        s("generator", hidden=True, description="version of the tool that last wrote the dir"),
        s("user", default="root", short="u", description="user name to connect as", **glob),
        s(
            "password",
            short="p",
            value_optional=True,
            description="password of that user; must be attached (-pSECRET, --password=SECRET); "
            "-p alone prompts on the terminal",
            help_variants=(HelpVariant(ALL_COMMANDS, default="$MYSQL_PWD"),),
            **glob,
        ),
        s(
            "host-wrapper",
            short="H",
            description="command that prints the real host list (service discovery); see the manual for "
            "its variables",
            **glob,
        ),
        s(
            "connect-options",
            short="o",
            description="comma-separated session variables to set on every connection",
            **glob,
        ),
        r("ignore-schema", description="leave out schemas whose name matches this regex", **glob),
        r("ignore-table", description="leave out tables whose name matches this regex", **glob),
        r("ignore-proc", description="leave out procedures whose name matches this regex", **glob),
        r("ignore-func", description="leave out functions whose name matches this regex", **glob),
        # ignore-table also leaves out views (one namespace) and the triggers of the tables it matches.
        r("ignore-view", description="leave out views whose name matches this regex", **glob),
        r("ignore-trigger", description="leave out triggers whose name matches this regex", **glob),
        r("ignore-event", description="leave out events whose name matches this regex", **glob),
        e(
            "ssl-mode",
            choices=("disabled", "preferred", "required", "verify-ca", "verify-identity"),
            description="whether connections use TLS and what they verify of the server's certificate "
            "(default: preferred, or verify-ca when ssl-ca is set)",
            **glob,
        ),
        b("debug", description="log debug messages too", **glob),
        b(
            "my-cnf",
            default=ON,
            deprecated=True,
            description="read user, password, port and socket from ~/.my.cnf",
            **glob,
        ),
        # [ssh] Skeema Premium's tunnels, plus two schemad additions naming the files they use.
        s(
            "ssh",
            description="reach the servers through this SSH bastion, [user@]host[:port] (user and port "
            "default to ~/.ssh/config's, else the local user and 22)",
            **glob,
        ),
        b(
            "ssh-to-db",
            description="log in over SSH to each database host itself (after the ssh bastion, if set) "
            "and connect from there to its 127.0.0.1:port, or its socket",
            **glob,
        ),
        s(
            "ssh-known-hosts",
            default="~/.ssh/known_hosts",
            description="known_hosts file the SSH host keys are checked against; an unknown or changed "
            "key is refused (schemad addition)",
            **glob,
        ),
        s(
            "ssh-identity-file",
            description="private key offered before ssh-agent's and ~/.ssh/id_*; unencrypted, a key "
            "with a passphrase must come from the agent (schemad addition)",
            **glob,
        ),
        # ---- workspace
        # `local` is a schemad addition: a throwaway server from the local binaries.
        e(
            "workspace",
            default="temp-schema",
            short="w",
            choices=("temp-schema", "docker", "local"),
            description="where the files' CREATE statements are test-run: temp-schema (on the target), "
            "docker (a container) or local (a throwaway server from the local binaries)",
            **ws,
        ),
        s(
            "temp-schema",
            default="_skeema_tmp",
            short="t",
            description="scratch schema the workspace creates and drops on each run",
            help_variants=(HelpVariant(frozenset({INIT}), hidden=True),),
            commands=_WORKSPACE_COMMANDS | {INIT},
            group=_WORKSPACE_GROUP,
        ),
        e(
            "temp-schema-mode",
            default="regular",
            choices=("serial", "light", "regular", "heavy", "extreme"),
            description="how hard the workspace may load the server (heavier is faster)",
            **ws,
        ),
        i(
            "temp-schema-threads",
            default="5",
            deprecated=True,
            description="workspace concurrency (superseded by temp-schema-mode)",
            **ws,
        ),
        e(
            "temp-schema-binlog",
            default="auto",
            choices=("on", "off", "auto"),
            deprecated=True,
            description="whether workspace DDL goes to the binary log",
            **ws,
        ),
        e(
            "docker-cleanup",
            default="none",
            choices=("none", "stop", "destroy"),
            description="with workspace=docker, what to do with the container when done",
            **ws,
        ),
        s(
            "docker-image",
            description="with workspace=docker, the image to run (default: the flavor's, e.g. mariadb:10.11)",
            **ws,
        ),
        # schemad addition: how long workspace=local's server outlives the commands that use it.
        s(
            "local-workspace-idle",
            default="5m",
            description="with workspace=local, how long the local server stays up unused "
            "(e.g. 30s, 5m, 1h; 0 stops it as soon as no command uses it)",
            **ws,
        ),
        s(
            "temp-schema-environment",
            description="with workspace=temp-schema, run the temp schema on the server of this other "
            "environment (a section of the same .skeema files) instead of the target's",
            **ws,
        ),
        b("reuse-temp-schema", hidden=True, deprecated=True, **ws),
        # schemad addition: bypass the on-disk canonical-form cache of the workspace.
        b(
            "no-cache",
            description="run every CREATE in the workspace, ignoring the on-disk cache of earlier runs",
            **ws,
        ),
        # ---- init / add-environment / pull / lint / format
        # init's real default is the host name (computed by the command); add-environment's is ".".
        s(
            "dir",
            default=".",
            short="d",
            commands=host_cmds,
            description="host dir to edit",
            help_variants=(
                HelpVariant(
                    frozenset({INIT}), description="host dir to create for the server", default="<hostname>"
                ),
            ),
        ),
        b(
            "include-auto-inc",
            commands=frozenset({INIT, PULL}),
            description="keep the next AUTO_INCREMENT value of tables in their files",
        ),
        b(
            "strip-partitioning",
            commands=frozenset({INIT, PULL, LINT, FORMAT}),
            description="leave PARTITION BY clauses out of the files",
            help_variants=format_help,
        ),
        # Unset (the default) = on for a user that cannot create objects with another DEFINER.
        b(
            "strip-definer",
            commands=frozenset({INIT, PULL, LINT, FORMAT, DIFF, PUSH}),
            description="leave DEFINER clauses out of the files (views, routines, triggers, events); "
            "diff and push then match any definer where a file names none (default: on when the user "
            "lacks SUPER / SET USER)",
            help_variants=(*format_help, HelpVariant(_DIFF_PUSH, group=_SQL_GROUP)),
        ),
        b(
            "update-views",
            commands=frozenset({PULL, LINT, FORMAT}),
            description="rewrite CREATE VIEW statements already in files into the server's one-line form "
            "(pull: also when the view changed on the server)",
            help_variants=format_help,
        ),
        b(
            "update-partitioning",
            commands=frozenset({PULL}),
            description="rewrite the PARTITION BY clauses of existing files too",
        ),
        b(
            "format",
            default=ON,
            commands=frozenset({PULL, LINT}),
            description="rewrite statements into the server's canonical form",
            help_variants=format_help,
        ),
        b(
            "normalize",
            default=ON,
            commands=frozenset({PULL}),
            alias_of="format",
            hidden=True,
            deprecated=True,
        ),
        # schemad addition: standalone CREATE INDEX / ALTER TABLE .. ADD statements are folded into their
        # table in the workspace; with this on, format (and lint's reformatting) also move them into the
        # file's CREATE.  pull always does: it writes the live CREATE, which already has them.
        b(
            "fold-standalone",
            default=ON,
            commands=frozenset({LINT, FORMAT}),
            description="move standalone CREATE INDEX and ALTER TABLE ... ADD INDEX/KEY/CONSTRAINT "
            "statements into their table's CREATE",
            help_variants=format_help,
        ),
        b(
            "new-schemas",
            default=ON,
            commands=frozenset({PULL}),
            description="add a dir for each schema of the server that has none yet",
        ),
        b(
            "update-seed-inserts",
            commands=frozenset({PULL}),
            description="rewrite the INSERT statements of tables whose files have some from the live rows",
        ),
        b(
            "write",
            default=ON,
            commands=frozenset({FORMAT}),
            description="write the reformatted files (--skip-write only reports which need it)",
        ),
        # schemad addition: how `lint` reports findings (text logs; json/sarif/github on STDOUT).
        e(
            "output",
            default="text",
            commands=frozenset({LINT}),
            choices=("text", "json", "sarif", "github"),
            description="findings as log lines (text) or one report on STDOUT (json, SARIF 2.1.0, "
            "GitHub workflow annotations)",
        ),
        # ---- diff / push
        b("exact-match", description="also apply differences that change nothing functionally", **sql),
        b(
            "compare-metadata",
            description="recreate routines whose creation-time sql_mode or collation differ",
            **sql,
        ),
        b(
            "alter-validate-virtual",
            deprecated=True,
            description="add WITH VALIDATION to ALTER TABLEs touching virtual columns",
            **sql,
        ),
        b("lax-column-order", description="leave columns that differ only in position alone", **sql),
        b("lax-comments", description="leave objects that differ only in comments alone", **sql),
        e(
            "alter-lock",
            choices=("none", "shared", "exclusive", "default"),
            description="add this LOCK clause to every ALTER TABLE",
            **sql,
        ),
        e(
            "alter-algorithm",
            choices=("inplace", "copy", "instant", "nocopy", "default"),
            description="add this ALGORITHM clause to every ALTER TABLE",
            **sql,
        ),
        # schemad addition: `modify-list` also adds, drops and reorganizes RANGE/LIST partitions.
        # Skeema's third value, `all` (insert into tables that have rows), is refused: never done here.
        e(
            "inserts",
            default="seed",
            choices=("none", "seed"),
            false_choice="none",
            description="run the INSERT statements of the *.sql files on tables that are new or empty "
            "(seed), or never (none)",
            **sql,
        ),
        e(
            "partitioning",
            default="keep",
            choices=("keep", "remove", "modify", "modify-list"),
            description="what to do about tables partitioned differently on the server (modify-list: "
            "also ADD/DROP/REORGANIZE PARTITION for RANGE and LIST partition lists)",
            **sql,
        ),
        s(
            "alter-wrapper",
            short="x",
            description="shell command that runs ALTER TABLE instead of the server (e.g. "
            "pt-online-schema-change); see the manual for its variables",
            help_variants=(
                HelpVariant(
                    frozenset({DIFF}),
                    description="print ALTER TABLEs as this shell command instead of plain DDL; see the "
                    "manual for its variables",
                ),
            ),
            **tool,
        ),
        z(
            "alter-wrapper-min-size",
            default="0",
            description="use alter-wrapper only for tables at least this size (bytes, or K/M/G)",
            **tool,
        ),
        s(
            "ddl-wrapper",
            short="X",
            description="shell command that runs every other DDL statement instead of the server",
            **tool,
        ),
        # schemad addition: a bound on each wrapper run (its process group is stopped, the statement fails).
        s(
            "wrapper-timeout",
            default="0",
            description="stop an alter-wrapper or ddl-wrapper run still going after this long and fail its "
            "statement (e.g. 30m, 6h; 0 = no limit)",
            **tool,
        ),
        b(
            "lint",
            default=ON,
            description="lint the objects being created or altered; an error skips the target",
            commands=_DIFF_PUSH,
            group=_LINT_GROUP,
        ),
        b(
            "verify",
            default=ON,
            description="replay each ALTER TABLE in the workspace before using it",
            **safety,
        ),
        b(
            "allow-unsafe",
            description="allow statements that can lose data (DROP TABLE, DROP COLUMN, narrowing a column)",
            help_variants=(
                HelpVariant(
                    frozenset({DIFF}), description="show statements that can lose data as if allowed"
                ),
            ),
            **safety,
        ),
        b(
            "dry-run",
            description="print the DDL without running it (what diff does)",
            help_variants=(HelpVariant(frozenset({DIFF}), hidden=True),),
            **safety,
        ),
        b(
            "foreign-key-checks",
            description="run ALTERs adding foreign keys with foreign_key_checks=1",
            help_variants=(HelpVariant(frozenset({DIFF}), hidden=True),),
            **safety,
        ),
        z(
            "safe-below-size",
            default="0",
            description="allow statements that can lose data on tables smaller than this (bytes, or K/M/G)",
            **safety,
        ),
        # schemad addition: how each ALTER TABLE will run (algorithm, lock, rule), as SQL comments.
        b(
            "verbose",
            description="say before each ALTER TABLE how the server will run it (INSTANT, INPLACE, COPY)",
            **safety,
        ),
        # schemad addition: a push holds a per-schema lock; a second push waits this long.
        i(
            "push-lock-timeout",
            default="30",
            commands=frozenset({PUSH}),
            group=_SAFETY_GROUP,
            description="seconds to wait for another push to the same schema to finish",
        ),
        # schemad addition: pre-flight check before pt-online-schema-change, gh-ost or Spirit starts.
        i(
            "osc-max-transaction-age",
            default="60",
            commands=frozenset({PUSH}),
            group=_SAFETY_GROUP,
            description="refuse to start an online schema change while a transaction older than this"
            " many seconds is open (0: no check)",
        ),
        # schemad addition: pre-flight checks an operator knows do not apply (e.g. binlog when gh-ost
        # reads a replica's).
        s(
            "osc-skip-checks",
            commands=frozenset({PUSH}),
            group=_SAFETY_GROUP,
            description="comma-separated pre-flight checks not to run before an online schema change: key,"
            " long_transactions, metadata_lock_waiters, triggers, binlog, disk",
        ),
        b("first-only", short="1", description="use only the first host and schema of each dir", **sharding),
        b(
            "brief",
            short="q",
            description="print only the servers that differ, instead of the DDL",
            help_variants=(HelpVariant(frozenset({PUSH}), hidden=True),),
            **sharding,
        ),
        i(
            "concurrent-servers",
            default="1",
            short="c",
            description="servers worked on in parallel",
            **sharding,
        ),
        i(
            "concurrent-instances",
            default="1",
            alias_of="concurrent-servers",
            hidden=True,
            deprecated=True,
            **sharding,
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
        # schemad addition: a `@renamed from=` annotation whose new name the live schema already has.
        _lint("stale-rename", "warning", "@renamed annotation already applied"),
        s(
            "allow-charset",
            default="latin1,utf8mb4",
            description="character sets lint-charset accepts",
            **allow,
        ),
        s("allow-engine", default="innodb", description="storage engines lint-engine accepts", **allow),
        s(
            "allow-compression",
            default="none,4kb,8kb",
            description="compression modes lint-compression accepts",
            **allow,
        ),
        s(
            "allow-auto-inc",
            default="int unsigned, bigint unsigned",
            description="auto_increment column types lint-auto-inc accepts",
            **allow,
        ),
        s(
            "allow-definer",
            default="%@%",
            description="routine definers lint-definer accepts (% and _ wildcards)",
            **allow,
        ),
        s("allow-pk-type", description="primary key column types lint-pk-type accepts", **allow),
        s("warnings", hidden=True, deprecated=True, **allow),
        s("errors", hidden=True, deprecated=True, **allow),
        # ---- Premium-edition names (issue 14).  Each block below is owned by one piece of work
        # and turns its names from tolerated-and-ignored into real options.
        # [tls] certificates (ssl-mode, above, has the verify modes).  Relative file names are
        # relative to the option file that sets them, or to the working directory on the command line.
        s(
            "ssl-ca",
            description="PEM file of the CAs the servers' certificates must chain to (set alone: "
            "ssl-mode=verify-ca)",
            **glob,
        ),
        s(
            "ssl-cert",
            description="client certificate (PEM) for accounts created REQUIRE X509; needs ssl-key",
            **glob,
        ),
        s("ssl-key", description="private key (PEM) of ssl-cert", **glob),
        b(
            "ssl-verify-server-cert",
            description="verify the server's certificate and host name (same as ssl-mode=verify-identity)",
            **glob,
        ),
        s(
            "server-public-key-path",
            description="the server's RSA public key (PEM), for MySQL 8 caching_sha2_password over a "
            "connection without TLS",
            **glob,
        ),
        # [ssh] tunnels: real options now (with the connection options above).
        # [temp-schema-environment] and the ignore-view/trigger/event filters: real options now (above).
        # [definer] strip-definer, update-views: real options now (with strip-partitioning above).
        # [inserts] seed data: real options now (inserts with the SQL generation options, update-seed-inserts
        # with pull's).
    ]


# Immutable: built once from constants, no I/O.
SKEEMA_OPTIONS = OptionRegistry(_definitions())
