"""Campaigns survive a kill -9 of the daemon (or replica) running them, and no shard gets a statement twice.

A fleet of shards on two throwaway MariaDB servers WITH a binary log (12
for the daemon kill; 40, 2 canaries and waves of 8 for the replica kill): a
DDL statement is in the binlog only once it applied, so `SHOW BINLOG EVENTS`
counts what really ran per shard (the general log counts what was sent).
The repo adds a column and an index to `a`.  Two shards of one wave are made
slow: `big` holds 3M rows (its ALTER runs for seconds, and keeps running on
the server when its client dies) and `held` has its table read by an open
transaction of the test (its ALTER waits for the metadata lock; MariaDB
drops that wait when the client dies).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

from schemad.connection.params import ConnParams
from schemad.embedded import EmbeddedServer
from tests.conftest import DBServer
from tests.daemon_proc import DB_USER, PASSWORD_ENV, DaemonRepo, RunningDaemon, ensure_db_user
from tests.helpers import load_sql

PREFIX = f"cr{os.getpid()}_"
A_OLD = (
    "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `name` varchar(20) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
)
A_NEW = (
    "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `name` varchar(20) DEFAULT NULL,\n"
    "  `c` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `name` (`name`)\n)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
)
BIG_ROWS = 3_000_000  # its ALTER builds an index over them for seconds
LEASE_TTL = 3.0


def shard(i: int) -> str:
    return f"{PREFIX}{i:02d}"


def run_sql(p: ConnParams, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(p, schema, text))


def query(p: ConnParams, q: str, args: Any = None, db: str | None = None) -> list[tuple[Any, ...]]:
    conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=db)
    try:
        with conn.cursor() as cur:
            cur.execute(q, args)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def binlogged() -> Iterator[list[ConnParams]]:
    """Two throwaway MariaDBs with a binary log (what applied, per statement)."""
    servers = [
        EmbeddedServer(options=("log-bin=mysql-bin", "server-id=1", "binlog-format=ROW")) for _ in "ab"
    ]
    try:
        for s in servers:
            s.start()
        yield [ConnParams(host="127.0.0.1", port=s.port, user="root") for s in servers]
    finally:
        for s in servers:
            s.stop()


@dataclass(frozen=True)
class Layout:
    """Shards per server, the campaign's canaries and wave size, and the wave the slow shards run in."""

    per_server: int
    canaries: int
    wave_size: int
    slow_wave: int

    def wave(self, k: int) -> int:
        """The wave of the k-th shard in campaign order (as CampaignRunner.create numbers them)."""
        return 0 if k < self.canaries else 1 + (k - self.canaries) // self.wave_size


# Canary, then the 11 others in one wave (both slow shards in it).
SMALL = Layout(per_server=6, canaries=1, wave_size=11, slow_wave=1)
# 40 shards: 2 canaries, waves of 8 (1-5); the slow shards in wave 3, so the kill leaves waves
# 1-2 done and 4-5 not started.  Each server's workspaces take turns (GET_LOCK, 30 s): 8 at once
# wait at most 7 turns of well under a second.
FLEET40 = Layout(per_server=20, canaries=2, wave_size=8, slow_wave=3)


@dataclass
class Fleet:
    root: Path
    layout: Layout
    servers: list[ConnParams]  # in campaign order (by address)
    big: tuple[ConnParams, str]
    held: tuple[ConnParams, str]

    def shards(self) -> list[tuple[ConnParams, str]]:
        return [(p, shard(i)) for p in self.servers for i in range(self.layout.per_server)]


