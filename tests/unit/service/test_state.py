"""The StateStore contract, run against SqliteStateStore and its MemoryStateStore fake alike.

SQLite-only tests cover what a fake can't: survival across reopen and a real
crash (a process killed without closing), schema versioning, WAL mode, and
two connections writing one file.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from schemad.apply.executor import StepResult, StepStatus
from schemad.apply.leftovers import Leftover, LeftoverKind
from schemad.apply.progress import Tool
from schemad.service.state import (
    SCHEMA_VERSION,
    UNCERTAIN,
    AuditRecord,
    JobRecord,
    JobState,
    MemoryStateStore,
    OrphanAction,
    OrphanRecord,
    SqliteStateStore,
    StateError,
    StatementRecord,
    StateStore,
    settle_statements,
)

NOW = 1_700_000_000.0


def _clock() -> float:
    return NOW + 999


def job(
    id: str = "j1",
    *,
    environment: str = "production",
    created_at: float = NOW,
    state: JobState = JobState.QUEUED,
    statements: tuple[StatementRecord, ...] = (),
) -> JobRecord:
    return JobRecord(
        id=id,
        environment=environment,
        repo="git@example.com:shop/schema.git",
        plan_hash="sha256:abc",
        requested_by="alice",
        created_at=created_at,
        state=state,
        statements=statements,
        error=None,
        updated_at=created_at,
        wrapper_pid=None,
        log_path=None,
    )


def stmt(
    sql: str,
    status: str = "pending",
    *,
    error: str | None = None,
    started_at: float | None = None,
    finished_at: float | None = None,
) -> StatementRecord:
    return StatementRecord(sql, status, error, started_at, finished_at)


def audit(store: StateStore, n: int, *, result: str = "ok", job_id: str | None = None) -> int:
    return store.append_audit(
        at=NOW + n,
        who=f"user{n}",
        environment="production",
        plan_hash=f"h{n}",
        statements=(f"ALTER TABLE t{n} ADD COLUMN c INT", "DROP TABLE x"),
        result=result,
        job_id=job_id,
    )


StoreFactory = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens a store of the parametrised kind; for sqlite, every call reopens the same file."""
    opened: list[StateStore] = []

    def make() -> StateStore:
        s: StateStore = (
            SqliteStateStore(tmp_path / "state.db", clock=_clock)
            if request.param == "sqlite"
            else MemoryStateStore(clock=_clock)
        )
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store: StoreFactory) -> StateStore:
    return make_store()


# ----- jobs -----


@pytest.mark.parametrize(
    "record",
    [
        job(),
        job("empty-strings", environment=""),
        replace(
            job("full", state=JobState.RUNNING),
            statements=(
                stmt("CREATE TABLE `a` (`id` int)", "done", started_at=NOW, finished_at=NOW + 1),
                stmt(
                    "ALTER TABLE `b` ADD `x` int", "failed", error="Duplicate column 'x'", started_at=NOW + 1
                ),
                stmt("DROP TABLE `c`", "not_run"),
                stmt("ALTER TABLE `d` COMMENT 'ünïcødé; \"quoted\"'"),
            ),
            error="wrapper exited 1",
            wrapper_pid=4242,
            log_path="/var/lib/schemad/logs/full.log",
        ),
        replace(
            job("after-a-crash", state=JobState.INTERRUPTED),
            statements=(
                StatementRecord(
                    "ALTER TABLE `big` ADD `c` int",
                    "failed",
                    UNCERTAIN,
                    NOW,
                    None,
                    "db1:3306 shop",
                    "big",
                    (
                        Leftover(LeftoverKind.TABLE, "shop", "_big_new", Tool.PT_OSC, "big"),
                        Leftover(LeftoverKind.TRIGGER, "shop", "pt_osc_shop_big_ins", Tool.PT_OSC, "big"),
                    ),
                ),
                StatementRecord("ALTER TABLE `gone` ADD `c` int", "failed", "x", table="gone", leftovers=()),
                StatementRecord("ALTER TABLE `later` ADD `c` int", "not_run", table="later"),
            ),
            orphan=OrphanRecord(OrphanAction.KILLED, 31337, NOW + 60),
        ),
    ],
    ids=lambda r: r.id,
)
def test_job_round_trip(store: StateStore, record: JobRecord) -> None:
    store.create_job(record)
    assert store.get_job(record.id) == record
    got = store.get_job(record.id)
    assert got is not None and type(got.state) is JobState and type(got.statements) is tuple


