"""The online-schema-change supervisor through a real `schemad serve` over HTTP (issue 13.1 and 13.4).

- pt-online-schema-change on a 50,000-row table: progress records arrive
  through GET /v1/jobs/{id} while it copies (several distinct
  percentages), as metrics and in the job log; cancelled mid-copy, the job
  lists what the tool kept (`_big_new`; its triggers schemad drops at once,
  in the audit log), GET …/leftovers lists it, POST …/cleanup drops it (in
  the audit log), and the table's rows are intact (count and CHECKSUM TABLE).
  postpone_cutover is refused for it, naming the tool.
- A fake gh-ost (tests/fixtures/osc/fake-gh-ost.py, installed as `gh-ost`)
  that honours a postpone flag file: the job reaches `pending_cutover`,
  a token without `cutover:<env>` gets 403, the approver's POST …/cutover
  releases it (unpostpone on the socket, flag file removed) and the job
  succeeds with the column added; the approver is named on the statement
  and in the audit log.
- During both runs a thread reads `ps -eo args` and every /proc/*/cmdline
  every 100 ms: the database password never shows.  (The daemon's own
  environment holds it, as the .skeema reads it from a variable; that is
  not the process table.)

Needs `pt-online-schema-change` (`make setup`); a missing tool is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemad.apply.osc import SpiritGate
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    APPROVER,
    APPROVER_TOKEN,
    DB_PASSWORD,
    READER_TOKEN,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.integration.test_openapi import check_response
from tests.integration.test_wrapper_credentials import Sampler
from tests.integration.test_wrapper_stops import LIVE, WANTED, on_the_server  # `big`, and `big` with `c`

pytestmark = pytest.mark.timeout(240)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "osc"
ROWS = 50_000
# 100 chunks of 500 rows, 0.05 s apart: the copy lasts several seconds and reports every 1%.
PT_OSC = (
    "pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE},F={DEFAULTSFILE}"
    " --recursion-method=none --no-version-check --chunk-size 500 --chunk-time 0 --sleep 0.05"
    " --progress percentage,1"
)


def sampler(tool: bytes) -> Sampler:
    """`ps -eo args` and /proc/*/cmdline every 100 ms (not environ: this daemon holds the password there)."""
    return Sampler(DB_PASSWORD.encode(), tool=tool, read_environ=False)


@contextlib.contextmanager
def osc_daemon(
    server: DBServer, tmp_path: Path, prefix: str, template: str, rows: int, extra: str = ""
) -> Iterator[RunningDaemon]:
    """A daemon whose repo adds a column to `big` (`rows` rows) through the alter-wrapper `template`."""
    ensure_db_user(server)
    schema = f"{prefix}_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, LIVE, schema)
    sql(server, f"INSERT INTO big SELECT seq, CONCAT('row ', seq) FROM seq_1_to_{rows}", schema)
    repo = DaemonRepo.create(
        tmp_path / "repo",
        server,
        schema,
        {"big.sql": WANTED},
        extra_options=f"alter-wrapper={template}\n{extra}",
    )
    d = RunningDaemon(repo, tmp_path / "run", extra_toml=APPROVER).start()
    try:
        yield d
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
        assert_no_password(d)


def table_state(server: DBServer, schema: str) -> dict[str, Any]:
    """`on_the_server` (what is there besides `big`, its rows, whether it has `c`) and `big`'s checksum."""

    async def checksum() -> Any:
        async with Instance(server.params) as inst:
            return (await inst.query(f"CHECKSUM TABLE `{schema}`.`big`"))[0]["Checksum"]

    return {**on_the_server(server, schema), "checksum": asyncio.run(checksum())}


def get_job(d: RunningDaemon, job_id: str) -> dict[str, Any]:
    r = d.get(f"/v1/jobs/{job_id}")
    check_response("GET", "/v1/jobs/{id}", r.status, r.headers["Content-Type"], r.body)
    job: dict[str, Any] = r.json()["job"]
    return job


def audit(d: RunningDaemon, job_id: str) -> list[dict[str, Any]]:
    return [e for e in d.get("/v1/audit").json()["entries"] if e["job_id"] == job_id]


def osc_labels(d: RunningDaemon, tool: str) -> dict[str, str]:
    return {"repo": "app", "environment": "test", "schema": d.repo.schema, "table": "big", "tool": tool}


def test_pt_osc_progress_then_cancel_leaves_an_inventory_that_cleanup_removes(
    server: DBServer, tmp_path: Path
) -> None:
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    with osc_daemon(server, tmp_path, "oscpt", PT_OSC, ROWS) as d:
        schema = d.repo.schema
        before = table_state(server, schema)
        assert before["rows"] == ROWS and not before["altered"]
        plan_hash = d.diff(refresh="true")["plan_hash"]

        # pt-online-schema-change cannot hold its cut-over: refused, naming it.
        r = d.post("/v1/environments/test/push", {"plan_hash": plan_hash, "postpone_cutover": True})
        assert r.status == 422, r.text
        assert r.json()["error"]["code"] == "cutover_not_supported"
        assert "pt-online-schema-change cannot postpone its cut-over" in r.text
        # A dry run runs the pre-flight checks: nothing refuses (a PRIMARY KEY, no triggers, ...).
        r = d.post("/v1/environments/test/push", {"plan_hash": plan_hash, "dry_run": True})
        assert r.status == 200 and all(not f["refuse"] for f in r.json()["preflight"]), r.text

        seen: list[float] = []
        records: list[dict[str, Any]] = []
        metric: float | None = None
        with sampler(b"pt-online-schema-change") as ps:
            r = d.post("/v1/environments/test/push", {"plan_hash": plan_hash})
            assert r.status == 202, r.text
            job_id = r.json()["job"]["id"]

            def three_percentages() -> bool:
                nonlocal metric
                job = get_job(d, job_id)
                assert job["state"] in ("queued", "running"), job
                p = job["progress"]
                if p is not None:
                    records.append(p)
                    if p["pct"] is not None and p["pct"] not in seen:
                        seen.append(p["pct"])
                # Three percentages, and far enough in for the sampler to watch the tool a while.
                if len([x for x in seen if 0 < x < 100]) >= 3 and max(seen) >= 40:
                    metric = d.metric(
                        "schemad_osc_progress_ratio", **osc_labels(d, "pt-online-schema-change")
                    )
                    return True
                return False

            d.wait_for(three_percentages, timeout=90, interval=0.05)
            assert d.post(f"/v1/jobs/{job_id}/cancel").status == 202
            job = d.wait_job(job_id, timeout=90)
        assert ps.rounds >= 5 and ps.tool_seen, "the sampler never saw the tool"
        assert ps.leaks == [], ps.leaks

        # Progress: the normalized record, from the tool's own lines, percentages rising.
        assert seen == sorted(seen), seen
        copying = [p for p in records if p["phase"] == "copying" and p["pct"]]
        assert copying and all(
            p["tool"] == "pt-online-schema-change" and p["table"] == "big" for p in copying
        )
        assert copying[0]["rows_total"] is not None or any(p["rows_total"] for p in records)
        assert metric is not None and 0 < metric < 1
        assert d.metric("schemad_osc_progress_ratio", **osc_labels(d, "pt-online-schema-change")) is None
        assert d.metric("schemad_osc_cutover_pending", **osc_labels(d, "pt-online-schema-change")) is None

        # Cancelled mid-copy: the triggers are dropped at once (audited), the copy is listed, not dropped.
        assert job["state"] == "cancelled" and job["progress"] is None
        (st,) = job["statements"]
        assert st["tool"] == "pt-online-schema-change"
        assert st["progress"]["phase"] == "failed" and st["progress"]["reason"] == "interrupted (SIGTERM)"
        assert [(x["name"], x["role"]) for x in st["leftovers"]] == [("_big_new", "copy")]
        triggers = sorted(f"pt_osc_{schema}_big_{op}" for op in ("del", "ins", "upd"))
        assert sorted(x["name"] for x in st["dropped"]) == triggers
        now = table_state(server, schema)
        assert (now["tables"], now["triggers"]) == (["_big_new"], [])
        r = d.get("/v1/environments/test/leftovers")
        check_response("GET", "/v1/environments/{env}/leftovers", r.status, r.headers["Content-Type"], r.body)
        (target,) = r.json()["targets"]
        assert [(x["name"], x["table"], x["tool"]) for x in target["leftovers"]] == [
            ("_big_new", "big", "pt-online-schema-change")
        ]
        entries = audit(d, job_id)
        assert [(e["who"], e["result"]) for e in entries] == [
            ("admin", "cancelled"),
            ("schemad", "dropped_after_stop"),
        ]
        assert sorted(entries[1]["statements"]) == [
            f"DROP TRIGGER IF EXISTS `{schema}`.`{t}`" for t in triggers
        ]

        # The clean-up drops what is listed (in the audit log), and the rows are intact.
        r = d.post(f"/v1/jobs/{job_id}/cleanup", token=READER_TOKEN)
        assert r.status == 403
        r = d.post(f"/v1/jobs/{job_id}/cleanup")
        check_response("POST", "/v1/jobs/{id}/cleanup", r.status, r.headers["Content-Type"], r.body)
        (done,) = r.json()["cleanup"]
        drop = f"DROP TABLE IF EXISTS `{schema}`.`_big_new`"
        assert (done["sql"], done["kept"], done["failed"]) == ([drop], [], [])
        assert r.json()["job"]["statements"][0]["leftovers"] == []
        assert [e["result"] for e in audit(d, job_id)][-1] == "cleanup"
        assert audit(d, job_id)[-1]["statements"] == [drop] and audit(d, job_id)[-1]["who"] == "admin"
        assert d.get("/v1/environments/test/leftovers").json()["targets"][0]["leftovers"] == []
        after = table_state(server, schema)
        assert (after["tables"], after["triggers"]) == ([], [])
        assert (after["rows"], after["checksum"], after["altered"]) == (ROWS, before["checksum"], False)

        log = d.get(f"/v1/jobs/{job_id}/log").text
        assert "progress `big`: pt-online-schema-change: copying" in log
        assert "cleanup requested by admin: dropped 1" in log


def install_fake_gh_ost(where: Path) -> Path:
    """tests/fixtures/osc/fake-gh-ost.py as an executable named gh-ost, run by this Python."""
    where.mkdir(parents=True, exist_ok=True)
    tool = where / "gh-ost"
    tool.write_text(f"#!{sys.executable}\n" + (FIXTURES / "fake-gh-ost.py").read_text())
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def test_fake_gh_ost_waits_in_pending_cutover_until_an_approver_lets_it(
    server: DBServer, tmp_path: Path
) -> None:
    tool = install_fake_gh_ost(tmp_path / "bin")
    template = (
        f"{tool} --conf={{DEFAULTSFILE}} --host={{HOST}} --port={{PORT}} --database={{SCHEMA}}"
        " --table={TABLE} --alter={CLAUSES} --execute"
    )
    # The test server writes no binary log; gh-ost would read a replica's (osc-skip-checks says so).
    with osc_daemon(server, tmp_path, "oscgh", template, 1000, extra="osc-skip-checks=binlog\n") as d:
        plan_hash = d.diff(refresh="true")["plan_hash"]
        with sampler(b"--postpone-cut-over-flag-file") as ps:
            r = d.post("/v1/environments/test/push", {"plan_hash": plan_hash, "postpone_cutover": True})
            assert r.status == 202, r.text
            job_id = r.json()["job"]["id"]
            assert r.json()["job"]["postpone_cutover"] is True

            pcts: set[float] = set()

            def pending() -> dict[str, Any] | None:
                job = get_job(d, job_id)
                assert job["state"] in ("queued", "running", "pending_cutover"), job
                if job["progress"] and job["progress"]["pct"] is not None:
                    pcts.add(job["progress"]["pct"])
                return job if job["state"] == "pending_cutover" else None

            job = d.wait_for(pending, timeout=60, interval=0.05)
            p = job["progress"]
            assert (p["tool"], p["phase"], p["cutover_ready"], p["pct"]) == (
                "gh-ost",
                "postponed",
                True,
                100.0,
            )
            assert len(pcts) >= 3, pcts
            assert d.metric("schemad_osc_cutover_pending", **osc_labels(d, "gh-ost")) == 1.0
            assert d.metric("schemad_osc_progress_ratio", **osc_labels(d, "gh-ost")) == 1.0

            # push:test does not let a token approve; neither does read.
            for token in (ADMIN_TOKEN, READER_TOKEN):
                r = d.post(f"/v1/jobs/{job_id}/cutover", token=token)
                assert r.status == 403 and "cutover:test" in r.text, r.text
            assert get_job(d, job_id)["state"] == "pending_cutover"  # still waiting
            r = d.post(f"/v1/jobs/{job_id}/cutover", token=APPROVER_TOKEN)
            check_response("POST", "/v1/jobs/{id}/cutover", r.status, r.headers["Content-Type"], r.body)
            assert r.status == 202, r.text
            job = d.wait_job(job_id, timeout=60)
        assert ps.rounds >= 5 and ps.tool_seen, "the sampler never saw the tool"
        assert ps.leaks == [], ps.leaks
        assert any("--conf=" in line for line in ps.tool_seen)

        assert job["state"] == "succeeded", job
        (st,) = job["statements"]
        assert st["tool"] == "gh-ost" and st["cutover_approved_by"] == "approver"
        assert st["cutover_approved_at"] is not None and st["progress"]["phase"] == "done"
        assert st["leftovers"] == []
        assert table_state(server, d.repo.schema)["altered"]
        assert d.metric("schemad_osc_cutover_pending", **osc_labels(d, "gh-ost")) is None
        entries = audit(d, job_id)
        assert [(e["who"], e["result"]) for e in entries] == [
            ("admin", "succeeded"),
            ("approver", "cutover_approved"),
        ]
        assert entries[1]["statements"] == [st["sql"]]
        log = d.get(f"/v1/jobs/{job_id}/log").text
        assert f"job {job_id}: pending_cutover: gh-ost waits to cut over `big`" in log
        assert (
            "cut-over of `big` approved by approver: sent unpostpone=big on gh-ost's socket (Unpostponed);"
            " removed the postpone flag file"
        ) in log
        assert "progress `big`: gh-ost: copying" in log and "throttled (lag=2.000000s)" in log
        r = d.post(f"/v1/jobs/{job_id}/cutover", token=APPROVER_TOKEN)
        assert r.status == 409 and r.json()["error"]["code"] == "job_not_pending_cutover"


async def test_spirit_gate_drops_the_sentinel(instance: Instance, schema: str, server: DBServer) -> None:
    """Approving a Spirit cut-over drops `_spirit_sentinel` in the target schema (Spirit then goes on)."""
    await instance.execute(f"CREATE TABLE `{schema}`.`_spirit_sentinel` (id int NOT NULL PRIMARY KEY)")
    done = await SpiritGate(server.params, schema).release()
    assert done == f"DROP TABLE IF EXISTS `{schema}`.`_spirit_sentinel`"
    rows = await instance.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = '_spirit_sentinel'",
        [schema],
    )
    assert rows == []
