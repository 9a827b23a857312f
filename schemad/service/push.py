"""The daemon's push: a reviewed plan checked against the database as it is now, then handed to a job.

`push_environment` takes the environment's push lock, polls it (the plan
must match the live schemas now, not at the last poll), compares the
request's `plan_hash` with the current diff's, plans each selected target
(`RepoEnvironment.push_plan`: the Plan with its routes, wrapper commands and
refusals, built from the sizes that poll read, and verified), refuses what
may not run (targets with errors, unsafe statements, lint errors, verify
failures; with `postpone_cutover`, online changes whose tool cannot hold its
cut-over; online changes a pre-flight check refuses, `service.osc`) and
submits the job, which runs those Plans.  With the daemon's
`push_requires_drift_ack`, drift nobody acknowledged (acks.py: an object the
push would change whose live definition moved since its baseline) refuses it
before any planning.  It answers with a
typed `PushOutcome`; the API maps each kind to its HTTP status.  The lock
stays held while the job runs and is released when the job's task ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from enum import StrEnum
from typing import TYPE_CHECKING

from schemad.errors import SchemadError
from schemad.plan.planner import Refusal, RefusalKind
from schemad.records import dataclass
from schemad.service.drift import TargetDiff, plan_hash, select
from schemad.service.environment import RepoEnvironment, TargetState
from schemad.service.jobs import PushItem
from schemad.service.osc import PreflightNote, cutover_refusals, preflight_items
from schemad.service.state import JobRecord

if TYPE_CHECKING:
    from schemad.service.daemon import Daemon

#: Awaited with a push's job once it is recorded, before it starts.
Recorded = Callable[[JobRecord], Awaitable[None]]

__all__ = [
    "PushOutcome",
    "PushOutcomeKind",
    "PushRequest",
    "environment_hash",
    "push_environment",
    "push_here",
    "selected",
]


class PushOutcomeKind(StrEnum):
    """How a push request ended; the values are the API's error codes where it is refused."""

    RUNNING = "push_running"  # another push to the environment holds its lock
    UNREACHABLE = "environment_unreachable"  # the fresh poll failed: the plan cannot be confirmed
    PLAN_CHANGED = "plan_changed"  # the reviewed plan_hash is not the current diff's
    BLOCKED = "plan_blocked"  # a selected target has an error (dir, workspace, never polled)
    UNACKNOWLEDGED_DRIFT = "unacknowledged_drift"  # push_requires_drift_ack, and drift nobody acknowledged
    LINT = "lint_errors"
    UNSAFE = "unsafe_statements"
    VERIFY = "verify_failed"
    CUTOVER = "cutover_not_supported"  # postpone_cutover, but a tool cannot hold its cut-over (names it)
    PREFLIGHT = "preflight_failed"  # a pre-flight check refused an online schema change
    OWNER_UNAVAILABLE = "owner_unavailable"  # replicas: no owner of the environment took the push in time
    NOTHING = "nothing_to_do"  # the live schemas match the repo: no job
    DRY_RUN = "dry_run"  # everything checked, nothing run
    SUBMITTED = "submitted"  # a job runs it


#: The refusal kinds, most important first: the outcome names the first one present.
_REFUSED = (
    (RefusalKind.LINT, PushOutcomeKind.LINT),
    (RefusalKind.UNSAFE, PushOutcomeKind.UNSAFE),
    (RefusalKind.VERIFY, PushOutcomeKind.VERIFY),
)


@dataclass(frozen=True, slots=True)
class PushRequest:
    plan_hash: str  # the hash of the diff that was reviewed
    who: str  # the token's name, for the job and the audit log
    allow_unsafe: bool = False
    schemas: Sequence[str] = ()  # only these schemas ([] = all)
    tables: Sequence[str] = ()  # only these tables' statements
    dry_run: bool = False
    postpone_cutover: bool = False  # online schema changes wait for POST /v1/jobs/{id}/cutover


@dataclass(frozen=True, slots=True)
class PushOutcome:
    kind: PushOutcomeKind
    message: str
    plan_hash: str | None = None  # the current diff's hash, once known
    statements: int = 0  # how many would run (dry run) or were submitted
    job: JobRecord | None = None  # SUBMITTED: the job
    refusals: tuple[tuple[str, Refusal], ...] = ()  # (schema, refusal) for the refused kinds
    preflight: tuple[PreflightNote, ...] = ()  # the online changes' pre-flight findings (service.osc)


def selected(
    env: RepoEnvironment, schemas: Sequence[str], tables: Sequence[str]
) -> list[tuple[TargetState, TargetDiff | None]]:
    """Targets (with their, possibly filtered, diffs) matching the schema filter."""
    out: list[tuple[TargetState, TargetDiff | None]] = []
    for t in env.ordered_targets():
        if schemas and t.target.schema not in schemas:
            continue
        d = select([t.diff], tables=tables)[0] if t.diff is not None else None
        out.append((t, d))
    return out


