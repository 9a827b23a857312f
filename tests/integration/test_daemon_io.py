"""The daemon's store I/O with a control schema (`[state] backend = "mysql"`), on real servers and processes.

A job's statement record is committed before its DDL reaches the target, and
while the control schema makes the daemon wait, its event loop keeps answering:
the test holds a row lock on the job's row in the control schema (the record
write waits on it) and watches the target's process list, then holds a
metadata lock on the target table (the ALTER waits on it) and reads the
control schema meanwhile.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymysql
import pytest

from schemad.apply.executor import push_lock_name
from schemad.service.state import JobState
from schemad.service.state_mysql import MysqlStateStore
from schemad.state_config import MysqlStateConfig
from schemad.webhook_config import SecretRef
from tests.conftest import DBServer
from tests.daemon_proc import (
    DB_PASSWORD,
    DB_USER,
    PASSWORD_ENV,
    USERS,
    DaemonRepo,
    RunningDaemon,
    ensure_db_user,
    sql,
)

USERS_OLD = "CREATE TABLE users (id int(10) unsigned NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)) ENGINE=InnoDB"


def connect(server: DBServer, schema: str | None = None) -> pymysql.Connection[Any]:
    p = server.params
    return pymysql.connect(
        host=p.host, port=p.port, user=p.user, password=p.password or "", database=schema, autocommit=True
    )


def query(conn: pymysql.Connection[Any], text: str, args: Any = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(text, args)
        return list(cur.fetchall())


def query_once(server: DBServer, text: str, args: Any = None) -> list[tuple[Any, ...]]:
    """`query` on a connection of its own, closed after."""
    conn = connect(server)
    try:
        return query(conn, text, args)
    finally:
        conn.close()


def alters_on(server: DBServer, schema: str) -> list[str]:
    """The ALTER TABLEs the target server is running (or waiting to run) in `schema` now."""
    rows = query_once(
        server,
        "SELECT state, info FROM information_schema.processlist WHERE db = %s AND info LIKE 'ALTER TABLE%%'",
        (schema,),
    )
    return [str(r[0]) for r in rows]


def wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {predicate}")


@pytest.fixture
def names(server: DBServer) -> Iterator[tuple[str, str]]:
    ensure_db_user(server)
    target, ctl = f"io_target_{os.getpid()}", f"io_ctl_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {target}; CREATE DATABASE {target}; DROP DATABASE IF EXISTS {ctl}")
    sql(server, USERS_OLD, target)
    yield target, ctl
    sql(server, f"DROP DATABASE IF EXISTS {target}; DROP DATABASE IF EXISTS {ctl}")


def mysql_daemon(server: DBServer, tmp_path: Path, target: str, ctl: str) -> RunningDaemon:
    repo = DaemonRepo.create(tmp_path / "repo", server, target, {"users.sql": USERS})
    p = server.params
    state = (
        f'[state]\nbackend = "mysql"\nhost = "{p.host}"\nport = {p.port}\nuser = "{DB_USER}"\n'
        f'schema = "{ctl}"\npassword_env = "{PASSWORD_ENV}"\n'
    )
    return RunningDaemon(repo, tmp_path / "run", extra_toml=state, poll_interval="1h")


def control_store(server: DBServer, ctl: str) -> MysqlStateStore:
    p = server.params
    config = MysqlStateConfig(
        host=p.host, port=p.port, user=DB_USER, schema=ctl, password=SecretRef(env="PW")
    )
    return MysqlStateStore(config, environ={"PW": DB_PASSWORD})


def test_a_statement_is_recorded_before_its_ddl_and_the_loop_never_waits_for_the_store(
    server: DBServer, tmp_path: Path, names: tuple[str, str]
) -> None:
    target, ctl = names
    d = mysql_daemon(server, tmp_path, target, ctl).start()
    held = connect(server)  # holds the target's push lock, then a metadata lock on the table
    row = connect(server, ctl)  # holds the job's row in the control schema
    try:
        plan = d.diff()
        assert "ALTER TABLE" in str(plan), plan
        assert query(held, "SELECT GET_LOCK(%s, 10)", (push_lock_name(target),)) == [(1,)]
        r = d.post("/v1/environments/test/push", {"plan_hash": plan["plan_hash"]})
        assert r.status == 202, r.text
        job_id = r.json()["job"]["id"]  # recorded; its run waits for the push lock

        query(row, "BEGIN")
        assert query(row, "SELECT id FROM jobs WHERE id = %s FOR UPDATE", (job_id,)) == [(job_id,)]
        query(held, "SELECT RELEASE_LOCK(%s)", (push_lock_name(target),))
        # The job now has the push lock, and its record writes wait for the row the test holds.
        wait_for(lambda: query(held, "SELECT IS_USED_LOCK(%s) IS NOT NULL", (push_lock_name(target),))[0][0])
        for _ in range(20):  # meanwhile the event loop answers, and no DDL reaches the target
            assert d.get("/healthz", token=None, timeout=5).status == 200
            assert alters_on(server, target) == []
            time.sleep(0.05)

        query(held, "BEGIN")
        query(held, f"SELECT * FROM `{target}`.users")  # the ALTER will wait for this metadata lock
        query(row, "COMMIT")
        states = wait_for(lambda: alters_on(server, target))
        assert "metadata lock" in states[0]
        with control_store(server, ctl) as s:  # the DDL waits on the target: its record is there
            job = s.get_job(job_id)
            assert job is not None and job.state is JobState.RUNNING
            (st,) = job.statements
            assert st.started_at is not None and st.finished_at is None and "ALTER TABLE" in st.sql
        query(held, "COMMIT")
        assert d.wait_job(job_id)["state"] == "succeeded"
    finally:
        held.close()
        row.close()
        assert d.stop() == 0


def test_a_push_taken_by_a_replica_that_stops_heartbeating_is_answered_503(
    server: DBServer, tmp_path: Path
) -> None:
    """The owner takes a handed-over push, then freezes (SIGSTOP) before answering: the receiver answers."""
    from tests.integration.test_replicas import ENVS, Replica, control_sql, write_repo
    from tests.integration.test_replicas import USERS_OLD as OLD

    ensure_db_user(server)
    tag = f"io{os.getpid()}"
    control = f"ctl_taken_{tag}"
    schemas = {e: f"taken_{tag}_{e}" for e in ENVS}
    setup = [f"DROP DATABASE IF EXISTS {control}"]
    for s in schemas.values():
        setup += [
            f"DROP DATABASE IF EXISTS {s}",
            f"CREATE DATABASE {s}",
            OLD.replace("TABLE ", f"TABLE {s}.", 1),
        ]
    sql(server, ";\n".join(setup) + ";")
    repo = write_repo(tmp_path / "repo", server, schemas)
    replicas = [Replica(repo, tmp_path / f"r{i}", control=control, replica=f"taken-{i}") for i in range(2)]
    locker = connect(server)
    try:
        for r in replicas:
            r.start()
        # Ownership spreads once both replicas are up (6 environments each): pick e1's owner after that,
        # or the push may reach a replica that is just handing e1 over.
        replicas[0].wait_for(lambda: all(len(r.owns()) == len(ENVS) // 2 for r in replicas), timeout=60)
        owner = next(r for r in replicas if "e1" in r.owns())
        other = next(r for r in replicas if r is not owner)
        plan = other.wait_for(
            lambda: (x := other.get("/v1/environments/e1/diff")).status == 200 and x.json(), timeout=60
        )
        # The owner takes the handed-over request, then its push waits for the environment's push
        # lock row, which an open transaction of the test holds (uncommitted) in the control schema.
        query(locker, "BEGIN")
        query(
            locker,
            f"INSERT INTO `{control}`.push_locks (name, replica, taken_at) VALUES ('env:app/e1', 'test', 0)",
        )
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(other.post, "/v1/environments/e1/push", {"plan_hash": plan["plan_hash"]})
            other.wait_for(
                lambda: control_sql(server, control, "SELECT state FROM push_requests") == [("taken",)],
                timeout=30,
            )
            assert owner.proc is not None
            owner.proc.send_signal(signal.SIGSTOP)  # no answer, no heartbeat
            # Let go of the row: the frozen owner's INSERT may complete on the server, and whoever
            # takes the environment over clears the dead owner's lock without waiting on ours.
            query(locker, "ROLLBACK")
            try:
                r = answer.result(timeout=60)
            finally:
                owner.proc.send_signal(signal.SIGKILL)
                owner.proc.wait()
        assert r.status == 503, r.text
        assert "owner_unavailable" in r.text and owner.replica in r.text and "recorded no job" in r.text
        assert control_sql(server, control, "SELECT state FROM push_requests") == [("abandoned",)]
    finally:
        locker.close()
        for x in replicas:
            if x.proc is not None and x.proc.poll() is None:
                x.stop()
        sql(server, "".join(f"DROP DATABASE IF EXISTS {s};" for s in [control, *schemas.values()]))


def test_prune_deletes_old_poll_log_rows_and_ended_push_requests_in_batches(
    server: DBServer, tmp_path: Path, names: tuple[str, str]
) -> None:
    from schemad.service.replicas import ControlSchema

    _, ctl = names
    with control_store(server, ctl) as s:
        c = ControlSchema(s, "pruner", 15.0)
        conn = connect(server, ctl)
        try:
            now = float(query(conn, "SELECT UNIX_TIMESTAMP(NOW(6))")[0][0])
            for i in range(7):  # old
                query(
                    conn,
                    "INSERT INTO poll_log (name, replica, started_at) VALUES ('e', 'r', %s)",
                    (now - 900 - i,),
                )
            query(conn, "INSERT INTO poll_log (name, replica, started_at) VALUES ('e', 'r', %s)", (now,))
            for id, state, at in (("a", "done", now - 900), ("b", "taken", now - 900), ("c", "done", now)):
                query(
                    conn,
                    "INSERT INTO push_requests (id, name, request, received_by, created_at, state)"
                    " VALUES (%s, 'e', '{}', 'r', %s, %s)",
                    (id, at, state),
                )
            assert c.prune(600, 600, batch=3) == (7, 1)
            assert query(conn, "SELECT COUNT(*) FROM poll_log") == [(1,)]
            assert query(conn, "SELECT id FROM push_requests ORDER BY id") == [("b",), ("c",)]
        finally:
            conn.close()
