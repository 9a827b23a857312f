"""Which statements an alter-wrapper / ddl-wrapper runs, and the command it runs them with.

Skeema's rules: `alter-wrapper` takes ALTER TABLE statements of tables whose
size is at least `alter-wrapper-min-size` (and then ALGORITHM=/LOCK= are left
out of that DDL when the min size is above 0: the tool chooses how to copy);
`ddl-wrapper` takes every other DDL.  The command is built with shellout
(escaping, masking); `diff` prints its masked display as `\\! <cmd>`.

Pure: sizes come from the caller, which reads them once.  Running the
command is schemad.apply.wrapped's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from schemad import lazyre
from schemad.connection.params import ConnParams
from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.errors import UnsupportedError
from schemad.model.keys import ObjectType, escape_identifier
from schemad.records import dataclass

if TYPE_CHECKING:
    from schemad.plan.shellout import WrapperCommand

__all__ = [
    "DIRECT",
    "PENDING",
    "Route",
    "RouteKind",
    "VersionedHistoryError",
    "WrapperConfig",
    "WrapperPlanner",
]

_ALGO_LOCK_RE = lazyre.compile(r"^(ALTER TABLE `(?:[^`]|``)+` )(?:ALGORITHM=\w+, )?(?:LOCK=\w+, )?")
_NAME = r"`(?:[^`]|``)+`"
# An ALTER that only renames (a `@renamed from=` annotation): RENAME COLUMN / KEY / INDEX, RENAME TO.
_RENAME_ONE = rf"RENAME (?:COLUMN|KEY|INDEX) {_NAME} TO {_NAME}"
_RENAMES_ONLY = lazyre.compile(
    # A system-versioned table's ALTER comes after SET STATEMENT (schemad.diff.table_diff).
    r"(?:SET STATEMENT system_versioning_alter_history=KEEP FOR )?"
    rf"ALTER TABLE {_NAME} (?:ALGORITHM=\w+, )?(?:LOCK=\w+, )?"
    rf"(?:RENAME TO {_NAME}|{_RENAME_ONE}(?:, {_RENAME_ONE})*)"
)


def renames_only(sql: str) -> bool:
    """True for an ALTER TABLE that only renames a table, columns or indexes (metadata only)."""
    return _RENAMES_ONLY.fullmatch(sql) is not None


class VersionedHistoryError(UnsupportedError):
    """An ALTER of a MariaDB system-versioned table that the alter-wrapper would take.

    An online-schema-change tool copies the current rows into a new table and
    swaps it in: the history rows would be lost.  Raised while routing, so the
    whole target is refused before any of its statements runs.
    """

    def __init__(self, schema: str, table: str, size: int | None, min_size: int) -> None:
        quoted = (
            f"{escape_identifier(schema)}.{escape_identifier(table)}" if schema else escape_identifier(table)
        )
        if size is not None:
            why = f"its size ({size} bytes) is at least alter-wrapper-min-size ({min_size})"
            example = f" (e.g. --alter-wrapper-min-size={size + 1})"
        else:  # sizes not read: the min size is 0, every ALTER TABLE goes to the wrapper
            why = f"alter-wrapper-min-size is {min_size}"
            example = ""
        super().__init__(
            f"{quoted} is a system-versioned table and {why}: the alter-wrapper would copy only its"
            " current rows and drop its history, so its ALTER TABLE runs neither through the wrapper nor"
            f" directly. Set alter-wrapper-min-size above the table's size for this push{example} to let"
            " the server alter it in place, or run the ALTER TABLE by hand"
        )
        self.schema = schema
        self.table = table
        self.size = size


class RouteKind(StrEnum):
    """How a planned statement runs."""

    DIRECT = "direct"  # on schemad's own connection
    ALTER_WRAPPER = "alter-wrapper"
    DDL_WRAPPER = "ddl-wrapper"
    PENDING = "pending"  # plan_from_models without sizes (sizes=None): the wrapper options need them


@dataclass(frozen=True, slots=True)
class Route:
    """How a statement runs, decided at plan time; `command` is the wrapper's masked display text."""

    kind: RouteKind = RouteKind.DIRECT
    command: str | None = None  # {DEFAULTSFILE} still pending: it is written just before the tool starts


DIRECT = Route()
PENDING = Route(RouteKind.PENDING)


