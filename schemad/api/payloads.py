"""JSON shapes of the API's answers (documented in openapi.yaml), built from the service's values."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemad.service.acks import ObjectDrift, TargetDrift
from schemad.service.drift import TargetDiff
from schemad.service.environment import RepoEnvironment, TargetState
from schemad.service.opsstore import AckRecord
from schemad.service.poller import PollState
from schemad.service.served import Leftover, Note, PlannedStep, role_of
from schemad.service.state import AuditRecord, JobRecord

__all__ = [
    "ack_json",
    "audit_json",
    "diff_json",
    "drift_object_json",
    "environment_json",
    "iso",
    "job_json",
    "leftover_json",
    "step_json",
]


def iso(ts: float | None) -> str | None:
    """Unix time as RFC 3339 UTC with milliseconds; None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def step_json(planned: PlannedStep) -> dict[str, Any]:
    step, risk = planned.step, planned.risk
    return {
        "sql": step.sql,
        "object": {"type": step.key.type.value, "name": step.key.name},
        "kind": step.kind.value.lower(),
        "unsafe": step.unsafe is not None,
        "reason": step.unsafe,
        "compound": step.compound,
        "route": {"kind": str(planned.route.kind), "command": planned.route.command},
        "risk": None
        if risk is None
        else {
            "algorithm": risk.algorithm.name,
            "lock": risk.lock.name,
            "clause": risk.clause,
            "rule": risk.rule.id,
            "why": risk.rule.condition,
        },
    }


def target_json(
    t: TargetState, env: RepoEnvironment, diff: TargetDiff | None, drift: TargetDrift | None = None
) -> dict[str, Any]:
    ds = env.dirs.get(t.dir_path)
    # The differing objects of the served (possibly filtered) statements, with drift and acknowledgement.
    keys = dict.fromkeys(p.step.key for p in diff.planned) if diff is not None else {}
    objects = [o for o in drift.objects if o.key in keys] if drift is not None else []
    return {
        "address": t.target.address,
        "schema": t.target.schema,
        "dir": diff.dir if diff is not None else str(t.dir_path),
        "files_hash": ds.files_hash if ds is not None else None,
        "snapshot_at": iso(t.live.snapshot_at),
        "error": t.error,
        "poll_error": t.live.error,
        "statements": [step_json(p) for p in diff.planned] if diff is not None else [],
        "unsupported": [str(k) for k in diff.unsupported] if diff is not None else [],
        "lint": [_finding(n, env) for n in diff.lint] if diff is not None else [],
        "objects": [drift_object_json(o) for o in objects],
    }


def drift_object_json(o: ObjectDrift) -> dict[str, Any]:
    """One differing object: whether it drifted (live moved since its baseline), and its acknowledgement."""
    return {
        "type": o.key.type.value,
        "name": o.key.name,
        "live_changed": o.live_changed,
        "acknowledgement": None if o.ack is None else ack_json(o.ack),
    }


def ack_json(a: AckRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "address": a.address,
        "schema": a.schema,
        "object": {"type": a.key.type.value, "name": a.key.name},
        "reason": a.reason,
        "who": a.who,
        "created_at": iso(a.created_at),
        "expires_at": iso(a.expires_at),
        "state": str(a.state),
        "ended_at": iso(a.ended_at),
        "end_reason": a.end_reason,
        "statements_hash": a.statements_hash,
        "live_fingerprint": a.fingerprint,
    }


def _finding(note: Note, env: RepoEnvironment) -> dict[str, Any]:
    file = note.file
    if file is not None:
        with contextlib.suppress(ValueError):
            file = Path(file).resolve().relative_to(env.root.resolve()).as_posix()
    return {
        "file": file,
        "line": note.line,
        "column": note.column,
        "rule": note.rule,
        "severity": str(note.severity),
        "message": note.message,
        "object": {"type": note.key.type.value, "name": note.key.name},
    }


