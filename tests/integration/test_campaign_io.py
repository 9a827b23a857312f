"""A campaign's record writes with a control schema (`[state] backend = "mysql"`), on a real daemon process.

The campaign record is written off the event loop, yet a shard's job runs no
statement before the record naming its job is committed: the test holds the
temp schema's workspace lock (the shard's push plan waits in its verify, after
the shard was recorded `running`), then a row lock on the campaign's row in
the control schema (the job id's write waits on it), releases the workspace,
and watches: the job is recorded but runs nothing, /healthz answers; once the
row is released the shard's ALTER runs and the campaign ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.service.campaignstore import CampaignRecord, ShardRun, ShardRunState, campaign_store_for
from tests.conftest import DBServer
from tests.daemon_proc import DB_USER, PASSWORD_ENV, DaemonRepo, RunningDaemon, ensure_db_user, sql
from tests.integration.test_daemon_io import alters_on, connect, control_store, query, query_once, wait_for

PREFIX = f"cio{os.getpid()}_"
A_OLD = "(id int(11) NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB"
A_NEW = (
    "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `c` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
)
SHARDS = [f"{PREFIX}0", f"{PREFIX}1"]
WORKSPACE_LOCK = "skeema._skeema_tmp"  # the temp schema's lock a push plan's verify takes


@pytest.fixture
def ctl(server: DBServer) -> Iterator[str]:
    ensure_db_user(server)
    name = f"cio_ctl_{os.getpid()}"
    setup = [f"DROP DATABASE IF EXISTS {name}"]
    for s in SHARDS:
        setup += [f"DROP DATABASE IF EXISTS {s}", f"CREATE DATABASE {s}", f"CREATE TABLE {s}.a {A_OLD}"]
    sql(server, ";\n".join(setup) + ";")
    yield name
    sql(server, ";\n".join(f"DROP DATABASE IF EXISTS {s}" for s in [*SHARDS, name]) + ";")


def stored(server: DBServer, ctl: str, cid: str) -> CampaignRecord:
    """The campaign as the control schema has it (not the runner's copy)."""
    with control_store(server, ctl) as s:
        rec = campaign_store_for(s).get_campaign(cid)
    assert rec is not None
    return rec


def columns(server: DBServer, schema: str) -> list[str]:
    rows = query_once(
        server,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'a'"
        " ORDER BY ordinal_position",
        (schema,),
    )
    return [str(r[0]) for r in rows]


@pytest.mark.timeout(180)
def test_a_shard_runs_nothing_before_its_job_id_is_committed_and_the_loop_never_waits(
    server: DBServer, tmp_path: Path, ctl: str
) -> None:
    repo = DaemonRepo.create(tmp_path / "repo", server, "shards", {"a.sql": A_NEW})
    (repo.dir / ".skeema").write_text(f"schema=/^{PREFIX}[0-9]+$/\n")
    p = server.params
    state = (
        f'[state]\nbackend = "mysql"\nhost = "{p.host}"\nport = {p.port}\nuser = "{DB_USER}"\n'
        f'schema = "{ctl}"\npassword_env = "{PASSWORD_ENV}"\n'
    )
    d = RunningDaemon(repo, tmp_path / "run", extra_toml=state, poll_interval="1h")
    d.start()
    ws = connect(server)  # holds the workspace lock: the first shard's push plan waits in its verify
    row = connect(server, ctl)  # holds the campaign's row in the control schema
    look = connect(server, ctl)  # reads the control schema meanwhile (autocommit: no old snapshot)
    try:
        doc = d.get("/v1/environments/test/fleet?refresh=true").json()
        [dd] = doc["dirs"]
        groups = [{"fingerprint": g["fingerprint"], "plan_hash": g["plan_hash"]} for g in dd["groups"]]
        assert doc["shards"] == 2 and doc["drifted"] == 2, doc
        assert query(ws, "SELECT GET_LOCK(%s, 10)", (WORKSPACE_LOCK,)) == [(1,)]
        body = {"groups": groups, "canaries": 1, "wave_size": 1, "concurrency": 1}
        r = d.post("/v1/environments/test/campaigns", body)
        assert r.status == 202, r.text
        cid = r.json()["campaign"]["id"]
        first = (f"{p.host}:{p.port}", SHARDS[0])

        def first_shard() -> ShardRun:
            return next(x for x in stored(server, ctl, cid).shards if (x.address, x.schema) == first)

        # The shard is recorded running (no job yet) while its plan waits for the workspace.
        wait_for(lambda: first_shard().state is ShardRunState.RUNNING)
        assert first_shard().job_id is None
        assert query(look, "SELECT 1 FROM jobs") == []

        query(row, "BEGIN")
        assert query(row, "SELECT id FROM campaigns WHERE id = %s FOR UPDATE", (cid,)) == [(cid,)]
        query(ws, "SELECT RELEASE_LOCK(%s)", (WORKSPACE_LOCK,))
        # The job is recorded; the campaign's write of its id waits for the row the test holds.
        [(job_id, job_state)] = wait_for(lambda: query(look, "SELECT id, state FROM jobs"))
        assert job_state == "queued"
        for _ in range(20):  # meanwhile the event loop answers, and no DDL reaches the shard
            assert d.get("/healthz", token=None, timeout=5).status == 200
            assert d.get(f"/v1/campaigns/{cid}", timeout=5).status == 200
            assert alters_on(server, SHARDS[0]) == []
            time.sleep(0.05)
        assert query(look, "SELECT state FROM jobs WHERE id = %s", (job_id,)) == [("queued",)]
        assert columns(server, SHARDS[0]) == ["id"]
        query(row, "COMMIT")

        def ended() -> dict[str, object] | None:
            c: dict[str, object] = d.get(f"/v1/campaigns/{cid}").json()["campaign"]
            return c if c["state"] not in ("running", "paused") else None

        c = d.wait_for(ended, timeout=120, interval=0.2)
        assert c["state"] == "finished", c
        for s in SHARDS:
            assert columns(server, s) == ["id", "c"]
        assert str(stored(server, ctl, cid).state) == "finished"
        assert first_shard().job_id == job_id and first_shard().state is ShardRunState.DONE
        with control_store(server, ctl) as store:
            job = store.get_job(job_id)
        assert job is not None and str(job.state) == "succeeded"
    finally:
        for conn in (ws, row, look):
            conn.close()
        assert d.stop() == 0