def environment_hash(key: str, env: RepoEnvironment, sel: list[tuple[TargetState, TargetDiff | None]]) -> str:
    """The plan hash of these targets' diffs, as GET .../diff serves it."""
    return plan_hash(env.repo, key, [d for _, d in sel if d is not None])


async def push_environment(daemon: Daemon, key: str, env: RepoEnvironment, req: PushRequest) -> PushOutcome:
    """Check the reviewed plan against the database now and submit it; see the module docstring.

    One of several replicas that does not own `env` hands the push to its owner (`_hand_over`).
    """
    if not daemon.owns(env):
        return await _hand_over(daemon, key, env, req)
    return await push_here(daemon, key, env, req)


async def push_here(
    daemon: Daemon, key: str, env: RepoEnvironment, req: PushRequest, recorded: Recorded | None = None
) -> PushOutcome:
    """The push on this daemon, under the environment's push lock (a replica: the control schema's too).

    `recorded` is awaited with the job once it is recorded, before it starts (a handed-over push).
    """
    if env.push_lock.locked():
        return PushOutcome(PushOutcomeKind.RUNNING, f"a push to {key} is running; wait for it to end")
    await env.push_lock.acquire()
    handed_off = False
    control = daemon.replicas.control if daemon.replicas is not None else None
    name = daemon.lease_of(env)
    held = False

    async def release() -> None:  # the control schema's lock first: a push here may take it next
        if held and control is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(control.release_push_lock, name)
        env.push_lock.release()

    try:
        if control is not None:
            if not await asyncio.to_thread(control.take_push_lock, name):
                return PushOutcome(
                    PushOutcomeKind.RUNNING,
                    f"a push to {key} is running on another replica; wait for it to end",
                )
            held = True
        outcome = await _checked(daemon, key, env, req, recorded)
        if outcome.kind is not PushOutcomeKind.SUBMITTED or outcome.job is None:
            return outcome
        task = daemon.jobs.task(outcome.job.id)
        if task is not None:
            handed_off = True
            task.add_done_callback(lambda _t: daemon.spawn(release()))
        return outcome
    finally:
        if not handed_off:
            await release()


async def _hand_over(daemon: Daemon, key: str, env: RepoEnvironment, req: PushRequest) -> PushOutcome:
    """A replica not owning `env`: refuse what the control schema already refuses, else ask the owner."""
    assert daemon.replicas is not None
    control, name = daemon.replicas.control, daemon.lease_of(env)
    holder = await asyncio.to_thread(control.push_lock_holder, name)
    if holder is not None:
        return PushOutcome(
            PushOutcomeKind.RUNNING, f"a push to {key} is running (on replica {holder}); wait for it to end"
        )
    if not req.schemas and not req.tables:  # the published hash is the whole environment's
        published = await asyncio.to_thread(control.published, name)
        if published is not None and published.plan_hash != req.plan_hash:
            return PushOutcome(
                PushOutcomeKind.PLAN_CHANGED,
                f"plan_hash {req.plan_hash} does not match the current diff ({published.plan_hash}):"
                " review the diff again",
                published.plan_hash,
            )
    out = await daemon.replicas.forward(
        name, asdict(req) | {"schemas": list(req.schemas), "tables": list(req.tables)}
    )
    try:
        kind = PushOutcomeKind(str(out.get("kind")))
    except ValueError:
        kind = PushOutcomeKind.OWNER_UNAVAILABLE
    job = None
    if out.get("job_id"):
        job = await asyncio.to_thread(daemon.store.get_job, str(out["job_id"]))
    return PushOutcome(
        kind, str(out.get("message", "")), out.get("plan_hash"), int(out.get("statements") or 0), job
    )


