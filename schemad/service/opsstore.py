"""The state store's tables for drift acknowledgements, drift baselines and the webhook outbox.

The three tables are created by the state store's own migrations
(state.py, migration 3); `SqliteOpsStore` reads and writes them through the
`SqliteStateStore`'s connection and lock (`transaction`, `query`: WAL mode,
synchronous=FULL, every write committed before the method returns), so the
job/audit interface (`StateStore`) stays as narrow as it is.  `MemoryOpsStore`
is the fake with the same contract (STYLE rule 7).  Both are thread-safe: the
daemon calls the outbox methods through `asyncio.to_thread`.

What it will not do: decide anything.  Whether an acknowledgement still
holds, what counts as drift and when an event is retried or dropped are
acks.py's and webhooks.py's business; this module stores and returns rows.
Nothing stored here is secret: event bodies are signed when they are sent,
with a key that is never written down.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any, Protocol

from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass
from schemad.service.state import SqliteStateStore, StateError, StateStore

__all__ = [
    "AckRecord",
    "AckState",
    "Baseline",
    "MemoryOpsStore",
    "NewEvent",
    "OpsStore",
    "OutboxRow",
    "SqliteOpsStore",
    "TargetId",
    "key_text",
    "ops_store_for",
    "parse_key",
]

#: One target of one environment: (repo, environment name, server address, schema).
TargetId = tuple[str, str, str, str]


def key_text(key: ObjectKey) -> str:
    """`type:name`, the stored form of an object key."""
    return f"{key.type.value}:{key.name}"


def parse_key(text: str) -> ObjectKey:
    kind, _, name = text.partition(":")
    return ObjectKey(ObjectType(kind), name)


class AckState(StrEnum):
    """Where an acknowledgement is in its life."""

    ACTIVE = "active"  # in force until it expires, unless the object changes first
    EXPIRED = "expired"  # its expiry passed
    VOID = "void"  # the object changed after it (another statement, another live definition, resolved)
    REPLACED = "replaced"  # a newer acknowledgement of the same object took its place


@dataclass(frozen=True, slots=True)
class AckRecord:
    """One object's drift on one target, acknowledged by someone until a time, for a reason."""

    id: int  # 0 until stored
    repo: str
    environment: str  # the environment's name in the repo (stable across reloads), not the API's key
    address: str
    schema: str
    key: ObjectKey
    reason: str
    who: str  # the token's name
    created_at: float  # epoch seconds
    expires_at: float
    statements_hash: str  # of the object's statements when acknowledged (acks.object_hash)
    fingerprint: str | None  # the object's live fingerprint when acknowledged; None: absent live
    state: AckState = AckState.ACTIVE
    ended_at: float | None = None  # when it stopped being active
    end_reason: str | None = None  # why (e.g. "the object changed")

    @property
    def target(self) -> TargetId:
        return (self.repo, self.environment, self.address, self.schema)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a target's live side was when it last matched the repo (per object), and what was announced."""

    fingerprints: Mapping[ObjectKey, str]  # the baseline; an object absent here was absent live
    drifted: frozenset[ObjectKey] = frozenset()  # objects announced by drift.detected, not yet resolved
    lint: frozenset[str] = frozenset()  # lint errors announced by lint.failed


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to queue for one webhook target."""

    target: str  # the webhook's name
    event_id: str
    event: str
    created_at: float
    body: bytes  # exactly what is POSTed (and signed at send time)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A queued event of one target and how its delivery has gone so far."""

    id: int  # increasing: the delivery order
    target: str
    event_id: str
    event: str
    created_at: float
    body: bytes
    attempts: int  # failed attempts so far
    next_attempt_at: float
    last_error: str | None  # of the last failed attempt; never holds a URL or a secret


class OpsStore(Protocol):
    """Acknowledgements, baselines and the outbox; every write is durable on return."""

    def add_ack(self, ack: AckRecord, at: float) -> AckRecord:
        """Store a new acknowledgement (its id assigned); an active one of the same object is replaced."""
        ...

    def end_ack(self, id: int, state: AckState, at: float, reason: str) -> None: ...

    def active_acks(self) -> list[AckRecord]:
        """Every active acknowledgement, oldest first."""
        ...

    def list_acks(self, repo: str, environment: str, *, limit: int = 100) -> list[AckRecord]:
        """The environment's acknowledgements in any state, newest first."""
        ...

    def baselines(self) -> dict[TargetId, Baseline]: ...

    def put_baseline(self, target: TargetId, baseline: Baseline, at: float) -> None: ...

    def enqueue(self, events: list[NewEvent], limits: Mapping[str, int]) -> dict[str, int]:
        """Queue the events (in order); a target over its limit loses its oldest rows.

        Returns how many rows were dropped per target.
        """
        ...

    def head(self, target: str) -> OutboxRow | None:
        """The target's oldest queued event."""
        ...

    def remove(self, id: int) -> None:
        """Delivered (or given up): gone from the queue."""
        ...

    def retry(self, id: int, attempts: int, next_attempt_at: float, error: str) -> None: ...

    def depth(self, target: str) -> int: ...

    def close(self) -> None: ...


