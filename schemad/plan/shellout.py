"""Build alter-wrapper / ddl-wrapper command lines the way Skeema does.

A wrapper option is a shell command template such as::

    pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE},p={PASSWORDX}

`WrapperCommand.from_template` interpolates the `{VAR}` placeholders and
returns an immutable command holding two texts: the real one (handed to
`/bin/sh -c`) and a display one in which secrets are replaced by `*****`.
The rules follow Skeema's `internal/shellout` exactly, except for masking:

* Placeholder names are case-insensitive (`{host}` = `{HOST}`).
* A value matching `^[\\w/@%=:.,+-]*$` (ASCII `\\w`, as in Go) is inserted
  raw; anything else is wrapped in single quotes, each `'` inside becoming
  `'"'"'`.  `/bin/sh` turns either form back into exactly the value.
* `{NAMEX}` (any variable name plus an `X`) runs with the real value and is
  shown as `*****`.  schemad also shows the password as `*****` when the
  template uses plain `{PASSWORD}` (Skeema prints it), and masks every secret
  value wherever else it turns up in the display text.
* An unknown `{VAR}` is a `WrapperTemplateError` (a `ConfigError`) naming it.
  Unknown names written as `${SHELLVAR}` or `{{ ... }}` are left untouched
  for the shell or a template engine.  As in Skeema, a *known* name is still
  substituted after a `$` (`${HOST}` becomes `$` + the host).
* An unclosed `{` or an empty template is an error.

`wrapper_variables` builds the standard variable set (HOST, PORT, SOCKET,
SCHEMA, USER, PASSWORD, ENVIRONMENT, DDL, CLAUSES, NAME, TABLE, SIZE, TYPE,
CLASS, CONNOPTS, DIRNAME, DIRPATH) from typed arguments.  schemad adds one
variable of its own, `{DEFAULTSFILE}`: the path of a temporary MySQL option
file holding the credentials (see `schemad.apply.clientcnf`).  It exists only
while the command runs, so a command built for printing leaves it *pending*:
shown as `{DEFAULTSFILE}` and refused by `argv_for_exec`.
`template_names`, `password_on_command_line`, `uses_defaults_file` and
`passes_mysql_pwd` answer what a template asks for without interpolating it.

This module does not run anything (see `schemad.apply.runner`), does not
choose between alter-wrapper and ddl-wrapper, and does not keep secrets out of
the process table by itself: a tool given `{PASSWORD}` on its command line
shows it to `ps` and `/proc/PID/cmdline` for as long as it runs; `{PASSWORDX}`
only masks what schemad prints.  `{DEFAULTSFILE}` keeps it off command lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import field

from schemad import lazyre
from schemad.connection.params import DRIVER_PARAMS, parse_connect_options
from schemad.errors import ConfigError
from schemad.records import dataclass

__all__ = [
    "DEFAULTSFILE",
    "MASK",
    "WRAPPER_VARIABLES",
    "WrapperCommand",
    "WrapperTemplateError",
    "escape_value",
    "passes_mysql_pwd",
    "password_on_command_line",
    "template_names",
    "uses_defaults_file",
    "wrapper_variables",
]

#: What every secret is replaced with in printed or logged text.
MASK = "*****"

#: The variables Skeema defines for alter-wrapper and ddl-wrapper, in its order.
WRAPPER_VARIABLES = (
    "HOST",
    "PORT",
    "SOCKET",
    "SCHEMA",
    "USER",
    "PASSWORD",
    "ENVIRONMENT",
    "DDL",
    "CLAUSES",
    "NAME",
    "TABLE",
    "SIZE",
    "TYPE",
    "CLASS",
    "CONNOPTS",
    "DIRNAME",
    "DIRPATH",
)

#: schemad's own variable: the path of a temporary [client] option file with the credentials.
DEFAULTSFILE = "DEFAULTSFILE"

# Skeema's escapeVarValue test: Go's \w is ASCII-only, hence re.ASCII.
_SAFE_VALUE = lazyre.compile(r"[\w/@%=:.,+-]*", re.ASCII)

# Skeema's RealConnectOptions also drops this one, which schemad's driver
# list does not need (it is banned earlier, in option validation).
_EXTRA_DRIVER_PARAMS = frozenset({"allowfallbacktoplaintext"})

_STATEMENT_TYPES = frozenset({"CREATE", "ALTER", "DROP"})

# `ALTER TABLE `t` ` / `CREATE TABLE `t` ` (optionally schema-qualified) at
# the start of a statement; what follows is {CLAUSES}.  An ALTER of a MariaDB
# system-versioned table comes as `SET STATEMENT system_versioning_alter_history=KEEP
# FOR ALTER TABLE ...` (schemad.diff.table_diff): its clauses are the ALTER's.
_IDENT = r"(?:`(?:[^`]|``)+`|[\w$]+)"
_TABLE_PREFIX = lazyre.compile(
    r"\s*(?:SET\s+STATEMENT\s+\w+\s*=\s*\w+\s+FOR\s+)?"
    rf"(?:ALTER|CREATE)\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:{_IDENT}\s*\.\s*)?{_IDENT}\s*",
    re.IGNORECASE,
)


def template_names(template: str) -> frozenset[str]:
    """The upper-cased names of every `{...}` in `template`, as interpolation walks it.

    Names are returned as written (`PASSWORDX` stays `PASSWORDX`); `{{...}}`
    yields `{...`, which is no variable, just as interpolation leaves it alone.
    An unclosed brace ends the walk (interpolating such a template fails).
    """
    names: set[str] = set()
    pos = 0
    while (start := template.find("{", pos)) >= 0:
        end = template.find("}", start + 1)
        if end < 0:
            break
        names.add(template[start + 1 : end].upper())
        pos = end + 1
    return frozenset(names)


def password_on_command_line(template: str) -> bool:
    """True if `template` puts the password on the tool's command line (`{PASSWORD}`/`{PASSWORDX}`)."""
    return not template_names(template).isdisjoint({"PASSWORD", "PASSWORDX"})


