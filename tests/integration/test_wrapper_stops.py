"""A real pt-online-schema-change stopped mid-copy through a real daemon: cancel, SIGTERM, kill -9.

Each test pushes an ADD COLUMN on a 100,000-row table (filled with one
INSERT ... SELECT from MariaDB's seq_1_to_100000) through the
alter-wrapper, waits until the copy is under way (the job reports progress;
`--sleep 0.1` after each of the 100 chunks makes it last over ten seconds)
and stops it:

- cancel and the daemon's SIGTERM stop the tool with one SIGTERM, so its own
  handler runs once and its clean-up runs to the end; daemon SIGTERM waits
  `shutdown_grace` first.
- `kill -9` of the daemon leaves the tool running on its own; the next start
  kills it (recorded as the job's `orphan`).

pt-online-schema-change 3.x keeps its triggers and `_big_new` on purpose
when it is interrupted ("Not dropping the new table ... because the tool was
interrupted").  After cancel and SIGTERM the daemon drops the triggers once
the tool has exited (they double every write to `big`), lists them as
`dropped` and audits the DROPs; `_big_new` stays, listed as a leftover
until someone asks for a clean-up (test_osc_supervisor); after `kill -9`
the restart lists everything as `leftovers` and drops nothing.  Each test checks
what the server has against the job, that the table is intact, that no tool
process is left and that the audit entry is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemad.apply.runner import _group_alive
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.daemon_proc import DaemonRepo, RunningDaemon, assert_no_password, ensure_db_user, sql
from tests.integration.test_daemon_resilience import wrapper_pgid
from tests.integration.test_openapi import check_response

pytestmark = pytest.mark.timeout(180)

ROWS = 100_000
LIVE = """CREATE TABLE `big` (
  `id` int(10) unsigned NOT NULL,
  `v` varchar(40) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""
WANTED = LIVE.replace("  PRIMARY KEY", "  `c` int(11) DEFAULT NULL,\n  PRIMARY KEY")
# F={DEFAULTSFILE}: the password reaches the tool in an option file, not on its command line.
TEMPLATE = (
    "pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE},F={DEFAULTSFILE}"
    " --recursion-method=none --no-version-check --chunk-size 1000 --chunk-time 0 --sleep 0.1"
    " --progress percentage,1"
)


@contextlib.contextmanager
def big_table_daemon(server: DBServer, tmp_path: Path, prefix: str, **kw: Any) -> Iterator[RunningDaemon]:
    """A daemon whose repo adds a column to a 100,000-row `big` through pt-online-schema-change."""
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    ensure_db_user(server)
    schema = f"{prefix}_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, LIVE, schema)
    sql(server, f"INSERT INTO big SELECT seq, CONCAT('row ', seq) FROM seq_1_to_{ROWS}", schema)
    repo = DaemonRepo.create(
        tmp_path / "repo", server, schema, {"big.sql": WANTED}, extra_options=f"alter-wrapper={TEMPLATE}\n"
    )
    d = RunningDaemon(repo, tmp_path / "run", **kw).start()
    try:
        yield d
    finally:
        pgid = wrapper_pgid(d)
        if pgid and _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
        assert_no_password(d)


def push_and_wait_for_the_copy(d: RunningDaemon) -> tuple[str, int]:
    """Push the plan; return the job id and the tool's process group once it reports copy progress."""
    r = d.post("/v1/environments/test/push", {"plan_hash": d.diff(refresh="true")["plan_hash"]})
    assert r.status == 202, r.text
    job_id: str = r.json()["job"]["id"]

    def copying() -> bool:
        job = d.get(f"/v1/jobs/{job_id}").json()["job"]
        assert job["state"] in ("queued", "running"), job
        return job["progress"] is not None and (job["progress"]["pct"] or 0) > 0

    d.wait_for(copying, timeout=60, interval=0.1)
    pgid = wrapper_pgid(d, job_id)
    assert pgid and _group_alive(pgid)
    return job_id, pgid


def get_job(d: RunningDaemon, job_id: str) -> dict[str, Any]:
    r = d.get(f"/v1/jobs/{job_id}")
    check_response("GET", "/v1/jobs/{id}", r.status, r.headers["Content-Type"], r.body)
    job: dict[str, Any] = r.json()["job"]
    return job


def on_the_server(server: DBServer, schema: str) -> dict[str, Any]:
    """What is there besides `big` itself, its row count and whether the column was added."""

    async def read() -> dict[str, Any]:
        async with Instance(server.params) as inst:
            tables = await inst.query(
                "SELECT table_name AS n FROM information_schema.tables"
                " WHERE table_schema = %s AND table_name <> 'big' ORDER BY 1",
                [schema],
            )
            triggers = await inst.query(
                "SELECT trigger_name AS n FROM information_schema.triggers"
                " WHERE trigger_schema = %s ORDER BY 1",
                [schema],
            )
            rows = await inst.query(f"SELECT COUNT(*) AS n FROM `{schema}`.`big`")
            create = (await inst.query(f"SHOW CREATE TABLE `{schema}`.`big`"))[0]["Create Table"]
        return {
            "tables": [r["n"] for r in tables],
            "triggers": [r["n"] for r in triggers],
            "rows": rows[0]["n"],
            "altered": "`c`" in create,
        }

    return asyncio.run(read())


def listed(statement: dict[str, Any], field: str = "leftovers") -> dict[str, list[str]]:
    """The statement's leftovers (or what was dropped) in the shape of `on_the_server`."""
    out: dict[str, list[str]] = {"tables": [], "triggers": []}
    for x in statement[field]:
        assert (x["table"], x["tool"]) == ("big", "pt-online-schema-change"), x
        out[x["kind"] + "s"].append(x["name"])
    return {k: sorted(v) for k, v in out.items()}


def what_pt_osc_keeps(schema: str) -> dict[str, list[str]]:
    return {
        "tables": ["_big_new"],
        "triggers": [f"pt_osc_{schema}_big_{op}" for op in ("del", "ins", "upd")],
    }


def assert_pt_osc_kept_its_work(server: DBServer, schema: str, statement: dict[str, Any]) -> None:
    """The job lists exactly what the tool left, nothing was dropped, and the live table is as it was."""
    now = on_the_server(server, schema)
    assert {"tables": now["tables"], "triggers": now["triggers"]} == what_pt_osc_keeps(schema)
    assert listed(statement) == what_pt_osc_keeps(schema)
    assert statement["dropped"] == []
    assert (now["rows"], now["altered"]) == (ROWS, False)


def assert_schemad_dropped_what_pt_osc_kept(server: DBServer, schema: str, statement: dict[str, Any]) -> None:
    """No pt_osc_* trigger is left (listed as dropped), `_big_new` is listed as left; the table is intact."""
    now = on_the_server(server, schema)
    kept = what_pt_osc_keeps(schema)
    assert (now["tables"], now["triggers"]) == (kept["tables"], [])
    assert listed(statement, "dropped") == {"tables": [], "triggers": kept["triggers"]}
    assert listed(statement) == {"tables": kept["tables"], "triggers": []}
    assert (now["rows"], now["altered"]) == (ROWS, False)


def assert_the_tool_cleaned_up_after_one_sigterm(log: str) -> None:
    """pt-osc's signal handler ran once and its clean-up ran to its last step."""
    assert log.count("# Exiting on SIGTERM.") == 1, log
    assert "Not dropping triggers because the tool was interrupted" in log, log
    assert "Not dropping the new table" in log, log
    assert "`big` was not altered." in log, log  # the last clean-up task


def audit_results(d: RunningDaemon, job_id: str) -> list[str]:
    return [e["result"] for e in d.get("/v1/audit").json()["entries"] if e["job_id"] == job_id]


def test_cancel_mid_copy_lets_pt_osc_clean_up_then_drops_what_it_kept(
    server: DBServer, tmp_path: Path
) -> None:
    with big_table_daemon(server, tmp_path, "stopcancel") as d:
        job_id, pgid = push_and_wait_for_the_copy(d)
        assert d.post(f"/v1/jobs/{job_id}/cancel").status == 202
        d.wait_job(job_id, timeout=60)
        job = get_job(d, job_id)

        assert job["state"] == "cancelled" and job["orphan"] is None
        (st,) = job["statements"]
        assert st["status"] == "failed" and "cancelled" in st["error"]
        assert not _group_alive(pgid)
        log = d.get(f"/v1/jobs/{job_id}/log").text
        assert_the_tool_cleaned_up_after_one_sigterm(log)
        assert_schemad_dropped_what_pt_osc_kept(server, d.repo.schema, st)
        assert "dropped what the stopped tool left on `big`: DROP TRIGGER IF EXISTS" in log
        assert log.index("`big` was not altered.") < log.index("dropped what the stopped tool left")
        assert audit_results(d, job_id) == ["cancelled", "dropped_after_stop"]


def test_daemon_sigterm_mid_copy_stops_pt_osc_once_then_drops_what_it_kept(
    server: DBServer, tmp_path: Path
) -> None:
    with big_table_daemon(server, tmp_path, "stopterm", shutdown_grace="1s") as d:
        job_id, pgid = push_and_wait_for_the_copy(d)
        assert d.stop(signal.SIGTERM) == 0  # waited 1 s for the copy, then stopped the tool, then exited
        assert not _group_alive(pgid)

        d.start()
        job = get_job(d, job_id)
        assert job["state"] == "interrupted" and job["orphan"] is None  # nothing was left running
        (st,) = job["statements"]
        assert st["status"] == "failed"
        log = d.get(f"/v1/jobs/{job_id}/log").text
        assert_the_tool_cleaned_up_after_one_sigterm(log)
        assert_schemad_dropped_what_pt_osc_kept(server, d.repo.schema, st)
        assert audit_results(d, job_id) == ["interrupted", "dropped_after_stop"]


def test_kill_9_mid_copy_restart_kills_the_orphan_lists_what_it_left_and_closes_the_audit(
    server: DBServer, tmp_path: Path
) -> None:
    with big_table_daemon(server, tmp_path, "stopkill") as d:
        job_id, pgid = push_and_wait_for_the_copy(d)
        (option_dir,) = Path(tempfile.gettempdir()).glob(f"schemad-cnf-{job_id}-*")  # F={DEFAULTSFILE}
        d.stop(signal.SIGKILL)
        assert _group_alive(pgid)  # the tool copies on, unsupervised
        assert audit_results_raw(d) == ["running"]  # as the crash left it

        d.args = ("--audit-stdout",)
        d.start()  # same state dir
        job = get_job(d, job_id)
        assert job["state"] == "interrupted"
        assert job["orphan"]["action"] == "killed" and job["orphan"]["pgid"] == pgid
        assert not _group_alive(pgid)
        assert not option_dir.exists()  # the credentials the killed tool read are gone with it
        (st,) = job["statements"]
        assert st["status"] == "failed" and "may or may not" in st["error"]
        # The look at the table runs once the environment is up.
        d.wait_for(lambda: get_job(d, job_id)["statements"][0]["leftovers"] is not None, timeout=30)
        st = get_job(d, job_id)["statements"][0]
        assert_pt_osc_kept_its_work(server, d.repo.schema, st)  # SIGKILLed: no clean-up at all

        entries = [e for e in d.get("/v1/audit").json()["entries"] if e["job_id"] == job_id]
        assert [e["result"] for e in entries] == ["interrupted"]
        out = [json.loads(line) for line in d.stdout_path.read_text().splitlines() if line.startswith("{")]
        assert [(o["audit_id"], o["job_id"], o["result"]) for o in out] == [
            (entries[0]["id"], job_id, "interrupted")
        ]
        log = d.get(f"/v1/jobs/{job_id}/log").text
        assert f"the wrapper's process group {pgid}: killed" in log
        assert "pt-online-schema-change left 4 object(s) on `big`" in log


def audit_results_raw(d: RunningDaemon) -> list[str]:
    """The audit results as stored, read from the state file (the daemon is down)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(d.state_dir / "state.sqlite3")) as db:
        return [r[0] for r in db.execute("SELECT result FROM audit ORDER BY id")]
