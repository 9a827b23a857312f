"""The CLI's push of one planned target: `run_plan` with hooks that log and draw the progress line.

Imported only when something is pushed: a diff never loads the execution
machinery.
"""

from __future__ import annotations

from schemad.apply.executor import StepStatus
from schemad.apply.preflight import Finding
from schemad.apply.progress import OscProgress, Tool
from schemad.apply.run import RunHooks, RunOptions, run_plan
from schemad.apply.runner import LogLine
from schemad.apply.wrapped import LeftoverReport, OscOptions, wrapper_warnings
from schemad.cli.common import log
from schemad.cli.progress import ProgressLine
from schemad.diff.schema_diff import Step
from schemad.fs.cascade import Config
from schemad.plan.planner import Plan

__all__ = ["push_target"]


class _CliHooks(RunHooks):
    """Wrapper output to the log (STDERR); the running statement and the tools' progress on the display."""

    def __init__(self, plan: Plan, display: ProgressLine) -> None:
        self.where = f"{plan.target.address} {plan.target.schema}"
        self.display = display
        self.current = ""

    def step_started(self, index: int, total: int, step: Step) -> None:
        self.current = f"{self.where} {step.key.name}"
        self.display.update(f"{self.where}: statement {index + 1}/{total}: {step.sql.splitlines()[0]}")

    def output(self, line: LogLine) -> None:
        self.display.clear()
        log.info("%s: %s", self.current, line.text)

    def progress(self, index: int, table: str, record: OscProgress) -> None:
        self.display.osc(self.current, record)

    def preflight(self, index: int, table: str, tool: Tool, findings: tuple[Finding, ...]) -> None:
        for f in findings:
            self.display.clear()
            (log.error if f.refuse else log.warning)("%s: pre-flight %s", self.current, f)

    def leftovers(self, index: int, report: LeftoverReport) -> None:
        if report.noteworthy:
            self.display.clear()
            log.warning("%s: %s", self.where, report.describe())


async def push_target(plan: Plan, cfg: Config, progress: ProgressLine, warned: set[str]) -> bool:
    """Run the plan's statements; False (each failure logged) when one failed.

    `warned` holds the wrapper advice already logged in this run: each note once.
    """
    steps = [p.step for p in plan.steps]
    t = plan.target
    for note in wrapper_warnings(plan.wrappers, steps) if plan.wrappers is not None else ():
        if note not in warned:  # once per push, however many targets share the template
            warned.add(note)
            log.warning("%s", note)
    record = await run_plan(
        t.params,
        t.schema,
        steps,
        plan.wrappers,
        _CliHooks(plan, progress),
        RunOptions(
            foreign_key_checks=cfg.get_bool("foreign-key-checks"),
            lock_timeout=cfg.get_int("push-lock-timeout"),
            osc=OscOptions(
                max_trx_age=cfg.get_int("osc-max-transaction-age"), skip_checks=cfg.get("osc-skip-checks")
            ),
        ),
    )
    progress.clear()
    for r in record.results:
        if r.status is StepStatus.FAILED:
            log.error("%s %s: statement failed: %s\n%s", t.address, t.schema, r.error, r.sql)
    if record.ok:
        return True
    done = sum(r.status is StepStatus.DONE for r in record.results)
    log.error(
        "%s %s: %d of %d statement(s) ran before the failure; the rest were not run",
        t.address,
        t.schema,
        done,
        len(record.results),
    )
    return False
