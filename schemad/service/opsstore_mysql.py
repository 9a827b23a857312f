"""`MysqlOpsStore`: drift acknowledgements, drift baselines and the webhook outbox in the control schema.

The same `OpsStore` contract as `SqliteOpsStore`, on the tables the control
schema's migration 2 creates (state_mysql.py), through the `MysqlStateStore`'s
pool and transactions (`run`, `query`: committed before a method returns).
Where the SQLite store leans on its single writer: ack and outbox ids come
from the `sequences` table, whose row stays locked to COMMIT, which also
serialises `add_ack` (one active ack per object) and `enqueue` (the per-target
limits) across daemons.  `INSERT OR REPLACE` becomes `INSERT ... ON DUPLICATE
KEY UPDATE`.

What it will not do: decide anything (acks.py and webhooks.py do), or store a
secret: event bodies are signed at send time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from schemad.service.opsstore import (
    _ACK_COLUMNS,
    _OUTBOX_COLUMNS,
    AckRecord,
    AckState,
    Baseline,
    NewEvent,
    OutboxRow,
    TargetId,
    _ack_from_row,
    _outbox_from_row,
    key_text,
    parse_key,
)
from schemad.service.state import StateError
from schemad.service.state_mysql import Cursor, MysqlStateStore

__all__ = ["MysqlOpsStore"]


class MysqlOpsStore:
    """OpsStore in the control schema, through the state store's pool."""

    def __init__(self, store: MysqlStateStore) -> None:
        self._store = store
        self._run = store.run
        self._read = store.query

    # ----- acknowledgements -----

    def add_ack(self, ack: AckRecord, at: float) -> AckRecord:
        def write(cur: Cursor) -> int:
            id = self._store.next_ids(cur, "drift_acks")  # first: serialises add_ack across daemons
            cur.execute(
                "UPDATE drift_acks SET state = %s, ended_at = %s, end_reason = %s WHERE repo = %s"
                " AND environment = %s AND address = %s AND schema_name = %s AND object_type = %s"
                " AND object_name = %s AND state = %s",
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
                f"INSERT INTO drift_acks ({_ACK_COLUMNS}) VALUES ({', '.join(['%s'] * 16)})",
                (
                    id,
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
            return id

        return replace(ack, id=self._run(write))

    def end_ack(self, id: int, state: AckState, at: float, reason: str) -> None:
        def write(cur: Cursor) -> None:
            n = cur.execute(
                "UPDATE drift_acks SET state = %s, ended_at = %s, end_reason = %s WHERE id = %s",
                (str(state), at, reason, id),
            )
            if n == 0:
                raise StateError(f"no acknowledgement {id}", key=str(id))

        self._run(write)

    def active_acks(self) -> list[AckRecord]:
        rows = self._read(
            f"SELECT {_ACK_COLUMNS} FROM drift_acks WHERE state = %s ORDER BY id", (str(AckState.ACTIVE),)
        )
        return [_ack_from_row(r) for r in rows]

    def list_acks(self, repo: str, environment: str, *, limit: int = 100) -> list[AckRecord]:
        rows = self._read(
            f"SELECT {_ACK_COLUMNS} FROM drift_acks WHERE repo = %s AND environment = %s"
            " ORDER BY id DESC LIMIT %s",
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
        self._run(
            lambda cur: cur.execute(
                "INSERT INTO drift_baselines (repo, environment, address, schema_name, fingerprints, drifted,"
                " lint, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE"
                " fingerprints = VALUES(fingerprints), drifted = VALUES(drifted), lint = VALUES(lint),"
                " updated_at = VALUES(updated_at)",
                (*target, doc, drifted, json.dumps(sorted(baseline.lint)), at),
            )
        )

    # ----- the outbox -----

    def enqueue(self, events: list[NewEvent], limits: Mapping[str, int]) -> dict[str, int]:
        def write(cur: Cursor) -> dict[str, int]:
            dropped: dict[str, int] = {}
            first = self._store.next_ids(cur, "webhook_outbox", len(events))  # first: serialises enqueue
            if events:
                cur.executemany(
                    f"INSERT INTO webhook_outbox ({_OUTBOX_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s, 0, %s, NULL)",
                    [
                        (first + i, e.target, e.event_id, e.event, e.created_at, e.body, e.created_at)
                        for i, e in enumerate(events)
                    ],
                )
            for target in sorted({e.target for e in events}):
                limit = limits.get(target)
                if limit is None:
                    continue
                cur.execute("SELECT COUNT(*) FROM webhook_outbox WHERE target = %s", (target,))
                n = int(cur.fetchone()[0])
                if n > limit:
                    cur.execute(
                        "DELETE FROM webhook_outbox WHERE target = %s ORDER BY id LIMIT %s",
                        (target, n - limit),
                    )
                    dropped[target] = n - limit
            return dropped

        return self._run(write)

    def head(self, target: str) -> OutboxRow | None:
        rows = self._read(
            f"SELECT {_OUTBOX_COLUMNS} FROM webhook_outbox WHERE target = %s ORDER BY id LIMIT 1", (target,)
        )
        return _outbox_from_row(rows[0]) if rows else None

    def remove(self, id: int) -> None:
        self._run(lambda cur: cur.execute("DELETE FROM webhook_outbox WHERE id = %s", (id,)))

    def retry(self, id: int, attempts: int, next_attempt_at: float, error: str) -> None:
        self._run(
            lambda cur: cur.execute(
                "UPDATE webhook_outbox SET attempts = %s, next_attempt_at = %s, last_error = %s"
                " WHERE id = %s",
                (attempts, next_attempt_at, error, id),
            )
        )

    def depth(self, target: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM webhook_outbox WHERE target = %s", (target,))[0][0])

    def close(self) -> None:
        """Nothing to close: the pool is the state store's, closed with it."""
