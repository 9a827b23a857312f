"""The daemon's state store: push-job records and the audit log, kept across restarts.

`StateStore` is the whole interface, deliberately narrow (whole-record writes,
a few indexed reads) so that a MySQL control schema could replace the
embedded default later.  `SqliteStateStore` is that default: one SQLite file
in the state dir, WAL mode, every write committed (and synced) before the
method returns.  `MemoryStateStore` is the fake for tests of the layers above
(STYLE rule 7).  Both are thread-safe: the daemon calls them through
`asyncio.to_thread`.

On daemon start `mark_interrupted()` turns every job a crash left `queued` or
`running` into `interrupted`, settles its statements and closes its audit
entries (result `interrupted`), all in one transaction, so that no reader
ever sees an ended job with a `running` audit entry; `finish_job()` does the
same for a job that ends normally.  This module does not decide what to do
about them (killing a wrapper's process group by `wrapper_pid`, looking for
what the tool left on the table): that is the job runner's business, and it
records what it did in `JobRecord.orphan` and `StatementRecord.leftovers`.

Never store secrets.  There is no field for a password, and every text passed
in (job `error`, statement `error`, `log_path`) is expected to be masked
already by the caller (`plan.shellout` masks wrapper commands and output).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from schemad.apply.executor import StepResult
from schemad.apply.leftovers import Leftover, LeftoverKind
from schemad.apply.progress import Tool
from schemad.errors import SchemadError
from schemad.records import dataclass

__all__ = [
    "AUDIT_RUNNING",
    "STATEMENT_STATUSES",
    "UNCERTAIN",
    "AuditRecord",
    "JobRecord",
    "JobState",
    "MemoryStateStore",
    "OrphanAction",
    "OrphanRecord",
    "SqliteStateStore",
    "StateError",
    "StateStore",
    "StatementRecord",
    "settle_statements",
]


class StateError(SchemadError):
    """The state store refused an operation (unknown or duplicate id) or cannot be opened."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path  # the store's file, for errors opening it
        self.key = key  # the job id or audit id concerned


class JobState(StrEnum):
    """Lifecycle of a push job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the daemon stopped (or crashed) while the job was queued or running
    PENDING_CUTOVER = "pending_cutover"  # an online schema change waits for POST /v1/jobs/{id}/cutover


# StatementRecord.status values; the last three are apply.executor.StepStatus values.
PENDING = "pending"
STATEMENT_STATUSES = frozenset({PENDING, "done", "failed", "not_run"})

#: The audit result of a job that has not ended yet.
AUDIT_RUNNING = "running"

# States a job can be in while the daemon is working on it.
_ACTIVE = (JobState.QUEUED, JobState.RUNNING, JobState.PENDING_CUTOVER)


@dataclass(frozen=True, slots=True)
class StatementRecord:
    """One statement of a job and what happened to it."""

    sql: str
    status: str  # one of STATEMENT_STATUSES: "pending" until run, then "done" / "failed" / "not_run"
    error: str | None = None  # already masked by the caller
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    target: str | None = None  # "host:port schema" the statement runs on, for multi-target pushes
    table: str | None = None  # the table a TABLE statement changes (where a stopped tool leaves things)
    # What the tools' names hold on `table` after the alter-wrapper ran (or after a crash); None: not
    # looked for (not run through the alter-wrapper, or the server could not be asked), (): nothing found.
    leftovers: tuple[Leftover, ...] | None = None
    # What schemad dropped of it: after a stop it caused (pt-osc triggers), or on a cleanup request.
    dropped: tuple[Leftover, ...] = ()
    tool: str | None = None  # the online-schema-change tool that ran it (apply.progress.Tool), if known
    progress: dict[str, object] | None = None  # the tool's last OscProgress.to_json(), as last saved
    preflight: tuple[dict[str, object], ...] = ()  # pre-flight findings (apply.preflight.Finding.to_json())
    cutover_approved_by: str | None = None  # the token name that approved its held cut-over
    cutover_approved_at: float | None = None  # epoch seconds

    def __post_init__(self) -> None:
        if self.status not in STATEMENT_STATUSES:
            raise ValueError(f"statement status {self.status!r} is not one of {sorted(STATEMENT_STATUSES)}")

    @classmethod
    def from_step(cls, result: StepResult, *, started_at: float | None, finished_at: float | None) -> Self:
        """StatementRecord for an executor's StepResult."""
        return cls(result.sql, str(result.status), result.error, started_at, finished_at)