def test_get_unknown_job(store: StateStore) -> None:
    assert store.get_job("nope") is None


def test_create_duplicate_job_refused(store: StateStore) -> None:
    store.create_job(job("j1"))
    with pytest.raises(StateError) as err:
        store.create_job(replace(job("j1"), repo="other"))
    assert err.value.key == "j1"
    assert store.get_job("j1") == job("j1")


def test_update_replaces_whole_record(store: StateStore) -> None:
    store.create_job(job("j1", statements=(stmt("A"), stmt("B"))))
    store.create_job(job("j2"))
    updated = replace(
        job("j1", state=JobState.RUNNING, statements=(stmt("A", "done", started_at=NOW), stmt("B"))),
        updated_at=NOW + 5,
        wrapper_pid=99,
        log_path="/tmp/j1.log",
    )
    store.update_job(updated)
    assert store.get_job("j1") == updated
    cleared = replace(updated, wrapper_pid=None, state=JobState.SUCCEEDED, statements=())
    store.update_job(cleared)
    assert store.get_job("j1") == cleared
    assert store.get_job("j2") == job("j2")  # untouched


def test_update_unknown_job_refused(store: StateStore) -> None:
    with pytest.raises(StateError):
        store.update_job(job("ghost"))
    assert store.get_job("ghost") is None


def test_statement_status_validated() -> None:
    with pytest.raises(ValueError, match="bogus"):
        StatementRecord("SELECT 1", "bogus", None, None, None)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(StepStatus.DONE, "done"), (StepStatus.FAILED, "failed"), (StepStatus.NOT_RUN, "not_run")],
)
def test_statement_from_step(status: StepStatus, expected: str) -> None:
    rec = StatementRecord.from_step(StepResult("DROP TABLE t", status, "e"), started_at=1.0, finished_at=2.0)
    assert rec == StatementRecord("DROP TABLE t", expected, "e", 1.0, 2.0)


# (environment, limit, before) -> expected ids, newest first
LIST_CASES: list[tuple[str | None, int, float | None, list[str]]] = [
    (None, 50, None, ["p3", "s2", "p2", "s1", "p1"]),
    (None, 2, None, ["p3", "s2"]),
    (None, 2, NOW + 4, ["p2", "s1"]),  # second page: before = created_at of the last one seen (s2)
    (None, 50, NOW + 2, ["p1"]),
    (None, 50, NOW + 1, []),  # strictly before
    (None, 0, None, []),
    ("production", 50, None, ["p3", "p2", "p1"]),
    ("production", 1, NOW + 4, ["p2"]),
    ("staging", 50, None, ["s2", "s1"]),
    ("nowhere", 50, None, []),
]


@pytest.mark.parametrize(("environment", "limit", "before", "expected"), LIST_CASES)
def test_list_jobs(
    store: StateStore, environment: str | None, limit: int, before: float | None, expected: list[str]
) -> None:
    for i, (id, env) in enumerate(
        [
            ("p1", "production"),
            ("s1", "staging"),
            ("p2", "production"),
            ("s2", "staging"),
            ("p3", "production"),
        ]
    ):
        store.create_job(job(id, environment=env, created_at=NOW + i + 1))
    got = store.list_jobs(environment=environment, limit=limit, before=before)
    assert [j.id for j in got] == expected


def test_list_jobs_same_created_at_ordered_by_id(store: StateStore) -> None:
    for id in ["b", "c", "a"]:
        store.create_job(job(id))
    assert [j.id for j in store.list_jobs()] == ["c", "b", "a"]


def test_running_jobs(store: StateStore) -> None:
    for i, state in enumerate(JobState):
        store.create_job(job(f"j-{state}", state=state, created_at=NOW - i))
    store.create_job(job("r2", state=JobState.RUNNING, created_at=NOW - 100))
    assert [j.id for j in store.running_jobs()] == ["r2", "j-running"]


# ----- audit -----


def test_audit_round_trip(store: StateStore) -> None:
    id = audit(store, 1, job_id="j1")
    assert store.list_audit() == [
        AuditRecord(
            id=id,
            at=NOW + 1,
            who="user1",
            environment="production",
            plan_hash="h1",
            statements=("ALTER TABLE t1 ADD COLUMN c INT", "DROP TABLE x"),
            result="ok",
            job_id="j1",
        )
    ]
    id2 = audit(store, 2)
    assert id2 > id
    assert store.list_audit()[1].job_id is None


