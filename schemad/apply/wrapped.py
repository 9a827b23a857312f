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
`MYSQL_PWD`, and any variable holding the password (`password=$VAR`), is not inherited unless
the template reads it itself.
A template that puts `{PASSWORD}`/`{PASSWORDX}` on the command line still
works; `wrapper_warnings` says so, and callers log it once per push.
The target's TLS settings reach pt-online-schema-change in its `{DEFAULTSFILE}`
and gh-ost as `--ssl*` arguments (`apply.wrapper_tls`).

A known online-schema-change tool (`apply.osc.tool_of`: pt-online-schema-change,
gh-ost, Spirit) gets more: pre-flight checks before it starts (`apply.preflight`;
a refusal fails the statement before anything runs), its output read into
`OscProgress` records (`apply.progress`), and, when the run asks for a gated
cut-over, the gate's arguments on its command line (`apply.osc`).

After every ALTER TABLE that ran through the alter-wrapper, whatever the
outcome, schemad looks at what the tools' names hold on the table
(`apply.leftovers`) and reports it.  When schemad stopped the tool itself
(cancel, timeout, shutdown), the pt-osc triggers that appeared while it ran
are dropped at once: pt-online-schema-change keeps them on purpose when
interrupted, and until they go every write to the live table is done twice
(and fails outright if someone drops the copy they write into).  Tables are
never dropped here: copies, checkpoints and renamed originals are listed
and stay until someone asks for them to go (the daemon's
`POST /v1/jobs/{id}/cleanup`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterable, Mapping

from schemad import lazyre
from schemad.apply.clientcnf import client_option_file, ghost_misreads, spirit_misreads
from schemad.apply.executor import DDLExecutor
from schemad.apply.leftovers import Leftover, drop_scaffolding, find_leftovers
from schemad.apply.osc import CutoverGate, gate_for, gate_refusal, simple_command, tool_of, with_arguments
from schemad.apply.preflight import Finding, PreflightRefused, parse_skip, preflight
from schemad.apply.progress import OscProgress, Tool, reader_for
from schemad.apply.runner import JOB_ENV, LogLine, RunResult, run_managed
from schemad.apply.wrapper_tls import ghost_tls_arguments
from schemad.connection import tunnel
from schemad.connection.instance import Instance
from schemad.diff.schema_diff import Step
from schemad.errors import SchemadError
from schemad.plan.routes import WrapperPlanner
from schemad.plan.shellout import (
    passes_mysql_pwd,
    password_on_command_line,
    password_variables,
    uses_defaults_file,
)
from schemad.records import dataclass

_GH_OST = lazyre.compile(r"(?<![\w-])gh-ost(?![\w-])")
# pt-online-schema-change's option to keep its triggers: honoured after a stop too.
_KEEPS_TRIGGERS = lazyre.compile(r"(?<![\w-])--no-drop-triggers(?![\w-])")


@dataclass(frozen=True, slots=True)
class LeftoverReport:
    """What the tools' names hold on a table after a wrapped ALTER TABLE, and what schemad dropped of it."""

    table: str
    dropped: tuple[Leftover, ...]  # removed by schemad after the stop (pt-osc triggers only)
    remaining: tuple[Leftover, ...] | None  # still there; None: the server could not be asked
    error: str | None = None  # why the server could not be asked
    succeeded: bool = False  # the tool exited 0

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
                f"{tool} left {len(self.remaining)} object(s) on {t} (not dropped; POST"
                " /v1/jobs/{id}/cleanup drops them, or drop them once nothing needs them): "
                + "; ".join(x.drop_sql() for x in self.remaining)
            )
        return "; ".join(parts) or f"the tool left nothing behind on {t}"

    @property
    def noteworthy(self) -> bool:
        """Worth a line in a log: something is left or was dropped, or the tool did not succeed."""
        return not self.succeeded or bool(self.dropped) or bool(self.remaining) or self.remaining is None


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
        tool = tool_of(template)
        if password_on_command_line(template):
            notes.append(
                f"{option} puts the password on the tool's command line ({{PASSWORD}} or"
                " {PASSWORDX}): every local user can read it (ps, /proc/PID/cmdline) while the tool"
                " runs. Use {DEFAULTSFILE} instead, e.g. pt-online-schema-change"
                " D={SCHEMA},t={TABLE},F={DEFAULTSFILE} or gh-ost --conf={DEFAULTSFILE}"
            )
        if (
            uses_defaults_file(template)
            and (tool is Tool.GH_OST or _GH_OST.search(template))
            and (ghost_misreads(planner.params.user) or ghost_misreads(planner.params.password))
        ):
            notes.append(
                f"{option} gives gh-ost {{DEFAULTSFILE}}, but the user or password contains a"
                " character gh-ost's --conf reader cannot read back (\" \\ # ; a control character,"
                " ${...} or %(...)s); gh-ost will fail to log in"
            )
        if (
            uses_defaults_file(template)
            and tool is Tool.SPIRIT
            and (spirit_misreads(planner.params.user) or spirit_misreads(planner.params.password))
        ):
            notes.append(
                f"{option} gives spirit {{DEFAULTSFILE}}, but the user or password contains a"
                " character Spirit's --conf reader cannot read back (\" \\ # ; a control character,"
                " or %(...)s); spirit will fail to log in"
            )
        if (
            tool in (Tool.GH_OST, Tool.SPIRIT)
            and planner.params.password
            and not (
                uses_defaults_file(template)
                or password_on_command_line(template)
                or passes_mysql_pwd(template)
            )
        ):
            notes.append(
                f"{option} runs {tool} without credentials: add --conf={{DEFAULTSFILE}} (schemad writes"
                " the user and password to a 0600 option file for the run)"
            )
    return tuple(notes)