def diff_json(
    key: str,
    env: RepoEnvironment,
    targets: list[tuple[TargetState, TargetDiff | None]],
    plan_hash: str,
    commit: str | None,
    drift: Mapping[tuple[str, str], TargetDrift] | None = None,
) -> dict[str, Any]:
    drift = drift or {}
    items = [target_json(t, env, d, drift.get(t.key)) for t, d in targets]
    return {
        "repo": env.repo,
        "environment": key,
        "plan_hash": plan_hash,
        "snapshot_at": iso(env.snapshot_at),
        "stale": env.stale,
        "repo_commit": commit,
        "statement_count": sum(len(i["statements"]) for i in items),
        "unsafe_count": sum(s["unsafe"] for i in items for s in i["statements"]),
        "targets": items,
        "errors": list(env.config_errors),
    }


def environment_json(key: str, env: RepoEnvironment, poll: PollState | None) -> dict[str, Any]:
    diffs = [t.diff for t in env.targets.values() if t.diff is not None]
    errors = [t for t in env.targets.values() if t.error]
    if not env.evaluated:
        status = "pending"
    elif env.stale:
        status = "stale"
    elif errors or env.config_errors:
        status = "error"
    else:
        status = "ok"
    return {
        "name": key,
        "repo": env.repo,
        "status": status,
        "snapshot_at": iso(env.snapshot_at),
        # Until the scheduler's first run, the start-up evaluation is the last poll.
        "last_poll": {
            "started_at": iso(poll.last_started if poll and poll.last_started else env.evaluated_at),
            "finished_at": iso(poll.last_finished if poll and poll.last_finished else env.evaluated_at),
            "succeeded_at": iso(
                poll.last_success
                if poll and poll.last_success
                else (env.evaluated_at if env.last_poll_error is None else None)
            ),
            "error": poll.last_error if poll else env.last_poll_error,
            "consecutive_failures": poll.consecutive_failures if poll else 0,
            "next_run_at": iso(poll.next_run) if poll else None,
        },
        "drift": {
            "schemas": len(env.targets),
            "schemas_with_drift": sum(1 for d in diffs if d.steps),
            "statements": sum(len(d.steps) for d in diffs),
            "errors": len(errors) + len(env.config_errors),
        },
        "errors": list(
            dict.fromkeys([*(t.error for t in env.ordered_targets() if t.error), *env.config_errors])
        ),
    }


def job_json(job: JobRecord, progress: dict[str, object] | None = None) -> dict[str, Any]:
    return {
        "id": job.id,
        "repo": job.repo,
        "environment": job.environment,
        "plan_hash": job.plan_hash,
        "requested_by": job.requested_by,
        "state": str(job.state),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "error": job.error,
        "wrapper_running": job.wrapper_pid is not None,
        "orphan": None
        if job.orphan is None
        else {"action": str(job.orphan.action), "pgid": job.orphan.pgid, "at": iso(job.orphan.at)},
        "progress": progress,
        "postpone_cutover": job.postpone_cutover,
        "statements": [
            {
                "sql": s.sql,
                "target": s.target,
                "status": s.status,
                "error": s.error,
                "started_at": iso(s.started_at),
                "finished_at": iso(s.finished_at),
                "leftovers": None if s.leftovers is None else [leftover_json(x) for x in s.leftovers],
                "dropped": [leftover_json(x) for x in s.dropped],
                "tool": s.tool,
                "progress": s.progress,
                "preflight": list(s.preflight),
                "cutover_approved_by": s.cutover_approved_by,
                "cutover_approved_at": iso(s.cutover_approved_at),
            }
            for s in job.statements
        ],
    }


def leftover_json(x: Leftover) -> dict[str, str]:
    """A leftover of an online-schema-change tool; `role`: copy, scaffolding or original (old data)."""
    return {
        "kind": str(x.kind),
        "schema": x.schema,
        "table": x.table,
        "name": x.name,
        "tool": str(x.tool),
        "role": str(role_of(x)),
    }


def audit_json(a: AuditRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": iso(a.at),
        "who": a.who,
        "environment": a.environment,
        "plan_hash": a.plan_hash,
        "statements": list(a.statements),
        "result": a.result,
        "job_id": a.job_id,
    }
