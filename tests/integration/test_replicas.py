"""Three daemon processes on one control schema (issue 15.2): ownership, published answers, pushes anywhere.

Twelve cheap environments (one small schema each on the suite's server), polled every
second, leases of 2s.  Asserted: ownership spreads (3-5 each, every environment
exactly once); a GET on any replica answers for any environment; a push sent to a
replica that does not own the environment runs once, by its owner; two pushes to one
environment through two replicas give one 202 and one 409 push_running; after a
`kill -9` the dead replica's environments are polled by the others within lease
expiry + a poll interval (+ generous slack; the time is printed); and the control
schema's poll log never shows two replicas polling one environment at once.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    DB_USER,
    PASSWORD_ENV,
    READER_TOKEN,
    USERS,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sha,
    sql,
)

ENVS = [f"e{i}" for i in range(12)]
LEASE_TTL = 2.0
POLL = 1.0
# users without its email column: the diff is one ALTER, which a test transaction can hold up
USERS_OLD = "CREATE TABLE users (id int(10) unsigned NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)) ENGINE=InnoDB"


@dataclass
class Replica(RunningDaemon):
    control: str = ""
    replica: str = ""

    def write_config(self) -> Path:
        p_host, p_port = self.repo.environment.split(":")
        toml = self.workdir / "schemad.toml"
        envs = ", ".join(f'"{e}"' for e in ENVS)
        scopes = ", ".join(f'"push:{e}"' for e in ENVS)
        toml.write_text(
            f"""
listen = ["127.0.0.1:{self.port}"]
state_dir = "state"
log_format = "json"
shutdown_grace = "5s"
refresh_min_interval = "0s"

[state]
backend = "mysql"
host = "{p_host}"
port = {p_port}
user = "{DB_USER}"
schema = "{self.control}"
password_env = "{PASSWORD_ENV}"

[replicas]
id = "{self.replica}"
lease_ttl = "{LEASE_TTL:g}s"
push_wait = "30s"

[[repos]]
name = "app"
path = "{self.repo.root}"
environments = [{envs}]
poll = {{ interval = "{POLL:g}s" }}

[[tokens]]
name = "admin"
sha256 = "{sha(ADMIN_TOKEN)}"
scopes = ["read", "lint", {scopes}]

[[tokens]]
name = "reader"
sha256 = "{sha(READER_TOKEN)}"
scopes = ["read"]
"""
        )
        return toml

    def owns(self) -> list[str]:
        r = self.get("/readyz", token=None)
        assert r.status == 200, r.text
        owned: list[str] = r.json()["replica"]["owns"]
        return owned


def control_sql(server: DBServer, schema: str, query: str, args: Any = None) -> list[tuple[Any, ...]]:
    p = server.params
    conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=schema)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def write_repo(root: Path, server: DBServer, schemas: dict[str, str]) -> DaemonRepo:
    p = server.params
    root.mkdir(parents=True)
    conn = "".join(
        f"[{e}]\nhost={p.host}\nport={p.port}\nuser={DB_USER}\npassword=${PASSWORD_ENV}\n" for e in ENVS
    )
    (root / ".skeema").write_text(conn)
    d = root / "app"
    d.mkdir()
    (d / ".skeema").write_text("".join(f"[{e}]\nschema={schemas[e]}\n" for e in ENVS))
    (d / "users.sql").write_text(USERS)
    # `environment` carries host:port for Replica.write_config (the repo has twelve).
    return DaemonRepo(root, "app", environment=f"{p.host}:{p.port}")


def no_overlap(rows: list[tuple[Any, ...]], killed: str, killed_at: float) -> None:
    """Per environment, a poll by one replica ends before another replica's starts."""
    by_env: dict[str, list[tuple[float, float, str]]] = {}
    for name, replica, started, finished in rows:
        cut = killed_at if replica == killed else float(started)  # NULL: killed mid-poll
        end = float(finished) if finished is not None else cut
        by_env.setdefault(name, []).append((float(started), end, replica))
    for name, polls in by_env.items():
        polls.sort()
        for i, (s2, _e2, r2) in enumerate(polls):
            for _s1, e1, r1 in polls[:i]:
                if r1 != r2:
                    assert e1 <= s2, f"{name}: {r1} polled until {e1:.3f}, {r2} started at {s2:.3f}"