async def _checked(
    daemon: Daemon, key: str, env: RepoEnvironment, req: PushRequest, recorded: Recorded | None = None
) -> PushOutcome:
    with contextlib.suppress(Exception):  # checked just below through env.stale
        await daemon.poll_now(key, env)  # the plan must match the database as it is now
    if env.stale:
        return PushOutcome(
            PushOutcomeKind.UNREACHABLE, f"cannot read {key} to confirm the plan: {env.last_poll_error}"
        )
    sel = selected(env, req.schemas, req.tables)
    current = environment_hash(key, env, sel)
    if current != req.plan_hash:
        return PushOutcome(
            PushOutcomeKind.PLAN_CHANGED,
            f"plan_hash {req.plan_hash} does not match the current diff ({current}): review the diff again",
            current,
        )
    blocked = [f"{t.target.address} {t.target.schema}: {t.error}" for t, _ in sel if t.error]
    if not req.schemas:  # the whole environment: a dir whose targets are unknown may be among them
        blocked += [e for e in env.config_errors if all(t.error != e for t, _ in sel)]
    if blocked:
        daemon.metrics.record_push_refused(key, PushOutcomeKind.BLOCKED.value)
        return PushOutcome(PushOutcomeKind.BLOCKED, "; ".join(blocked), current)
    if daemon.config.push_requires_drift_ack:
        refused = _unacknowledged(daemon, env, sel, req.tables)
        if refused is not None:
            daemon.metrics.record_push_refused(key, PushOutcomeKind.UNACKNOWLEDGED_DRIFT.value)
            return PushOutcome(PushOutcomeKind.UNACKNOWLEDGED_DRIFT, refused, current)
    items: list[PushItem] = []
    refusals: list[tuple[str, Refusal]] = []
    for t, diff in sel:
        if diff is None or not diff.steps:
            continue
        try:
            plan = await env.push_plan(t.key, allow_unsafe=req.allow_unsafe, tables=req.tables)
        except SchemadError as exc:
            # The watcher re-reads the dir while the push is checked (its desired state is not built
            # yet: the reviewed diff can no longer be confirmed, as after a change), or the files no
            # longer plan (a target error): a refusal, never a 500.
            changing = env.desired_for(t) is None
            kind = PushOutcomeKind.PLAN_CHANGED if changing else PushOutcomeKind.BLOCKED
            if kind is PushOutcomeKind.BLOCKED:
                daemon.metrics.record_push_refused(key, kind.value)
            hint = ": review the diff again" if changing else ""
            return PushOutcome(
                kind, f"{exc}{hint}", environment_hash(key, env, selected(env, req.schemas, req.tables))
            )
        if plan.plan_hash != diff.plan_hash:  # a poll in between changed the diff after all
            return PushOutcome(
                PushOutcomeKind.PLAN_CHANGED,
                f"the diff of {t.target.address} {t.target.schema} changed while the push was checked:"
                " review the diff again",
                environment_hash(key, env, selected(env, req.schemas, req.tables)),
            )
        refusals += [(t.target.schema, r) for r in plan.refusals]
        items.append(PushItem(plan, env.dirs[t.dir_path].dir))
    if refusals:
        kinds = {r.kind for _, r in refusals}
        kind = next(outcome for refusal, outcome in _REFUSED if refusal in kinds)
        daemon.metrics.record_push_refused(key, kind.value)
        unsafe = RefusalKind.UNSAFE in kinds
        message = (
            f"{len(refusals)} statement(s) refused"
            + ("; set allow_unsafe to run unsafe ones" if unsafe else "")
            + ": "
            + "; ".join(f"{schema}: {r}" for schema, r in refusals[:5])
        )
        return PushOutcome(kind, message, current, refusals=tuple(refusals))
    count = sum(len(i.steps) for i in items)
    if not items:  # no job, no audit entry, no log: there is nothing to record
        return PushOutcome(PushOutcomeKind.NOTHING, "nothing to do: the live schemas match the repo", current)
    gate = cutover_refusals(items) if req.postpone_cutover else []
    if gate:
        daemon.metrics.record_push_refused(key, PushOutcomeKind.CUTOVER.value)
        return PushOutcome(PushOutcomeKind.CUTOVER, "postpone_cutover: " + "; ".join(gate[:5]), current)
    notes = tuple(await preflight_items(items))
    if any(n.finding.refuse for n in notes):
        daemon.metrics.record_push_refused(key, PushOutcomeKind.PREFLIGHT.value)
        message = "pre-flight checks refused: " + "; ".join(str(n) for n in notes if n.finding.refuse)
        return PushOutcome(PushOutcomeKind.PREFLIGHT, message, current, preflight=notes)
    if req.dry_run:
        return PushOutcome(
            PushOutcomeKind.DRY_RUN,
            f"dry run: {count} statement(s) would run; nothing was executed",
            current,
            count,
            preflight=notes,
        )
    job = await daemon.jobs.submit(
        repo=env.repo,
        environment=key,
        plan_hash=current,
        who=req.who,
        items=items,
        postpone_cutover=req.postpone_cutover,
        recorded=recorded,
    )
    return PushOutcome(
        PushOutcomeKind.SUBMITTED, f"job {job.id} runs {count} statement(s)", current, count, job
    )


def _unacknowledged(
    daemon: Daemon,
    env: RepoEnvironment,
    sel: list[tuple[TargetState, TargetDiff | None]],
    tables: Sequence[str],
) -> str | None:
    """Why the push may not run while drift nobody acknowledged is in its way (None: it may)."""
    keys = [t.key for t, d in sel if d is not None and d.steps]
    drift = daemon.drift.unacknowledged_drift(env, keys, tables)
    if not drift:
        return None
    names = "; ".join(f"{o.key} in {schema} on {address}" for address, schema, o in drift[:10])
    more = f" and {len(drift) - 10} more" if len(drift) > 10 else ""
    return (
        f"{len(drift)} object(s) this push would change were changed outside schemad since it last saw them"
        f" match the repo, and nobody acknowledged it: {names}{more}; acknowledge the drift"
        " (POST .../drift/ack) to push over it"
    )
