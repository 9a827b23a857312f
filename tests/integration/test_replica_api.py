"""The replicated API answers the same on every replica (issue 15.2): job logs, cancel, refresh.

Two daemon processes on one control schema (the twelve environments of test_replicas.py), polls
every hour so that only a refresh reads an environment again.  Asserted: `?refresh=true` on the
replica that does not own an environment has its owner poll and publish before the answer (a table
changed by hand shows at once, `X-Schemad-Refreshed-By` names the owner); a push run by the owner
and cancelled through the other replica (its first statement waits on a metadata lock the test
holds) ends cancelled with nothing after that statement; the job's log read through the other
replica, followed while the job ran, equals the owner's; a cancel of an ended job is 409 anywhere.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from tests.conftest import DBServer
from tests.daemon_proc import USERS, Response, ensure_db_user, sql
from tests.integration.test_replicas import ENVS, USERS_OLD, Replica, control_sql, write_repo


@dataclass
class SlowReplica(Replica):
    """A replica polling every hour: an environment is read again only when asked (or after a push)."""

    def write_config(self) -> Path:
        toml = super().write_config()
        text = toml.read_text()
        assert 'poll = { interval = "1s" }' in text
        toml.write_text(text.replace('poll = { interval = "1s" }', 'poll = { interval = "1h" }'))
        return toml


@pytest.mark.timeout(240)
def test_logs_cancel_and_refresh_through_a_replica_that_does_not_own(
    server: DBServer, tmp_path: Path
) -> None:
    ensure_db_user(server)
    tag = f"{os.getpid()}"
    control = f"ctl_repapi_{tag}"
    schemas = {e: f"repapi_{tag}_{e}" for e in ENVS}
    setup = [f"DROP DATABASE IF EXISTS {control}"]
    for e, s in schemas.items():
        setup += [f"DROP DATABASE IF EXISTS {s}", f"CREATE DATABASE {s}"]
        # e1: an older users and a table the repo does not have: two statements (ALTER, DROP)
        table = USERS_OLD if e == "e1" else USERS.rstrip().rstrip(";")
        setup.append(table.replace("TABLE ", f"TABLE {s}.", 1))
    setup.append(f"CREATE TABLE {schemas['e1']}.old_stuff (id int) ENGINE=InnoDB")
    sql(server, ";\n".join(setup) + ";")
    repo = write_repo(tmp_path / "repo", server, schemas)
    replicas = [SlowReplica(repo, tmp_path / f"r{i}", control=control, replica=f"api-{i}") for i in range(2)]
    try:
        for r in replicas:
            r.start()

        def spread() -> dict[str, list[str]] | None:
            owned = {r.replica: r.owns() for r in replicas}
            flat = sorted(e for v in owned.values() for e in v)
            return owned if flat == sorted(ENVS) and all(len(v) == 6 for v in owned.values()) else None

        owned = replicas[0].wait_for(spread, timeout=60, interval=0.2)
        by_id = {r.replica: r for r in replicas}
        owner_of = {e: by_id[rid] for rid, envs in owned.items() for e in envs}

        def all_published() -> bool:
            items = replicas[0].get("/v1/environments").json()["environments"]
            return len(items) == 12 and all(i["status"] == "ok" for i in items)

        replicas[0].wait_for(all_published, timeout=60, interval=0.2)

        # ///// refresh through the other replica: the owner polls and publishes first /////
        owner = owner_of["e2"]
        other = next(r for r in replicas if r is not owner)
        sql(server, f"CREATE TABLE {schemas['e2']}.by_hand (id int) ENGINE=InnoDB")
        stale = other.get("/v1/environments/e2/diff?format=sql")
        assert "by_hand" not in stale.text and "X-Schemad-Refreshed-By" not in stale.headers
        fresh = other.get("/v1/environments/e2/diff?format=sql&refresh=true")
        assert fresh.status == 200, fresh.text
        assert fresh.headers["X-Schemad-Refreshed-By"] == owner.replica
        assert fresh.headers["X-Schemad-Owner"] == owner.replica
        assert "DROP TABLE `by_hand`" in fresh.text, fresh.text
        assert owner.get("/v1/environments/e2/diff?format=sql").text == fresh.text
        fleet = other.get("/v1/environments/e2/fleet?refresh=true")
        assert fleet.status == 200 and fleet.headers["X-Schemad-Refreshed-By"] == owner.replica

        # ///// cancel through the other replica while the owner's job waits on a metadata lock /////
        owner = owner_of["e1"]
        other = next(r for r in replicas if r is not owner)
        plan = other.get("/v1/environments/e1/diff").json()
        p = server.params
        holder = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "")
        followed: list[Response] = []
        try:
            with holder.cursor() as cur:  # a reader holds both tables: the first statement waits
                cur.execute("BEGIN")
                cur.execute(f"SELECT * FROM {schemas['e1']}.users")
                cur.execute(f"SELECT * FROM {schemas['e1']}.old_stuff")
            r = other.post("/v1/environments/e1/push", {"plan_hash": plan["plan_hash"], "allow_unsafe": True})
            assert r.status == 202, r.text
            job_id = r.json()["job"]["id"]
            other.wait_for(
                lambda: other.get(f"/v1/jobs/{job_id}").json()["job"]["statements"][0]["started_at"],
                timeout=30,
            )
            # The log followed through the replica that does not run the job, until the job ends.
            follower = threading.Thread(
                target=lambda: followed.append(other.get(f"/v1/jobs/{job_id}/log", timeout=120))
            )
            follower.start()
            c = other.post(f"/v1/jobs/{job_id}/cancel")
            assert c.status == 202, c.text
            assert c.json()["job"]["id"] == job_id
        finally:
            holder.rollback()
            holder.close()
        job = other.wait_job(job_id)
        assert job["state"] == "cancelled", job
        assert [s["status"] for s in job["statements"]] == ["done", "not_run"], job
        runners = control_sql(server, control, "SELECT replica FROM job_runners WHERE job_id = %s", (job_id,))
        assert runners == [(owner.replica,)]
        follower.join(60)
        assert not follower.is_alive()

        # ///// the job's log: the same through either replica /////
        own_log = owner.get(f"/v1/jobs/{job_id}/log")
        their_log = other.get(f"/v1/jobs/{job_id}/log")
        assert own_log.status == their_log.status == followed[0].status == 200
        assert f"job {job_id}: cancelled after 1 of 2 statement(s)" in own_log.text
        assert their_log.text == own_log.text == followed[0].text
        assert their_log.headers["Content-Type"].startswith("text/plain")

        # ///// an ended job: 409 from both /////
        for d in (owner, other):
            r = d.post(f"/v1/jobs/{job_id}/cancel")
            assert r.status == 409 and r.json()["error"]["code"] == "job_not_running", r.text
    finally:
        for r in replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.stop()
        sql(server, ";\n".join(f"DROP DATABASE IF EXISTS {s}" for s in [control, *schemas.values()]) + ";")
