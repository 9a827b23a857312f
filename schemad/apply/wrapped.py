"""alter-wrapper / ddl-wrapper: run a plan's DDL through an external tool instead of directly.

Skeema's rules: `alter-wrapper` takes ALTER TABLE statements of tables whose
size is at least `alter-wrapper-min-size` (and then ALGORITHM=/LOCK= are left
out of that DDL when the min size is above 0); `ddl-wrapper` takes every other
DDL.  The command is built with shellout (escaping, masking) and run as a
managed subprocess (runner): a non-zero exit fails that statement with the
tail of the tool's output.  `diff` prints the masked command as `\\! <cmd>`.

Credentials stay off the tool's command line and out of its environment when
the template lets them: `{DEFAULTSFILE}` is a temporary option file written
just before the tool starts and removed when it ends (however it ends), and
`MYSQL_PWD` is not inherited unless the template reads `$MYSQL_PWD` itself.
A template that puts `{PASSWORD}`/`{PASSWORDX}` on the command line still
works; `wrapper_warnings` says so, and callers log it once per push.

An ALTER TABLE that runs through a tool and does not succeed is followed by
a look at what the tool left on the table (`apply.leftovers`).  When schemad
stopped the tool itself (cancel, timeout, shutdown), the triggers and copy
tables that appeared while it ran are dropped: pt-online-schema-change
keeps them on purpose when interrupted, and its triggers double every write
to the live table until someone removes them.  A tool that failed on its
own did its own clean-up and is left as it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from schemad.apply.clientcnf import client_option_file, ghost_misreads
from schemad.apply.executor import DDLExecutor
from schemad.apply.leftovers import Leftover, drop_scaffolding, find_leftovers
from schemad.apply.runner import LogLine, RunResult, run_managed
from schemad.connection.instance import Instance
from schemad.diff.schema_diff import Step
from schemad.errors import SchemadError
from schemad.plan.routes import WrapperPlanner
from schemad.plan.shellout import (
    passes_mysql_pwd,
    password_on_command_line,
    uses_defaults_file,
)

_GH_OST = re.compile(r"(?<![\w-])gh-ost(?![\w-])")
# pt-online-schema-change options that ask it to keep its triggers / its copy: honoured after a stop too.
_KEEPS_TRIGGERS = re.compile(r"(?<![\w-])--no-drop-triggers(?![\w-])")
_KEEPS_NEW_TABLE = re.compile(r"(?<![\w-])--no-drop-new-table(?![\w-])")

#: The environment variable a wrapper inherits only when its template reads it.
MYSQL_PWD = "MYSQL_PWD"


@dataclass(frozen=True, slots=True)
class LeftoverReport:
    """What a tool that did not succeed left on its table, and what schemad dropped of it."""

    table: str
    dropped: tuple[Leftover, ...]  # removed by schemad after the stop
    remaining: tuple[Leftover, ...] | None  # still there; None: the server could not be asked
    error: str | None = None  # why the server could not be asked

    def describe(self) -> str:
        """One line for the job log and the statement's error; never contains a secret."""
        t = f"`{self.table}`"
        if self.remaining is None:
            return f"cannot look for what the tool left on {t}: {self.error}"
        parts = []
        if self.dropped:
            parts.append(
                f"dropped what the stopped tool left on {t}: " + "; ".join(x.drop_sql() for x in self.dropped)
            )
        if self.remaining:
            tool = ", ".join(sorted({str(x.tool) for x in self.remaining}))
            parts.append(
                f"{tool} left {len(self.remaining)} object(s) on {t} (not dropped; drop them once nothing"
                " needs them): " + "; ".join(x.drop_sql() for x in self.remaining)
            )
        return "; ".join(parts) or f"the tool left nothing behind on {t}"