class OrphanAction(StrEnum):
    """What a restart did about the wrapper process group a crashed daemon left running."""

    KILLED = "killed"  # the group still ran the job's tool: SIGKILLed (no clean-up by the tool)
    GONE = "gone"  # nothing of the group was running any more
    LEFT_ALONE_PID_REUSED = "left_alone_pid_reused"  # the id is now another program's: not touched


@dataclass(frozen=True, slots=True)
class OrphanRecord:
    """How a restart handled the wrapper a job had running when the daemon died."""

    action: OrphanAction
    pgid: int  # the process group id the job recorded
    at: float  # epoch seconds, when the restart handled it


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A push job as stored: identity, request, progress, and where its output goes."""

    id: str
    environment: str
    repo: str
    plan_hash: str  # hash of the plan the job was approved for
    requested_by: str
    created_at: float  # epoch seconds
    state: JobState
    statements: tuple[StatementRecord, ...]
    error: str | None  # already masked by the caller
    updated_at: float
    wrapper_pid: int | None  # process group id of a running alter-wrapper, else None
    log_path: str | None  # file with the job's (masked) output
    orphan: OrphanRecord | None = None  # set by the restart after a crash left the job's wrapper running
    postpone_cutover: bool = False  # online schema changes hold their cut-over until approved


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit log entry: who pushed which statements where, and how it ended."""

    id: int  # assigned by the store, increasing
    at: float  # epoch seconds
    who: str
    environment: str
    plan_hash: str
    statements: tuple[str, ...]
    result: str  # free text, e.g. a JobState value
    job_id: str | None  # the job, for pushes run by the daemon


class StateStore(Protocol):
    """Where the daemon keeps jobs and the audit log; every write is durable on return."""

    def create_job(self, job: JobRecord) -> None:
        """Store a new job; StateError if its id exists."""
        ...

    def update_job(self, job: JobRecord) -> None:
        """Replace the stored job with the same id; StateError if there is none."""
        ...

    def get_job(self, id: str) -> JobRecord | None: ...

    def list_jobs(
        self, *, environment: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[JobRecord]:
        """Newest first (created_at, then id, descending); `before` pages on created_at."""
        ...

    def running_jobs(self) -> list[JobRecord]:
        """Jobs in state running, oldest first."""
        ...

    def append_audit(
        self,
        *,
        at: float,
        who: str,
        environment: str,
        plan_hash: str,
        statements: tuple[str, ...],
        result: str,
        job_id: str | None = None,
    ) -> int:
        """Append an audit entry and return its id."""
        ...

    def update_audit_result(self, id: int, result: str) -> None:
        """Set the result of an audit entry; StateError if there is none."""
        ...

    def finish_job(self, job: JobRecord) -> None:
        """Replace the stored job (now ended) and close its running audit entries with its state.

        One transaction; StateError if there is no such job.
        """
        ...

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, job_id: str | None = None
    ) -> list[AuditRecord]:
        """Entries with id > after_id (of job `job_id` only, if given), oldest first."""
        ...

    def mark_interrupted(self) -> list[JobRecord]:
        """Queued/running jobs become interrupted; returns them.

        In one transaction: their statements are settled (`settle_statements`)
        and their running audit entries get the result `interrupted`.
        """
        ...

    def close(self) -> None: ...


#: The error of a statement that had started when its job was cut short.
UNCERTAIN = "interrupted while running (the daemon stopped): it may or may not have taken effect"


def settle_statements(statements: tuple[StatementRecord, ...]) -> tuple[StatementRecord, ...]:
    """The statements of a job that ended early: the one in flight failed (uncertain), the rest not run.

    A statement that had started but not finished may or may not have taken
    effect (a direct ALTER can complete on the server after its client died),
    so it is recorded as failed with that warning, never as not run.
    """
    out = []
    for st in statements:
        if st.status in (PENDING, "not_run") and st.started_at is not None and st.finished_at is None:
            st = replace(st, status="failed", error=UNCERTAIN)
        elif st.status == PENDING:
            st = replace(st, status="not_run")
        out.append(st)
    return tuple(out)