@dataclass(frozen=True, slots=True)
class WrapperConfig:
    alter_wrapper: str = ""
    ddl_wrapper: str = ""
    alter_wrapper_min_size: int = 0
    timeout: float | None = None  # seconds; None waits for the tool as long as it runs
    environment: str = ""
    dir_path: str = ""

    @property
    def active(self) -> bool:
        return bool(self.alter_wrapper or self.ddl_wrapper)

    @property
    def needs_sizes(self) -> bool:
        """Whether routing or the commands depend on table sizes (min size, {SIZE} placeholders)."""
        templates = (self.alter_wrapper + self.ddl_wrapper).upper()
        return self.alter_wrapper_min_size > 0 or "{SIZE}" in templates or "{SIZEX}" in templates


def _class(step: Step) -> str:
    return "DATABASE" if step.key.type is ObjectType.DATABASE else step.key.type.sql


class WrapperPlanner:
    """Decides, per step, whether a wrapper runs it and builds the command."""

    def __init__(self, cfg: WrapperConfig, params: ConnParams, schema: str, sizes: Mapping[str, int]) -> None:
        self.cfg = cfg
        self.params = params
        self.schema = schema
        self.sizes = sizes

    def route(self, step: Step) -> tuple[str, str] | None:
        """The option (`alter-wrapper` or `ddl-wrapper`) and template that run `step`; None: run directly."""
        cfg = self.cfg
        if step.kind is DiffKind.INSERT:
            return None  # seed data is not DDL: it runs on the push's own connection
        size = self.sizes.get(step.key.name, 0) if step.key.type is ObjectType.TABLE else 0
        # A rename is metadata only, and online-schema-change tools refuse RENAME (pt-osc, gh-ost):
        # it never goes through the alter-wrapper (the ddl-wrapper, if set, still takes it).
        if (
            step.is_alter_table
            and cfg.alter_wrapper
            and size >= cfg.alter_wrapper_min_size
            and not renames_only(step.sql)
        ):
            # The one place routing is decided: every caller (CLI, daemon, executor) gets the refusal.
            before = step.table_diff.before if step.table_diff is not None else None
            if before is not None and before.system_versioned:
                known = self.sizes.get(step.key.name)
                raise VersionedHistoryError(self.schema, step.key.name, known, cfg.alter_wrapper_min_size)
            return "alter-wrapper", cfg.alter_wrapper
        if cfg.ddl_wrapper:
            return "ddl-wrapper", cfg.ddl_wrapper
        return None

    def route_of(self, step: Step) -> Route:
        """The plan's route for `step`: direct, or the wrapper with its masked command."""
        cmd = self.command_for(step)
        if cmd is None:
            return DIRECT
        routed = self.route(step)
        assert routed is not None  # a command means a route
        return Route(RouteKind(routed[0]), cmd.display)

    def command_for(self, step: Step, *, defaults_file: str | None = None) -> WrapperCommand | None:
        """The command that runs `step`, or None when it runs directly.

        Without `defaults_file`, a template's `{DEFAULTSFILE}` stays pending:
        the command can be printed but not run.
        """
        routed = self.route(step)
        if routed is None:
            return None
        # Only a plan with a wrapper step loads the command builder (shlex, masking).
        from schemad.plan.shellout import DEFAULTSFILE, WrapperCommand, wrapper_variables

        option, template = routed
        cfg = self.cfg
        table = step.key.type is ObjectType.TABLE
        size = self.sizes.get(step.key.name, 0) if table else 0
        sql = step.sql
        if option == "alter-wrapper" and cfg.alter_wrapper_min_size > 0:
            sql = _ALGO_LOCK_RE.sub(r"\1", sql)  # the tool chooses how to copy
        p = self.params
        variables = wrapper_variables(
            host=p.host,
            port=None if p.socket else p.port,
            socket=p.socket,
            user=p.user,
            password=p.password,
            schema="" if step.key.type is ObjectType.DATABASE else self.schema,
            environment=cfg.environment,
            ddl=sql,
            stmt_type=step.kind.value.upper() if step.kind is not DiffKind.ALTER else "ALTER",
            object_class=_class(step),
            name=step.key.name,
            size=size,
            connect_options=p.connect_options,
            dir_path=cfg.dir_path or None,
        )
        if defaults_file is None:
            return WrapperCommand.from_template(template, variables, pending=(DEFAULTSFILE,))
        variables[DEFAULTSFILE] = defaults_file
        return WrapperCommand.from_template(template, variables)