# (after_id, limit) -> expected entry numbers, with 7 entries appended
AUDIT_PAGES: list[tuple[int, int, list[int]]] = [
    (0, 100, [1, 2, 3, 4, 5, 6, 7]),
    (0, 3, [1, 2, 3]),
    (3, 3, [4, 5, 6]),
    (6, 3, [7]),
    (7, 3, []),
    (0, 0, []),
]


@pytest.mark.parametrize(("after", "limit", "expected"), AUDIT_PAGES)
def test_audit_paging(store: StateStore, after: int, limit: int, expected: list[int]) -> None:
    ids = [audit(store, n) for n in range(1, 8)]
    assert ids == sorted(ids) and len(set(ids)) == 7
    after_id = ids[after - 1] if after else 0
    got = store.list_audit(after_id=after_id, limit=limit)
    assert [r.who for r in got] == [f"user{n}" for n in expected]


def test_audit_paging_walks_everything(store: StateStore) -> None:
    for n in range(1, 11):
        audit(store, n)
    seen: list[str] = []
    after = 0
    while page := store.list_audit(after_id=after, limit=3):
        seen += [r.who for r in page]
        after = page[-1].id
    assert seen == [f"user{n}" for n in range(1, 11)]


def test_update_audit_result(store: StateStore) -> None:
    a = audit(store, 1, result="running")
    b = audit(store, 2, result="running")
    store.update_audit_result(a, "succeeded")
    assert [r.result for r in store.list_audit()] == ["succeeded", "running"]
    assert store.list_audit()[0] == replace(store.list_audit()[0], result="succeeded")
    with pytest.raises(StateError):
        store.update_audit_result(b + 1000, "x")


def test_list_audit_of_one_job(store: StateStore) -> None:
    a = audit(store, 1, job_id="j1")
    audit(store, 2, job_id="j2")
    c = audit(store, 3, job_id="j1")
    audit(store, 4)
    assert [r.id for r in store.list_audit(job_id="j1")] == [a, c]
    assert [r.id for r in store.list_audit(job_id="j1", after_id=a)] == [c]
    assert store.list_audit(job_id="nope") == []


def test_finish_job_closes_its_running_audit_entries(store: StateStore) -> None:
    store.create_job(job("j1", state=JobState.RUNNING))
    store.create_job(job("j2", state=JobState.RUNNING))
    a = audit(store, 1, result="running", job_id="j1")
    b = audit(store, 2, result="running", job_id="j2")
    done = replace(job("j1", state=JobState.CANCELLED), updated_at=NOW + 9)
    store.finish_job(done)
    assert store.get_job("j1") == done
    assert {r.id: r.result for r in store.list_audit()} == {a: "cancelled", b: "running"}
    with pytest.raises(StateError):
        store.finish_job(job("ghost", state=JobState.FAILED))


# ----- restart -----


def test_mark_interrupted_closes_the_audit_entries_of_those_jobs_only(store: StateStore) -> None:
    store.create_job(job("crashed", state=JobState.RUNNING))
    store.create_job(job("queued", state=JobState.QUEUED))
    store.create_job(job("ended", state=JobState.SUCCEEDED))
    a = audit(store, 1, result="running", job_id="crashed")
    b = audit(store, 2, result="running", job_id="queued")
    c = audit(store, 3, result="succeeded", job_id="ended")
    d = audit(store, 4, result="running")  # a CLI push someone else records: not a job of ours
    store.mark_interrupted()
    results = {r.id: r.result for r in store.list_audit()}
    assert results == {a: "interrupted", b: "interrupted", c: "succeeded", d: "running"}


def test_mark_interrupted(store: StateStore) -> None:
    statements = (stmt("A", "done"), stmt("B", "failed", error="e"), stmt("C"), stmt("D", "not_run"))
    for state in JobState:
        store.create_job(job(f"j-{state}", state=state, statements=statements))
    out = store.mark_interrupted()
    assert {j.id for j in out} == {"j-queued", "j-running", "j-pending_cutover"}
    for j in out:
        assert j.state is JobState.INTERRUPTED
        assert [s.status for s in j.statements] == ["done", "failed", "not_run", "not_run"]
        assert j.statements == settle_statements(statements)
        assert j.statements[1].error == "e"
        assert j.updated_at == _clock()
        assert store.get_job(j.id) == j
    for state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED):
        assert store.get_job(f"j-{state}") == job(f"j-{state}", state=state, statements=statements)
    assert store.running_jobs() == []
    assert store.mark_interrupted() == []  # idempotent