@dataclass(frozen=True, slots=True)
class OscOptions:
    """What a run asks of the known online-schema-change tools it starts."""

    postpone_cutover: bool = False  # gh-ost / Spirit hold their cut-over until the gate is released
    preflight: bool = True  # check the server before each known tool starts (apply.preflight)
    max_trx_age: int = 60  # seconds; the long-transaction check (0: not checked)
    skip_checks: str = ""  # osc-skip-checks: comma-separated pre-flight checks not to run


class OscHooks:
    """What a known tool's run reports; every hook does nothing unless overridden."""

    def preflight(self, table: str, tool: Tool, findings: tuple[Finding, ...]) -> None:
        """The pre-flight findings before `tool` starts on `table` (refusals raise after this)."""

    def started(self, table: str, tool: Tool, gate: CutoverGate | None) -> None:
        """`tool` started on `table`; `gate` holds its cut-over (None: it cuts over on its own)."""

    def progress(self, table: str, record: OscProgress) -> None:
        """The tool's progress changed."""

    def ended(self, table: str, tool: Tool) -> None:
        """The tool ended, however; its gate (if any) is gone."""


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
        osc: OscOptions | None = None,
        osc_hooks: OscHooks | None = None,
    ) -> None:
        self.inner = inner
        self.planner = planner
        self.on_line = on_line
        self.cancel = cancel  # set: a running tool is stopped (SIGTERM, then SIGKILL)
        self.on_start = on_start  # gets the tool's process group id
        self.on_end = on_end  # the tool ended, however
        self.env = env  # added to the tool's environment
        self.on_leftovers = on_leftovers  # after every wrapped ALTER TABLE
        self.osc = osc or OscOptions()
        self.osc_hooks = osc_hooks or OscHooks()

    async def execute(self, step: Step) -> None:
        routed = self.planner.route(step)
        if routed is None:
            await self.inner.execute(step)
            return
        option, template = routed
        table = step.key.name if step.is_alter_table and option == "alter-wrapper" else None
        shown = self.planner.command_for(step)  # {DEFAULTSFILE} pending: for the tool's name and the checks
        assert shown is not None  # routed
        tool = tool_of(shown.display) if table is not None else None
        if table is not None and tool is not None:
            await self._preflight(table, tool, shown.display)
        gate: CutoverGate | None = None
        if self.osc.postpone_cutover and table is not None:
            refusal = gate_refusal(tool, template, shown.display)
            if refusal is not None:
                raise SchemadError(f"cannot postpone the cut-over of `{table}`: {refusal}")
            assert tool is not None
            gate = gate_for(tool, template, table, self.planner.params, self.planner.schema)
        before = await self._inventory(table, tool) if table is not None else None
        reader = reader_for(tool) if tool is not None and table is not None else None
        hooks = self.osc_hooks

        def on_line(line: LogLine) -> None:
            if self.on_line is not None:
                self.on_line(line)
            if reader is not None and table is not None:
                record = reader.feed(line.text)
                if record is not None:
                    hooks.progress(table, record)

        def on_start(pgid: int) -> None:
            if self.on_start is not None:
                self.on_start(pgid)
            if table is not None and tool is not None:
                hooks.started(table, tool, gate)

        with contextlib.ExitStack() as files:
            if gate is not None:
                files.callback(gate.close)
            # Under ssh the tool gets the tunnel's local port (it runs here, not on the SSH host).
            planner, params = self.planner, await tunnel.tool_params(self.planner.params)
            if params is not planner.params:
                planner = WrapperPlanner(planner.cfg, params, planner.schema, planner.sizes)
            defaults_file = None
            runs = tool_of(shown.display)  # the target's TLS settings reach pt-osc and gh-ost only
            if uses_defaults_file(template):
                # Named after the daemon's job: a restart after a crash removes what it left.
                job = (self.env or {}).get(JOB_ENV, "")
                option_file = client_option_file(params, tls=runs is Tool.PT_OSC, tag=job)
                defaults_file = str(files.enter_context(option_file))
            cmd = planner.command_for(step, defaults_file=defaults_file)
            assert cmd is not None  # routed
            if runs is Tool.GH_OST and simple_command(template) and "--ssl" not in template:
                cmd = with_arguments(cmd, ghost_tls_arguments(params.tls))
            if gate is not None:
                cmd = with_arguments(cmd, gate.arguments())
            try:
                result = await run_managed(
                    cmd,
                    timeout=self.planner.cfg.timeout,
                    on_line=on_line,
                    cancel=self.cancel,
                    on_start=on_start,
                    env=self.env,
                    # MYSQL_PWD, and the variable a `password=$VAR` read, unless the template reads them.
                    unset_env=password_variables(template, self.planner.params.password, os.environ),
                )
            finally:
                if self.on_end is not None:
                    self.on_end()
                if table is not None and tool is not None:
                    hooks.ended(table, tool)
        if table is not None:
            report = await self._leftovers(table, template, result, before, tool)
            if self.on_leftovers is not None:
                self.on_leftovers(report)
        result.check()

    async def _preflight(self, table: str, tool: Tool, command: str) -> None:
        """Run the pre-flight checks; PreflightRefused when one refuses."""
        if not self.osc.preflight:
            return
        skip, notes = parse_skip(self.osc.skip_checks)
        try:
            async with Instance(self.planner.params, pool_size=1) as inst:
                findings = notes + await preflight(
                    inst,
                    self.planner.schema,
                    table,
                    tool,
                    max_trx_age=self.osc.max_trx_age,
                    command=command,
                    skip=skip,
                )
        except SchemadError as exc:
            findings = (Finding("connection", True, f"cannot run the pre-flight checks: {exc}"),)
        self.osc_hooks.preflight(table, tool, findings)
        if any(f.refuse for f in findings):
            raise PreflightRefused(table, tool, findings)

    async def _inventory(self, table: str, tool: Tool | None) -> tuple[Leftover, ...] | None:
        """What the tools' names already hold on `table` (None: the server could not be asked)."""
        try:
            async with Instance(self.planner.params, pool_size=1) as inst:
                return await find_leftovers(inst, self.planner.schema, table, prefer=tool)
        except SchemadError:
            return None

    async def _leftovers(
        self,
        table: str,
        template: str,
        result: RunResult,
        before: tuple[Leftover, ...] | None,
        tool: Tool | None,
    ) -> LeftoverReport:
        # run_managed returns once the whole process group is gone: nothing recreates what is dropped.
        stopped = result.cancelled or result.timed_out
        schema = self.planner.schema
        try:
            async with Instance(self.planner.params, pool_size=1) as inst:
                if not stopped or before is None:  # not ours to clean, or unknown what was there before
                    found = await find_leftovers(inst, schema, table, prefer=tool)
                    return LeftoverReport(table, (), found, succeeded=result.ok)
                dropped, remaining = await drop_scaffolding(
                    inst,
                    schema,
                    table,
                    before,
                    keep_triggers=bool(_KEEPS_TRIGGERS.search(template)),
                    keep_tables=True,  # listed for an explicit clean-up, never dropped here
                    prefer=tool,
                )
                return LeftoverReport(table, dropped, remaining)
        except SchemadError as exc:
            return LeftoverReport(table, (), None, str(exc))