def _interrupt(job: JobRecord, now: float) -> JobRecord:
    return replace(
        job, state=JobState.INTERRUPTED, statements=settle_statements(job.statements), updated_at=now
    )


class _Closeable:
    """Context-manager support shared by the implementations."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# ----- MemoryStateStore -----


class MemoryStateStore(_Closeable):
    """StateStore fake kept in dicts: the same contract as SqliteStateStore, nothing on disk."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, JobRecord] = {}
        self._audit: dict[int, AuditRecord] = {}

    def create_job(self, job: JobRecord) -> None:
        with self._lock:
            if job.id in self._jobs:
                raise StateError(f"job {job.id} already exists", key=job.id)
            self._jobs[job.id] = job

    def update_job(self, job: JobRecord) -> None:
        with self._lock:
            if job.id not in self._jobs:
                raise StateError(f"no job {job.id}", key=job.id)
            self._jobs[job.id] = job

    def get_job(self, id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(id)

    def list_jobs(
        self, *, environment: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[JobRecord]:
        with self._lock:
            jobs = [
                j
                for j in self._jobs.values()
                if (environment is None or j.environment == environment)
                and (before is None or j.created_at < before)
            ]
        jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return jobs[: max(limit, 0)]

    def running_jobs(self) -> list[JobRecord]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.state is JobState.RUNNING]
        return sorted(jobs, key=lambda j: (j.created_at, j.id))

    def append_audit(
        self,
        *,
        at: float,
        who: str,
        environment: str,
        plan_hash: str,
        statements: tuple[str, ...],
        result: str,
        job_id: str | None = None,
    ) -> int:
        with self._lock:
            id = max(self._audit, default=0) + 1
            self._audit[id] = AuditRecord(
                id, at, who, environment, plan_hash, tuple(statements), result, job_id
            )
            return id

    def update_audit_result(self, id: int, result: str) -> None:
        with self._lock:
            if id not in self._audit:
                raise StateError(f"no audit entry {id}", key=str(id))
            self._audit[id] = replace(self._audit[id], result=result)

    def finish_job(self, job: JobRecord) -> None:
        with self._lock:
            if job.id not in self._jobs:
                raise StateError(f"no job {job.id}", key=job.id)
            self._jobs[job.id] = job
            self._close_audit(job.id, str(job.state))

    def _close_audit(self, job_id: str, result: str) -> None:
        for id, a in self._audit.items():
            if a.job_id == job_id and a.result == AUDIT_RUNNING:
                self._audit[id] = replace(a, result=result)

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, job_id: str | None = None
    ) -> list[AuditRecord]:
        with self._lock:
            return [
                self._audit[i]
                for i in sorted(self._audit)
                if i > after_id and (job_id is None or self._audit[i].job_id == job_id)
            ][: max(limit, 0)]

    def mark_interrupted(self) -> list[JobRecord]:
        now = self._clock()
        with self._lock:
            out = [_interrupt(j, now) for j in self._jobs.values() if j.state in _ACTIVE]
            out.sort(key=lambda j: (j.created_at, j.id))
            for j in out:
                self._jobs[j.id] = j
                self._close_audit(j.id, str(JobState.INTERRUPTED))
        return out

    def close(self) -> None:
        pass


# ----- SqliteStateStore -----

