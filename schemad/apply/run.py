"""run_plan: one way to execute a target's planned statements, for the CLI and the daemon.

Statements run in order under the schema's push lock (`execute_plan`),
directly or through the alter-wrapper / ddl-wrapper the plan routed them to
(`WrappingExecutor`: managed subprocess, credentials file, leftovers; for
pt-online-schema-change, gh-ost and Spirit also pre-flight checks, parsed
progress and, when asked, a cut-over held until released).  What
happens is reported through `RunHooks`: the CLI's hooks log and draw the
progress line, the daemon's write the job record and its log.  Nothing here
knows which of the two is calling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import field

from schemad.apply.executor import DDLExecutor, PushRecord, execute_plan
from schemad.apply.osc import CutoverGate
from schemad.apply.preflight import Finding
from schemad.apply.progress import OscProgress, Tool
from schemad.apply.runner import LogLine
from schemad.apply.wrapped import LeftoverReport, OscHooks, OscOptions, WrappingExecutor
from schemad.connection.params import ConnParams
from schemad.diff.schema_diff import Step
from schemad.errors import SchemadError
from schemad.plan.routes import WrapperPlanner
from schemad.records import dataclass

__all__ = ["RunHooks", "RunOptions", "run_plan"]


class RunHooks:
    """What a run reports; every hook does nothing unless overridden.

    Indexes count the statements of this run from 0.  `step_started` may
    raise a SchemadError to refuse the statement (a cancelled job): the run
    stops there, the statement never started (no `step_ended`), and the
    run's record shows it failed with the error's text.  `ready` is awaited
    after `step_started` and before the statement runs (the daemon waits there
    until the statement's record is written); it may refuse it the same way.
    """

    def step_started(self, index: int, total: int, step: Step) -> None:
        """A statement is about to run."""

    async def ready(self, index: int) -> None:
        """Awaited after `step_started`, right before the statement runs."""

    def step_ended(self, index: int, error: str | None) -> None:
        """A statement ended: error None when it succeeded."""

    def output(self, line: LogLine) -> None:
        """A line a wrapper tool printed (already masked)."""

    def wrapper_started(self, pgid: int) -> None:
        """A wrapper tool started, as this process group."""

    def wrapper_ended(self) -> None:
        """The wrapper tool ended, however."""

    def leftovers(self, index: int, report: LeftoverReport) -> None:
        """What the tools' names hold on the table after a wrapped ALTER TABLE, and what was dropped."""

    def preflight(self, index: int, table: str, tool: Tool, findings: tuple[Finding, ...]) -> None:
        """The pre-flight findings before a known tool starts (a refusal fails the statement next)."""

    def osc_started(self, index: int, table: str, tool: Tool, gate: CutoverGate | None) -> None:
        """A known online-schema-change tool started; `gate` holds its cut-over until released."""

    def progress(self, index: int, table: str, record: OscProgress) -> None:
        """A known tool's progress changed."""

    def osc_ended(self, index: int, table: str, tool: Tool) -> None:
        """The known tool ended, however (its gate is gone)."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    foreign_key_checks: bool = False  # Skeema's foreign-key-checks: on only for ALTERs adding FKs
    lock_timeout: int = 30  # seconds to wait for the schema's push lock
    cancel: asyncio.Event | None = None  # set: a running wrapper is stopped (SIGTERM, then SIGKILL)
    env: Mapping[str, str] | None = None  # added to each wrapper's environment
    osc: OscOptions = field(default_factory=OscOptions)  # gated cut-over, pre-flight checks of known tools


async def run_plan(
    params: ConnParams,
    schema: str,
    steps: Sequence[Step],
    wrappers: WrapperPlanner | None,
    hooks: RunHooks,
    options: RunOptions | None = None,
) -> PushRecord:
    """Run `steps` in order on `schema`, each directly or through its wrapper; stop at the first failure."""
    opts = options or RunOptions()
    current = [-1]

    def wrap(inner: DDLExecutor) -> DDLExecutor:
        run: DDLExecutor = inner
        if wrappers is not None:
            run = WrappingExecutor(
                inner,
                wrappers,
                hooks.output,
                cancel=opts.cancel,
                on_start=hooks.wrapper_started,
                on_end=hooks.wrapper_ended,
                env=opts.env,
                on_leftovers=lambda report: hooks.leftovers(current[0], report),
                osc=opts.osc,
                osc_hooks=_IndexedOscHooks(hooks, current),
            )
        return _Hooked(run, hooks, len(steps), current)

    return await execute_plan(
        params,
        schema,
        list(steps),
        foreign_key_checks=opts.foreign_key_checks,
        lock_timeout=opts.lock_timeout,
        wrap=wrap,
    )


class _Hooked:
    """Reports each statement's start and end around the executor that runs it."""

    def __init__(self, inner: DDLExecutor, hooks: RunHooks, total: int, current: list[int]) -> None:
        self.inner, self.hooks, self.total, self.current = inner, hooks, total, current

    async def execute(self, step: Step) -> None:
        i = self.current[0] = self.current[0] + 1
        self.hooks.step_started(i, self.total, step)  # may refuse it: then it never started
        await self.hooks.ready(i)  # so may this
        try:
            await self.inner.execute(step)
        except SchemadError as exc:
            self.hooks.step_ended(i, str(exc))
            raise
        self.hooks.step_ended(i, None)


class _IndexedOscHooks(OscHooks):
    """The executor's tool events, passed on with the index of the statement running."""

    def __init__(self, hooks: RunHooks, current: list[int]) -> None:
        self.hooks, self.current = hooks, current

    def preflight(self, table: str, tool: Tool, findings: tuple[Finding, ...]) -> None:
        self.hooks.preflight(self.current[0], table, tool, findings)

    def started(self, table: str, tool: Tool, gate: CutoverGate | None) -> None:
        self.hooks.osc_started(self.current[0], table, tool, gate)

    def progress(self, table: str, record: OscProgress) -> None:
        self.hooks.progress(self.current[0], table, record)

    def ended(self, table: str, tool: Tool) -> None:
        self.hooks.osc_ended(self.current[0], table, tool)