def wrapper_warnings(planner: WrapperPlanner, steps: Iterable[Step]) -> tuple[str, ...]:
    """Advice about the templates these steps run through; never contains a secret.

    A template with `{PASSWORD}`/`{PASSWORDX}` shows the password to every
    local user for as long as the tool runs; a gh-ost template with
    `{DEFAULTSFILE}` cannot carry a user or password gh-ost's --conf
    reader misreads.
    """
    used: dict[str, str] = {}
    for step in steps:
        routed = planner.route(step)
        if routed is not None:
            used.setdefault(routed[1], routed[0])
    notes: list[str] = []
    for template, option in used.items():
        if password_on_command_line(template):
            notes.append(
                f"{option} puts the password on the tool's command line ({{PASSWORD}} or"
                " {PASSWORDX}): every local user can read it (ps, /proc/PID/cmdline) while the tool"
                " runs. Use {DEFAULTSFILE} instead, e.g. pt-online-schema-change"
                " D={SCHEMA},t={TABLE},F={DEFAULTSFILE} or gh-ost --conf={DEFAULTSFILE}"
            )
        if (
            uses_defaults_file(template)
            and _GH_OST.search(template)
            and (ghost_misreads(planner.params.user) or ghost_misreads(planner.params.password))
        ):
            notes.append(
                f"{option} gives gh-ost {{DEFAULTSFILE}}, but the user or password contains a"
                " character gh-ost's --conf reader cannot read back (\" \\ # ; a control character,"
                " or ${...}); gh-ost will fail to log in"
            )
    return tuple(notes)


class WrappingExecutor:
    """Runs wrapped steps through their tool and the others through `inner`."""

    def __init__(
        self,
        inner: DDLExecutor,
        planner: WrapperPlanner,
        on_line: Callable[[LogLine], None] | None = None,
        *,
        cancel: asyncio.Event | None = None,
        on_start: Callable[[int], None] | None = None,
        on_end: Callable[[], None] | None = None,
        env: Mapping[str, str] | None = None,
        on_leftovers: Callable[[LeftoverReport], None] | None = None,
    ) -> None:
        self.inner = inner
        self.planner = planner
        self.on_line = on_line
        self.cancel = cancel  # set: a running tool is stopped (SIGTERM, then SIGKILL)
        self.on_start = on_start  # gets the tool's process group id
        self.on_end = on_end  # the tool ended, however
        self.env = env  # added to the tool's environment
        self.on_leftovers = on_leftovers  # after an ALTER TABLE whose tool did not succeed

    async def execute(self, step: Step) -> None:
        routed = self.planner.route(step)
        if routed is None:
            await self.inner.execute(step)
            return
        template = routed[1]
        table = step.key.name if step.is_alter_table else None
        before = await self._inventory(table) if table is not None else None
        with contextlib.ExitStack() as files:
            defaults_file = None
            if uses_defaults_file(template):
                defaults_file = str(files.enter_context(client_option_file(self.planner.params)))
            cmd = self.planner.command_for(step, defaults_file=defaults_file)
            assert cmd is not None  # routed
            try:
                result = await run_managed(
                    cmd,
                    timeout=self.planner.cfg.timeout,
                    on_line=self.on_line,
                    cancel=self.cancel,
                    on_start=self.on_start,
                    env=self.env,
                    unset_env=() if passes_mysql_pwd(template) else (MYSQL_PWD,),
                )
            finally:
                if self.on_end is not None:
                    self.on_end()
        if not result.ok and table is not None:
            report = await self._leftovers(table, template, result, before)
            if self.on_leftovers is not None:
                self.on_leftovers(report)
        result.check()

    async def _inventory(self, table: str) -> tuple[Leftover, ...] | None:
        """What the tools' names already hold on `table` (None: the server could not be asked)."""
        try:
            async with Instance(self.planner.params, pool_size=1) as inst:
                return await find_leftovers(inst, self.planner.schema, table)
        except SchemadError:
            return None

    async def _leftovers(
        self, table: str, template: str, result: RunResult, before: tuple[Leftover, ...] | None
    ) -> LeftoverReport:
        # run_managed returns once the whole process group is gone: nothing recreates what is dropped.
        stopped = result.cancelled or result.timed_out
        schema = self.planner.schema
        try:
            async with Instance(self.planner.params, pool_size=1) as inst:
                if not stopped or before is None:  # not ours to clean, or unknown what was there before
                    return LeftoverReport(table, (), await find_leftovers(inst, schema, table))
                dropped, remaining = await drop_scaffolding(
                    inst,
                    schema,
                    table,
                    before,
                    keep_triggers=bool(_KEEPS_TRIGGERS.search(template)),
                    keep_tables=bool(_KEEPS_NEW_TABLE.search(template)),
                )
                return LeftoverReport(table, dropped, remaining)
        except SchemadError as exc:
            return LeftoverReport(table, (), None, str(exc))