# Schema migrations: _MIGRATIONS[n] takes user_version n to n + 1.  Append, never edit.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id           TEXT PRIMARY KEY,
        environment  TEXT NOT NULL,
        repo         TEXT NOT NULL,
        plan_hash    TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        created_at   REAL NOT NULL,
        state        TEXT NOT NULL,
        statements   TEXT NOT NULL,  -- JSON list of StatementRecord objects
        error        TEXT,
        updated_at   REAL NOT NULL,
        wrapper_pid  INTEGER,
        log_path     TEXT
    );
    CREATE INDEX jobs_env_created ON jobs (environment, created_at);
    CREATE INDEX jobs_created ON jobs (created_at);
    CREATE INDEX jobs_state ON jobs (state);
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          REAL NOT NULL,
        who         TEXT NOT NULL,
        environment TEXT NOT NULL,
        plan_hash   TEXT NOT NULL,
        statements  TEXT NOT NULL,  -- JSON list of SQL strings
        result      TEXT NOT NULL,
        job_id      TEXT
    );
    """,
    """
    ALTER TABLE jobs ADD COLUMN orphan TEXT;  -- JSON OrphanRecord, or NULL
    CREATE INDEX audit_job ON audit (job_id);
    """,
    # Drift acknowledgements, drift baselines and the webhook outbox (schemad/service/opsstore.py
    # reads and writes these three tables; the StateStore interface above does not know them).
    """
    CREATE TABLE drift_acks (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        repo            TEXT NOT NULL,
        environment     TEXT NOT NULL,  -- the environment's name in the repo, not the API's key
        address         TEXT NOT NULL,
        schema_name     TEXT NOT NULL,
        object_type     TEXT NOT NULL,
        object_name     TEXT NOT NULL,
        reason          TEXT NOT NULL,
        who             TEXT NOT NULL,
        created_at      REAL NOT NULL,
        expires_at      REAL NOT NULL,
        statements_hash TEXT NOT NULL,
        fingerprint     TEXT,           -- the object's live fingerprint when acknowledged, NULL if absent
        state           TEXT NOT NULL,  -- active, expired, void, replaced
        ended_at        REAL,
        end_reason      TEXT
    );
    CREATE INDEX drift_acks_env ON drift_acks (repo, environment, state);
    CREATE TABLE drift_baselines (
        repo         TEXT NOT NULL,
        environment  TEXT NOT NULL,
        address      TEXT NOT NULL,
        schema_name  TEXT NOT NULL,
        fingerprints TEXT NOT NULL,  -- JSON object: "type:name" -> live fingerprint
        drifted      TEXT NOT NULL,  -- JSON list of "type:name" announced as drift
        lint         TEXT NOT NULL,  -- JSON list of the lint errors announced
        updated_at   REAL NOT NULL,
        PRIMARY KEY (repo, environment, address, schema_name)
    );
    CREATE TABLE webhook_outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        target          TEXT NOT NULL,
        event_id        TEXT NOT NULL,
        event           TEXT NOT NULL,
        created_at      REAL NOT NULL,
        body            BLOB NOT NULL,
        attempts        INTEGER NOT NULL,
        next_attempt_at REAL NOT NULL,
        last_error      TEXT
    );
    CREATE INDEX webhook_outbox_target ON webhook_outbox (target, id);
    """,
    # 4: gated cut-over (issue 13.1): a job asks its online schema changes to wait for approval.
    """
    ALTER TABLE jobs ADD COLUMN postpone_cutover INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: push campaigns across a fleet's shards (issue 15.4, campaignstore.py): one JSON document each.
    """
    CREATE TABLE campaigns (
        id          TEXT PRIMARY KEY,
        repo        TEXT NOT NULL,
        environment TEXT NOT NULL,
        state       TEXT NOT NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        doc         TEXT NOT NULL  -- JSON CampaignRecord: the request, its waves, every shard's state
    );
    CREATE INDEX campaigns_env ON campaigns (environment, created_at);
    CREATE INDEX campaigns_state ON campaigns (state);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

_JOB_COLUMNS = (
    "id, environment, repo, plan_hash, requested_by, created_at, state, statements,"
    " error, updated_at, wrapper_pid, log_path, orphan, postpone_cutover"
)
_AUDIT_COLUMNS = "id, at, who, environment, plan_hash, statements, result, job_id"


def _leftovers_doc(leftovers: tuple[Leftover, ...] | None) -> list[dict[str, str]] | None:
    if leftovers is None:
        return None
    return [
        {"kind": str(x.kind), "schema": x.schema, "name": x.name, "tool": str(x.tool), "table": x.table}
        for x in leftovers
    ]


def _leftovers_from(doc: list[dict[str, str]] | None) -> tuple[Leftover, ...] | None:
    if doc is None:
        return None
    return tuple(
        Leftover(LeftoverKind(x["kind"]), x["schema"], x["name"], Tool(x["tool"]), x["table"]) for x in doc
    )


def _job_row(job: JobRecord) -> tuple[Any, ...]:
    statements = json.dumps(
        [
            {
                "sql": s.sql,
                "status": s.status,
                "error": s.error,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
                "target": s.target,
                "table": s.table,
                "leftovers": _leftovers_doc(s.leftovers),
                "dropped": _leftovers_doc(s.dropped),
                "tool": s.tool,
                "progress": s.progress,
                "preflight": list(s.preflight),
                "cutover_approved_by": s.cutover_approved_by,
                "cutover_approved_at": s.cutover_approved_at,
            }
            for s in job.statements
        ]
    )
    o = job.orphan
    orphan = None if o is None else json.dumps({"action": str(o.action), "pgid": o.pgid, "at": o.at})
    return (
        job.id,
        job.environment,
        job.repo,
        job.plan_hash,
        job.requested_by,
        job.created_at,
        str(job.state),
        statements,
        job.error,
        job.updated_at,
        job.wrapper_pid,
        job.log_path,
        orphan,
        int(job.postpone_cutover),
    )


def _job_from_row(row: tuple[Any, ...]) -> JobRecord:
    statements = tuple(
        StatementRecord(
            s["sql"],
            s["status"],
            s["error"],
            s["started_at"],
            s["finished_at"],
            s.get("target"),
            s.get("table"),
            _leftovers_from(s.get("leftovers")),
            _leftovers_from(s.get("dropped")) or (),
            s.get("tool"),
            s.get("progress"),
            tuple(s.get("preflight") or ()),
            s.get("cutover_approved_by"),
            s.get("cutover_approved_at"),
        )
        for s in json.loads(row[7])
    )
    o = json.loads(row[12]) if row[12] else None
    return JobRecord(
        id=row[0],
        environment=row[1],
        repo=row[2],
        plan_hash=row[3],
        requested_by=row[4],
        created_at=row[5],
        state=JobState(row[6]),
        statements=statements,
        error=row[8],
        updated_at=row[9],
        wrapper_pid=row[10],
        log_path=row[11],
        orphan=None if o is None else OrphanRecord(OrphanAction(o["action"]), int(o["pgid"]), float(o["at"])),
        postpone_cutover=bool(row[13]),
    )


def _audit_from_row(row: tuple[Any, ...]) -> AuditRecord:
    return AuditRecord(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5])), row[6], row[7])


class SqliteStateStore(_Closeable):
    """StateStore in one SQLite file (WAL mode), one connection guarded by a lock.

    The schema is created or migrated on open (PRAGMA user_version); a file
    written by a newer schemad is refused rather than guessed at.
    synchronous=FULL makes each commit survive a power loss, not only a crash.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 5000, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        try:
            # isolation_level=None: no implicit transactions; _write() opens them explicitly.
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state store {self.path}: {exc}", path=str(self.path)) from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StateError(
                    f"state store {self.path}: cannot use WAL mode (got {mode})", path=str(self.path)
                )
            self._conn.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StateError(f"cannot open state store {self.path}: {exc}", path=str(self.path)) from exc
            raise

    def _migrate(self) -> None:
        with self._write() as cur:
            version = cur.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state store {self.path} has schema version {version}; this schemad knows up to"
                    f" {SCHEMA_VERSION}",
                    path=str(self.path),
                )
            for n in range(version, SCHEMA_VERSION):
                # executescript() would COMMIT first; run the migration's statements one by one instead.
                for stmt in _MIGRATIONS[n].split(";"):
                    if stmt.strip():
                        cur.execute(stmt)
                cur.execute(f"PRAGMA user_version = {n + 1}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction under the lock: committed on success, rolled back on error."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            rows: list[tuple[Any, ...]] = self._conn.execute(sql, params).fetchall()
            return rows

    # opsstore.py's tables (drift acknowledgements, baselines, the webhook outbox) live in this file
    # too, written through this connection and its lock: no second writer to wait for.

    def transaction(self) -> AbstractContextManager[sqlite3.Cursor]:
        """A write transaction on the store's connection: committed on success, rolled back on error."""
        return self._write()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read on the store's connection."""
        return self._read(sql, params)

    def create_job(self, job: JobRecord) -> None:
        try:
            with self._write() as cur:
                cur.execute(
                    f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * 14)})", _job_row(job)
                )
        except sqlite3.IntegrityError as exc:
            raise StateError(f"job {job.id} already exists", key=job.id) from exc

    def update_job(self, job: JobRecord) -> None:
        with self._write() as cur:
            self._update_job(cur, job)

    def finish_job(self, job: JobRecord) -> None:
        with self._write() as cur:
            self._update_job(cur, job)
            self._close_audit(cur, job.id, str(job.state))

    @staticmethod
    def _update_job(cur: sqlite3.Cursor, job: JobRecord) -> None:
        row = _job_row(job)
        cur.execute(
            "UPDATE jobs SET environment = ?, repo = ?, plan_hash = ?, requested_by = ?, created_at = ?,"
            " state = ?, statements = ?, error = ?, updated_at = ?, wrapper_pid = ?, log_path = ?,"
            " orphan = ?, postpone_cutover = ? WHERE id = ?",
            (*row[1:], row[0]),
        )
        if cur.rowcount == 0:
            raise StateError(f"no job {job.id}", key=job.id)

    @staticmethod
    def _close_audit(cur: sqlite3.Cursor, job_id: str, result: str) -> None:
        cur.execute(
            "UPDATE audit SET result = ? WHERE job_id = ? AND result = ?", (result, job_id, AUDIT_RUNNING)
        )

    def get_job(self, id: str) -> JobRecord | None:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (id,))
        return _job_from_row(rows[0]) if rows else None

    def list_jobs(
        self, *, environment: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[JobRecord]:
        where: list[str] = []
        params: list[Any] = []
        if environment is not None:
            where.append("environment = ?")
            params.append(environment)
        if before is not None:
            where.append("created_at < ?")
            params.append(before)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            f"SELECT {_JOB_COLUMNS} FROM jobs{clause} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, max(limit, 0)),
        )
        return [_job_from_row(r) for r in rows]

    def running_jobs(self) -> list[JobRecord]:
        rows = self._read(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = ? ORDER BY created_at, id",
            (str(JobState.RUNNING),),
        )
        return [_job_from_row(r) for r in rows]

    def append_audit(
        self,
        *,
        at: float,
        who: str,
        environment: str,
        plan_hash: str,
        statements: tuple[str, ...],
        result: str,
        job_id: str | None = None,
    ) -> int:
        with self._write() as cur:
            cur.execute(
                "INSERT INTO audit (at, who, environment, plan_hash, statements, result, job_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at, who, environment, plan_hash, json.dumps(list(statements)), result, job_id),
            )
            id = cur.lastrowid
        assert id is not None
        return id

    def update_audit_result(self, id: int, result: str) -> None:
        with self._write() as cur:
            cur.execute("UPDATE audit SET result = ? WHERE id = ?", (result, id))
            if cur.rowcount == 0:
                raise StateError(f"no audit entry {id}", key=str(id))

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, job_id: str | None = None
    ) -> list[AuditRecord]:
        rows = self._read(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE id > ? AND (? IS NULL OR job_id = ?)"
            " ORDER BY id LIMIT ?",
            (after_id, job_id, job_id, max(limit, 0)),
        )
        return [_audit_from_row(r) for r in rows]

    def mark_interrupted(self) -> list[JobRecord]:
        now = self._clock()
        active = tuple(str(s) for s in _ACTIVE)
        with self._write() as cur:
            rows = cur.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state IN ({', '.join('?' * len(active))})"
                " ORDER BY created_at, id",
                active,
            ).fetchall()
            out = [_interrupt(_job_from_row(r), now) for r in rows]
            for job in out:
                row = _job_row(job)
                cur.execute(
                    "UPDATE jobs SET state = ?, statements = ?, updated_at = ? WHERE id = ?",
                    (row[6], row[7], row[9], row[0]),
                )
                self._close_audit(cur, job.id, str(JobState.INTERRUPTED))
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()
