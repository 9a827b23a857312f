"""Push jobs: a reviewed plan run against an environment, recorded statement by statement.

`JobRunner.submit` is called with the environment's push lock held and the
plan already checked against the reviewed `plan_hash`.  It writes the job
record and the audit entry (both committed before any DDL runs) and starts
one task that runs the targets in order through `apply.run_plan` (the
server-side push lock of each schema, wrappers as managed subprocesses).
Every statement's start and end is written to the store as it happens, so a
crash leaves a record saying exactly which statements ran; the tool's process
group id is recorded while it runs so that a restart can stop it.

Cancelling stops a running wrapper (one SIGTERM, then SIGKILL after the
grace period) or, for direct DDL, lets the statement in flight finish and
runs nothing after it.  After every wrapper's ALTER TABLE, `WrappingExecutor`
looks at what the tools' names hold on the table (`apply.leftovers`); after
a stop the daemon caused (cancel, timeout, shutdown) it drops the pt-osc
triggers that appeared while the tool ran (each DROP goes to the audit log
too).  Both are recorded on the statement (`StatementRecord.leftovers`,
`StatementRecord.dropped`) and in the job's log; tables stay until
`cleanup` (POST /v1/jobs/{id}/cleanup) drops them, with an audit entry.
Logs (statement boundaries, the wrappers' masked output, the online
changes' progress) go to one file per job and to live followers of
`GET /v1/jobs/{id}/log`.

Online schema changes (pt-online-schema-change, gh-ost, Spirit): the
tool's normalized progress is the live job's `progress` (and, at each phase
change and at the end, the statement's), `schemad_osc_progress_ratio` and
`schemad_osc_cutover_pending` while it runs, and a log line whenever its
phase, throttling or tenth of the copy changes.  A job submitted with
`postpone_cutover` holds each gh-ost / Spirit cut-over: when the tool says
it is waiting, the job becomes `pending_cutover` until `approve_cutover`
(POST /v1/jobs/{id}/cutover, scope `cutover:<env>`) releases the gate; the
approver's name goes on the statement and into the audit log.

After a crash, `JobRunner.recover()` (daemon start) settles the jobs the
crash cut short and closes their audit entries, stops a wrapper process
group one of them left running (recorded as `JobRecord.orphan`), and emits
their outcome to --audit-stdout; `JobRunner.recover_leftovers()` then looks
for the tools' leftovers, once the targets' connection settings are known;
it lists them and drops nothing (what was there before the killed tool
started is not known any more).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import field, replace
from pathlib import Path

from schemad.apply.clientcnf import remove_option_files
from schemad.apply.executor import StepStatus
from schemad.apply.leftovers import Cleanup, Leftover, drop_leftovers, find_leftovers, scan_leftovers
from schemad.apply.osc import CutoverGate
from schemad.apply.preflight import Finding
from schemad.apply.progress import OscPhase, OscProgress, Tool
from schemad.apply.run import RunHooks, RunOptions, run_plan
from schemad.apply.runner import JOB_ENV, LogLine, group_members, process_running
from schemad.apply.wrapped import LeftoverReport, OscOptions, wrapper_warnings
from schemad.connection.instance import Instance
from schemad.diff.schema_diff import Step
from schemad.errors import SchemadError
from schemad.fs.dir import Dir
from schemad.model.keys import ObjectType
from schemad.plan.planner import Plan, Target
from schemad.records import dataclass
from schemad.service.metrics import Metrics
from schemad.service.state import (
    AUDIT_RUNNING,
    JobRecord,
    JobState,
    OrphanAction,
    OrphanRecord,
    StateError,
    StatementRecord,
    StateStore,
    settle_statements,
)
from schemad.service.writebehind import WriteBehind

__all__ = [
    "CutoverNotPending",
    "JobCancelled",
    "JobNotEnded",
    "JobRunner",
    "LiveJob",
    "PushItem",
    "SharedLog",
    "TargetLeftovers",
    "TargetOf",
    "environment_leftovers",
    "leftovers_on",
    "stop_orphan_wrapper",
]

#: Finds the target a statement of a job ran on (None when it is no longer configured).
TargetOf = Callable[[JobRecord, StatementRecord], Target | None]

log = logging.getLogger(__name__)


class JobCancelled(SchemadError):
    """The job was cancelled before this statement started."""


class CutoverNotPending(SchemadError):
    """A cut-over approval for a job that is not waiting for one."""


class JobNotEnded(SchemadError):
    """A clean-up asked of a job that is still running."""


@dataclass(frozen=True, slots=True)
class OscRun:
    """The online schema change a job runs now."""

    index: int  # the statement, in the job's record
    schema: str
    table: str
    tool: Tool
    gate: CutoverGate | None  # holds its cut-over (postpone_cutover and gh-ost/Spirit)


@dataclass(frozen=True, slots=True)
class StatementCleanup:
    """What a clean-up request did on one statement's leftovers."""

    index: int
    target: str | None
    cleanup: Cleanup | None  # None: not attempted (see error)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TargetLeftovers:
    """What the tools' names hold in one target schema now (`environment_leftovers`)."""

    address: str
    schema: str
    leftovers: tuple[Leftover, ...]
    error: str | None = None  # the server could not be asked


