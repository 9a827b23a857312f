"""The daemon survives what production throws at it: a crash mid-wrapper, a database that goes away.

Both run a real `schemad serve` process.  The crash test kills it with
SIGKILL while an alter-wrapper runs: on restart the job is `interrupted`
with the statements that completed, the wrapper's process group is gone and
no workspace schema is left behind.  The outage test stops a private
MariaDB under a polling daemon: polls fail and are counted, the cached diff
is still served (marked stale, with its snapshot time), and the first poll
after the server is back recovers without help.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.apply.runner import _group_alive
from schemad.connection.params import ConnParams
from schemad.embedded import EmbeddedServer
from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    READER_TOKEN,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.helpers import temp_schemas_left

pytestmark = pytest.mark.timeout(240)

ITEMS = """CREATE TABLE `items` (
  `id` int(11) NOT NULL,
  `name` varchar(50) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""


def group_alive(pgid: int) -> bool:
    """A member of the group still runs (zombies waiting for a reaper that is not us do not count)."""
    return _group_alive(pgid)


@contextlib.contextmanager
def wrapped_daemon(server: DBServer, tmp_path: Path, prefix: str, wrapper: str) -> Iterator[RunningDaemon]:
    """A daemon over one `items` table whose ALTER TABLEs go through `wrapper`; cleaned up after."""
    ensure_db_user(server)
    schema = f"{prefix}_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, ITEMS, schema)
    repo = DaemonRepo.create(
        tmp_path / "repo", server, schema, {"items.sql": ITEMS}, extra_options=f"alter-wrapper={wrapper}\n"
    )
    d = RunningDaemon(repo, tmp_path / "run").start()
    try:
        yield d
    finally:
        pgid = wrapper_pgid(d)
        if pgid and group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
        assert_no_password(d)


def push_through_wrapper(d: RunningDaemon, server: DBServer) -> tuple[str, int]:
    """Hand DDL, then a push of its reversal; returns the job id and the running wrapper's pgid."""
    sql(server, "ALTER TABLE items ADD KEY by_name (name)", d.repo.schema)
    diff = d.diff(refresh="true")
    r = d.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
    assert r.status == 202, r.text
    job_id: str = r.json()["job"]["id"]
    d.wait_for(lambda: d.get(f"/v1/jobs/{job_id}").json()["job"]["wrapper_running"], timeout=15)
    pgid = wrapper_pgid(d, job_id)
    assert pgid and group_alive(pgid)
    return job_id, pgid


def wrapper_pgid(d: RunningDaemon, job_id: str | None = None) -> int:
    """The wrapper process group a job recorded (the newest job's by default; 0 if none)."""
    path = d.state_dir / "state.sqlite3"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute(
            "SELECT wrapper_pid FROM jobs WHERE (? IS NULL OR id = ?) ORDER BY created_at DESC LIMIT 1",
            (job_id, job_id),
        ).fetchone()
    return int(row[0]) if row and row[0] else 0


def test_kill_9_during_a_wrapper_run_leaves_an_interrupted_job_and_nothing_running(
    server: DBServer, tmp_path: Path
) -> None:
    # Every ALTER TABLE goes through a "tool" that runs for a long time, given an option file.
    with wrapped_daemon(server, tmp_path, "crash", "sleep 300; : {DEFAULTSFILE}") as d:
        job_id, pgid = push_through_wrapper(d, server)
        option_dirs = list(Path(tempfile.gettempdir()).glob(f"schemad-cnf-{job_id}-*"))
        assert len(option_dirs) == 1 and (option_dirs[0] / "client.cnf").exists()
        d.stop(signal.SIGKILL)
        assert group_alive(pgid)  # the tool runs in its own session: the crash did not take it down

        d.args = ("--audit-stdout",)
        d.start()  # same state dir
        job = d.get(f"/v1/jobs/{job_id}").json()["job"]
        assert job["state"] == "interrupted"
        # The statement was in the tool when the daemon died: its outcome is unknown, and said so.
        assert [s["status"] for s in job["statements"]] == ["failed"]
        assert "may or may not" in job["statements"][0]["error"]
        assert job["wrapper_running"] is False
        # The restart says what it did about the tool left running: it still ran this job's tool.
        assert job["orphan"]["action"] == "killed" and job["orphan"]["pgid"] == pgid
        d.wait_for(lambda: not group_alive(pgid), timeout=5)
        assert not option_dirs[0].exists()  # nor the credentials it was given
        # ... and then looked at the table for what the tool left (this one creates nothing).
        d.wait_for(lambda: d.get(f"/v1/jobs/{job_id}").json()["job"]["statements"][0]["leftovers"] == [])
        # The audit entry is closed, and the restart told --audit-stdout the outcome like a finish does.
        entries = [e for e in d.get("/v1/audit").json()["entries"] if e["job_id"] == job_id]
        assert [e["result"] for e in entries] == ["interrupted"]
        out = [json.loads(line) for line in d.stdout_path.read_text().splitlines() if line.startswith("{")]
        assert [(o["job_id"], o["audit_id"], o["result"]) for o in out] == [
            (job_id, entries[0]["id"], "interrupted")
        ]
        assert not _temp_schemas(server)


def _temp_schemas(server: DBServer) -> list[str]:
    import asyncio

    return asyncio.run(temp_schemas_left(server.params))


@pytest.fixture
def private_server() -> Iterator[tuple[EmbeddedServer, DBServer]]:
    srv = EmbeddedServer()
    srv.start()
    try:
        yield srv, DBServer(ConnParams(host="127.0.0.1", port=srv.port, user="root"), srv.socket)
    finally:
        srv.stop()


def test_database_outage_polls_fail_counted_cache_served_stale_then_recovers(
    private_server: tuple[EmbeddedServer, DBServer], tmp_path: Path
) -> None:
    srv, db = private_server
    ensure_db_user(db)
    sql(db, "CREATE DATABASE outage CHARACTER SET utf8mb4;")
    sql(db, ITEMS, "outage")
    repo = DaemonRepo.create(tmp_path / "repo", db, "outage", {"items.sql": ITEMS})
    d = RunningDaemon(repo, tmp_path / "run", poll_interval="1s").start()
    try:
        before = d.diff()
        assert before["stale"] is False and before["snapshot_at"]
        errors0 = d.metric("schemad_poll_errors_total", repo="app", environment="test") or 0

        srv.halt()
        d.wait_for(
            lambda: (d.metric("schemad_poll_errors_total", repo="app", environment="test") or 0) > errors0,
            timeout=15,
        )
        assert d.get("/healthz", token=None).status == 200
        stale = d.diff()
        assert stale["stale"] is True
        assert stale["snapshot_at"] == before["snapshot_at"]  # the last good snapshot, still served
        assert stale["targets"][0]["poll_error"]
        env = d.get("/v1/environments").json()["environments"][0]
        assert env["status"] == "stale" and env["last_poll"]["consecutive_failures"] >= 1
        # Work that needs the server answers 503 with the reason, not a 500.
        r = d.post("/v1/lint", {"file": "outage/x.sql", "sql": "CREATE TABLE x (id int PRIMARY KEY);"})
        assert r.status == 503 and r.json()["error"]["code"] == "database_unavailable", r.text
        r = d.post("/v1/environments/test/push", {"plan_hash": stale["plan_hash"]})
        assert r.status == 503 and r.json()["error"]["code"] == "environment_unreachable", r.text

        srv.resume()
        d.wait_for(lambda: d.diff()["stale"] is False, timeout=30, interval=0.2)
        after = d.diff()
        assert after["snapshot_at"] > before["snapshot_at"]
        assert after["targets"][0]["poll_error"] is None
        assert d.get("/v1/environments").json()["environments"][0]["status"] == "ok"
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        assert_no_password(d)


def test_cancel_stops_a_running_wrapper_and_the_log_streams_while_it_runs(
    server: DBServer, tmp_path: Path
) -> None:
    import http.client

    with wrapped_daemon(server, tmp_path, "cancel", "echo started {TABLE}; sleep 300") as d:
        job_id, pgid = push_through_wrapper(d, server)

        # The log streams while the job runs: the tool's output arrives before the job ends.
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        try:
            conn.request("GET", f"/v1/jobs/{job_id}/log", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            stream = conn.getresponse()
            assert stream.status == 200 and stream.getheader("Transfer-Encoding") == "chunked"
            seen = b""
            while b"started items" not in seen:
                seen += stream.readline()
            assert d.get(f"/v1/jobs/{job_id}").json()["job"]["state"] == "running"

            assert d.post(f"/v1/jobs/{job_id}/cancel", token=READER_TOKEN).status == 403
            r = d.post(f"/v1/jobs/{job_id}/cancel")
            assert r.status == 202, r.text
            job = d.wait_job(job_id, timeout=30)
            assert job["state"] == "cancelled"
            assert [s["status"] for s in job["statements"]] == ["failed"]
            assert not group_alive(pgid)
            assert b"cancelled" in stream.read()  # the stream ends with the job
        finally:
            conn.close()
        assert d.post(f"/v1/jobs/{job_id}/cancel").status == 409
        assert d.metric("schemad_push_jobs_total", repo="app", environment="test", result="cancelled") == 1
        assert d.metric("schemad_alter_wrapper_running") == 0


def test_sigterm_lets_the_running_wrapper_finish_then_exits_0(server: DBServer, tmp_path: Path) -> None:
    # A "tool" that takes a while and succeeds (it does not run the DDL: enough to see the wait).
    with wrapped_daemon(server, tmp_path, "term", "sleep 3") as d:  # shutdown_grace = 5s
        job_id, _ = push_through_wrapper(d, server)
        start = time.monotonic()
        assert d.stop(signal.SIGTERM) == 0
        assert time.monotonic() - start > 1.5  # it waited for the tool
        d.start()
        job = d.get(f"/v1/jobs/{job_id}").json()["job"]
        assert job["state"] == "succeeded" and job["statements"][0]["status"] == "done"


def test_a_reload_keeps_the_running_push_s_lock(server: DBServer, tmp_path: Path) -> None:
    with wrapped_daemon(server, tmp_path, "reload", "sleep 300") as d:
        job_id, _ = push_through_wrapper(d, server)
        d.poll_interval = "2s"  # the repo's config changes: its environments are rebuilt
        d.write_config()
        assert d.proc is not None
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for(
            lambda: d.metric("schemad_poll_duration_seconds_count", repo="app", environment="test"),
            timeout=10,
        )
        time.sleep(0.5)
        plan = d.diff(refresh="true")["plan_hash"]
        r = d.post("/v1/environments/test/push", {"plan_hash": plan})
        assert r.status == 409 and r.json()["error"]["code"] == "push_running", r.text
        assert d.post(f"/v1/jobs/{job_id}/cancel").status == 202
        assert d.wait_job(job_id)["state"] == "cancelled"
