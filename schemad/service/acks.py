"""Drift and its acknowledgement: which differing objects are drift, who acknowledged which, until when.

Words, fixed here (docs/drift-acks.md says the same for users):

* A **differing object** is one with statements in a target's diff: its live
  definition is not what the repo's files make.  `schemad_drift` and
  `schemad_drift_objects` count the differing objects nobody acknowledged.
* **Drift** is a differing object whose live definition changed since its
  *baseline*: the object's live fingerprint (introspect/fingerprint.py) when
  schemad last saw it match the repo, or when a push to its target last ended,
  or when schemad first read the target.  An object that differs only because
  the repo changed (its live side is still the baseline) is a pending change,
  not drift.  What already differed when schemad first read a target is not
  drift either: why it differs cannot be known any more.  This is what
  `drift.detected` / `drift.resolved` announce and what a push refuses with
  `push_requires_drift_ack` (409 `unacknowledged_drift`).
* An **acknowledgement** is of one differing object on one target: it records
  the object's statements hash (`object_hash`) and its live fingerprint, and
  holds until `expires_at`, unless the object changes again first (another
  statement, another live definition, or no difference any more): then it is
  `void`.  An acknowledged object is still served in the diff, marked with the
  acknowledgement (who, why, until), but counts neither in the metrics nor
  against a push.

`DriftBook` keeps the baselines and active acknowledgements in memory
(loaded from the ops store at start, written through on every change).
`view` is pure: the diff answer, the metrics, the push check and `GET …/drift`
all call it and see the same thing.  `observe` (after every change the daemon
publishes) does the writing: baselines follow the objects that match, ended
acknowledgements are recorded (and audited), and the drift and lint events
are emitted for what changed since the last announcement.  While a push to an
environment runs its baselines and announcements stand still (an online
schema change's shadow tables are not drift); `rebase` then takes the live
side after the push as the new baseline of the targets it ran on.

What it will not do: poll, diff or deliver.  Its inputs are the environment's
targets as they are; its outputs are values, audit entries and `emit` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from schemad.daemon_config import parse_duration
from schemad.errors import SchemadError
from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass
from schemad.service.environment import RepoEnvironment, TargetState
from schemad.service.opsstore import AckRecord, AckState, Baseline, OpsStore, TargetId
from schemad.service.state import StateStore
from schemad.service.writebehind import WriteBehind

__all__ = [
    "MAX_ACK_SECONDS",
    "MAX_REASON_CHARS",
    "AckRequest",
    "DriftBook",
    "Emit",
    "NothingToAcknowledge",
    "ObjectDrift",
    "ObjectSpec",
    "TargetDrift",
    "object_hash",
    "parse_expiry",
]

log = logging.getLogger(__name__)

#: The longest an acknowledgement may last (an expiry further away is refused).
MAX_ACK_SECONDS = 90 * 86400.0
#: The longest reason accepted.
MAX_REASON_CHARS = 2000

#: Hands an event to the webhooks: (event name, environment key, repo, data).
Emit = Callable[[str, str, str, dict[str, Any]], object]

#: The audit result of an acknowledgement, and of its end.
AUDIT_ACK = "drift_acknowledged"
AUDIT_EXPIRED = "drift_ack_expired"
AUDIT_VOID = "drift_ack_void"


def parse_expiry(text: str, now: float) -> float:
    """An acknowledgement's expiry: a duration from now ("2s", "4h", "1h30m") or an RFC 3339 timestamp.

    ValueError (with the reason) unless it is in the future and at most MAX_ACK_SECONDS away.
    """
    try:
        at = now + parse_duration(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f'expected a duration like "2h" or an RFC 3339 timestamp like "2026-01-01T00:00:00Z",'
                f" got {text!r}"
            ) from None
        if when.tzinfo is None:
            raise ValueError(f"the timestamp {text!r} has no time zone (add Z or an offset)") from None
        at = when.timestamp()
    if at <= now:
        raise ValueError(f"{text!r} is not in the future")
    if at - now > MAX_ACK_SECONDS:
        raise ValueError(f"{text!r} is more than {MAX_ACK_SECONDS / 86400:g} days away")
    return at


def object_hash(address: str, schema: str, key: ObjectKey, statements: Sequence[str]) -> str:
    """SHA-256 naming one object's statements on one target (what an acknowledgement was given for)."""
    doc = json.dumps([address, schema, key.type.value, key.name, list(statements)], separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


class NothingToAcknowledge(SchemadError):
    """An acknowledgement names an object that differs on none of the environment's targets."""

    def __init__(self, message: str, *, schema: str, key: ObjectKey) -> None:
        super().__init__(message)
        self.schema = schema
        self.key = key


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """An object an acknowledgement names: on every target of `schema` (or only on `address`)."""

    schema: str
    key: ObjectKey
    address: str | None = None

    @classmethod
    def parse(cls, schema: str, name: str, type: str = "table", address: str | None = None) -> ObjectSpec:
        """From a request's fields; ValueError (saying what is wrong) for an empty name or unknown type."""
        if not schema or not name:
            raise ValueError("schema and name must not be empty")
        try:
            kind = ObjectType(type)
        except ValueError:
            known = ", ".join(t.value for t in ObjectType)
            raise ValueError(f"type: expected one of {known}, got {type!r}") from None
        return cls(schema, ObjectKey(kind, name), address)


@dataclass(frozen=True, slots=True)
class AckRequest:
    objects: tuple[ObjectSpec, ...]
    reason: str
    who: str  # the token's name
    expires_at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class ObjectDrift:
    """One differing object of one target, as the drift rules see it now."""

    key: ObjectKey
    statements: tuple[str, ...]  # its statements in the target's (unfiltered) diff
    statements_hash: str  # object_hash of them
    fingerprint: str | None  # its live fingerprint now; None: absent live
    live_changed: bool  # drift: the live definition moved since the baseline
    ack: AckRecord | None  # the acknowledgement in force, if any


@dataclass(frozen=True, slots=True)
class TargetDrift:
    """The differing objects of one target, with their drift and acknowledgements."""

    address: str
    schema: str
    objects: tuple[ObjectDrift, ...]

    def counts(self) -> dict[str, int]:
        """Unacknowledged differing objects per kind (the metrics' `kind`)."""
        return dict(Counter(o.key.type.value for o in self.objects if o.ack is None))

    @property
    def drift(self) -> tuple[ObjectDrift, ...]:
        return tuple(o for o in self.objects if o.live_changed)

    def find(self, key: ObjectKey) -> ObjectDrift | None:
        return next((o for o in self.objects if o.key == key), None)


@dataclass(slots=True)
class _Memo:
    """What was announced and stored for one target, as the book holds it."""

    baseline: Baseline
    rebase_after: float | None = None  # a push ended then: the next live side read after it is the baseline


@dataclass(slots=True)
class DriftBook:
    """Baselines and acknowledgements of every environment; see the module docstring."""

    ops: OpsStore
    store: StateStore  # for the audit log
    emit: Emit
    clock: Callable[[], float] = time.time
    _memos: dict[TargetId, _Memo] = field(default_factory=dict)
    _acks: dict[int, AckRecord] = field(default_factory=dict)  # the active ones, by id
    _changed: asyncio.Event | None = None  # wakes the expiry timer
    # Ends, their audit entries and baselines are written in order off the event loop.
    writes: WriteBehind = field(default_factory=lambda: WriteBehind("drift book"))

    def load(self) -> None:
        """Read the stored baselines and active acknowledgements (daemon start)."""
        self._memos = {t: _Memo(b) for t, b in self.ops.baselines().items()}
        self._acks = {a.id: a for a in self.ops.active_acks()}

    # ///// reads (no I/O) /////

    def view(self, env: RepoEnvironment) -> dict[tuple[str, str], TargetDrift]:
        """Every target with a diff, keyed (address, schema): its differing objects, drift and acks."""
        out: dict[tuple[str, str], TargetDrift] = {}
        for t in env.ordered_targets():
            d = self.target_view(env, t)
            if d is not None:
                out[t.key] = d
        return out

    def target_view(self, env: RepoEnvironment, t: TargetState) -> TargetDrift | None:
        if t.diff is None:
            return None
        now = self.clock()
        tid = _target_id(env, t)
        memo = self._memos.get(tid)
        live = t.live.fingerprints
        base = memo.baseline.fingerprints if memo is not None else live  # first sight: nothing moved
        statements: dict[ObjectKey, list[str]] = {}
        for s in t.diff.steps:
            statements.setdefault(s.key, []).append(s.sql)
        acks = {a.key: a for a in self._acks.values() if a.target == tid}
        objects = []
        for key, sqls in statements.items():
            h = object_hash(t.target.address, t.target.schema, key, sqls)
            fp = live.get(key)
            ack = acks.get(key)
            if ack is not None and not _holds(ack, h, fp, now):
                ack = None
            objects.append(ObjectDrift(key, tuple(sqls), h, fp, base.get(key) != fp, ack))
        return TargetDrift(t.target.address, t.target.schema, tuple(objects))

    def history(self, env: RepoEnvironment, limit: int = 100) -> list[AckRecord]:
        """The environment's acknowledgements in any state, newest first (reads the store)."""
        now = self.clock()
        out = []
        for a in self.ops.list_acks(env.repo, env.name, limit=limit):
            if a.state is AckState.ACTIVE and a.expires_at <= now:  # the timer has not recorded it yet
                a = replace(a, state=AckState.EXPIRED, ended_at=a.expires_at, end_reason="expired")
            out.append(a)
        return out

    def unacknowledged_drift(
        self, env: RepoEnvironment, keys: Iterable[tuple[str, str]], tables: Sequence[str] = ()
    ) -> list[tuple[str, str, ObjectDrift]]:
        """(address, schema, object) of the drift nobody acknowledged on these targets (only `tables`)."""
        view = self.view(env)
        out = []
        for k in keys:
            d = view.get(k)
            if d is None:
                continue
            for o in d.drift:
                if o.ack is not None:
                    continue
                if tables and not (o.key.type is ObjectType.TABLE and o.key.name in tables):
                    continue
                out.append((d.address, d.schema, o))
        return out

    def next_expiry(self) -> float | None:
        return min((a.expires_at for a in self._acks.values()), default=None)

    # ///// changes /////

    def observe(self, key: str, env: RepoEnvironment) -> bool:
        """Record what changed since the last call for this environment; True if its marks changed.

        Ends the acknowledgements that no longer hold, moves baselines, and
        emits drift.detected / drift.resolved / lint.failed for what is new.
        The caller bumps nothing: when the served marks changed, this bumps
        `env.version` itself (the rendered diff answers carry them).
        """
        now = self.clock()
        marks_changed = self._end_acks(key, env, now)
        frozen = env.push_lock.locked()
        for t in env.ordered_targets():
            if t.diff is None or t.live.snapshot_at is None:
                continue
            tid = _target_id(env, t)
            memo = self._memos.get(tid)
            view = self.target_view(env, t)
            assert view is not None
            if memo is None:
                memo = _Memo(Baseline(dict(t.live.fingerprints)))
                self._memos[tid] = memo
                self._put(tid, memo.baseline, now)
            if frozen:
                continue
            if memo.rebase_after is not None and t.live.snapshot_at > memo.rebase_after:
                memo.rebase_after = None
                memo.baseline = replace(memo.baseline, fingerprints=dict(t.live.fingerprints))
                view = self.target_view(env, t)
                assert view is not None
                marks_changed = True
            base = memo.baseline
            fps = _follow_matching(base.fingerprints, t.live.fingerprints, {o.key for o in view.objects})
            drifted = frozenset(o.key for o in view.drift)
            lint = {_note_id(n): n for n in t.diff.lint if str(n.severity) == "error"}
            new = Baseline(fps, drifted, frozenset(lint))
            if new == base:
                continue
            memo.baseline = new  # in memory first: a store that fails now announces again after a restart
            common = {"repo": env.repo, "address": t.target.address, "schema": t.target.schema}
            detected = [o for o in view.drift if o.key not in base.drifted]
            if detected:
                self.emit("drift.detected", key, env.repo, {**common, "objects": _objects_json(detected)})
            resolved = sorted(base.drifted - drifted)
            if resolved:
                objs = [{"type": k.type.value, "name": k.name} for k in resolved]
                self.emit("drift.resolved", key, env.repo, {**common, "objects": objs})
            if lint.keys() - base.lint:
                findings = [_finding_json(n, env.root) for _, n in sorted(lint.items())]
                self.emit("lint.failed", key, env.repo, {**common, "findings": findings})
            self._put(tid, new, now)
        if marks_changed:
            env.version += 1
        return marks_changed

    def rebase_after(self, env: RepoEnvironment, targets: Iterable[str]) -> None:
        """A push to these targets (`address schema`) ended: their live side becomes the baseline.

        Taken at the next `observe` while no push runs (the caller polls first).
        """
        wanted, now = set(targets), self.clock()
        for t in env.targets.values():
            if f"{t.target.address} {t.target.schema}" in wanted:
                memo = self._memos.get(_target_id(env, t))
                if memo is not None:
                    memo.rebase_after = now

    async def acknowledge(self, key: str, env: RepoEnvironment, req: AckRequest) -> list[AckRecord]:
        """Acknowledge each named object on every target where it differs now; audited, announced.

        NothingToAcknowledge when an object differs on none of the targets.
        """
        now = self.clock()
        view = self.view(env)
        todo: list[tuple[TargetState, ObjectDrift]] = []
        for spec in req.objects:
            hits = [
                (env.targets[k], o)
                for k, d in view.items()
                if d.schema == spec.schema
                and (spec.address is None or d.address == spec.address)
                and (o := d.find(spec.key)) is not None
            ]
            if not hits:
                where = f" on {spec.address}" if spec.address else ""
                raise NothingToAcknowledge(
                    f"{spec.key} in schema {spec.schema}{where} does not differ from the repo in {key}:"
                    " nothing to acknowledge",
                    schema=spec.schema,
                    key=spec.key,
                )
            todo += hits
        out: list[AckRecord] = []
        for t, o in todo:
            ack = AckRecord(
                id=0,
                repo=env.repo,
                environment=env.name,
                address=t.target.address,
                schema=t.target.schema,
                key=o.key,
                reason=req.reason,
                who=req.who,
                created_at=now,
                expires_at=req.expires_at,
                statements_hash=o.statements_hash,
                fingerprint=o.fingerprint,
            )
            stored = await asyncio.to_thread(self.ops.add_ack, ack, now)
            for old in [a for a in self._acks.values() if a.target == stored.target and a.key == stored.key]:
                del self._acks[old.id]
            self._acks[stored.id] = stored
            until = _iso(stored.expires_at)
            await self._audit(
                key,
                stored,
                o.statements,
                f"{AUDIT_ACK}: #{stored.id} {stored.key} in {stored.schema} on {stored.address}"
                f" until {until}: {stored.reason}",
            )
            out.append(stored)
        env.version += 1
        self._wake()
        self.emit(
            "drift.acknowledged",
            key,
            env.repo,
            {
                "repo": env.repo,
                "who": req.who,
                "reason": req.reason,
                "expires_at": _iso(req.expires_at),
                "acknowledgements": [
                    {"id": a.id, "address": a.address, "schema": a.schema}
                    | {"type": a.key.type.value, "name": a.key.name}
                    for a in out
                ],
            },
        )
        return out

    def expire_due(self, key_of: Callable[[str, str], str]) -> set[tuple[str, str]]:
        """End every acknowledgement whose expiry passed; the (repo, environment)s that had one.

        `key_of(repo, environment)` is the environment's API key, for the audit entries.
        """
        now = self.clock()
        affected = set()
        for a in [a for a in self._acks.values() if a.expires_at <= now]:
            self._end(a, AckState.EXPIRED, "expired", now, key_of(a.repo, a.environment))
            affected.add((a.repo, a.environment))
        return affected

    async def run_expiry(
        self,
        stop: asyncio.Event,
        key_of: Callable[[str, str], str],
        expired: Callable[[set[tuple[str, str]]], None],
    ) -> None:
        """When an acknowledgement's expiry passes: end it and call `expired`, until `stop` is set.

        `expired` gets the (repo, environment)s concerned: their marks and metrics are now out of date.
        """
        self._changed = asyncio.Event()
        while not stop.is_set():
            self._changed.clear()
            nxt = self.next_expiry()
            wait = None if nxt is None else max(nxt - self.clock(), 0.0) + 0.01
            stopper = asyncio.ensure_future(stop.wait())
            changer = asyncio.ensure_future(self._changed.wait())
            done, pending = await asyncio.wait(
                {stopper, changer}, timeout=wait, return_when="FIRST_COMPLETED"
            )
            for f in pending:
                f.cancel()
            if stop.is_set():
                return
            if not done:  # the timeout: an expiry passed
                try:
                    expired(self.expire_due(key_of))
                except Exception:
                    log.exception("could not record expired drift acknowledgements")
                await asyncio.sleep(0)

    # ///// internals /////

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _end_acks(self, key: str, env: RepoEnvironment, now: float) -> bool:
        """End the environment's acknowledgements that expired or no longer match their object."""
        mine = [a for a in self._acks.values() if (a.repo, a.environment) == (env.repo, env.name)]
        if not mine:
            return False
        views = self.view(env)
        ended = False
        for a in mine:
            t = env.targets.get((a.address, a.schema))
            if a.expires_at <= now:
                state, reason = AckState.EXPIRED, "expired"
            elif t is None or t.diff is None:
                continue  # not evaluated now: cannot tell, keep it
            else:
                d = views.get(t.key)
                o = d.find(a.key) if d is not None else None
                if o is None:
                    state, reason = AckState.VOID, "the object no longer differs from the repo"
                elif o.statements_hash != a.statements_hash or o.fingerprint != a.fingerprint:
                    state, reason = AckState.VOID, "the object changed after it was acknowledged"
                else:
                    continue
            self._end(a, state, reason, now, key)
            ended = True
        return ended

    def _end(self, a: AckRecord, state: AckState, reason: str, now: float, key: str) -> None:
        """Record that an acknowledgement stopped holding, in the store and the audit log."""
        self._acks.pop(a.id, None)
        self.writes.put(
            f"record the end of drift acknowledgement {a.id}",
            lambda: self.ops.end_ack(a.id, state, now, reason),
        )
        result = AUDIT_EXPIRED if state is AckState.EXPIRED else AUDIT_VOID
        self.writes.put(
            f"audit the end of drift acknowledgement {a.id}",
            lambda: self.store.append_audit(
                at=now,
                who=a.who,
                environment=key,
                plan_hash=a.statements_hash,
                statements=(),
                result=f"{result}: #{a.id} {a.key} in {a.schema} on {a.address}: {reason}",
            ),
        )

    async def _audit(self, key: str, ack: AckRecord, statements: Sequence[str], result: str) -> None:
        await asyncio.to_thread(
            lambda: self.store.append_audit(
                at=ack.created_at,
                who=ack.who,
                environment=key,
                plan_hash=ack.statements_hash,
                statements=tuple(statements),
                result=result,
            )
        )

    def _put(self, tid: TargetId, baseline: Baseline, now: float) -> None:
        # Kept in memory; a failed write is logged and the next change writes it again.
        self.writes.put(
            f"store the drift baseline of {' '.join(tid)}",
            lambda: self.ops.put_baseline(tid, baseline, now),
            key=f"baseline {tid}",
        )


def _holds(ack: AckRecord, statements_hash: str, fingerprint: str | None, now: float) -> bool:
    return (
        ack.state is AckState.ACTIVE
        and ack.expires_at > now
        and ack.statements_hash == statements_hash
        and ack.fingerprint == fingerprint
    )


def _target_id(env: RepoEnvironment, t: TargetState) -> TargetId:
    return (env.repo, env.name, t.target.address, t.target.schema)


def _follow_matching(
    base: Mapping[ObjectKey, str], live: Mapping[ObjectKey, str], differing: set[ObjectKey]
) -> dict[ObjectKey, str]:
    """The baseline after this poll: an object that matches the repo now takes its live fingerprint."""
    out = dict(base)
    for k in (base.keys() | live.keys()) - differing:
        fp = live.get(k)
        if fp is None:
            out.pop(k, None)
        else:
            out[k] = fp
    return out


def _note_id(note: Any) -> str:
    return json.dumps([note.file, note.line, note.rule, note.key.type.value, note.key.name, note.message])


def _finding_json(note: Any, root: Path) -> dict[str, Any]:
    """A lint finding for an event, its file relative to the repo (where the checkout is stays private)."""
    file = note.file
    if file is not None:
        with contextlib.suppress(ValueError):
            file = Path(file).resolve().relative_to(root.resolve()).as_posix()
    return {
        "file": file,
        "line": note.line,
        "rule": note.rule,
        "message": note.message,
        "object": {"type": note.key.type.value, "name": note.key.name},
    }


def _objects_json(objects: Iterable[ObjectDrift]) -> list[dict[str, Any]]:
    return [{"type": o.key.type.value, "name": o.key.name, "statements": list(o.statements)} for o in objects]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