@dataclass(frozen=True, slots=True)
class PushItem:
    """One target's part of a push: its Plan (statements, routes, wrappers), run with its dir's options."""

    plan: Plan
    dir: Dir

    @property
    def target(self) -> Target:
        return self.plan.target

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(p.step for p in self.plan.steps)


@dataclass(slots=True)
class LiveJob:
    """What only the running job knows: its cancel switch, progress, and log followers.

    Held by the runner; the job's hooks record through its methods and set `progress` themselves.
    """

    record: JobRecord
    writes: WriteBehind  # the record and audit entries, written in order off the event loop
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    progress: dict[str, object] | None = None  # the wrapper's last parsed progress
    lines: list[str] = field(default_factory=list)  # the log's last lines (bounded)
    total: int = 0  # lines logged in all
    waiters: list[asyncio.Future[None]] = field(default_factory=list)  # log followers waiting for more
    done: bool = False
    task: asyncio.Task[None] | None = None
    warned: set[str] = field(default_factory=set)  # wrapper advice already logged for this job
    osc: OscRun | None = None  # the online schema change running now
    approved: set[int] = field(default_factory=set)  # statements whose cut-over was approved
    logged: tuple[object, ...] | None = None  # what the last progress line of the log said
    saved_phase: str | None = None  # the phase last written to the statement's record
    unshared: list[tuple[int, str]] = field(default_factory=list)  # (line number, line) not yet copied

    def wake(self) -> None:
        for fut in self.waiters:
            if not fut.done():
                fut.set_result(None)
        self.waiters.clear()


_MAX_LIVE_LINES = 5000


@dataclass(frozen=True, slots=True)
class SharedLog:
    """Replicas: where a job's log lines are copied so that every replica can serve them.

    `append(job_id, first line number, lines)` writes them (replicas.ControlSchema.append_log; runs in
    the job's write-behind thread, in order, before the record that ends the job).  Only the first
    `cap` lines are copied; one more line says where the rest is (the runner's own file).
    """

    append: Callable[[str, int, list[str]], None]
    replica: str  # this replica's id, named when the copy is cut
    cap: int = 10_000


#: Audit results of the entries a job adds besides its own.
AUDIT_CUTOVER_APPROVED = "cutover_approved"
AUDIT_CLEANUP = "cleanup"
AUDIT_STOP_DROPS = "dropped_after_stop"

# A job in one of these states is still the daemon's to run.
_ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING, JobState.PENDING_CUTOVER)