@pytest.mark.timeout(300)
def test_three_replicas_share_twelve_environments(server: DBServer, tmp_path: Path) -> None:
    ensure_db_user(server)
    tag = f"{os.getpid()}"
    control = f"ctl_replicas_{tag}"
    schemas = {e: f"rep_{tag}_{e}" for e in ENVS}
    setup = [f"DROP DATABASE IF EXISTS {control}"]
    for e, s in schemas.items():
        setup += [f"DROP DATABASE IF EXISTS {s}", f"CREATE DATABASE {s}"]
        # e0: no table (the push creates it); e1: an older users (the push alters it); others match.
        if e != "e0":
            table = USERS_OLD if e == "e1" else USERS.rstrip().rstrip(";")
            setup.append(table.replace("TABLE ", f"TABLE {s}.", 1))
    sql(server, ";\n".join(setup) + ";")
    repo = write_repo(tmp_path / "repo", server, schemas)
    replicas = [Replica(repo, tmp_path / f"r{i}", control=control, replica=f"replica-{i}") for i in range(3)]
    try:
        for r in replicas:
            r.start()

        # ///// ownership spreads: each 3-5, every environment exactly once /////
        def spread() -> dict[str, list[str]] | None:
            owned = {r.replica: r.owns() for r in replicas}
            flat = sorted(e for v in owned.values() for e in v)
            ok = flat == sorted(ENVS) and all(3 <= len(v) <= 5 for v in owned.values())
            return owned if ok else None

        owned = replicas[0].wait_for(spread, timeout=60, interval=0.2)
        print("ownership:", {k: len(v) for k, v in owned.items()})
        owner_of = {e: rid for rid, envs in owned.items() for e in envs}
        by_id = {r.replica: r for r in replicas}

        # ///// any replica answers for any environment, from what the owner published /////
        def all_published() -> bool:
            items = replicas[0].get("/v1/environments").json()["environments"]
            return len(items) == 12 and all(i["status"] == "ok" for i in items)

        replicas[0].wait_for(all_published, timeout=60, interval=0.2)
        e0_owner = by_id[owner_of["e0"]]
        other = next(r for r in replicas if r is not e0_owner)
        r = other.get("/v1/environments/e0/diff")
        assert r.status == 200, r.text
        assert r.headers["X-Schemad-Owner"] == e0_owner.replica
        assert float(r.headers["X-Schemad-Age"]) < 30
        plan = r.json()
        own = e0_owner.get("/v1/environments/e0/diff").json()
        assert plan == own  # the owner's answer, as published

        # ///// a push to a non-owner runs once, by the owner /////
        r = other.post("/v1/environments/e0/push", {"plan_hash": plan["plan_hash"]})
        assert r.status == 202, r.text
        job_id = r.json()["job"]["id"]
        third = next(x for x in replicas if x not in (e0_owner, other))
        assert third.wait_job(job_id)["state"] == "succeeded"
        runners = control_sql(server, control, "SELECT replica FROM job_runners WHERE job_id = %s", (job_id,))
        assert runners == [(e0_owner.replica,)]
        audit = control_sql(server, control, "SELECT result FROM audit WHERE job_id = %s", (job_id,))
        assert audit == [("succeeded",)]
        assert control_sql(server, control, "SELECT COUNT(*) FROM jobs WHERE environment = 'e0'") == [(1,)]
        tables = control_sql(server, control, f"SHOW TABLES FROM {schemas['e0']}")
        assert tables == [("users",)]

        # ///// two pushes to one environment through two replicas: one 202, one 409 /////
        e1_owner = by_id[owner_of["e1"]]
        a, b = [x for x in replicas if x is not e1_owner][:2]
        plan1 = a.get("/v1/environments/e1/diff").json()
        p = server.params
        holder = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "")
        try:
            with holder.cursor() as cur:  # a reader holds the table: the ALTER waits for it
                cur.execute("BEGIN")
                cur.execute(f"SELECT * FROM {schemas['e1']}.users")
            first = a.post("/v1/environments/e1/push", {"plan_hash": plan1["plan_hash"]})
            assert first.status == 202, first.text
            second = b.post("/v1/environments/e1/push", {"plan_hash": plan1["plan_hash"]})
            assert second.status == 409, second.text
            assert second.json()["error"]["code"] == "push_running", second.text
        finally:
            holder.rollback()
            holder.close()
        assert b.wait_job(first.json()["job"]["id"])["state"] == "succeeded"
        assert control_sql(server, control, "SELECT COUNT(*) FROM jobs WHERE environment = 'e1'") == [(1,)]

        # ///// kill -9 one replica: the others poll its environments within expiry + a poll /////
        victim = replicas[2]
        theirs = victim.owns()
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        killed_at = float(control_sql(server, control, "SELECT UNIX_TIMESTAMP(NOW(6))")[0][0])
        t0 = time.monotonic()
        names = [f"env:app/{e}" for e in theirs]

        def taken_over() -> bool:
            marks = ", ".join(["%s"] * len(names))
            rows = control_sql(
                server,
                control,
                f"SELECT COUNT(DISTINCT name) FROM poll_log WHERE name IN ({marks}) AND replica <> %s"
                " AND started_at > %s AND finished_at IS NOT NULL",
                (*names, victim.replica, killed_at),
            )
            return int(rows[0][0]) == len(names)

        replicas[0].wait_for(taken_over, timeout=60, interval=0.05)
        moved = time.monotonic() - t0
        bound = LEASE_TTL + POLL
        print(f"ownership moved after kill -9 in {moved:.2f}s (lease expiry + one poll = {bound:g}s)")
        assert moved < bound + 10  # generous slack for a loaded machine; the figure is printed above

        survivors = replicas[:2]
        survivors[0].wait_for(
            lambda: sorted(e for r in survivors for e in r.owns()) == sorted(ENVS), timeout=30, interval=0.2
        )
        time.sleep(2 * POLL)  # a few more polls under the new owners
        rows = control_sql(server, control, "SELECT name, replica, started_at, finished_at FROM poll_log")
        assert {r[1] for r in rows} == {x.replica for x in replicas}
        no_overlap(rows, victim.replica, killed_at)
        for d in survivors:
            assert_no_password(d)
    finally:
        for r in replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.stop()
        sql(server, ";\n".join(f"DROP DATABASE IF EXISTS {s}" for s in [control, *schemas.values()]) + ";")


def test_a_replica_id_running_on_this_host_is_refused(server: DBServer, tmp_path: Path) -> None:
    """Two daemons with one [replicas] id: the second refuses to start, naming the first's process."""
    ensure_db_user(server)
    control = f"ctl_replica_dup_{os.getpid()}"
    schemas = {e: f"repdup_{os.getpid()}_{e}" for e in ENVS}
    sql(server, "".join(f"DROP DATABASE IF EXISTS {s}; CREATE DATABASE {s};" for s in schemas.values()))
    repo = write_repo(tmp_path / "repo", server, schemas)
    first = Replica(repo, tmp_path / "a", control=control, replica="same")
    second = Replica(repo, tmp_path / "b", control=control, replica="same")
    try:
        first.start()
        second.start(wait=False)
        assert second.proc is not None
        assert second.proc.wait(60) != 0
        assert first.proc is not None
        assert f"replica same is already running as process {first.proc.pid}" in second.log_path.read_text()
    finally:
        for r in (first, second):
            if r.proc is not None and r.proc.poll() is None:
                r.stop()
        sql(server, "".join(f"DROP DATABASE IF EXISTS {s};" for s in [control, *schemas.values()]))