def ops_store_for(store: StateStore) -> OpsStore:
    """The ops tables beside a job/audit store: the same SQLite file or control schema, or a fake."""
    if isinstance(store, SqliteStateStore):
        return SqliteOpsStore(store)
    from schemad.service.opsstore_mysql import MysqlOpsStore  # it imports this module
    from schemad.service.state_mysql import MysqlStateStore

    if isinstance(store, MysqlStateStore):
        return MysqlOpsStore(store)
    return MemoryOpsStore()


# ----- MemoryOpsStore -----


class MemoryOpsStore:
    """OpsStore fake kept in dicts: the same contract as SqliteOpsStore, nothing on disk."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acks: dict[int, AckRecord] = {}
        self._baselines: dict[TargetId, Baseline] = {}
        self._outbox: dict[int, OutboxRow] = {}
        self._next_row = 1

    def add_ack(self, ack: AckRecord, at: float) -> AckRecord:
        with self._lock:
            for a in list(self._acks.values()):
                if a.state is AckState.ACTIVE and a.target == ack.target and a.key == ack.key:
                    self._acks[a.id] = replace(
                        a, state=AckState.REPLACED, ended_at=at, end_reason="acknowledged again"
                    )
            stored = replace(ack, id=max(self._acks, default=0) + 1)
            self._acks[stored.id] = stored
            return stored

    def end_ack(self, id: int, state: AckState, at: float, reason: str) -> None:
        with self._lock:
            if id not in self._acks:
                raise StateError(f"no acknowledgement {id}", key=str(id))
            self._acks[id] = replace(self._acks[id], state=state, ended_at=at, end_reason=reason)

    def active_acks(self) -> list[AckRecord]:
        with self._lock:
            return [self._acks[i] for i in sorted(self._acks) if self._acks[i].state is AckState.ACTIVE]

    def list_acks(self, repo: str, environment: str, *, limit: int = 100) -> list[AckRecord]:
        with self._lock:
            out = [
                self._acks[i]
                for i in sorted(self._acks, reverse=True)
                if (self._acks[i].repo, self._acks[i].environment) == (repo, environment)
            ]
        return out[: max(limit, 0)]

    def baselines(self) -> dict[TargetId, Baseline]:
        with self._lock:
            return dict(self._baselines)

    def put_baseline(self, target: TargetId, baseline: Baseline, at: float) -> None:
        with self._lock:
            self._baselines[target] = baseline

    def enqueue(self, events: list[NewEvent], limits: Mapping[str, int]) -> dict[str, int]:
        dropped: dict[str, int] = {}
        with self._lock:
            for e in events:
                self._outbox[self._next_row] = OutboxRow(
                    self._next_row, e.target, e.event_id, e.event, e.created_at, e.body, 0, e.created_at, None
                )
                self._next_row += 1
            for target in {e.target for e in events}:
                rows = sorted(i for i, r in self._outbox.items() if r.target == target)
                over = len(rows) - limits.get(target, len(rows))
                for i in rows[: max(over, 0)]:
                    del self._outbox[i]
                if over > 0:
                    dropped[target] = over
        return dropped

    def head(self, target: str) -> OutboxRow | None:
        with self._lock:
            rows = [i for i, r in self._outbox.items() if r.target == target]
            return self._outbox[min(rows)] if rows else None

    def remove(self, id: int) -> None:
        with self._lock:
            self._outbox.pop(id, None)

    def retry(self, id: int, attempts: int, next_attempt_at: float, error: str) -> None:
        with self._lock:
            if id in self._outbox:
                self._outbox[id] = replace(
                    self._outbox[id], attempts=attempts, next_attempt_at=next_attempt_at, last_error=error
                )

    def depth(self, target: str) -> int:
        with self._lock:
            return sum(1 for r in self._outbox.values() if r.target == target)

    def close(self) -> None:
        pass


# ----- SqliteOpsStore -----

_ACK_COLUMNS = (
    "id, repo, environment, address, schema_name, object_type, object_name, reason, who, created_at,"
    " expires_at, statements_hash, fingerprint, state, ended_at, end_reason"
)
_OUTBOX_COLUMNS = "id, target, event_id, event, created_at, body, attempts, next_attempt_at, last_error"


def _ack_from_row(r: tuple[Any, ...]) -> AckRecord:
    return AckRecord(
        id=r[0],
        repo=r[1],
        environment=r[2],
        address=r[3],
        schema=r[4],
        key=ObjectKey(ObjectType(r[5]), r[6]),
        reason=r[7],
        who=r[8],
        created_at=r[9],
        expires_at=r[10],
        statements_hash=r[11],
        fingerprint=r[12],
        state=AckState(r[13]),
        ended_at=r[14],
        end_reason=r[15],
    )


def _outbox_from_row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), r[6], r[7], r[8])


class SqliteOpsStore:
    """OpsStore in the state store's SQLite file, through the store's own connection and lock."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store
        self._write = store.transaction
        self._read = store.query

    # ----- acknowledgements -----

    def add_ack(self, ack: AckRecord, at: float) -> AckRecord:
        with self._write() as cur:
            cur.execute(
                "UPDATE drift_acks SET state = ?, ended_at = ?, end_reason = ? WHERE repo = ?"
                " AND environment = ? AND address = ? AND schema_name = ? AND object_type = ?"
                " AND object_name = ? AND state = ?",
                (
                    str(AckState.REPLACED),
                    at,
                    "acknowledged again",
                    *ack.target,
                    ack.key.type.value,
                    ack.key.name,
                    str(AckState.ACTIVE),
                ),
            )
            cur.execute(
                f"INSERT INTO drift_acks ({_ACK_COLUMNS.removeprefix('id, ')})"
                f" VALUES ({', '.join('?' * 15)})",
                (
                    *ack.target,
                    ack.key.type.value,
                    ack.key.name,
                    ack.reason,
                    ack.who,
                    ack.created_at,
                    ack.expires_at,
                    ack.statements_hash,
                    ack.fingerprint,
                    str(ack.state),
                    ack.ended_at,
                    ack.end_reason,
                ),
            )
            id = cur.lastrowid
        assert id is not None
        return replace(ack, id=id)

    def end_ack(self, id: int, state: AckState, at: float, reason: str) -> None:
        with self._write() as cur:
            cur.execute(
                "UPDATE drift_acks SET state = ?, ended_at = ?, end_reason = ? WHERE id = ?",
                (str(state), at, reason, id),
            )
            if cur.rowcount == 0:
                raise StateError(f"no acknowledgement {id}", key=str(id))

    def active_acks(self) -> list[AckRecord]:
        rows = self._read(
            f"SELECT {_ACK_COLUMNS} FROM drift_acks WHERE state = ? ORDER BY id", (str(AckState.ACTIVE),)
        )
        return [_ack_from_row(r) for r in rows]

    def list_acks(self, repo: str, environment: str, *, limit: int = 100) -> list[AckRecord]:
        rows = self._read(
            f"SELECT {_ACK_COLUMNS} FROM drift_acks WHERE repo = ? AND environment = ?"
            " ORDER BY id DESC LIMIT ?",
            (repo, environment, max(limit, 0)),
        )
        return [_ack_from_row(r) for r in rows]

    # ----- baselines -----

    def baselines(self) -> dict[TargetId, Baseline]:
        rows = self._read(
            "SELECT repo, environment, address, schema_name, fingerprints, drifted, lint FROM drift_baselines"
        )
        return {
            (r[0], r[1], r[2], r[3]): Baseline(
                {parse_key(k): v for k, v in json.loads(r[4]).items()},
                frozenset(parse_key(k) for k in json.loads(r[5])),
                frozenset(json.loads(r[6])),
            )
            for r in rows
        }

    def put_baseline(self, target: TargetId, baseline: Baseline, at: float) -> None:
        doc = json.dumps({key_text(k): v for k, v in sorted(baseline.fingerprints.items())})
        drifted = json.dumps(sorted(key_text(k) for k in baseline.drifted))
        with self._write() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO drift_baselines (repo, environment, address, schema_name,"
                " fingerprints, drifted, lint, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*target, doc, drifted, json.dumps(sorted(baseline.lint)), at),
            )

    # ----- the outbox -----

    def enqueue(self, events: list[NewEvent], limits: Mapping[str, int]) -> dict[str, int]:
        dropped: dict[str, int] = {}
        with self._write() as cur:
            cur.executemany(
                f"INSERT INTO webhook_outbox ({_OUTBOX_COLUMNS.removeprefix('id, ')})"
                " VALUES (?, ?, ?, ?, ?, 0, ?, NULL)",
                [(e.target, e.event_id, e.event, e.created_at, e.body, e.created_at) for e in events],
            )
            for target in sorted({e.target for e in events}):
                limit = limits.get(target)
                if limit is None:
                    continue
                n = cur.execute("SELECT COUNT(*) FROM webhook_outbox WHERE target = ?", (target,)).fetchone()[
                    0
                ]
                if n > limit:
                    cur.execute(
                        "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox"
                        " WHERE target = ? ORDER BY id LIMIT ?)",
                        (target, n - limit),
                    )
                    dropped[target] = n - limit
        return dropped

    def head(self, target: str) -> OutboxRow | None:
        rows = self._read(
            f"SELECT {_OUTBOX_COLUMNS} FROM webhook_outbox WHERE target = ? ORDER BY id LIMIT 1", (target,)
        )
        return _outbox_from_row(rows[0]) if rows else None

    def remove(self, id: int) -> None:
        with self._write() as cur:
            cur.execute("DELETE FROM webhook_outbox WHERE id = ?", (id,))

    def retry(self, id: int, attempts: int, next_attempt_at: float, error: str) -> None:
        with self._write() as cur:
            cur.execute(
                "UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (attempts, next_attempt_at, error, id),
            )

    def depth(self, target: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM webhook_outbox WHERE target = ?", (target,))[0][0])

    def close(self) -> None:
        """Nothing to close: the connection is the state store's, closed with it."""