def slow_shards(layout: Layout, servers: list[ConnParams]) -> tuple[tuple[ConnParams, str], ...]:
    """`held` and `big`: the last shard of each server in `layout.slow_wave`.

    `held` goes where the wave has fewer shards (its ALTER starts early and waits
    for as long as the test holds the lock), `big` where it has more (its copy
    may start after a few workspace turns and still runs for seconds).
    """
    ks = [k for k in range(len(servers) * layout.per_server) if layout.wave(k) == layout.slow_wave]
    by_server = [[k for k in ks if k // layout.per_server == n] for n in range(len(servers))]
    assert len([m for m in by_server if m]) == 2, "the slow wave must span both servers"
    few, many = sorted((m for m in by_server if m), key=len)
    held, big = ((servers[m[-1] // layout.per_server], shard(m[-1] % layout.per_server)) for m in (few, many))
    return held, big


@pytest.fixture
def fleet(request: pytest.FixtureRequest, binlogged: list[ConnParams], tmp_path: Path) -> Iterator[Fleet]:
    layout: Layout = request.param
    servers = sorted(binlogged, key=lambda p: f"{p.host}:{p.port}")  # the campaign's order
    for p in servers:
        run_sql(
            p,
            "".join(
                f"DROP DATABASE IF EXISTS `{shard(i)}`; CREATE DATABASE `{shard(i)}`;"
                f" USE `{shard(i)}`; {A_OLD}"
                for i in range(layout.per_server)
            )
            + "RESET MASTER;",
        )
    held, big = slow_shards(layout, servers)
    run_sql(  # not in the binlog: quicker, and the binlog holds only what the test counts
        big[0],
        f"SET sql_log_bin = 0; INSERT INTO a SELECT seq, LEFT(MD5(seq), 20) FROM seq_1_to_{BIG_ROWS}",
        big[1],
    )
    root = tmp_path / "repo"
    (root / "shards").mkdir(parents=True)
    hosts = tmp_path / "hosts.sh"
    hosts.write_text("#!/bin/sh\n" + "".join(f"echo {p.host}:{p.port}\n" for p in binlogged))
    hosts.chmod(0o755)
    (root / ".skeema").write_text(f"[test]\nhost=fleet\nhost-wrapper={hosts}\nuser=root\n")
    (root / "shards" / ".skeema").write_text(f"schema=/^{PREFIX}[0-9]+$/\n")
    (root / "shards" / "a.sql").write_text(A_NEW)
    try:
        yield Fleet(root, layout, servers, big, held)
    finally:
        for p in servers:
            run_sql(p, "".join(f"DROP DATABASE IF EXISTS `{shard(i)}`;" for i in range(layout.per_server)))


def applied_alters(p: ConnParams, schema: str) -> int:
    """ALTERs of `a` that applied on `schema` (the binlog has a DDL only once it succeeded)."""
    n = 0
    for name, *_ in query(p, "SHOW BINARY LOGS"):
        for ev in query(p, f"SHOW BINLOG EVENTS IN '{name}'"):
            info = str(ev[5])
            ddl = ev[2] == "Query" and "ALTER TABLE" in info and "ADD COLUMN `c`" in info
            if ddl and f"`{schema}`" in info:
                n += 1
    return n


def columns(p: ConnParams, schema: str) -> list[str]:
    rows = query(
        p,
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME='a'"
        " ORDER BY ORDINAL_POSITION",
        (schema,),
    )
    return [str(r[0]) for r in rows]


def alter_state(p: ConnParams, schema: str) -> str | None:
    """The PROCESSLIST state of an ALTER running on `schema` (None: none)."""
    rows = query(
        p,
        "SELECT STATE FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE%%'"
        " AND (DB = %s OR INFO LIKE %s)",
        (schema, f"%`{schema}`%"),
    )
    return str(rows[0][0] or "") if rows else None


@pytest.fixture
def holder() -> Iterator[dict[str, Any]]:
    """A transaction reading a table holds its metadata lock until `release()`."""
    box: dict[str, Any] = {}

    def hold(p: ConnParams, schema: str) -> None:
        conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "")
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute(f"SELECT * FROM `{schema}`.a")
        box["conn"] = conn

    def release() -> None:
        conn = box.pop("conn", None)
        if conn is not None:
            conn.rollback()
            conn.close()

    box["hold"], box["release"] = hold, release
    yield box
    release()


def shard_of(c: dict[str, Any], where: tuple[ConnParams, str]) -> dict[str, Any]:
    p, schema = where
    s: dict[str, Any] = next(
        x for x in c["shards"] if (x["address"], x["schema"]) == (f"{p.host}:{p.port}", schema)
    )
    return s


def check_once(d: RunningDaemon, c: dict[str, Any], fleet: Fleet) -> None:
    """Every shard: done, its statement started once across all its jobs, and applied exactly once."""
    assert c["state"] == "finished", c
    assert all(s["state"] == "done" for s in c["shards"]), c["shards"]
    started: dict[str, int] = {}
    jobs = {s["job_id"] for s in c["shards"]}
    jobs |= {j for j in (fleet_jobs(d)) if j}  # the dead daemon's jobs too
    for job_id in jobs:
        job = d.get(f"/v1/jobs/{job_id}").json()["job"]
        for st in job["statements"]:
            if st["status"] == "succeeded":
                started[st["target"]] = started.get(st["target"], 0) + 1
    for p, schema in fleet.shards():
        assert applied_alters(p, schema) == 1, (p.port, schema)
        assert columns(p, schema) == ["id", "name", "c"]
        assert started.get(f"{p.host}:{p.port} {schema}", 0) <= 1


def fleet_jobs(d: RunningDaemon) -> list[str]:
    return [j["id"] for j in d.get("/v1/jobs?limit=200").json()["jobs"]]


def campaign_body(d: RunningDaemon, layout: Layout) -> dict[str, Any]:
    doc = d.get("/v1/environments/test/fleet?refresh=true").json()
    [dd] = doc["dirs"]
    groups = [{"fingerprint": g["fingerprint"], "plan_hash": g["plan_hash"]} for g in dd["groups"]]
    n = layout.wave_size
    return {"groups": groups, "canaries": layout.canaries, "wave_size": n, "concurrency": n}


def wait_campaign(d: RunningDaemon, cid: str, timeout: float = 240) -> dict[str, Any]:
    def over() -> dict[str, Any] | None:
        c: dict[str, Any] = d.get(f"/v1/campaigns/{cid}").json()["campaign"]
        return c if c["state"] not in ("running", "paused") else None

    out: dict[str, Any] = d.wait_for(over, timeout=timeout, interval=0.5)
    return out


def in_flight(d: RunningDaemon, cid: str, fleet: Fleet) -> bool:
    """Both slow shards have their job's ALTER on the server: `big` copying, `held` waiting."""
    c = d.get(f"/v1/campaigns/{cid}").json()["campaign"]
    if any(shard_of(c, w)["job_id"] is None for w in (fleet.big, fleet.held)):
        return False
    big, held = alter_state(*fleet.big), alter_state(*fleet.held)
    return big is not None and "metadata lock" not in big and held is not None and "metadata lock" in held


@pytest.mark.parametrize("fleet", [SMALL], indirect=True, ids=["12shards"])
@pytest.mark.timeout(400)
def test_a_daemon_killed_mid_campaign_never_applies_a_statement_twice(
    fleet: Fleet, tmp_path: Path, holder: dict[str, Any]
) -> None:
    d = RunningDaemon(DaemonRepo(fleet.root, "shards"), tmp_path / "run", poll_interval="30s")
    d.start()
    try:
        holder["hold"](*fleet.held)
        r = d.post("/v1/environments/test/campaigns", campaign_body(d, fleet.layout))
        assert r.status == 202, r.text
        cid = r.json()["campaign"]["id"]
        d.wait_for(lambda: in_flight(d, cid, fleet), timeout=120, interval=0.05)
        before = d.get(f"/v1/campaigns/{cid}").json()["campaign"]
        d.stop(signal.SIGKILL)  # kill -9: `big` keeps copying on its server, `held` loses its wait
        assert alter_state(*fleet.big) is not None  # still running without its client
        # MariaDB drops `held`'s wait once it sees its client gone (within a second); before that, a
        # release would let it apply after all.
        d.wait_for(lambda: alter_state(*fleet.held) is None, timeout=30, interval=0.1)
        d.start()
        holder["release"]()
        c = wait_campaign(d, cid)
        check_once(d, c, fleet)
        big, held = shard_of(c, fleet.big), shard_of(c, fleet.held)
        # The ALTER that completed after the kill was waited for and re-checked: done, never re-run.
        assert big["job_id"] == shard_of(before, fleet.big)["job_id"]
        assert "re-checked" in (big["error"] or "")
        # The one MariaDB dropped never applied: it ran again, in a new job (still once in the binlog).
        assert held["job_id"] != shard_of(before, fleet.held)["job_id"]
    finally:
        holder["release"]()
        if d.proc is not None and d.proc.poll() is None:
            d.stop()


@dataclass
class Replica(RunningDaemon):
    control: ConnParams | None = None
    schema: str = ""
    replica: str = ""

    def __post_init__(self) -> None:
        assert self.control is not None
        self.extra_toml = f"""
[state]
backend = "mysql"
host = "{self.control.host}"
port = {self.control.port}
user = "{DB_USER}"
schema = "{self.schema}"
password_env = "{PASSWORD_ENV}"

[replicas]
id = "{self.replica}"
lease_ttl = "{LEASE_TTL:g}s"
push_wait = "20s"
"""

    def owns(self) -> list[str]:
        owned: list[str] = self.get("/readyz", token=None).json()["replica"]["owns"]
        return owned


@pytest.mark.parametrize("fleet", [FLEET40], indirect=True, ids=["40shards"])
@pytest.mark.timeout(400)
def test_a_replica_killed_mid_campaign_is_replaced_and_no_shard_gets_a_statement_twice(
    fleet: Fleet, server: DBServer, tmp_path: Path, holder: dict[str, Any]
) -> None:
    ensure_db_user(server)
    control = f"ctl_campaigns_{os.getpid()}"
    query(server.params, f"DROP DATABASE IF EXISTS {control}")
    repo = DaemonRepo(fleet.root, "shards")
    replicas = [
        Replica(repo, tmp_path / f"r{i}", "1s", control=server.params, schema=control, replica=f"rep-{i}")
        for i in range(3)
    ]
    n = len(fleet.shards())
    assert n >= 40
    try:
        for r in replicas:
            r.start()
        owner = replicas[0].wait_for(
            lambda: next((r for r in replicas if "test" in " ".join(r.owns())), None), timeout=30
        )
        others = [r for r in replicas if r is not owner]
        # The fleet view from a replica that does not poll it: the owner's, published.
        got = others[0].wait_for(
            lambda: (x := others[0].get("/v1/environments/test/fleet")).status == 200 and x, timeout=30
        )
        assert got.headers["X-Schemad-Owner"] == owner.replica
        assert got.json()["shards"] == n and got.json()["drifted"] == n

        holder["hold"](*fleet.held)
        resp = others[0].post("/v1/environments/test/campaigns", campaign_body(others[0], fleet.layout))
        assert resp.status == 202, resp.text
        cid = resp.json()["campaign"]["id"]
        assert resp.json()["campaign"]["waves"] == 5
        # A second one, through the third replica: refused while the first is not over.
        r2 = others[1].post("/v1/environments/test/campaigns", campaign_body(others[1], fleet.layout))
        assert r2.status == 409 and r2.json()["error"]["code"] == "push_running", r2.text
        owner.wait_for(lambda: in_flight(owner, cid, fleet), timeout=120, interval=0.05)
        # The owner runs it (its gauges; nobody else's) ...
        assert owner.metric("schemad_campaigns", repo="app", environment="test", state="running") == 1
        assert others[0].metric("schemad_campaigns", repo="app", environment="test", state="running") is None
        assert owner.proc is not None
        owner.proc.send_signal(signal.SIGKILL)
        owner.proc.wait()
        t0 = time.monotonic()
        assert alter_state(*fleet.big) is not None  # `big` still copying on its server, without its client
        # What the dead owner left (durable; nobody runs the campaign until its lease expires):
        # the slow wave in flight, the waves before it done, the ones after it not started.
        before = others[0].get(f"/v1/campaigns/{cid}").json()["campaign"]
        slow = fleet.layout.slow_wave
        assert before["state"] == "running" and before["wave"] == slow, before
        assert all(s["state"] == "done" for s in before["shards"] if s["wave"] < slow), before["shards"]
        assert all(s["state"] == "pending" for s in before["shards"] if s["wave"] > slow), before["shards"]
        for w in (fleet.big, fleet.held):
            assert shard_of(before, w)["state"] == "running" and shard_of(before, w)["job_id"], before
        # MariaDB drops `held`'s wait once it sees its client gone (the next owner waits for that too,
        # before it runs `held` again in a new job); only then may the test's lock go.
        held_job = shard_of(before, fleet.held)["job_id"]

        def held_dropped() -> bool:
            c = others[0].get(f"/v1/campaigns/{cid}").json()["campaign"]
            return alter_state(*fleet.held) is None or bool(shard_of(c, fleet.held)["job_id"] != held_job)

        others[0].wait_for(held_dropped, timeout=60, interval=0.1)
        holder["release"]()

        def resumed() -> bool:
            c = others[0].get(f"/v1/campaigns/{cid}").json()["campaign"]
            return bool(c["updated_at"] != before["updated_at"])

        others[0].wait_for(resumed, timeout=60, interval=0.1)
        states = [s["state"] for s in before["shards"]]
        print(
            f"{n} shards, killed in wave {slow}/{before['waves']} ({states.count('done')} done,"
            f" {states.count('running')} running, {states.count('pending')} pending); campaign resumed"
            f" {time.monotonic() - t0:.2f}s after kill -9 (lease {LEASE_TTL:g}s)"
        )
        c = wait_campaign(others[0], cid)
        new_owner = next(r for r in others if "test" in " ".join(r.owns()))
        check_once(new_owner, c, fleet)
        # The per-shard record: a shard done before the kill kept its job and end (never run again),
        # `big` (its ALTER completed after the kill) was waited for and re-checked in its first job,
        # `held` (MariaDB dropped its wait) ran again in a new job.
        done = {(s["address"], s["schema"]): s for s in before["shards"] if s["state"] == "done"}
        assert len(done) >= fleet.layout.canaries + 2 * fleet.layout.wave_size
        for s in c["shards"]:
            if (old := done.get((s["address"], s["schema"]))) is not None:
                assert (s["job_id"], s["finished_at"]) == (old["job_id"], old["finished_at"]), s
        big, held = shard_of(c, fleet.big), shard_of(c, fleet.held)
        assert big["job_id"] == shard_of(before, fleet.big)["job_id"] and "re-checked" in (big["error"] or "")
        assert held["job_id"] != held_job
        assert (
            new_owner.metric(
                "schemad_campaigns_ended_total", repo="app", environment="test", state="finished"
            )
            == 1
        )
        assert new_owner.metric("schemad_campaign_shards", repo="app", environment="test", state="done") == n
        # Pause through a replica that does not run it: refused, the campaign is over (the runner says so).
        resp = others[0].post(f"/v1/campaigns/{cid}/pause")
        assert resp.status == 409 and resp.json()["error"]["code"] == "campaign_not_active"
    finally:
        holder["release"]()
        for r in replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.stop()
        query(server.params, f"DROP DATABASE IF EXISTS {control}")
