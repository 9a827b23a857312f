"""The daemon's state in a MySQL/MariaDB control schema: `MysqlStateStore` (jobs, audit log).

The same `StateStore` contract as `SqliteStateStore`, for several daemons that
share one control schema (`[state] backend = "mysql"`).  The ops tables
(acknowledgements, baselines, the webhook outbox) are `opsstore_mysql`'s, in
the same schema, through this store's pool.

How the SQLite store's implicit guarantees are kept:

* Durable on return: autocommit off, every write ends with COMMIT.  Reads end
  their transaction too, so a store sees other daemons' commits at once.
* One writer at a time where it matters: ids come from the `sequences` table,
  whose row is read `FOR UPDATE` and held to COMMIT, so audit ids (and ack
  and outbox ids) are increasing in commit order as well: a reader paging
  with `after_id` never skips an entry committed late.  The outbox `enqueue`
  (its per-target limits) and `add_ack` (one active ack per object) take the
  same row lock first, so they are serialised across daemons.
* Row comparisons and ORDER BY on text are byte-wise, as in SQLite: the tables
  use a binary NO PAD collation where the server has one.
* READ COMMITTED; a deadlock or lock-wait timeout, or a connection lost before
  COMMIT was sent, re-runs the transaction on a fresh connection (a few
  times).  A connection lost during COMMIT is a StateError (the outcome is
  unknown), never a silent retry.

Migrations: `MIGRATIONS[n]` takes the control schema from version n to n + 1
(the `schema_migrations` table: version, applied_at, applied_by).  On open, under
`GET_LOCK('schemad_migrate')` on the control server, the missing ones are
applied in order; daemons starting together wait on the lock and then find
the version current.  A schema newer than this binary is refused.  Adding a
table later (leases, published diffs, campaigns, a poll log) is one more
tuple of statements appended to `MIGRATIONS`.

Topologies: GET_LOCK is a per-server lock and is not replicated.  One primary
(with or without asynchronous replicas, the daemons all pointed at the
primary) is what this supports.  On Galera / Percona XtraDB Cluster / group
replication in multi-primary mode GET_LOCK does not cover the other nodes:
point every daemon at the same node (e.g. through a proxy that pins writes to
one), or migrations may run twice at once.

Secrets: the password is read at open from a file or an environment variable
(`MysqlStateConfig.password`), handed to the driver only, and never put in a
message: errors name `mysql://user@host:port/schema` and the server's words.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, Protocol, TypeVar

import pymysql
from pymysql.constants import CLIENT

from schemad.connection.tls import SslMode
from schemad.connection.tlsdriver import TlsConnector, describe_tls_error
from schemad.errors import SchemadError
from schemad.service.state import (
    _ACTIVE,
    _AUDIT_COLUMNS,
    _JOB_COLUMNS,
    AUDIT_RUNNING,
    AuditRecord,
    JobRecord,
    JobState,
    StateError,
    _audit_from_row,
    _Closeable,
    _interrupt,
    _job_from_row,
    _job_row,
)
from schemad.state_config import MysqlStateConfig
from schemad.webhook_config import Secret

__all__ = ["MIGRATE_LOCK", "MIGRATIONS", "SCHEMA_VERSION", "Cursor", "MysqlStateStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Cursor(Protocol):
    """What the stores use of a PyMySQL cursor (the driver ships no types)."""

    def execute(self, query: str, args: Any = None) -> int: ...
    def executemany(self, query: str, args: Any) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


#: The GET_LOCK name migrations run under (per server, not replicated; see the module docstring).
MIGRATE_LOCK = "schemad_migrate"

# `{bin}` in a migration becomes the server's binary NO PAD collation (SQLite compares text bytewise).
_TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={bin}"

# Migrations: MIGRATIONS[n] takes version n to n + 1.  Append, never edit.  Each statement should be
# safe to run again (IF NOT EXISTS, INSERT IGNORE): DDL commits on its own, so a migration cut
# short half-way is re-run whole by the next start.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: jobs (with their statements) and the audit log, as SQLite's migrations 1, 2 and 4.
    (
        f"""CREATE TABLE IF NOT EXISTS sequences (
            name    VARCHAR(64) NOT NULL PRIMARY KEY,
            next_id BIGINT NOT NULL  -- the next id to hand out; its row is locked FOR UPDATE to take one
        ) {_TABLE}""",
        "INSERT IGNORE INTO sequences (name, next_id) VALUES ('audit', 1)",
        f"""CREATE TABLE IF NOT EXISTS jobs (
            id               VARCHAR(255) NOT NULL PRIMARY KEY,
            environment      VARCHAR(255) NOT NULL,
            repo             VARCHAR(1024) NOT NULL,
            plan_hash        VARCHAR(255) NOT NULL,
            requested_by     VARCHAR(255) NOT NULL,
            created_at       DOUBLE NOT NULL,
            state            VARCHAR(32) NOT NULL,
            statements       LONGTEXT NOT NULL,  -- JSON list of StatementRecord objects
            error            MEDIUMTEXT,
            updated_at       DOUBLE NOT NULL,
            wrapper_pid      BIGINT,
            log_path         TEXT,
            orphan           TEXT,               -- JSON OrphanRecord, or NULL
            postpone_cutover TINYINT NOT NULL DEFAULT 0,
            KEY jobs_env_created (environment, created_at),
            KEY jobs_created (created_at),
            KEY jobs_state (state)
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS audit (
            id          BIGINT NOT NULL PRIMARY KEY,  -- from sequences: increasing in commit order
            at          DOUBLE NOT NULL,
            who         VARCHAR(255) NOT NULL,
            environment VARCHAR(255) NOT NULL,
            plan_hash   VARCHAR(255) NOT NULL,
            statements  LONGTEXT NOT NULL,  -- JSON list of SQL strings
            result      VARCHAR(255) NOT NULL,
            job_id      VARCHAR(255),
            KEY audit_job (job_id)
        ) {_TABLE}""",
    ),
    # 2: drift acknowledgements, drift baselines and the webhook outbox (opsstore_mysql), as SQLite's 3.
    (
        "INSERT IGNORE INTO sequences (name, next_id) VALUES ('drift_acks', 1), ('webhook_outbox', 1)",
        f"""CREATE TABLE IF NOT EXISTS drift_acks (
            id              BIGINT NOT NULL PRIMARY KEY,
            repo            VARCHAR(128) NOT NULL,
            environment     VARCHAR(128) NOT NULL,
            address         VARCHAR(300) NOT NULL,
            schema_name     VARCHAR(64) NOT NULL,
            object_type     VARCHAR(32) NOT NULL,
            object_name     VARCHAR(255) NOT NULL,
            reason          TEXT NOT NULL,
            who             VARCHAR(255) NOT NULL,
            created_at      DOUBLE NOT NULL,
            expires_at      DOUBLE NOT NULL,
            statements_hash VARCHAR(255) NOT NULL,
            fingerprint     VARCHAR(255),
            state           VARCHAR(32) NOT NULL,
            ended_at        DOUBLE,
            end_reason      TEXT,
            KEY drift_acks_env (repo, environment, state)
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS drift_baselines (
            repo         VARCHAR(128) NOT NULL,
            environment  VARCHAR(128) NOT NULL,
            address      VARCHAR(300) NOT NULL,
            schema_name  VARCHAR(64) NOT NULL,
            fingerprints LONGTEXT NOT NULL,  -- JSON object: "type:name" -> live fingerprint
            drifted      LONGTEXT NOT NULL,  -- JSON list of "type:name" announced as drift
            lint         LONGTEXT NOT NULL,  -- JSON list of the lint errors announced
            updated_at   DOUBLE NOT NULL,
            PRIMARY KEY (repo, environment, address, schema_name)
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS webhook_outbox (
            id              BIGINT NOT NULL PRIMARY KEY,  -- from sequences: the delivery order
            target          VARCHAR(255) NOT NULL,
            event_id        VARCHAR(255) NOT NULL,
            event           VARCHAR(255) NOT NULL,
            created_at      DOUBLE NOT NULL,
            body            LONGBLOB NOT NULL,
            attempts        INT NOT NULL,
            next_attempt_at DOUBLE NOT NULL,
            last_error      TEXT,
            KEY webhook_outbox_target (target, id)
        ) {_TABLE}""",
    ),
    # 3: push campaigns (issue 15.4, campaignstore.py), as SQLite's 5.
    (
        f"""CREATE TABLE IF NOT EXISTS campaigns (
            id          VARCHAR(255) NOT NULL PRIMARY KEY,
            repo        VARCHAR(1024) NOT NULL,
            environment VARCHAR(255) NOT NULL,
            state       VARCHAR(32) NOT NULL,
            created_at  DOUBLE NOT NULL,
            updated_at  DOUBLE NOT NULL,
            doc         LONGTEXT NOT NULL,  -- JSON CampaignRecord: request, waves, every shard's state
            KEY campaigns_env (environment, created_at),
            KEY campaigns_state (state)
        ) {_TABLE}""",
    ),
    # 4: replicas (issue 15.2, service/replicas.py): heartbeats, leases, published answers, the poll log,
    # pushes handed to an environment's owner, the push locks, which replica runs each job, job logs.
    (
        f"""CREATE TABLE IF NOT EXISTS replicas (
            id           VARCHAR(128) NOT NULL PRIMARY KEY,
            host         VARCHAR(255) NOT NULL,
            pid          BIGINT NOT NULL,
            started_at   DOUBLE NOT NULL,
            heartbeat_at DOUBLE NOT NULL,  -- control server time (UNIX_TIMESTAMP(NOW(6))), like expires_at
            expires_at   DOUBLE NOT NULL
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS leases (
            name        VARCHAR(255) NOT NULL PRIMARY KEY,  -- what is owned: env:<repo>/<environment>
            owner       VARCHAR(128),                       -- NULL: released
            expires_at  DOUBLE NOT NULL,                    -- control server time
            acquired_at DOUBLE NOT NULL,
            epoch       BIGINT NOT NULL DEFAULT 0           -- +1 at every change of owner
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS published (
            name         VARCHAR(255) NOT NULL PRIMARY KEY,
            owner        VARCHAR(128) NOT NULL,
            published_at DOUBLE NOT NULL,    -- control server time
            plan_hash    VARCHAR(255) NOT NULL,
            stale        TINYINT NOT NULL,
            last_poll_at DOUBLE,
            last_error   TEXT,
            statements   INT NOT NULL,       -- drift figures: statements of the diff
            drifted      INT NOT NULL,       -- schemas with drift
            fingerprints LONGTEXT NOT NULL,  -- JSON: "address schema" -> object of "type:name" -> fingerprint
            env_json     LONGTEXT NOT NULL,  -- the environment as GET .../environments lists it
            diff_json    LONGTEXT NOT NULL,  -- GET .../diff as served
            diff_sql     LONGTEXT NOT NULL   -- GET .../diff?format=sql as served
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS poll_log (
            id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name        VARCHAR(255) NOT NULL,
            replica     VARCHAR(128) NOT NULL,
            started_at  DOUBLE NOT NULL,  -- control server time, written before the poll starts
            finished_at DOUBLE,           -- written after it ended; NULL: cut short (killed)
            ok          TINYINT,
            KEY poll_log_name (name, started_at)
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS push_requests (
            id          VARCHAR(64) NOT NULL PRIMARY KEY,
            name        VARCHAR(255) NOT NULL,
            request     LONGTEXT NOT NULL,     -- JSON PushRequest
            received_by VARCHAR(128) NOT NULL,
            created_at  DOUBLE NOT NULL,
            state       VARCHAR(16) NOT NULL,  -- queued, taken, done, expired
            taken_by    VARCHAR(128),
            outcome     LONGTEXT,              -- JSON: kind, message, plan_hash, statements, job_id
            KEY push_requests_state (state, name)
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS push_locks (
            name     VARCHAR(255) NOT NULL PRIMARY KEY,
            replica  VARCHAR(128) NOT NULL,
            taken_at DOUBLE NOT NULL
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS job_runners (
            job_id  VARCHAR(255) NOT NULL PRIMARY KEY,
            replica VARCHAR(128) NOT NULL,
            KEY job_runners_replica (replica)
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS job_logs (
            job_id VARCHAR(255) NOT NULL,
            seq    BIGINT NOT NULL,
            line   MEDIUMTEXT NOT NULL,
            PRIMARY KEY (job_id, seq)
        ) {_TABLE}""",
    ),
    # 5: campaigns and fleets under replicas (new tables, so MySQL and MariaDB both re-run it safely).
    (
        f"""CREATE TABLE IF NOT EXISTS published_fleet (
            name       VARCHAR(255) NOT NULL PRIMARY KEY,  -- as in `published`, written with it
            fleet_json LONGTEXT NOT NULL                   -- GET .../fleet as its owner serves it
        ) {_TABLE}""",
        f"""CREATE TABLE IF NOT EXISTS campaign_actions (
            campaign_id VARCHAR(255) NOT NULL PRIMARY KEY,  -- one pending action per campaign
            action_id   VARCHAR(64) NOT NULL,
            action      VARCHAR(16) NOT NULL,               -- pause, resume, abort
            requested_by VARCHAR(255) NOT NULL,
            state       VARCHAR(16) NOT NULL,               -- queued, done, refused, expired
            result      TEXT                                -- why it was refused
        ) {_TABLE}""",
    ),
    # 6: requests one replica hands to another (service/replicas.py): cancel or approve the cut-over of a
    # job another replica runs, refresh an environment another replica owns.
    (
        f"""CREATE TABLE IF NOT EXISTS replica_commands (
            id           VARCHAR(64) NOT NULL PRIMARY KEY,
            replica      VARCHAR(128) NOT NULL,  -- who answers: the job's runner, the environment's owner
            subject      VARCHAR(255) NOT NULL,  -- the job id, or the lease name (refresh)
            command      VARCHAR(16) NOT NULL,   -- cancel, cutover, refresh
            requested_by VARCHAR(255) NOT NULL,  -- the token's name
            received_by  VARCHAR(128) NOT NULL,
            created_at   DOUBLE NOT NULL,        -- control server time
            state        VARCHAR(16) NOT NULL,   -- queued, taken, done, expired, abandoned
            answer       LONGTEXT,               -- JSON: status and body, or status, code and message
            KEY replica_commands_state (state, replica)
        ) {_TABLE}""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Server error numbers (and the driver's own, 2xxx) this module acts on.
_ER_DUP_ENTRY = 1062
_ER_LOCK_WAIT_TIMEOUT = 1205
_ER_LOCK_DEADLOCK = 1213
_RETRY_ERRORS = frozenset({_ER_LOCK_WAIT_TIMEOUT, _ER_LOCK_DEADLOCK})
_LOST_ERRORS = frozenset({2006, 2013, 2014, 2045, 2055, 4031})  # gone away, lost, out of sync, timeout
_ATTEMPTS = 4


class _Connection(pymysql.connections.Connection):  # type: ignore[misc]
    """PyMySQL's connection, refusing to log in without TLS when the ssl mode requires it.

    PyMySQL quietly goes on without TLS when the server offers none; the check
    is made after the greeting and before the credentials are sent.
    """

    schemad_mode: SslMode = SslMode.DISABLED

    def _request_authentication(self) -> None:
        if self.schemad_mode in (SslMode.REQUIRED, SslMode.VERIFY_CA, SslMode.VERIFY_IDENTITY) and not (
            self.server_capabilities & CLIENT.SSL
        ):
            raise pymysql.err.OperationalError(
                2026, f"TLS: ssl-mode {self.schemad_mode} but the server offers no TLS"
            )
        # PyMySQL 1.2 refuses a server without TLS once given a context; preferred means: then go plain.
        self._ssl_required = self.schemad_mode is not SslMode.PREFERRED
        super()._request_authentication()


def _collation(conn: Any) -> str:
    """The binary NO PAD collation of the server's flavor (MySQL 5.7 has none: its PAD SPACE one)."""
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = str(cur.fetchone()[0])
        cur.execute(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS"
            " WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')"
        )
        names = {r[0] for r in cur.fetchall()}
    for name in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin"):
        if name in names:
            return name
    log.info(
        "control server %s has no binary NO PAD collation: trailing spaces in ids compare equal", version
    )
    return "utf8mb4_bin"


class MysqlStateStore(_Closeable):
    """StateStore in a MySQL/MariaDB control schema; a small pool of connections, thread-safe."""

    def __init__(
        self,
        config: MysqlStateConfig,
        *,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.location = config.location
        self._clock = clock
        self._secret: Secret | None = (
            config.password.read(f"state store {self.location}: password", environ)
            if config.password
            else None
        )
        self._tls = TlsConnector(config.tls, host=config.host, address=self.location)
        self._cond = threading.Condition()
        self._idle: list[Any] = []
        self._open = 0  # connections handed out or idle
        self._closed = False
        # Set by the daemon when it is one of several replicas (service/replicas.py): the jobs it
        # creates are recorded as its own, and a restart interrupts only its own.
        self.replica: str | None = None
        self._migrate()

    # ----- connections -----

    def _error(self, what: str, exc: BaseException) -> StateError:
        """A StateError naming the store and what failed, with the server's words (never the password)."""
        words = describe_tls_error(exc, self.config.host) or (
            str(exc.args[1]) if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) > 1 else str(exc)
        )
        if self._secret is not None:
            words = words.replace(self._secret.reveal(), "*****")
        return StateError(f"state store {self.location}: {what}: {words}", path=self.location)

    def _connect(self, *, database: str | None) -> Any:
        c = self.config
        try:
            extra = dict(self._tls.driver_kwargs(tcp=c.socket is None))
        except SchemadError as exc:
            raise StateError(f"state store {exc}", path=self.location) from None
        mode = c.tls.mode if c.socket is None else SslMode.DISABLED
        if mode is SslMode.DISABLED:
            extra["ssl_disabled"] = True  # else PyMySQL 1.2 tries TLS on its own
        conn = _Connection(
            defer_connect=True,
            host=c.host,
            port=c.port,
            unix_socket=str(c.socket) if c.socket is not None else None,
            user=c.user,
            password=self._secret.reveal() if self._secret is not None else "",
            database=database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=c.connect_timeout,
            client_flag=CLIENT.FOUND_ROWS,  # UPDATE's rowcount counts matched rows, as SQLite's does
            sql_mode="STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION",  # too long is an error, never truncated
            init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            program_name="schemad",
            **extra,
        )
        conn.schemad_mode = mode
        try:
            conn.connect()
        except pymysql.err.MySQLError as exc:
            raise self._error("cannot connect", exc) from None
        return conn

    def _acquire(self) -> Any:
        with self._cond:
            while True:
                if self._closed:
                    raise StateError(f"state store {self.location} is closed", path=self.location)
                if self._idle:
                    return self._idle.pop()
                if self._open < self.config.pool_size:
                    self._open += 1
                    break
                self._cond.wait()
        try:
            return self._connect(database=self.config.schema)
        except BaseException:
            self._discard(None)
            raise

    def _release(self, conn: Any) -> None:
        with self._cond:
            if self._closed:
                self._open -= 1
                conn.close()
            else:
                self._idle.append(conn)
            self._cond.notify()

    def _discard(self, conn: Any | None) -> None:
        if conn is not None:
            with suppress(Exception):  # already broken: nothing to say goodbye to
                conn.close()
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def run(self, fn: Callable[[Cursor], T], *, what: str = "write") -> T:
        """`fn(cursor)` in one transaction, committed on return; re-run on deadlock or a lost connection.

        `fn` may raise StateError (rolled back, passed on); a server error is a StateError.
        """
        for attempt in range(1, _ATTEMPTS + 1):
            conn = self._acquire()
            committing = False
            try:
                with conn.cursor() as cur:
                    out = fn(cur)
                committing = True
                conn.commit()
            except pymysql.err.MySQLError as exc:
                errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
                lost = errno in _LOST_ERRORS or isinstance(exc, pymysql.err.InterfaceError)
                if lost:
                    self._discard(conn)
                else:
                    self._rollback(conn)
                if committing and lost:
                    raise self._error(
                        f"{what}: connection lost during COMMIT (it may have been applied)", exc
                    ) from None
                if (lost or errno in _RETRY_ERRORS) and attempt < _ATTEMPTS:
                    log.info("state store %s: %s: retrying after error %d", self.location, what, errno)
                    time.sleep(0.05 * attempt)
                    continue
                raise self._error(what, exc) from None
            except BaseException:
                self._rollback(conn)
                raise
            else:
                self._release(conn)
                return out
        raise AssertionError("unreachable")

    def _rollback(self, conn: Any) -> None:
        try:
            conn.rollback()
        except Exception:
            self._discard(conn)
        else:
            self._release(conn)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read (its own short transaction, so other daemons' commits are seen)."""

        def read(cur: Cursor) -> list[tuple[Any, ...]]:
            cur.execute(sql, params)
            return list(cur.fetchall())

        return self.run(read, what="read")

    @staticmethod
    def next_ids(cur: Cursor, name: str, n: int = 1) -> int:
        """Take `n` ids of sequence `name` (its row locked until COMMIT); the first of them."""
        cur.execute("SELECT next_id FROM sequences WHERE name = %s FOR UPDATE", (name,))
        row = cur.fetchone()
        if row is None:
            raise StateError(f"sequence {name} is missing from the control schema", key=name)
        cur.execute("UPDATE sequences SET next_id = next_id + %s WHERE name = %s", (n, name))
        return int(row[0])

    # ----- migrations -----

    def _migrate(self) -> None:
        c = self.config
        conn = self._connect(database=None)
        try:
            conn.autocommit(True)  # DDL commits anyway; GET_LOCK is held by the session, not a transaction
            with conn.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, %s)", (MIGRATE_LOCK, c.migrate_wait))
                got = cur.fetchone()[0]
                if got != 1:
                    raise StateError(
                        f"state store {self.location}: another daemon held the migration lock"
                        f" {MIGRATE_LOCK!r} for more than {c.migrate_wait:g}s",
                        path=self.location,
                    )
                try:
                    self._apply(conn, cur)
                finally:
                    cur.execute("SELECT RELEASE_LOCK(%s)", (MIGRATE_LOCK,))
        except pymysql.err.MySQLError as exc:
            raise self._error("cannot migrate the control schema", exc) from None
        finally:
            conn.close()

    def _apply(self, conn: Any, cur: Cursor) -> None:
        schema = self.config.schema
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{schema}` DEFAULT CHARACTER SET utf8mb4")
        conn.select_db(schema)
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY,"
            " applied_at DOUBLE NOT NULL, applied_by VARCHAR(255) NOT NULL) ENGINE=InnoDB"
        )
        cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        version = int(cur.fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state store {self.location} has schema version {version}; this schemad knows up to"
                f" {SCHEMA_VERSION}: upgrade schemad (a newer one migrated the control schema)",
                path=self.location,
            )
        if version == SCHEMA_VERSION:
            return
        cur.execute("SELECT CONNECTION_ID()")
        by = f"{socket.gethostname()}:{os.getpid()}:{cur.fetchone()[0]}"
        collation = _collation(conn)
        for n in range(version, SCHEMA_VERSION):
            for stmt in MIGRATIONS[n]:
                cur.execute(stmt.replace("{bin}", collation))
            cur.execute(
                "INSERT INTO schema_migrations (version, applied_at, applied_by) VALUES (%s, %s, %s)",
                (n + 1, self._clock(), by),
            )
            log.info("state store %s: migrated to version %d", self.location, n + 1)

    # ----- jobs -----

    def create_job(self, job: JobRecord) -> None:
        def write(cur: Cursor) -> None:
            try:
                cur.execute(
                    f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({', '.join(['%s'] * 14)})", _job_row(job)
                )
            except pymysql.err.IntegrityError as exc:
                if exc.args[0] == _ER_DUP_ENTRY:
                    raise StateError(f"job {job.id} already exists", key=job.id) from None
                raise
            if self.replica is not None:
                cur.execute(
                    "INSERT INTO job_runners (job_id, replica) VALUES (%s, %s)", (job.id, self.replica)
                )

        self.run(write)

    def update_job(self, job: JobRecord) -> None:
        self.run(lambda cur: self._update_job(cur, job))

    def finish_job(self, job: JobRecord) -> None:
        def write(cur: Cursor) -> None:
            self._update_job(cur, job)
            self._close_audit(cur, job.id, str(job.state))

        self.run(write)

    @staticmethod
    def _update_job(cur: Cursor, job: JobRecord) -> None:
        row = _job_row(job)
        n = cur.execute(
            "UPDATE jobs SET environment = %s, repo = %s, plan_hash = %s, requested_by = %s,"
            " created_at = %s, state = %s, statements = %s, error = %s, updated_at = %s,"
            " wrapper_pid = %s, log_path = %s, orphan = %s, postpone_cutover = %s WHERE id = %s",
            (*row[1:], row[0]),
        )
        if n == 0:
            raise StateError(f"no job {job.id}", key=job.id)

    @staticmethod
    def _close_audit(cur: Cursor, job_id: str, result: str) -> None:
        cur.execute(
            "UPDATE audit SET result = %s WHERE job_id = %s AND result = %s", (result, job_id, AUDIT_RUNNING)
        )

    def get_job(self, id: str) -> JobRecord | None:
        rows = self.query(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s", (id,))
        return _job_from_row(rows[0]) if rows else None

    def list_jobs(
        self, *, environment: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[JobRecord]:
        where: list[str] = []
        params: list[Any] = []
        if environment is not None:
            where.append("environment = %s")
            params.append(environment)
        if before is not None:
            where.append("created_at < %s")
            params.append(before)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.query(
            f"SELECT {_JOB_COLUMNS} FROM jobs{clause} ORDER BY created_at DESC, id DESC LIMIT %s",
            (*params, max(limit, 0)),
        )
        return [_job_from_row(r) for r in rows]

    def running_jobs(self) -> list[JobRecord]:
        rows = self.query(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = %s ORDER BY created_at, id",
            (str(JobState.RUNNING),),
        )
        return [_job_from_row(r) for r in rows]

    # ----- audit -----

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
        def write(cur: Cursor) -> int:
            id = self.next_ids(cur, "audit")
            cur.execute(
                f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (id, at, who, environment, plan_hash, json.dumps(list(statements)), result, job_id),
            )
            return id

        return self.run(write)

    def update_audit_result(self, id: int, result: str) -> None:
        def write(cur: Cursor) -> None:
            if cur.execute("UPDATE audit SET result = %s WHERE id = %s", (result, id)) == 0:
                raise StateError(f"no audit entry {id}", key=str(id))

        self.run(write)

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, job_id: str | None = None
    ) -> list[AuditRecord]:
        job_clause = "" if job_id is None else " AND job_id = %s"
        rows = self.query(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE id > %s{job_clause} ORDER BY id LIMIT %s",
            (after_id, *(() if job_id is None else (job_id,)), max(limit, 0)),
        )
        return [_audit_from_row(r) for r in rows]

    # ----- restart -----

    def mark_interrupted(self) -> list[JobRecord]:
        """The active jobs of this replica (all of them when it is not one) end as interrupted.

        A replica's jobs are those it recorded in `job_runners`; jobs without a runner (written
        before migration 3) are anyone's.  Another replica's jobs are left alone: that replica
        runs them, or whoever takes over their environment ends them (`interrupt_jobs_of`).
        """
        if self.replica is None:
            return self._interrupt("", ())
        return self._interrupt(" AND (r.replica = %s OR r.replica IS NULL)", (self.replica,))

    def interrupt_jobs_of(self, replica: str, environment: str) -> list[JobRecord]:
        """A dead replica's active jobs of one environment end as interrupted (its new owner's call)."""
        return self._interrupt(" AND r.replica = %s AND j.environment = %s", (replica, environment))

    def _interrupt(self, where: str, args: tuple[Any, ...]) -> list[JobRecord]:
        now = self._clock()
        active = tuple(str(s) for s in _ACTIVE)
        cols = ", ".join(f"j.{c.strip()}" for c in _JOB_COLUMNS.split(","))

        def write(cur: Cursor) -> list[JobRecord]:
            cur.execute(
                f"SELECT {cols} FROM jobs j LEFT JOIN job_runners r ON r.job_id = j.id"
                f" WHERE j.state IN ({', '.join(['%s'] * len(active))}){where}"
                " ORDER BY j.created_at, j.id FOR UPDATE",
                (*active, *args),
            )
            out = [_interrupt(_job_from_row(r), now) for r in cur.fetchall()]
            for job in out:
                row = _job_row(job)
                cur.execute(
                    "UPDATE jobs SET state = %s, statements = %s, updated_at = %s WHERE id = %s",
                    (row[6], row[7], row[9], row[0]),
                )
                self._close_audit(cur, job.id, str(JobState.INTERRUPTED))
            return out

        return self.run(write)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            with suppress(Exception):
                conn.close()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection for tests and tools that inspect the control schema."""
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._rollback(conn)
