"""Several daemons on one control schema: who owns which environment, what owners publish, pushes handed over.

Only with `[state] backend = "mysql"`: every daemon on the control schema is a
replica (`[replicas] id`, by default `<hostname>-<uuid>` kept in
`state_dir/replica-id`, so a restarted daemon is the same replica).

Ownership.  Each repo x environment is a lease row (`leases`: name, owner,
expires_at).  Every expiry and comparison uses the CONTROL SERVER's clock
(`UNIX_TIMESTAMP(NOW(6))`), never a replica's: replicas' clocks may disagree
by any amount.  Every `lease_ttl / 4` a replica, in one transaction, writes
its heartbeat (`replicas`), renews every lease it holds, counts the live
replicas and takes free or expired leases (an UPDATE guarded by `owner IS
NULL OR expires_at < now`, so exactly one replica wins) up to
`ceil(environments / live replicas)`; holding more than that (another
replica joined) it hands the extras over: it stops their polls first, then
releases the rows.  An environment with a push running is never handed over.

Stopping before anyone else may start.  A replica notes its monotonic time
t0 just BEFORE each renewal is sent; the server sets `expires_at = now + ttl`
with a `now` after t0, so the lease holds at least until t0 + ttl on any
clock that runs at the right rate.  The replica treats its leases as valid
only until t0 + 3/4 ttl: when no renewal succeeded by then (control server
unreachable, lease taken) it cancels the environments' polls and asks their
running jobs to stop.  Another replica can take the lease at t0 + ttl at the
earliest, a quarter of the TTL later.  So no environment is polled by two
replicas at once; `poll_log` records every poll (started before, finished
after, server times) so that this can be checked.

Published answers.  After each poll the owner writes the environment's
answers into `published` (GET .../diff as JSON and SQL with its plan_hash,
the environment as listed, live fingerprints, drift figures, last poll and
error, and a fleet's consistency view): every replica serves GETs for
environments it does not own from there, with the owner and the answer's
age, without touching the target.

Pushes anywhere.  A push to a replica that does not own the environment is
checked against the published plan_hash, then written to `push_requests`;
the owner takes it (a guarded UPDATE), runs the push as today (its own fresh
poll, plan, checks, job) and writes the outcome, which the receiving replica
answers with (202 and the job).  The owner holds the environment's push lock
in `push_locks` from the checks to the job's end, so two replicas never push
to one environment at once.  A request nobody took within `push_wait`
is withdrawn (503, nothing ran).

Topology: one primary control server (asynchronous replicas of it are fine
as long as every daemon points at the primary).  Leases are plain rows
changed by guarded UPDATEs, which Galera certification orders too, so
ownership also works on a Galera cluster; schema migrations use GET_LOCK,
which Galera does not replicate (state_mysql): point every daemon at one node.

What it will not do: decide what a poll or a push is (the daemon's callbacks),
or stop an alter-wrapper process a dead replica left on its own host.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from schemad.errors import SchemadError
from schemad.records import dataclass
from schemad.service.state import JobState
from schemad.service.state_mysql import Cursor, MysqlStateStore

__all__ = [
    "ControlSchema",
    "Published",
    "ReplicaHooks",
    "Replicas",
    "TickResult",
    "lease_name",
    "replica_id",
]

log = logging.getLogger(__name__)

_NOW = "UNIX_TIMESTAMP(NOW(6))"
_ACTIVE_JOB = (JobState.QUEUED, JobState.RUNNING, JobState.PENDING_CUTOVER)


def lease_name(repo: str, environment: str) -> str:
    """The lease (and published row) name of a repo x environment."""
    return f"env:{repo}/{environment}"


def replica_id(configured: str | None, state_dir: Path) -> str:
    """`configured`, or the id kept in `state_dir/replica-id` (made once: `<hostname>-<8 hex>`)."""
    if configured:
        return configured
    path = state_dir / "replica-id"
    with contextlib.suppress(OSError):
        kept = path.read_text().strip()
        if kept:
            return kept
    made = f"{socket.gethostname()[:100]}-{uuid.uuid4().hex[:8]}"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(made + "\n")
    except OSError as exc:
        raise SchemadError(f"cannot keep the replica id in {path}: {exc.strerror}") from None
    return made


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one heartbeat transaction found and did."""

    live: tuple[str, ...]  # replicas whose heartbeat has not expired (this one included)
    mine: frozenset[str]  # leases this replica holds after it (renewed or taken)
    taken: dict[str, str | None]  # newly taken -> the previous owner if its heartbeat had expired
    extra: tuple[str, ...]  # held beyond this replica's share: to hand over
    owners: dict[str, str]  # every unexpired lease's owner