def uses_defaults_file(template: str) -> bool:
    """True if `template` asks for the temporary option file (`{DEFAULTSFILE}`)."""
    return not template_names(template).isdisjoint({DEFAULTSFILE, DEFAULTSFILE + "X"})


def passes_mysql_pwd(template: str) -> bool:
    """True if `template` itself reads `$MYSQL_PWD` / `${MYSQL_PWD}`: only then does the tool inherit it."""
    return reads_variable(template, "MYSQL_PWD")


def reads_variable(template: str, name: str) -> bool:
    """True if `template` itself reads `$NAME` / `${NAME}` (shell expansion in the wrapper command)."""
    n = re.escape(name)
    return re.search(rf"\$(?:{n}(?![A-Za-z0-9_])|\{{{n}\}})", template) is not None


def password_variables(template: str, password: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The variables of `environ` holding `password` (a `.skeema`'s `password=$VAR`, MYSQL_PWD) that
    `template` does not read itself: a wrapper tool must not inherit them (/proc/PID/environ)."""
    names = {"MYSQL_PWD"} | ({k for k, v in environ.items() if v == password} if password else set())
    return tuple(sorted(k for k in names if not reads_variable(template, k)))


class WrapperTemplateError(ConfigError):
    """A wrapper template that cannot be interpolated (unknown variable, unclosed brace)."""

    def __init__(self, message: str, *, variable: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.variable = variable  # upper-cased name as written, without braces; None if not about one
        self.position = position  # offset of the offending `{` in the template


def escape_value(value: str) -> str:
    """Quote `value` for `/bin/sh` as Skeema does: raw if harmless, else single-quoted."""
    if _SAFE_VALUE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


@dataclass(frozen=True, slots=True)
class WrapperCommand:
    """An interpolated wrapper command line; immutable, secrets masked in every printed form.

    Build it with `from_template`.  `str()` and `repr()` give only the masked
    display text; the real text is reachable only through `argv_for_exec()`.
    """

    template: str = field(repr=False)  # the option value as configured
    display: str  # the command with every secret replaced by MASK; safe to print and log
    _text: str = field(repr=False)  # the real command line, secrets included
    secrets: tuple[str, ...] = field(repr=False, default=())  # secret values, longest first
    pending: tuple[str, ...] = ()  # variables used but not known yet (DEFAULTSFILE); not runnable then
    _masker: _Masker = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_masker", _Masker(self.secrets))

    @classmethod
    def from_template(
        cls,
        template: str,
        variables: Mapping[str, str],
        *,
        secret_names: Iterable[str] = ("PASSWORD",),
        pending: Iterable[str] = (),
    ) -> WrapperCommand:
        """Interpolate `template` with `variables` (keys in any case).

        Variables named in `secret_names` are secret whether or not the
        template uses them; so is every variable the template uses in its
        `{NAMEX}` form.  Variables named in `pending` are known but have no
        value yet: they stay as written in both texts, and the command cannot
        be executed (it is for printing).  Raises `WrapperTemplateError` for an
        unknown variable or an unclosed brace, `ConfigError` for an empty
        template.
        """
        if not template.strip():
            raise ConfigError("wrapper command is empty")
        values: dict[str, str] = {}
        for key, value in variables.items():
            upper = key.upper()
            if upper in values:
                raise ValueError(f"variable {upper} given twice (names are case-insensitive)")
            values[upper] = value
        secret_vars = {name.upper() for name in secret_names}
        pending_vars = {name.upper() for name in pending}
        used_pending: list[str] = []

        real: list[str] = []
        shown: list[str] = []
        secrets: set[str] = {values[name] for name in secret_vars if values.get(name)}
        pos = 0
        while (start := template.find("{", pos)) >= 0:
            end = template.find("}", start + 1)
            if end < 0:
                raise WrapperTemplateError(
                    f"wrapper command: variable name missing closing brace at offset {start}",
                    position=start,
                )
            name = template[start + 1 : end].upper()
            masked = False
            base_name = name[:-1] if name.endswith("X") and name not in pending_vars else name
            if base_name in pending_vars:
                # Known, but only when the command runs: keep the placeholder as written.
                if base_name not in used_pending:
                    used_pending.append(base_name)
                real.append(template[pos : end + 1])
                shown.append(template[pos : end + 1])
                pos = end + 1
                continue
            if name in values:
                value = values[name]
            elif name.endswith("X") and name[:-1] in values:
                masked = True
                value = values[name[:-1]]
            elif (start > 0 and template[start - 1] == "$") or template[start + 1] == "{":
                # ${SHELLVAR} or {{ template }}: left for someone else to expand.
                real.append(template[pos : end + 1])
                shown.append(template[pos : end + 1])
                pos = end + 1
                continue
            else:
                raise WrapperTemplateError(
                    f"wrapper command: unknown variable {{{name}}}", variable=name, position=start
                )
            base = name[:-1] if masked else name
            secret = masked or base in secret_vars
            if masked and value:
                secrets.add(value)
            real.append(template[pos:start] + escape_value(value))
            shown.append(template[pos:start] + (MASK if secret else escape_value(value)))
            pos = end + 1
        real.append(template[pos:])
        shown.append(template[pos:])

        ordered = tuple(sorted(secrets, key=lambda s: (-len(s), s)))
        display = _Masker(ordered)("".join(shown))
        return cls(
            template=template,
            display=display,
            _text="".join(real),
            secrets=ordered,
            pending=tuple(used_pending),
        )

    def argv_for_exec(self) -> list[str]:
        """The argv to execute: `/bin/sh -c <real command line>`.

        Raises `ValueError` for a command built with pending variables.
        """
        if self.pending:
            names = ", ".join(f"{{{name}}}" for name in self.pending)
            raise ValueError(f"wrapper command still has pending variables: {names}")
        return ["/bin/sh", "-c", self._text]

    def mask(self, text: str) -> str:
        """`text` with every secret of this command (raw or shell-quoted) replaced by MASK."""
        return self._masker(text)

    @property
    def secret_forms(self) -> tuple[str, ...]:
        """Every string `mask` replaces: each secret, its quoted form and its lines; longest first."""
        return self._masker.forms

    def __str__(self) -> str:
        return self.display


class _Masker:
    """Replaces secrets in one left-to-right pass, longest match first."""

    __slots__ = ("_pattern", "forms")

    def __init__(self, secrets: tuple[str, ...]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            forms.add(secret)
            forms.add(escape_value(secret))
            # A secret that spans lines cannot be seen whole by a line-based
            # reader, so each of its lines is masked on its own as well.
            forms.update(part for part in secret.splitlines() if part)
        self.forms = tuple(sorted(forms, key=lambda s: (-len(s), s)))
        self._pattern = re.compile("|".join(map(re.escape, self.forms))) if self.forms else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


def wrapper_variables(
    *,
    host: str,
    port: int | None = None,
    socket: str | None = None,
    user: str = "",
    password: str = "",
    schema: str = "",
    environment: str = "",
    ddl: str = "",
    stmt_type: str,
    object_class: str,
    name: str,
    clauses: str | None = None,
    size: int = 0,
    connect_options: str | Iterable[tuple[str, str]] = "",
    dir_path: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """The variables of one wrapped statement, as Skeema's applier defines them.

    `stmt_type` is CREATE, ALTER or DROP; `object_class` is the object type in
    any case (TABLE, DATABASE, PROCEDURE, FUNCTION...).  PORT is empty when a
    socket is given and SOCKET is empty otherwise; SCHEMA is empty for
    database-level DDL; TABLE and CLAUSES are set for tables only.  CLAUSES is
    `clauses` when given, else the text of `ddl` after `ALTER TABLE `t` ` or
    `CREATE TABLE `t` ` (empty for DROP).  CONNOPTS is `connect_options` minus
    the driver-only parameters.  DIRNAME/DIRPATH come from `dir_path`.
    """
    kind = stmt_type.upper()
    if kind not in _STATEMENT_TYPES:
        raise ValueError(f"stmt_type must be one of {sorted(_STATEMENT_TYPES)}, not {stmt_type!r}")
    cls = object_class.upper()
    if not cls:
        raise ValueError("object_class must not be empty")
    if socket:
        port_text, socket_text = "", socket
    elif port is None:
        raise ValueError("either port or socket is required")
    else:
        port_text, socket_text = str(port), ""
    if size < 0:
        raise ValueError("size must not be negative")

    is_table = cls == "TABLE"
    if not is_table or kind == "DROP":
        clause_text = ""
    elif clauses is not None:
        clause_text = clauses
    else:
        clause_text = _clauses_of(ddl)

    if dir_path is None:
        dir_name = dir_text = ""
    else:
        dir_text = os.path.abspath(os.fspath(dir_path))
        dir_name = os.path.basename(dir_text.rstrip(os.sep)) or dir_text

    return {
        "HOST": host,
        "PORT": port_text,
        "SOCKET": socket_text,
        "SCHEMA": "" if cls == "DATABASE" else schema,
        "USER": user,
        "PASSWORD": password,
        "ENVIRONMENT": environment,
        "DDL": ddl,
        "CLAUSES": clause_text,
        "NAME": name,
        "TABLE": name if is_table else "",
        "SIZE": str(size),
        "TYPE": kind,
        "CLASS": cls,
        "CONNOPTS": _real_connect_options(connect_options),
        "DIRNAME": dir_name,
        "DIRPATH": dir_text,
    }


def _clauses_of(ddl: str) -> str:
    m = _TABLE_PREFIX.match(ddl)
    if m is None:
        raise ValueError("cannot find the table name at the start of the statement to derive CLAUSES")
    return ddl[m.end() :].rstrip().removesuffix(";").rstrip()


def _real_connect_options(options: str | Iterable[tuple[str, str]]) -> str:
    pairs = parse_connect_options(options).items() if isinstance(options, str) else options
    drop = DRIVER_PARAMS | _EXTRA_DRIVER_PARAMS
    return ",".join(f"{key}={value}" for key, value in pairs if key.lower() not in drop)