class JobRunner:
    def __init__(
        self,
        store: StateStore,
        metrics: Metrics,
        log_dir: Path,
        *,
        audit_stdout: bool = False,
        on_finished: Callable[[str], None] | None = None,
        on_state: Callable[[JobRecord], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.log_dir = log_dir
        self.audit_stdout = audit_stdout
        self.on_finished = on_finished  # gets the environment key, e.g. to re-poll it
        self.on_state = on_state  # gets the job record whenever its state changed (webhook events)
        self.clock = clock
        self._live: dict[str, LiveJob] = {}
        self.shared_log: SharedLog | None = None  # replicas: a copy of each job's log for the others
        self._draining = False
        self._closing = False

    # ///// reads /////

    def progress(self, job_id: str) -> dict[str, object] | None:
        live = self._live.get(job_id)
        return live.progress if live is not None else None

    def task(self, job_id: str) -> asyncio.Task[None] | None:
        live = self._live.get(job_id)
        return live.task if live is not None else None

    def has_log(self, job_id: str) -> bool:
        """The job runs here, or ran here (its log file is in this daemon's log dir)."""
        return job_id in self._live or (self.log_dir / f"{job_id}.log").is_file()

    @property
    def closing(self) -> bool:
        """The daemon stops: log streams end."""
        return self._closing

    def close_followers(self) -> None:
        """Daemon shutdown: log streams end now instead of holding the shutdown up."""
        self._closing = True
        for live in self._live.values():
            live.wake()

    async def follow(self, job_id: str) -> AsyncIterator[str]:
        """The job's log lines: what is there, then new ones until the job ends."""
        live = self._live.get(job_id)
        if live is None:
            path = self.log_dir / f"{job_id}.log"
            with contextlib.suppress(FileNotFoundError):
                text = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
                for line in text.splitlines():
                    yield line
            return
        sent = 0  # lines handed out, counted from the first line ever logged
        while True:
            first = live.total - len(live.lines)
            batch = live.lines[max(sent - first, 0) :]
            sent = live.total
            for line in batch:
                yield line
            if (live.done or self._closing) and sent >= live.total:
                return
            if sent >= live.total:
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                live.waiters.append(fut)
                await fut

    # ///// writes /////

    async def submit(
        self,
        *,
        repo: str,
        environment: str,
        plan_hash: str,
        who: str,
        items: list[PushItem],
        postpone_cutover: bool = False,
        recorded: Callable[[JobRecord], Awaitable[None]] | None = None,
    ) -> JobRecord:
        """Record the job and its audit entry, await `recorded(job)` if given, then start it."""
        now = self.clock()
        job_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "-" + secrets.token_hex(4)
        statements = tuple(
            StatementRecord(
                s.sql,
                "pending",
                target=f"{it.target.address} {it.target.schema}",
                table=s.key.name if s.key.type is ObjectType.TABLE else None,
            )
            for it in items
            for s in it.steps
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        record = JobRecord(
            id=job_id,
            environment=environment,
            repo=repo,
            plan_hash=plan_hash,
            requested_by=who,
            created_at=now,
            state=JobState.QUEUED,
            statements=statements,
            error=None,
            updated_at=now,
            wrapper_pid=None,
            log_path=str(self.log_dir / f"{job_id}.log"),
            postpone_cutover=postpone_cutover,
        )
        await asyncio.to_thread(self.store.create_job, record)
        audit_id = await asyncio.to_thread(
            lambda: self.store.append_audit(
                at=now,
                who=who,
                environment=environment,
                plan_hash=plan_hash,
                statements=tuple(s.sql for s in statements),
                result=AUDIT_RUNNING,
                job_id=job_id,
            )
        )
        self._emit_audit(audit_id, now, who, environment, plan_hash, statements, AUDIT_RUNNING, job_id)
        if recorded is not None:
            await recorded(record)
        self._state_changed(record)
        live = LiveJob(record, WriteBehind(f"job {job_id}"))
        self._live[job_id] = live
        live.task = asyncio.get_running_loop().create_task(
            self._run(live, items, audit_id), name=f"push {job_id}"
        )
        return record

    def running_for(self, environment: str) -> list[str]:
        """Ids of the jobs of `environment` (its key) running here."""
        live = self._live.values()
        return [j.record.id for j in live if not j.done and j.record.environment == environment]

    def cancel(self, job_id: str) -> bool:
        """Ask a running job to stop (a held cut-over too); False if it is not running here."""
        live = self._live.get(job_id)
        if live is None or live.done:
            return False
        live.cancel.set()
        return True

    async def approve_cutover(self, job_id: str, who: str) -> JobRecord:
        """Release the held cut-over of a `pending_cutover` job; `who` (a token name) is recorded.

        The approval goes on the statement (`cutover_approved_by/at`), into the
        audit log (result `cutover_approved`, the statement's SQL) and the job's
        log.  CutoverNotPending when the job is not waiting for one here;
        CutoverGateError (a SchemadError) when the gate cannot be released.
        """
        live = self._live.get(job_id)
        osc = live.osc if live is not None else None
        if live is None or live.done or osc is None or osc.gate is None:
            raise CutoverNotPending(f"job {job_id} is not waiting for a cut-over approval")
        if live.record.state is not JobState.PENDING_CUTOVER or osc.index in live.approved:
            raise CutoverNotPending(f"job {job_id} is {live.record.state}, not {JobState.PENDING_CUTOVER}")
        live.approved.add(osc.index)  # one approval per held cut-over, even when two race
        try:
            done = await osc.gate.release()
        except SchemadError:
            live.approved.discard(osc.index)
            raise
        now = self.clock()
        self.update_statement(live, osc.index, cutover_approved_by=who, cutover_approved_at=now)
        if live.record.state is JobState.PENDING_CUTOVER:
            self._save(live, state=JobState.RUNNING)
        st = live.record.statements[osc.index]
        r = live.record
        await asyncio.to_thread(self._audit_action, r, who, (st.sql,), AUDIT_CUTOVER_APPROVED)
        self.metrics.set_osc(r.environment, osc.schema, osc.table, str(osc.tool), None, False)
        self.log_line(live, f"{st.target}: cut-over of `{osc.table}` approved by {who}: {done}")
        return live.record

    async def cleanup(
        self, job_id: str, who: str, target_of: TargetOf
    ) -> tuple[JobRecord, list[StatementCleanup]]:
        """Drop what an ended job's tools left (as its statements list it); record it and audit it.

        Only objects the job listed and that still exist are dropped
        (`apply.leftovers.drop_leftovers`: triggers first, never a renamed
        original whose table is missing).  Each statement's `leftovers`
        becomes what is still there and `dropped` grows; the DROP statements
        run go into one audit entry (result `cleanup`), naming `who`.
        JobNotEnded while the job runs; StateError for an unknown job.
        """
        job = await asyncio.to_thread(self.store.get_job, job_id)
        if job is None:
            raise StateError(f"no job {job_id}", key=job_id)
        live = self._live.get(job_id)
        if job.state in _ACTIVE_STATES or (live is not None and not live.done):
            raise JobNotEnded(f"job {job_id} is {job.state}: clean up once it has ended")
        outcomes: list[StatementCleanup] = []
        statements = list(job.statements)
        for i, st in enumerate(job.statements):
            if not st.leftovers:
                continue
            target = target_of(job, st)
            if target is None:
                outcomes.append(StatementCleanup(i, st.target, None, "the target is no longer configured"))
                continue
            try:
                async with Instance(target.params, pool_size=1) as inst:
                    done = await drop_leftovers(inst, st.leftovers)
            except SchemadError as exc:
                outcomes.append(StatementCleanup(i, st.target, None, str(exc)))
                continue
            keep = [x for x, _ in done.refused] + [x for x, _ in done.failed]
            statements[i] = replace(st, leftovers=tuple(keep), dropped=(*st.dropped, *done.dropped))
            outcomes.append(StatementCleanup(i, st.target, done))
        now = self.clock()
        job = replace(job, statements=tuple(statements), updated_at=now)
        await asyncio.to_thread(self.store.update_job, job)
        drops = tuple(q for o in outcomes if o.cleanup is not None for q in o.cleanup.statements)
        kept = sum(len(o.cleanup.refused) + len(o.cleanup.failed) for o in outcomes if o.cleanup is not None)
        errors = sum(o.error is not None for o in outcomes)
        result = AUDIT_CLEANUP if not kept and not errors else f"{AUDIT_CLEANUP}: {kept + errors} not dropped"
        if not outcomes:  # nothing was listed: nothing happened, nothing to audit
            return job, outcomes
        await asyncio.to_thread(self._audit_action, job, who, drops, result)
        for o in outcomes:
            where = o.target or "?"
            if o.cleanup is None:
                self._note(job, f"{where}: cleanup requested by {who}: not done: {o.error}")
                continue
            c = o.cleanup
            parts = [f"cleanup requested by {who}: dropped {len(c.dropped)}"]
            parts += [f"kept {x.name}: {why}" for x, why in c.refused]
            parts += [f"DROP of {x.name} failed: {err}" for x, err in c.failed]
            parts += [f"{x.name} was already gone" for x in c.gone]
            self._note(
                job,
                f"{where}: " + "; ".join(parts) + ("; " + "; ".join(c.statements) if c.statements else ""),
            )
        return job, outcomes

    async def recover(self) -> list[JobRecord]:
        """Daemon start: settle the jobs a crash cut short and stop what they left running.

        `mark_interrupted` ends them and closes their audit entries in one
        transaction.  A wrapper process group a job recorded is stopped if it
        still runs the job's tool (`stop_orphan_wrapper`), and what was done
        is recorded on the job.  Each job's outcome goes to --audit-stdout
        like a normal finish.  Returns the jobs as recorded.
        """
        jobs = await asyncio.to_thread(self.store.mark_interrupted)
        out = []
        for job in jobs:
            orphan = await stop_orphan_wrapper(job, self.clock)
            # Its wrapper no longer runs: the option file it read (credentials) goes too.
            for d in remove_option_files(job.id):
                log.warning("job %s: removed the option file %s its wrapper left", job.id, d)
            job = replace(job, orphan=orphan, wrapper_pid=None, updated_at=self.clock())
            await asyncio.to_thread(self.store.update_job, job)
            out.append(job)
            done = sum(st.status == "done" for st in job.statements)
            note = f"job {job.id}: {JobState.INTERRUPTED} after {done} of {len(job.statements)} statement(s)"
            if orphan is not None:
                note += f"; the wrapper's process group {orphan.pgid}: {orphan.action}"
            log.warning("%s (the daemon stopped while it ran)", note)
            self._state_changed(job)
            self._log_file(job, f"schemad restarted: {note}")
            closed = await asyncio.to_thread(self.store.list_audit, job_id=job.id)
            for a in closed:
                if a.result == str(JobState.INTERRUPTED):
                    self._emit_audit(
                        a.id,
                        self.clock(),
                        a.who,
                        a.environment,
                        a.plan_hash,
                        job.statements,
                        a.result,
                        job.id,
                    )
        return out

    async def recover_leftovers(self, jobs: Sequence[JobRecord], target_of: TargetOf) -> None:
        """After `recover`: look for what each tool that was running left on its table, and record it.

        Only the statement a wrapper ran when the daemon died is looked at
        (the jobs with an `orphan` record); `target_of` gives its connection.
        """
        for job in jobs:
            if job.orphan is None:
                continue
            found: dict[int, tuple[Leftover, ...]] = {}
            notes = []
            for i, st in enumerate(job.statements):
                if st.table is None or st.started_at is None or st.finished_at is not None:
                    continue
                where = f"{st.target}: cannot look for what the tool left on `{st.table}`"
                target = target_of(job, st)
                if target is None:
                    notes.append(f"{where}: the target is no longer configured")
                    continue
                try:
                    prefer = Tool(st.tool) if st.tool else None
                    found[i] = (await leftovers_on(target, [st.table], prefer=prefer))[st.table]
                except SchemadError as exc:
                    notes.append(f"{where}: {exc}")
                    continue
                notes.append(f"{st.target}: {LeftoverReport(st.table, (), found[i]).describe()}")
            current = await asyncio.to_thread(self.store.get_job, job.id)
            if current is not None and found:
                statements = tuple(
                    replace(st, leftovers=found[i]) if i in found else st
                    for i, st in enumerate(current.statements)
                )
                await asyncio.to_thread(
                    self.store.update_job, replace(current, statements=statements, updated_at=self.clock())
                )
            for note in notes:
                log.warning("job %s: %s", job.id, note)
                self._log_file(job, note)

    async def drain(self, grace: float) -> None:
        """Daemon stop: start no new statement and give those in flight `grace` seconds to finish.

        After that a running wrapper is stopped (SIGTERM, then SIGKILL after its
        grace), and a direct DDL statement still running is abandoned (the server
        rolls it back when the connection closes).  Jobs cut short end
        `interrupted`, with the statements that completed recorded.
        """
        self._draining = True
        tasks = [v.task for v in self._live.values() if not v.done and v.task is not None]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        if not late:
            return
        for v in self._live.values():
            if v.task in late:
                v.cancel.set()  # stops a wrapper
        _, late = await asyncio.wait(late, timeout=15)
        for t in late:
            t.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)

    # ///// what a running job's hooks record /////

    def stopping(self, live: LiveJob) -> bool:
        """The job must start no further statement: it was cancelled, or the daemon is stopping."""
        return live.cancel.is_set() or self._draining

    def update_statement(self, live: LiveJob, index: int, **changes: object) -> None:
        """Change statement `index` of the job's record (its status, times, leftovers) and write it."""
        stmts = list(live.record.statements)
        stmts[index] = replace(stmts[index], **changes)  # type: ignore[arg-type]
        self._save(live, statements=tuple(stmts))

    def log_line(self, live: LiveJob, text: str) -> None:
        """Append a time-stamped line to the job's log file and hand it to the log's followers."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        line = f"{stamp} {text}"
        if live.record.log_path:
            _append(Path(live.record.log_path), line)
        live.lines.append(line)
        live.total += 1
        if self.shared_log is not None:
            self._share(live, self.shared_log, live.total, line)
        if len(live.lines) > _MAX_LIVE_LINES:
            del live.lines[: len(live.lines) - _MAX_LIVE_LINES]
        live.wake()

    def _share(self, live: LiveJob, shared: SharedLog, n: int, line: str) -> None:
        """Copy line `n` to the shared log: batched with the lines still unwritten (one pending write)."""
        if n > shared.cap + 1:
            return
        if n == shared.cap + 1:
            line = (
                f"{line[:20]} [log cut: only the first {shared.cap} lines are kept for every replica; the"
                f" whole log is {live.record.log_path} on replica {shared.replica}]"
            )
        live.unshared.append((n, line))
        batch = list(live.unshared)  # consecutive: only a written prefix is ever dropped
        job_id = live.record.id

        def written(_: object) -> None:
            live.unshared[:] = [x for x in live.unshared if x[0] > batch[-1][0]]

        live.writes.put(
            f"copy the log of job {job_id}",
            lambda: shared.append(job_id, batch[0][0], [x for _, x in batch]),
            key="log",  # a newer batch holds every line of a pending one: it takes its place
            after=written,
        )

    def audit_drops(self, live: LiveJob, drops: tuple[str, ...]) -> None:
        """An audit entry for the DROPs schemad ran on its own after stopping a tool (pt-osc triggers)."""
        job = live.record
        live.writes.put(
            "audit the DROPs after a stop",
            lambda: self._audit_action(job, "schemad", drops, AUDIT_STOP_DROPS),
        )

    def wrapper_started(self, live: LiveJob, pgid: int) -> None:
        """A wrapper tool started as process group `pgid`: counted, and recorded so a restart can stop it."""
        self.metrics.wrapper_started()
        self._save(live, wrapper_pid=pgid)

    def wrapper_ended(self, live: LiveJob) -> None:
        """The wrapper tool ended, however: no longer counted, its progress gone."""
        self.metrics.wrapper_finished()
        live.progress = None

    def osc_started(self, live: LiveJob, run: OscRun) -> None:
        """A known tool started on the statement: recorded, and its series published."""
        live.osc = run
        live.logged = live.saved_phase = None
        self.update_statement(live, run.index, tool=str(run.tool))
        self.metrics.set_osc(live.record.environment, run.schema, run.table, str(run.tool), None, False)

    def osc_progress(self, live: LiveJob, record: OscProgress) -> None:
        """The running tool's progress: live record, metrics, log line, job state, statement record."""
        run = live.osc
        if run is None:
            return
        live.progress = {**record.to_json(), "table": run.table, "statement": run.index}
        held = (
            run.gate is not None
            and record.phase is OscPhase.POSTPONED
            and run.index not in live.approved
            and not live.cancel.is_set()
        )
        self.metrics.set_osc(
            live.record.environment, run.schema, run.table, str(run.tool), record.ratio, held
        )
        step = None if record.pct is None else int(record.pct // 10)
        said = (record.phase, record.throttled, record.reason, record.cutover_ready, step)
        if said != live.logged:
            live.logged = said
            self.log_line(
                live,
                f"{live.record.statements[run.index].target}: progress `{run.table}`: {record.describe()}",
            )
        if record.phase != live.saved_phase:
            live.saved_phase = record.phase
            self.update_statement(live, run.index, progress=live.progress)
        state = live.record.state
        if held and state is JobState.RUNNING:
            self._save(live, state=JobState.PENDING_CUTOVER)
            self.log_line(
                live,
                f"job {live.record.id}: {JobState.PENDING_CUTOVER}: {run.tool} waits to cut over"
                f" `{run.table}`; POST /v1/jobs/{live.record.id}/cutover (scope cutover:<environment>)"
                " lets it",
            )
        elif not held and state is JobState.PENDING_CUTOVER:
            self._save(live, state=JobState.RUNNING)

    def osc_ended(self, live: LiveJob) -> None:
        """The known tool ended: its series go, its last progress stays on the statement."""
        run = live.osc
        if run is None:
            return
        live.osc = None
        self.metrics.forget_osc(live.record.environment, run.schema, run.table, str(run.tool))
        last = live.progress
        if last is not None:
            self.update_statement(live, run.index, progress=last)
        if live.record.state is JobState.PENDING_CUTOVER:
            self._save(live, state=JobState.RUNNING)

    # ///// the job /////

    def _save(self, live: LiveJob, **changes: object) -> None:
        """Replace the record and hand it to the job's writes (in order; `durable` waits for them)."""
        before = live.record.state
        live.record = replace(live.record, updated_at=self.clock(), **changes)  # type: ignore[arg-type]
        record = live.record
        live.writes.put(f"record job {record.id}", lambda: self.store.update_job(record), key="record")
        if live.record.state != before:
            self._state_changed(live.record)

    def _state_changed(self, job: JobRecord) -> None:
        """Every recorded change of a job's state (queued, running, ..., how it ended) goes to `on_state`."""
        if self.on_state is not None:
            try:
                self.on_state(job)
            except Exception:
                log.exception("job %s: the state-change hook failed", job.id)

    def _note(self, job: JobRecord, text: str) -> None:
        """A line in the log of an ended job: through its live record if this daemon ran it, else the file."""
        live = self._live.get(job.id)
        if live is not None:
            self.log_line(live, text)
        else:
            self._log_file(job, text)

    def _log_file(self, job: JobRecord, text: str) -> None:
        """Append a line to the log of a job that is not running here (after a restart)."""
        if job.log_path:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
            with contextlib.suppress(OSError):
                _append(Path(job.log_path), f"{stamp} {text}")

    async def _run(self, live: LiveJob, items: list[PushItem], audit_id: int) -> None:
        state = JobState.SUCCEEDED
        error: str | None = None
        try:
            self._save(live, state=JobState.RUNNING)
            self.log_line(live, f"job {live.record.id}: {len(live.record.statements)} statement(s)")
            offset = 0
            for item in items:
                ok, error = await self._run_item(live, item, offset)
                offset += len(item.steps)
                if not ok:
                    if self._draining:
                        state = JobState.INTERRUPTED
                        error = f"the daemon stopped: {error}" if error else "the daemon stopped"
                    else:
                        state = JobState.CANCELLED if live.cancel.is_set() else JobState.FAILED
                    break
        except asyncio.CancelledError:
            state, error = JobState.INTERRUPTED, "the daemon stopped while the job ran"
            raise
        except Exception as exc:  # a bug or an unexpected server state: record it, never lose the job
            state, error = JobState.FAILED, str(exc) if isinstance(exc, SchemadError) else repr(exc)
            log.exception("job %s failed", live.record.id)
        finally:
            try:
                await self._finish(live, state, error, settle_statements(live.record.statements), audit_id)
            except Exception:
                log.exception("job %s: could not record how it ended", live.record.id)

    async def durable(self, live: LiveJob) -> None:
        """Wait until the job's record as it is now is written; StateError when it could not be."""
        failed = await live.writes.flush()
        if "record" in failed:
            raise StateError(f"job {live.record.id}: cannot record the statement: {failed['record']}")

    async def _finish(
        self,
        live: LiveJob,
        state: JobState,
        error: str | None,
        statements: tuple[StatementRecord, ...],
        audit_id: int,
    ) -> None:
        # The record and its audit entry end together (one transaction): no crash can split them.
        live.record = replace(
            live.record,
            updated_at=self.clock(),
            state=state,
            error=error,
            statements=statements,
            wrapper_pid=None,
        )
        record = live.record
        done = sum(s.status == "done" for s in statements)
        # Before the end is written: a replica following the shared log reads every line once it ended.
        self.log_line(live, f"job {record.id}: {state} after {done} of {len(statements)} statement(s)")
        # After the job's other writes (finish_job writes the whole record, superseding a failed one).
        # A second cancel (shutdown) does not stop the write: it goes on in its thread.
        end = asyncio.ensure_future(self._write_end(live, record))
        try:
            await asyncio.shield(end)
        except asyncio.CancelledError:
            log.warning("job %s: stopped while its end was written; the write goes on", record.id)
        except Exception:  # the followers and hooks below still learn that it ended
            log.exception("job %s: could not record how it ended", record.id)
        self._state_changed(live.record)
        r = live.record
        self._emit_audit(
            audit_id, self.clock(), r.requested_by, r.environment, r.plan_hash, statements, str(state), r.id
        )
        if state is not JobState.INTERRUPTED:
            self.metrics.record_push(r.environment, str(state))
        live.done = True
        live.wake()
        if self.on_finished is not None:
            self.on_finished(r.environment)

    async def _write_end(self, live: LiveJob, record: JobRecord) -> None:
        await live.writes.flush()
        await asyncio.to_thread(self.store.finish_job, record)

    async def _run_item(self, live: LiveJob, item: PushItem, offset: int) -> tuple[bool, str | None]:
        t, cfg = item.target, item.dir.config
        steps = list(item.steps)
        if not steps:
            return True, None
        wrappers = item.plan.wrappers  # built at plan time, with the sizes the push read
        for note in wrapper_warnings(wrappers, steps) if wrappers is not None else ():
            if note not in live.warned:  # once per job, however many targets share the template
                live.warned.add(note)
                self.log_line(live, f"warning: {note}")
                log.warning("job %s: %s", live.record.id, note)

        record = await run_plan(
            t.params,
            t.schema,
            steps,
            wrappers,
            _JobHooks(self, live, t, offset),
            RunOptions(
                foreign_key_checks=cfg.get_bool("foreign-key-checks"),
                lock_timeout=cfg.get_int("push-lock-timeout"),
                cancel=live.cancel,
                env={JOB_ENV: live.record.id},  # MYSQL_PWD is left out unless the template reads it
                osc=OscOptions(
                    postpone_cutover=live.record.postpone_cutover,
                    max_trx_age=cfg.get_int("osc-max-transaction-age"),
                    skip_checks=cfg.get("osc-skip-checks"),
                ),
            ),
        )
        if live.record.wrapper_pid is not None:
            self._save(live, wrapper_pid=None)
        failed = [r for r in record.results if r.status is StepStatus.FAILED]
        if not failed:
            return True, None
        return False, failed[0].error

    def _audit_action(self, job: JobRecord, who: str, statements: tuple[str, ...], result: str) -> int:
        """An audit entry (and --audit-stdout line) for an action on a job besides its run.

        A cut-over approval, a clean-up's DROPs, the DROPs after a stop: `who`
        did `statements`, with `result`.  Returns the entry's id.
        """
        now = self.clock()
        audit_id = self.store.append_audit(
            at=now,
            who=who,
            environment=job.environment,
            plan_hash=job.plan_hash,
            statements=statements,
            result=result,
            job_id=job.id,
        )
        records = tuple(StatementRecord(q, "done") for q in statements)
        self._emit_audit(audit_id, now, who, job.environment, job.plan_hash, records, result, job.id)
        return audit_id

    def _emit_audit(
        self,
        audit_id: int,
        at: float,
        who: str,
        environment: str,
        plan_hash: str,
        statements: tuple[StatementRecord, ...],
        result: str,
        job_id: str,
    ) -> None:
        if not self.audit_stdout:
            return
        doc = {
            "audit_id": audit_id,
            "at": at,
            "who": who,
            "environment": environment,
            "plan_hash": plan_hash,
            "statements": [s.sql for s in statements],
            "result": result,
            "job_id": job_id,
        }
        sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
        sys.stdout.flush()


class _JobHooks(RunHooks):
    """A run's events written to the job through the runner: statement records, the log, progress.

    Statements are numbered from `offset`, their index in the job's record.
    """

    def __init__(self, runner: JobRunner, live: LiveJob, target: Target, offset: int) -> None:
        self.runner, self.live, self.offset = runner, live, offset
        self.where = f"{target.address} {target.schema}"
        self.schema = target.schema

    def step_started(self, index: int, total: int, step: Step) -> None:
        r, live = self.runner, self.live
        if r.stopping(live):
            raise JobCancelled("cancelled before this statement started")
        r.update_statement(live, self.offset + index, status="pending", started_at=r.clock())
        r.log_line(live, f"{self.where}: running: {step.sql.splitlines()[0]}")

    async def ready(self, index: int) -> None:
        await self.runner.durable(self.live)  # the statement's record is written before its DDL runs

    def step_ended(self, index: int, error: str | None) -> None:
        r = self.runner
        status = "failed" if error else "done"
        r.update_statement(self.live, self.offset + index, status=status, error=error, finished_at=r.clock())
        r.log_line(self.live, f"{self.where}: {'failed: ' + error if error else 'done'}")

    def output(self, line: LogLine) -> None:
        self.runner.log_line(self.live, f"{self.where}: {line.stream}: {line.text}")

    def preflight(self, index: int, table: str, tool: Tool, findings: tuple[Finding, ...]) -> None:
        r = self.runner
        r.update_statement(
            self.live, self.offset + index, tool=str(tool), preflight=tuple(f.to_json() for f in findings)
        )
        for f in findings:
            r.log_line(
                self.live,
                f"{self.where}: pre-flight `{table}` ({tool}): {'refused: ' if f.refuse else ''}{f}",
            )

    def osc_started(self, index: int, table: str, tool: Tool, gate: CutoverGate | None) -> None:
        self.runner.osc_started(self.live, OscRun(self.offset + index, self.schema, table, tool, gate))

    def progress(self, index: int, table: str, record: OscProgress) -> None:
        self.runner.osc_progress(self.live, record)

    def osc_ended(self, index: int, table: str, tool: Tool) -> None:
        self.runner.osc_ended(self.live)

    def wrapper_started(self, pgid: int) -> None:
        self.runner.wrapper_started(self.live, pgid)

    def wrapper_ended(self) -> None:
        self.runner.wrapper_ended(self.live)

    def leftovers(self, index: int, report: LeftoverReport) -> None:
        changes: dict[str, object] = {"dropped": report.dropped}
        if report.remaining is not None:
            changes["leftovers"] = report.remaining
        r = self.runner
        r.update_statement(self.live, self.offset + index, **changes)
        if report.noteworthy:
            r.log_line(self.live, f"{self.where}: {report.describe()}")
        if report.dropped:  # never silently: the DROPs schemad ran after the stop go to the audit log
            r.audit_drops(self.live, tuple(x.drop_sql() for x in report.dropped))


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def _runs_job(pid: int, job_id: str) -> bool:
    """Whether process `pid` is a wrapper started for `job_id` (its environment says so)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{JOB_ENV}={job_id}".encode() in environ.split(b"\0")


async def leftovers_on(
    target: Target, tables: Sequence[str], *, prefer: Tool | None = None
) -> dict[str, tuple[Leftover, ...]]:
    """What online-schema-change tools left on each of `tables` of the target's schema, now.

    SchemadError when the server cannot be asked.
    """
    async with Instance(target.params, pool_size=1) as inst:
        return {name: await find_leftovers(inst, target.schema, name, prefer=prefer) for name in tables}


async def environment_leftovers(targets: Sequence[Target]) -> list[TargetLeftovers]:
    """What the tools' names hold in each target schema now (`apply.leftovers.scan_leftovers`), in order.

    A target the server cannot be asked about carries its error; nothing is dropped.
    """

    async def one(t: Target) -> TargetLeftovers:
        try:
            async with Instance(t.params, pool_size=1) as inst:
                return TargetLeftovers(t.address, t.schema, await scan_leftovers(inst, t.schema))
        except SchemadError as exc:
            return TargetLeftovers(t.address, t.schema, (), str(exc))

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def stop_orphan_wrapper(
    job: JobRecord, clock: Callable[[], float] = time.time, *, wait: float = 5.0
) -> OrphanRecord | None:
    """Stop the wrapper process group a job recorded, if a crash left it running; say what was done.

    None when the job recorded no wrapper.  The group is SIGKILLed only if its
    leader, or one of its members, carries the job's id in its environment:
    after a reboot the recorded number may belong to anything, which is left
    alone.  The killed tool gets no chance to clean up (it ran unsupervised
    since the crash); what it left on the table is looked for afterwards.
    Waits up to `wait` seconds for the killed group to be gone.
    """
    pgid = job.wrapper_pid
    if not pgid:
        return None
    members = group_members(pgid) or []
    if _runs_job(pgid, job.id) or any(_runs_job(m, job.id) for m in members):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return OrphanRecord(OrphanAction.GONE, pgid, clock())
        except PermissionError:  # a member changed user; the ones we own still got it
            log.warning("job %s: part of wrapper process group %d is not ours to stop", job.id, pgid)
        log.warning("job %s: stopped the wrapper process group %d it left running", job.id, pgid)
        deadline = time.monotonic() + wait
        while group_members(pgid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return OrphanRecord(OrphanAction.KILLED, pgid, clock())
    if members or process_running(pgid):
        log.warning("job %s: process (group) %d is no longer the job's wrapper: left alone", job.id, pgid)
        return OrphanRecord(OrphanAction.LEFT_ALONE_PID_REUSED, pgid, clock())
    return OrphanRecord(OrphanAction.GONE, pgid, clock())
