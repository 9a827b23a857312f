"""The CLI's push of one planned target: `run_plan` with hooks that log and draw the progress line.

Imported only when something is pushed: a diff never loads the execution
machinery.
"""

from __future__ import annotations

from schemad.apply.executor import StepStatus
from schemad.apply.progress import parse_progress
from schemad.apply.run import RunHooks, RunOptions, run_plan
from schemad.apply.runner import LogLine
from schemad.apply.wrapped import LeftoverReport, wrapper_warnings
from schemad.cli.common import log
from schemad.cli.progress import ProgressLine
from schemad.diff.schema_diff import Step
from schemad.fs.cascade import Config
from schemad.plan.planner import Plan

__all__ = ["push_target"]


class _CliHooks(RunHooks):
    """Wrapper output to the log (STDERR); the running statement and copy progress on the progress line."""

    def __init__(self, plan: Plan, progress: ProgressLine) -> None:
        self.where = f"{plan.target.address} {plan.target.schema}"
        self.progress = progress
        self.current = ""

    def step_started(self, index: int, total: int, step: Step) -> None:
        self.current = f"{self.where} {step.key.name}"
        self.progress.update(f"{self.where}: statement {index + 1}/{total}: {step.sql.splitlines()[0]}")

    def output(self, line: LogLine) -> None:
        self.progress.clear()
        log.info("%s: %s", self.current, line.text)
        parsed = parse_progress(line.text)
        if parsed is not None and parsed.percent is not None:
            eta = f", {parsed.eta_seconds:.0f}s left" if parsed.eta_seconds is not None else ""
            self.progress.update(f"{self.current}: {parsed.tool} {parsed.percent:.0f}% copied{eta}")

    def leftovers(self, index: int, report: LeftoverReport) -> None:
        self.progress.clear()
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