@dataclass(frozen=True, slots=True)
class Published:
    """An environment's answers as its owner last published them."""

    name: str
    owner: str
    published_at: float  # control server time
    age: float  # seconds since, on the control server's clock
    plan_hash: str
    stale: bool
    doc: dict[str, Any]  # {"environment": ..., "headers": ...}
    diff_json: bytes
    diff_sql: bytes
    fleet_json: bytes | None = None  # GET .../fleet as served (None: published before it was)


class ControlSchema:
    """The replicas' rows in the control schema; every method is one short transaction (call in a thread)."""

    def __init__(self, store: MysqlStateStore, replica: str, ttl: float) -> None:
        self.store = store
        self.replica = replica
        self.ttl = ttl

    # ----- membership and leases -----

    def register(self) -> None:
        """Join (refused while a live process on this host runs as the same replica)."""
        host, pid = socket.gethostname(), os.getpid()

        def tx(cur: Cursor) -> None:
            cur.execute(
                f"SELECT host, pid, expires_at > {_NOW} FROM replicas WHERE id = %s FOR UPDATE",
                (self.replica,),
            )
            row = cur.fetchone()
            if row is not None and row[2] and row[0] == host and int(row[1]) != pid and _alive(int(row[1])):
                raise SchemadError(
                    f"replica {self.replica} is already running as process {row[1]} on this host"
                    " (two daemons with one state_dir, or the same [replicas] id)"
                )
            cur.execute(
                "INSERT INTO replicas (id, host, pid, started_at, heartbeat_at, expires_at)"
                f" VALUES (%s, %s, %s, {_NOW}, {_NOW}, {_NOW} + %s) ON DUPLICATE KEY UPDATE"
                " host = VALUES(host), pid = VALUES(pid), started_at = VALUES(started_at),"
                " heartbeat_at = VALUES(heartbeat_at), expires_at = VALUES(expires_at)",
                (self.replica, host[:255], pid, self.ttl),
            )

        self.store.run(tx, what="register the replica")

    def tick(self, names: Sequence[str], keep: frozenset[str]) -> TickResult:
        """Heartbeat, renew, count live replicas, take free leases up to the share; see the docstring."""
        me, ttl = self.replica, self.ttl

        def tx(cur: Cursor) -> TickResult:
            cur.execute(f"SELECT {_NOW}")
            now = float(cur.fetchone()[0])
            cur.execute(
                "UPDATE replicas SET heartbeat_at = %s, expires_at = %s WHERE id = %s", (now, now + ttl, me)
            )
            cur.execute("SELECT id FROM replicas WHERE expires_at > %s ORDER BY id", (now,))
            live = tuple(str(r[0]) for r in cur.fetchall())
            cur.execute("UPDATE leases SET expires_at = %s WHERE owner = %s", (now + ttl, me))
            cur.execute("SELECT name FROM leases WHERE owner = %s", (me,))
            mine = {str(r[0]) for r in cur.fetchall()}
            wanted = set(names)
            share = math.ceil(len(wanted) / max(1, len(live)))
            held = sorted(mine & wanted, key=lambda n: _rank(me, n))
            extra = [n for n in mine if n not in wanted]  # no longer configured here
            taken: dict[str, str | None] = {}
            if len(held) > share:
                spare = [n for n in reversed(held) if n not in keep]
                extra += spare[: len(held) - share]
            elif len(held) < share and wanted:
                marks = ", ".join(["%s"] * len(wanted))
                cur.execute(
                    f"SELECT name, owner, expires_at FROM leases WHERE name IN ({marks})",
                    tuple(sorted(wanted)),
                )
                rows = {str(r[0]): (r[1], float(r[2])) for r in cur.fetchall()}
                free = [n for n in wanted - mine if n not in rows or rows[n][0] is None or rows[n][1] < now]
                for name in sorted(free, key=lambda n: _rank(me, n))[: share - len(held)]:
                    cur.execute(
                        "INSERT IGNORE INTO leases (name, owner, expires_at, acquired_at)"
                        " VALUES (%s, NULL, 0, 0)",
                        (name,),
                    )
                    got = cur.execute(
                        "UPDATE leases SET owner = %s, expires_at = %s, acquired_at = %s, epoch = epoch + 1"
                        f" WHERE name = %s AND (owner IS NULL OR expires_at < {_NOW})",
                        (me, now + ttl, now, name),
                    )
                    if got:
                        prev = rows.get(name, (None, 0.0))[0]
                        taken[name] = (
                            str(prev) if prev is not None and prev not in live and prev != me else None
                        )
                        mine.add(name)
            cur.execute("SELECT name, owner FROM leases WHERE owner IS NOT NULL AND expires_at > %s", (now,))
            owners = {str(r[0]): str(r[1]) for r in cur.fetchall()}
            return TickResult(live, frozenset(mine), taken, tuple(extra), owners)

        return self.store.run(tx, what="renew leases")

    def release(self, names: Sequence[str]) -> None:
        if not names:
            return
        marks = ", ".join(["%s"] * len(names))
        self.store.run(
            lambda cur: cur.execute(
                f"UPDATE leases SET owner = NULL, expires_at = 0 WHERE owner = %s AND name IN ({marks})",
                (self.replica, *names),
            ),
            what="release leases",
        )

    def leave(self) -> None:
        """Release every lease and the heartbeat (a clean shutdown: others take over at once)."""

        def tx(cur: Cursor) -> None:
            cur.execute("UPDATE leases SET owner = NULL, expires_at = 0 WHERE owner = %s", (self.replica,))
            cur.execute("DELETE FROM push_locks WHERE replica = %s", (self.replica,))
            cur.execute("DELETE FROM replicas WHERE id = %s", (self.replica,))

        self.store.run(tx, what="leave")

    def owners(self) -> dict[str, str | None]:
        """Each lease's current owner (None: free or expired)."""
        rows = self.store.query(f"SELECT name, IF(expires_at > {_NOW}, owner, NULL) FROM leases")
        return {str(r[0]): (str(r[1]) if r[1] is not None else None) for r in rows}

    # ----- polls and published answers -----

    def poll_started(self, name: str) -> int:
        def tx(cur: Cursor) -> int:
            cur.execute(
                f"INSERT INTO poll_log (name, replica, started_at) VALUES (%s, %s, {_NOW})",
                (name, self.replica),
            )
            cur.execute("SELECT LAST_INSERT_ID()")
            return int(cur.fetchone()[0])

        return self.store.run(tx, what="log a poll")

    def poll_finished(self, id: int, ok: bool) -> None:
        self.store.run(
            lambda cur: cur.execute(
                f"UPDATE poll_log SET finished_at = {_NOW}, ok = %s WHERE id = %s", (ok, id)
            ),
            what="log a poll",
        )

    def publish(self, name: str, p: dict[str, Any]) -> None:
        """Upsert the owner's answers (`p` as `Replicas.publish` builds it); only while it holds the lease."""

        def tx(cur: Cursor) -> None:
            cur.execute(
                f"SELECT owner = %s AND expires_at > {_NOW} FROM leases WHERE name = %s", (self.replica, name)
            )
            row = cur.fetchone()
            if row is None or not row[0]:
                return  # lost meanwhile: the new owner publishes
            cur.execute(
                "REPLACE INTO published (name, owner, published_at, plan_hash, stale, last_poll_at,"
                " last_error, statements, drifted, fingerprints, env_json, diff_json, diff_sql)"
                f" VALUES (%s, %s, {_NOW}, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    name,
                    self.replica,
                    p["plan_hash"],
                    p["stale"],
                    p["last_poll_at"],
                    p["last_error"],
                    p["statements"],
                    p["drifted"],
                    json.dumps(p["fingerprints"]),
                    json.dumps(p["doc"]),
                    p["diff_json"],
                    p["diff_sql"],
                ),
            )
            if p.get("fleet_json") is not None:
                cur.execute(
                    "REPLACE INTO published_fleet (name, fleet_json) VALUES (%s, %s)", (name, p["fleet_json"])
                )

        self.store.run(tx, what="publish")

    def published(self, name: str) -> Published | None:
        rows = self.store.query(
            f"SELECT p.owner, p.published_at, {_NOW} - p.published_at, p.plan_hash, p.stale, p.env_json,"
            " p.diff_json, p.diff_sql, f.fleet_json FROM published p"
            " LEFT JOIN published_fleet f ON f.name = p.name WHERE p.name = %s",
            (name,),
        )
        if not rows:
            return None
        r = rows[0]
        return Published(
            name,
            str(r[0]),
            float(r[1]),
            max(0.0, float(r[2])),
            str(r[3]),
            bool(r[4]),
            json.loads(r[5]),
            str(r[6]).encode(),
            str(r[7]).encode(),
            str(r[8]).encode() if r[8] is not None else None,
        )

    # ----- pushes -----

    def request_push(self, id: str, name: str, request: dict[str, Any]) -> None:
        self.store.run(
            lambda cur: cur.execute(
                "INSERT INTO push_requests (id, name, request, received_by, created_at, state)"
                f" VALUES (%s, %s, %s, %s, {_NOW}, 'queued')",
                (id, name, json.dumps(request), self.replica),
            ),
            what="hand a push over",
        )

    def request_state(self, id: str) -> tuple[str, dict[str, Any] | None, str | None, bool]:
        """(state, outcome, taken_by, whether the taker's heartbeat is unexpired).

        While `taken`, the outcome holds only the job's id once the owner recorded one (`note_job`).
        """
        rows = self.store.query(
            f"SELECT p.state, p.outcome, p.taken_by, COALESCE(r.expires_at > {_NOW}, 0) FROM push_requests p"
            " LEFT JOIN replicas r ON r.id = p.taken_by WHERE p.id = %s",
            (id,),
        )
        if not rows:
            return "missing", None, None, False
        r = rows[0]
        taker = str(r[2]) if r[2] is not None else None
        return str(r[0]), (json.loads(r[1]) if r[1] else None), taker, bool(r[3])

    def note_job(self, id: str, job_id: str) -> None:
        """The owner recorded the taken request's job (before it starts): a receiver can name it."""
        self.store.run(
            lambda cur: cur.execute(
                "UPDATE push_requests SET outcome = %s WHERE id = %s AND state = 'taken' AND taken_by = %s",
                (json.dumps({"job_id": job_id}), id, self.replica),
            ),
            what="note a handed-over push's job",
        )

    def abandon_request(self, id: str) -> bool:
        """Mark a request whose taker died unanswered `abandoned` (False: it was answered meanwhile)."""
        n = self.store.run(
            lambda cur: cur.execute(
                "UPDATE push_requests SET state = 'abandoned' WHERE id = %s AND state = 'taken'", (id,)
            ),
            what="abandon a push",
        )
        return bool(n)

    def prune(self, poll_log_age: float, requests_age: float, batch: int = 500) -> tuple[int, int]:
        """Delete poll_log rows, ended push_requests and commands older than the ages (seconds), in batches.

        Returns how many poll_log rows and requests (pushes and commands) went.  Each batch is its own
        short transaction.
        """
        gone = [0, 0]
        for i, (table, where, age) in enumerate(
            (
                ("poll_log", "started_at", poll_log_age),
                ("push_requests", "state IN ('done', 'expired', 'abandoned') AND created_at", requests_age),
                (
                    "replica_commands",
                    "state IN ('done', 'expired', 'abandoned') AND created_at",
                    requests_age,
                ),
            )
        ):
            stmt = f"DELETE FROM {table} WHERE {where} < {_NOW} - %s LIMIT {int(batch)}"
            while True:

                def tx(cur: Cursor, stmt: str = stmt, age: float = age) -> int:
                    return int(cur.execute(stmt, (age,)) or 0)

                n = self.store.run(tx, what=f"prune {table}")
                gone[min(i, 1)] += n
                if n < batch:
                    break
        return gone[0], gone[1]

    def withdraw_request(self, id: str) -> bool:
        """Withdraw a request nobody took yet (True); False once an owner took it."""
        n = self.store.run(
            lambda cur: cur.execute(
                "UPDATE push_requests SET state = 'expired' WHERE id = %s AND state = 'queued'", (id,)
            ),
            what="withdraw a push",
        )
        return bool(n)

    def take_requests(self, names: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """Queued requests for `names`, taken by this replica: (id, name, request)."""
        if not names:
            return []
        marks = ", ".join(["%s"] * len(names))

        def tx(cur: Cursor) -> list[tuple[str, str, dict[str, Any]]]:
            cur.execute(
                f"SELECT id, name, request FROM push_requests WHERE state = 'queued' AND name IN ({marks})"
                " ORDER BY created_at, id FOR UPDATE SKIP LOCKED",
                tuple(names),
            )
            out = [(str(r[0]), str(r[1]), json.loads(r[2])) for r in cur.fetchall()]
            for id, _, _ in out:
                cur.execute(
                    "UPDATE push_requests SET state = 'taken', taken_by = %s WHERE id = %s",
                    (self.replica, id),
                )
            return out

        return self.store.run(tx, what="take pushes")

    def finish_request(self, id: str, outcome: dict[str, Any]) -> None:
        self.store.run(
            lambda cur: cur.execute(
                "UPDATE push_requests SET state = 'done', outcome = %s WHERE id = %s",
                (json.dumps(outcome), id),
            ),
            what="answer a push",
        )

    def push_lock_holder(self, name: str) -> str | None:
        rows = self.store.query("SELECT replica FROM push_locks WHERE name = %s", (name,))
        return str(rows[0][0]) if rows else None

    def take_push_lock(self, name: str) -> bool:
        """The environment's push lock for this replica (False: another replica holds it)."""

        def tx(cur: Cursor) -> bool:
            cur.execute(
                f"INSERT IGNORE INTO push_locks (name, replica, taken_at) VALUES (%s, %s, {_NOW})",
                (name, self.replica),
            )
            cur.execute("SELECT replica FROM push_locks WHERE name = %s", (name,))
            row = cur.fetchone()
            return row is not None and str(row[0]) == self.replica

        return self.store.run(tx, what="take the push lock")

    def release_push_lock(self, name: str, replica: str | None = None) -> None:
        self.store.run(
            lambda cur: cur.execute(
                "DELETE FROM push_locks WHERE name = %s AND replica = %s", (name, replica or self.replica)
            ),
            what="release the push lock",
        )

    # ----- commands for another replica (a job's runner, an environment's owner) -----

    def job_runner(self, job_id: str) -> tuple[str | None, bool]:
        """The replica that recorded the job (None: none recorded) and whether its heartbeat is unexpired."""
        rows = self.store.query(
            f"SELECT j.replica, COALESCE(r.expires_at > {_NOW}, 0) FROM job_runners j"
            " LEFT JOIN replicas r ON r.id = j.replica WHERE j.job_id = %s",
            (job_id,),
        )
        return (str(rows[0][0]), bool(rows[0][1])) if rows else (None, False)

    def lease_owner(self, name: str) -> str | None:
        """The unexpired owner of a lease (None: free or expired)."""
        rows = self.store.query(f"SELECT owner FROM leases WHERE name = %s AND expires_at > {_NOW}", (name,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def send_command(self, id: str, replica: str, subject: str, command: str, who: str) -> None:
        self.store.run(
            lambda cur: cur.execute(
                "INSERT INTO replica_commands (id, replica, subject, command, requested_by, received_by,"
                f" created_at, state) VALUES (%s, %s, %s, %s, %s, %s, {_NOW}, 'queued')",
                (id, replica, subject, command, who[:255], self.replica),
            ),
            what="hand a command over",
        )

    def command_state(self, id: str) -> tuple[str, dict[str, Any] | None, bool]:
        """(state, answer, whether the addressed replica's heartbeat is unexpired)."""
        rows = self.store.query(
            f"SELECT c.state, c.answer, COALESCE(r.expires_at > {_NOW}, 0) FROM replica_commands c"
            " LEFT JOIN replicas r ON r.id = c.replica WHERE c.id = %s",
            (id,),
        )
        if not rows:
            return "missing", None, False
        r = rows[0]
        return str(r[0]), (json.loads(r[1]) if r[1] else None), bool(r[2])

    def end_command(self, id: str, state: str, when: tuple[str, ...]) -> bool:
        """Move a command to `state` (expired, abandoned) if it is still in one of `when`."""
        marks = ", ".join(["%s"] * len(when))
        n = self.store.run(
            lambda cur: cur.execute(
                f"UPDATE replica_commands SET state = %s WHERE id = %s AND state IN ({marks})",
                (state, id, *when),
            ),
            what="end a command",
        )
        return bool(n)

    def take_commands(self) -> list[tuple[str, str, str, str]]:
        """Queued commands addressed to this replica, taken: (id, subject, command, requested_by)."""

        def tx(cur: Cursor) -> list[tuple[str, str, str, str]]:
            cur.execute(
                "SELECT id, subject, command, requested_by FROM replica_commands"
                " WHERE state = 'queued' AND replica = %s ORDER BY created_at, id FOR UPDATE SKIP LOCKED",
                (self.replica,),
            )
            out = [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in cur.fetchall()]
            for id, *_ in out:
                cur.execute("UPDATE replica_commands SET state = 'taken' WHERE id = %s", (id,))
            return out

        return self.store.run(tx, what="take commands")

    def finish_command(self, id: str, answer: dict[str, Any]) -> None:
        self.store.run(
            lambda cur: cur.execute(
                "UPDATE replica_commands SET state = 'done', answer = %s WHERE id = %s AND state = 'taken'",
                (json.dumps(answer), id),
            ),
            what="answer a command",
        )

    # ----- job logs -----

    def append_log(self, job_id: str, first: int, lines: Sequence[str]) -> None:
        self.store.run(
            lambda cur: cur.executemany(
                "INSERT IGNORE INTO job_logs (job_id, seq, line) VALUES (%s, %s, %s)",
                [(job_id, first + i, line) for i, line in enumerate(lines)],
            ),
            what="copy a job's log",
        )

    def read_log(self, job_id: str, after: int, limit: int = 1000) -> list[tuple[int, str]]:
        rows = self.store.query(
            f"SELECT seq, line FROM job_logs WHERE job_id = %s AND seq > %s ORDER BY seq LIMIT {int(limit)}",
            (job_id, after),
        )
        return [(int(r[0]), str(r[1])) for r in rows]


def _unavailable(message: str) -> dict[str, Any]:
    return {"status": 503, "code": "owner_unavailable", "message": message}


def _rank(replica: str, name: str) -> str:
    """A per-replica order of environments: replicas prefer different ones, so they rarely race."""
    return hashlib.sha1(f"{replica}\0{name}".encode()).hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


Gain = Callable[[str, str | None], Awaitable[None]]  # (name, dead previous owner or None)
Lose = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class ReplicaHooks:
    names: Callable[[], list[str]]  # every configured lease name
    keep: Callable[[str], bool]  # a push is running: never hand it over
    gain: Gain
    lose: Lose
    push: Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]  # (id, name, request) -> outcome
    # (subject, command, requested_by) -> answer (`Replicas.send`); set by the API, which shapes answers
    command: Callable[[str, str, str], Awaitable[dict[str, Any]]] | None = None


@dataclass(slots=True)
class Replicas:
    """This daemon as one replica: the heartbeat loop, owned environments, pushes handed over."""

    control: ControlSchema
    hooks: ReplicaHooks
    push_wait: float = 60.0
    poll_log_retention: float = 7 * 86400.0  # seconds poll_log rows are kept
    push_request_retention: float = 86400.0  # seconds ended push_requests are kept
    prune_every: float = 600.0
    owned: set[str] = field(default_factory=set)
    deadline: float = 0.0  # time.monotonic() until which the owned leases are surely ours
    live: tuple[str, ...] = ()
    owners: dict[str, str] = field(default_factory=dict)  # every lease's owner at the last heartbeat
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _pruned_at: float = 0.0  # time.monotonic() of the last prune

    @property
    def id(self) -> str:
        return self.control.replica

    @property
    def ttl(self) -> float:
        return self.control.ttl

    def owns(self, name: str) -> bool:
        return name in self.owned and time.monotonic() < self.deadline

    def owner_hint(self, name: str) -> str | None:
        """The owner of `name` as of the last heartbeat (for messages; None: unknown or free)."""
        return self.owners.get(name)

    async def start(self) -> None:
        await asyncio.to_thread(self.control.register)
        # What it owns from the start is read before the daemon says it is ready (as without replicas).
        await asyncio.gather(*await self.tick(), return_exceptions=True)
        self._spawn(self._loop(), "replica heartbeat")
        self._spawn(self._requests(), "replica push requests")

    async def stop(self) -> None:
        """Stop renewing; stop every owned environment's polls; release everything (others take over)."""
        self._stop.set()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for name in sorted(self.owned):
            await self._lose(name)
        with contextlib.suppress(SchemadError):
            await asyncio.to_thread(self.control.leave)

    # ----- the heartbeat -----

    async def tick(self) -> list[asyncio.Task[None]]:
        """One heartbeat; past the deadline without a renewal, every owned environment stops.

        Returns the tasks reading the environments it took.
        """
        t0 = time.monotonic()
        keep = frozenset(n for n in self.owned if self.hooks.keep(n))
        budget = max(0.1, self.deadline - t0) if self.owned else self.ttl
        try:
            got = await asyncio.wait_for(
                asyncio.to_thread(self.control.tick, self.hooks.names(), keep), timeout=budget
            )
        except (TimeoutError, SchemadError) as exc:
            log.warning("replica %s: cannot renew its leases: %s", self.id, exc or "timed out")
            await self._check_deadline()
            return []
        self.deadline = t0 + self.ttl * 3 / 4
        self.live = got.live
        self.owners = got.owners
        for name in sorted(self.owned - got.mine):  # taken from us (it expired while we were away)
            log.warning("replica %s: lost environment %s", self.id, name)
            await self._lose(name)
        for name in got.extra:  # hand over: polls stop first, then the row is released
            if name in self.owned:
                await self._lose(name)
            with contextlib.suppress(SchemadError):
                await asyncio.to_thread(self.control.release, [name])
            log.info("replica %s: handed environment %s over", self.id, name)
        new = sorted(got.mine - self.owned - set(got.extra))
        self.owned |= set(new)
        gains = []
        for name in new:
            log.info("replica %s: owns environment %s", self.id, name)
            gains.append(self._spawn(self.hooks.gain(name, got.taken.get(name)), f"gain {name}"))
        return gains

    async def _check_deadline(self) -> None:
        if self.owned and time.monotonic() >= self.deadline:
            log.warning(
                "replica %s: its leases may have expired: stopping %d environment(s)",
                self.id,
                len(self.owned),
            )
            for name in sorted(self.owned):
                await self._lose(name)

    async def _lose(self, name: str) -> None:
        self.owned.discard(name)
        try:
            await self.hooks.lose(name)
        except Exception:
            log.exception("replica %s: stopping environment %s failed", self.id, name)

    async def _loop(self) -> None:
        every = self.ttl / 4
        while not self._stop.is_set():
            now = time.monotonic()
            wait = min(every, self.deadline - now) if self.owned else every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, wait))
            if self._stop.is_set():
                return
            await self._check_deadline()
            try:
                await self.tick()
            except Exception:
                log.exception("replica %s: heartbeat failed", self.id)
            await self._housekeeping()

    async def _housekeeping(self) -> None:
        """Prune old poll_log rows and ended push_requests: one live replica (the first by id) does it."""
        if not self.live or self.live[0] != self.id or time.monotonic() - self._pruned_at < self.prune_every:
            return
        self._pruned_at = time.monotonic()
        try:
            polls, requests = await asyncio.to_thread(
                self.control.prune, self.poll_log_retention, self.push_request_retention
            )
        except SchemadError as exc:
            log.warning("replica %s: cannot prune the control schema: %s", self.id, exc)
            return
        if polls or requests:
            log.info("replica %s: pruned %d poll_log row(s), %d push request(s)", self.id, polls, requests)

    # ----- pushes -----

    async def _requests(self, every: float = 0.2) -> None:
        """Take the queued pushes of owned environments and run each as its own task."""
        while not self._stop.is_set():
            owned = sorted(n for n in self.owned if self.owns(n))
            try:
                taken = await asyncio.to_thread(self.control.take_requests, owned) if owned else []
            except SchemadError as exc:
                log.warning("replica %s: cannot read handed-over pushes: %s", self.id, exc)
                taken = []
            for id, name, request in taken:
                self._spawn(self._answer(id, name, request), f"push request {id}")
            try:
                commands = await asyncio.to_thread(self.control.take_commands)
            except SchemadError as exc:
                log.warning("replica %s: cannot read handed-over commands: %s", self.id, exc)
                commands = []
            for id, subject, command, who in commands:
                self._spawn(self._command(id, subject, command, who), f"command {id}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)

    async def note_job(self, id: str, job_id: str) -> None:
        """A handed-over push's job is recorded (it has not started): its receiver can name it if we die."""
        try:
            await asyncio.to_thread(self.control.note_job, id, job_id)
        except SchemadError as exc:
            log.warning("replica %s: cannot note job %s of push %s: %s", self.id, job_id, id, exc)

    async def _answer(self, id: str, name: str, request: dict[str, Any]) -> None:
        try:
            outcome = await self.hooks.push(id, name, request)
        except Exception as exc:
            log.exception("replica %s: handed-over push %s failed", self.id, id)
            outcome = {"kind": "error", "message": f"the owner could not run the push: {type(exc).__name__}"}
        await asyncio.to_thread(self.control.finish_request, id, outcome)

    async def _command(self, id: str, subject: str, command: str, who: str) -> None:
        try:
            if self.hooks.command is None:
                raise LookupError("no command handler")
            answer = await self.hooks.command(subject, command, who)
        except Exception as exc:
            log.exception("replica %s: handed-over %s of %s failed", self.id, command, subject)
            answer = {
                "status": 500,
                "code": "internal_error",
                "message": f"replica {self.id} failed: {type(exc).__name__}",
            }
        try:
            await asyncio.to_thread(self.control.finish_command, id, answer)
        except SchemadError as exc:  # the sender answers 503 once this replica's heartbeat is gone
            log.warning("replica %s: cannot answer command %s: %s", self.id, id, exc)

    async def send(self, replica: str, subject: str, command: str, who: str, what: str) -> dict[str, Any]:
        """Hand `command` on `subject` to `replica` and wait for its answer (`status` and `body`, or
        `status`, `code` and `message`).  503 owner_unavailable when the replica's heartbeat is gone or it
        did not take the command within `push_wait` (withdrawn: nothing happened).  `what` names the
        subject in messages ("job X", "environment Y").
        """
        id = uuid.uuid4().hex
        await asyncio.to_thread(self.control.send_command, id, replica, subject, command, who)
        deadline = time.monotonic() + self.push_wait
        withdrawn = False
        while True:
            await asyncio.sleep(0.1)
            state, answer, alive = await asyncio.to_thread(self.control.command_state, id)
            if state == "done" and answer is not None:
                return answer
            gone = not alive and state in ("queued", "taken")
            if gone and await asyncio.to_thread(self.control.end_command, id, "abandoned", (state,)):
                role = "runs" if what.startswith("job") else "polls"
                return _unavailable(
                    f"replica {replica}, which {role} {what}, stopped heartbeating"
                    f" before it answered the {command}"
                    + ("" if state == "queued" else " (it had taken it: look at the record)")
                )
            if not withdrawn and time.monotonic() > deadline:
                if await asyncio.to_thread(self.control.end_command, id, "expired", ("queued",)):
                    return _unavailable(
                        f"replica {replica} did not take the {command} of {what} within {self.push_wait:g}s;"
                        " nothing was done"
                    )
                withdrawn = True  # taken meanwhile: it answers (or its heartbeat stops)

    async def follow_log(
        self, job_id: str, closing: Callable[[], bool], every: float = 0.5
    ) -> AsyncIterator[str]:
        """A job another replica runs: its log as copied into `job_logs`, then new lines until it ends.

        The job's state is read before its lines: the runner writes every line before the record that
        ends the job, so once ended, one more read has them all.  The stream also ends when the runner's
        heartbeat is gone (nothing more will come) or when this daemon stops (`closing()`).
        """
        after = 0
        while True:
            job = await asyncio.to_thread(self.control.store.get_job, job_id)
            _, alive = await asyncio.to_thread(self.control.job_runner, job_id)
            ended = job is None or job.state not in _ACTIVE_JOB or not alive
            while True:
                rows = await asyncio.to_thread(self.control.read_log, job_id, after)
                for seq, line in rows:
                    after = seq
                    yield line
                if len(rows) < 1000:
                    break
            if ended or closing():
                return
            await asyncio.sleep(every)

    async def forward(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """Hand a push to the owner of `name` and wait for its outcome (see the module docstring)."""
        id = uuid.uuid4().hex
        await asyncio.to_thread(self.control.request_push, id, name, request)
        deadline = time.monotonic() + self.push_wait
        withdrawn = False
        while True:
            await asyncio.sleep(0.1)
            state, outcome, taker, alive = await asyncio.to_thread(self.control.request_state, id)
            if state == "done" and outcome is not None:
                return outcome
            # The second deadline: the taker's heartbeat.  Gone or expired, it will never answer.
            if state == "taken" and not alive and await asyncio.to_thread(self.control.abandon_request, id):
                job_id = (outcome or {}).get("job_id")
                follow = (
                    f"; its job {job_id} was recorded: follow it (GET /v1/jobs/{job_id})"
                    if job_id
                    else ("; it recorded no job")
                )
                return {
                    "kind": "owner_unavailable",
                    "message": f"replica {taker} took the push to {name.removeprefix('env:')} and stopped"
                    f" before answering{follow}",
                    "job_id": job_id,
                }
            if not withdrawn and time.monotonic() > deadline:
                if await asyncio.to_thread(self.control.withdraw_request, id):
                    return {
                        "kind": "owner_unavailable",
                        "message": f"no replica owning {name.removeprefix('env:')} took the push within"
                        f" {self.push_wait:g}s; nothing ran",
                    }
                withdrawn = True  # taken: the owner answers (its checks are bounded)

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