def _running_job() -> JobRecord:
    return replace(
        job("crash", state=JobState.RUNNING),
        statements=(
            stmt("CREATE TABLE a (id int)", "done", started_at=NOW, finished_at=NOW + 1),
            stmt("CREATE TABLE b (id int)", "done", started_at=NOW + 1, finished_at=NOW + 2),
            stmt("ALTER TABLE c ADD x int", started_at=NOW + 2),
        ),
        wrapper_pid=31337,
    )


def test_mark_interrupted_after_reopen(tmp_path: Path) -> None:
    first = SqliteStateStore(tmp_path / "state.db")
    first.create_job(_running_job())
    audit(first, 1, result="running", job_id="crash")
    first.close()  # the daemon stops without finishing the job
    with SqliteStateStore(tmp_path / "state.db") as second:
        assert [j.id for j in second.running_jobs()] == ["crash"]
        (interrupted,) = second.mark_interrupted()
        assert interrupted.state is JobState.INTERRUPTED
        # The statement in flight may or may not have taken effect: failed, and said so.
        assert [s.status for s in interrupted.statements] == ["done", "done", "failed"]
        assert interrupted.statements[2].error == UNCERTAIN
        assert interrupted.wrapper_pid == 31337  # kept: the runner uses it to find a leftover wrapper
        assert second.list_audit()[0].result == "interrupted"  # closed in the same transaction
        assert second.running_jobs() == []


CRASH = """
import os, sys
from schemad.service.state import SqliteStateStore
from tests.unit.service.test_state import _running_job
store = SqliteStateStore(sys.argv[1])
store.create_job(_running_job())
os._exit(9)  # no close(), no cleanup: the process dies with the job running
"""


def test_sqlite_survives_crash(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    root = Path(__file__).parents[3]
    proc = subprocess.run([sys.executable, "-c", CRASH, str(path)], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    with SqliteStateStore(path, clock=_clock) as store:
        (interrupted,) = store.mark_interrupted()
    assert interrupted == replace(
        _running_job(),
        state=JobState.INTERRUPTED,
        updated_at=_clock(),
        statements=settle_statements(_running_job().statements),
    )
    with SqliteStateStore(path) as store:
        assert store.get_job("crash") == interrupted


# ----- concurrency -----

THREADS = 8
PER_THREAD = 25


def _hammer(store: StateStore, t: int) -> None:
    for i in range(PER_THREAD):
        id = f"t{t}-{i}"
        store.create_job(job(id, created_at=NOW + t * 1000 + i))
        store.update_job(job(id, created_at=NOW + t * 1000 + i, state=JobState.RUNNING))
        audit(store, t * 1000 + i, job_id=id)


def _run_threads(target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(t: int) -> None:
        try:
            target(t)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors


def _check_hammered(store: StateStore) -> None:
    jobs = store.list_jobs(limit=10_000)
    assert len(jobs) == THREADS * PER_THREAD
    assert all(j.state is JobState.RUNNING for j in jobs)
    entries = store.list_audit(limit=10_000)
    assert len(entries) == THREADS * PER_THREAD
    assert len({e.id for e in entries}) == len(entries)
    assert {e.job_id for e in entries} == {j.id for j in jobs}


def test_concurrent_writers_one_store(store: StateStore) -> None:
    _run_threads(lambda t: _hammer(store, t))
    _check_hammered(store)


def test_concurrent_writers_separate_connections(tmp_path: Path) -> None:
    """Two daemons (or a daemon and a CLI) on one file: busy_timeout serialises them."""
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    stores = [SqliteStateStore(path) for _ in range(THREADS)]
    try:
        _run_threads(lambda t: _hammer(stores[t], t))
        _check_hammered(stores[0])
    finally:
        for s in stores:
            s.close()


# ----- sqlite file -----


def test_sqlite_file_settings(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"jobs", "audit", "drift_acks", "drift_baselines", "webhook_outbox"} <= tables
        columns = {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
        assert not {c for c in columns if "pass" in c.lower()}
    finally:
        conn.close()
    SqliteStateStore(path).close()  # reopening an up-to-date file is a no-op


def test_sqlite_migrates_a_version_1_file(tmp_path: Path) -> None:
    """A store written before jobs had `orphan` (and statements `table`/`leftovers`) still reads."""
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE jobs (id TEXT PRIMARY KEY, environment TEXT NOT NULL, repo TEXT NOT NULL,
            plan_hash TEXT NOT NULL, requested_by TEXT NOT NULL, created_at REAL NOT NULL,
            state TEXT NOT NULL, statements TEXT NOT NULL, error TEXT, updated_at REAL NOT NULL,
            wrapper_pid INTEGER, log_path TEXT);
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, who TEXT NOT NULL,
            environment TEXT NOT NULL, plan_hash TEXT NOT NULL, statements TEXT NOT NULL,
            result TEXT NOT NULL, job_id TEXT);
        INSERT INTO jobs VALUES ('old', 'prod', 'r', 'h', 'alice', 1.0, 'running',
            '[{"sql": "ALTER TABLE t ADD c int", "status": "pending", "error": null,
               "started_at": 2.0, "finished_at": null, "target": "db:3306 s"}]', NULL, 2.0, 77, NULL);
        INSERT INTO audit (at, who, environment, plan_hash, statements, result, job_id)
            VALUES (1.0, 'alice', 'prod', 'h', '["ALTER TABLE t ADD c int"]', 'running', 'old');
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    with SqliteStateStore(path, clock=_clock) as store:
        old = store.get_job("old")
        assert old is not None and old.orphan is None
        assert old.statements == (
            StatementRecord("ALTER TABLE t ADD c int", "pending", None, 2.0, None, "db:3306 s"),
        )
        (interrupted,) = store.mark_interrupted()
        assert interrupted.statements[0].status == "failed"
        assert store.list_audit()[0].result == "interrupted"
        store.update_job(
            replace(interrupted, orphan=OrphanRecord(OrphanAction.GONE, 77, NOW), wrapper_pid=None)
        )
        got = store.get_job("old")
        assert got is not None and got.orphan == OrphanRecord(OrphanAction.GONE, 77, NOW)


def test_sqlite_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StateError, match="schema version 99") as err:
        SqliteStateStore(path)
    assert err.value.path == str(path)


def test_sqlite_refuses_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="cannot open state store"):
        SqliteStateStore(path)


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    with SqliteStateStore(tmp_path / "state.db") as store:
        store.create_job(job("j1"))
        with pytest.raises(StateError):
            store.create_job(job("j1"))
        store.create_job(job("j2"))  # the connection is not stuck in a transaction
        assert [j.id for j in store.list_jobs()] == ["j2", "j1"]


def test_settle_statements_marks_the_one_in_flight_uncertain_and_the_rest_not_run() -> None:
    settled = settle_statements(
        (
            stmt("A", "done", started_at=NOW, finished_at=NOW + 1),
            stmt("B", started_at=NOW + 1),  # running when the job was cut short
            stmt("C"),
            stmt("D", "not_run", started_at=NOW + 2),  # what mark_interrupted left of a running one
        )
    )
    assert [s.status for s in settled] == ["done", "failed", "not_run", "failed"]
    assert settled[1].error == settled[3].error and "may or may not" in str(settled[1].error)
    assert settled[2].error is None


def test_osc_fields_round_trip(store: StateStore) -> None:
    """A job's postpone_cutover and its statements' tool, progress, pre-flight and approval are kept."""
    st = replace(
        stmt("ALTER TABLE t ADD c int", "done"),
        tool="gh-ost",
        progress={"tool": "gh-ost", "phase": "postponed", "pct": 100.0, "cutover_ready": True},
        preflight=({"check": "triggers", "refuse": False, "message": "none"},),
        cutover_approved_by="oncall-bot",
        cutover_approved_at=NOW + 5,
    )
    j = replace(job("osc", state=JobState.PENDING_CUTOVER, statements=(st,)), postpone_cutover=True)
    store.create_job(j)
    assert store.get_job("osc") == j
    store.update_job(replace(j, postpone_cutover=False))
    assert store.get_job("osc") == replace(j, postpone_cutover=False)
