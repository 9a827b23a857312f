"""Push campaigns over the 40-shard fleet of test_fleet (two real MariaDB servers), in a daemon.

The repo adds a column (and, for the halting case, a UNIQUE key) to table `a`
of every shard; a campaign rolls it out with canaries and waves.  Events go
to a real HTTP receiver.  The kill -9 case runs a daemon process.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from schemad.api.app import create_app
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.daemon_config import DaemonConfig, RepoConfig, Token
from schemad.webhook_config import WebhookConfig
from tests.daemon_proc import DaemonRepo, RunningDaemon
from tests.helpers import load_sql
from tests.integration import test_fleet
from tests.integration.test_fleet import PER_SERVER, shard, sql
from tests.integration.test_openapi import check_response

# The fleet of test_fleet: 40 shards over the suite's server and a second throwaway MariaDB.
other = test_fleet.other
fleet = test_fleet.fleet

TOKEN = "campaign-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHANGED = (
    "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `name` varchar(20) DEFAULT NULL,\n"
    "  `c` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`){unique}\n)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
)


def change(root: Path, *, unique: bool = False) -> None:
    (root / "shards" / "t0.sql").write_text(
        CHANGED.format(unique=",\n  UNIQUE KEY `name` (`name`)" if unique else "")
    )


def config(root: Path, tmp_path: Path, hook: str | None = None) -> DaemonConfig:
    return DaemonConfig(
        state_dir=tmp_path / "state",
        refresh_min_interval=0.0,
        repos=(RepoConfig("app", root, environments=("test",)),),
        tokens=(
            Token("admin", hashlib.sha256(TOKEN.encode()).hexdigest(), frozenset({"read", "push:test"})),
        ),
        webhooks=(WebhookConfig("hook", url=hook, format="slack"),) if hook else (),
    )


async def fleet_doc(client: Any) -> dict[str, Any]:
    r = await client.get("/v1/repos/app/environments/test/fleet?refresh=true", headers=AUTH)
    assert r.status == 200
    doc: dict[str, Any] = await r.json()
    return doc


def groups_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    [d] = doc["dirs"]
    return [{"fingerprint": g["fingerprint"], "plan_hash": g["plan_hash"]} for g in d["groups"]]


async def wait_campaign(client: Any, cid: str, done: Any, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/v1/campaigns/{cid}", headers=AUTH)
        body = await r.read()
        check_response("GET", "/v1/campaigns/{id}", r.status, r.headers["Content-Type"], body)
        doc: dict[str, Any] = (await r.json())["campaign"]
        if done(doc):
            return doc
        assert time.monotonic() < deadline, doc
        await asyncio.sleep(0.2)


async def columns(p: ConnParams, schema: str) -> list[str]:
    async with Instance(p) as inst:
        rows = await inst.query(
            "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME='a'"
            " ORDER BY ORDINAL_POSITION",
            (schema,),
        )
    return [r["c"] for r in rows]


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Any:
    events: list[tuple[str, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        events.append((request.headers["X-Schemad-Event"], await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    srv = await aiohttp_server(app)
    srv.events = events
    return srv


async def test_campaign_with_canaries_and_waves_converges_every_shard(
    aiohttp_client: Any,
    fleet: tuple[Path, list[ConnParams]],
    tmp_path: Path,
    receiver: Any,
) -> None:
    root, servers = fleet
    change(root)
    client = await aiohttp_client(create_app(config(root, tmp_path, str(receiver.make_url("/hook")))))
    doc = await fleet_doc(client)
    assert doc["shards"] == 40 and doc["drifted"] == 40
    body = {"groups": groups_of(doc), "canaries": 2, "wave_size": 8, "concurrency": 8}
    r = await client.post("/v1/repos/app/environments/test/campaigns", json=body, headers=AUTH)
    raw = await r.read()
    check_response(
        "POST", "/v1/repos/{repo}/environments/{env}/campaigns", r.status, r.headers["Content-Type"], raw
    )
    assert r.status == 202, raw
    c = (await r.json())["campaign"]
    assert [(w["wave"], w["shards"]) for w in c["wave_list"]] == [
        (0, 2),
        (1, 8),
        (2, 8),
        (3, 8),
        (4, 8),
        (5, 6),
    ]
    # A second campaign (or push) while it runs: 409.
    r = await client.post("/v1/repos/app/environments/test/campaigns", json=body, headers=AUTH)
    assert r.status == 409 and (await r.json())["error"]["code"] == "push_running"

    c = await wait_campaign(client, c["id"], lambda d: d["state"] != "running")
    assert c["state"] == "finished", c["error"]
    assert c["counts"]["done"] == 40 and c["failures"] == 0
    jobs = {s["job_id"] for s in c["shards"]}
    assert len(jobs) == 40 and None not in jobs
    # Canaries ended before any shard of wave 1 started.
    canary_end = max(s["finished_at"] for s in c["shards"] if s["wave"] == 0)
    assert all(s["started_at"] >= canary_end for s in c["shards"] if s["wave"] == 1)  # ISO, to the ms

    after = await fleet_doc(client)
    [d] = after["dirs"]
    assert after["drifted"] == 0 and len(d["groups"]) == 1 and d["groups"][0]["matches_repo"] is True
    for p in servers:
        for i in range(PER_SERVER):
            assert await columns(p, shard(i)) == ["id", "name", "c"]
    r = await client.get("/v1/repos/app/environments/test/campaigns", headers=AUTH)
    assert [x["id"] for x in (await r.json())["campaigns"]] == [c["id"]]

    deadline = time.monotonic() + 30
    while "campaign.finished" not in [e for e, _ in receiver.events] and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    names = [e for e, _ in receiver.events if e.startswith("campaign.")]
    assert names == ["campaign.started"] + ["campaign.wave_done"] * 6 + ["campaign.finished"]


async def test_a_failing_shard_in_the_third_wave_halts_the_campaign(
    aiohttp_client: Any,
    fleet: tuple[Path, list[ConnParams]],
    tmp_path: Path,
) -> None:
    root, servers = fleet
    change(root, unique=True)
    client = await aiohttp_client(create_app(config(root, tmp_path)))
    doc = await fleet_doc(client)
    [d] = doc["dirs"]
    order = sorted((s["address"], s["schema"]) for s in d["groups"][0]["shards"])
    bad_address, bad_schema = order[2 + 8 + 8 + 3]  # the fourth shard of wave 3
    bad = next(p for p in servers if f"{p.host}:{p.port}" == bad_address)
    await load_sql(bad, bad_schema, "INSERT INTO a (id, name) VALUES (1, 'dup'), (2, 'dup')")  # breaks UNIQUE
    doc = await fleet_doc(client)  # rows do not change a fingerprint
    body = {"groups": groups_of(doc), "canaries": 2, "wave_size": 8, "concurrency": 4}
    r = await client.post("/v1/environments/test/campaigns", json=body, headers=AUTH)
    assert r.status == 202, await r.text()
    c = await wait_campaign(client, (await r.json())["campaign"]["id"], lambda d: d["state"] != "running")
    assert c["state"] == "halted"
    failed = [s for s in c["shards"] if s["state"] == "failed"]
    assert [(s["address"], s["schema"], s["wave"]) for s in failed] == [(bad_address, bad_schema, 3)]
    assert "Duplicate entry" in failed[0]["error"] and bad_schema in c["error"]
    assert all(s["state"] == "done" for s in c["shards"] if s["wave"] < 3)
    later = [s for s in c["shards"] if s["wave"] > 3]
    assert later and all(s["state"] == "skipped" and s["job_id"] is None for s in later)
    for s in later:  # untouched on the servers
        p = next(p for p in servers if f"{p.host}:{p.port}" == s["address"])
        assert await columns(p, s["schema"]) == ["id", "name"]


async def test_pause_resume_and_abort(
    aiohttp_client: Any,
    fleet: tuple[Path, list[ConnParams]],
    tmp_path: Path,
) -> None:
    root, servers = fleet
    change(root)
    client = await aiohttp_client(create_app(config(root, tmp_path)))
    doc = await fleet_doc(client)
    body = {
        "groups": groups_of(doc),
        "canaries": 1,
        "wave_size": 4,
        "concurrency": 2,
        "pause_between_waves": 60,
    }
    r = await client.post("/v1/environments/test/campaigns", json=body, headers=AUTH)
    cid = (await r.json())["campaign"]["id"]
    # After the canary, the campaign waits out its pause: pause it there, then resume (the wait goes on).
    c = await wait_campaign(client, cid, lambda d: d["next_wave_at"] is not None)
    assert c["wave"] == 1 and c["counts"]["done"] == 1
    r = await client.post(f"/v1/campaigns/{cid}/pause", headers=AUTH)
    assert r.status == 202 and (await r.json())["campaign"]["state"] == "paused"
    r = await client.post(f"/v1/campaigns/{cid}/pause", headers=AUTH)
    assert r.status == 409 and (await r.json())["error"]["code"] == "campaign_not_active"
    r = await client.post(f"/v1/campaigns/{cid}/resume", headers=AUTH)
    assert r.status == 202 and (await r.json())["campaign"]["state"] == "running"
    r = await client.post(f"/v1/campaigns/{cid}/abort", headers=AUTH)
    assert r.status == 202
    c = (await r.json())["campaign"]
    assert c["state"] == "aborted" and c["counts"] == {
        "pending": 0,
        "running": 0,
        "done": 1,
        "failed": 0,
        "skipped": 39,
    }
    r = await client.post(f"/v1/campaigns/{cid}/resume", headers=AUTH)
    assert r.status == 409
    changed = [(p, shard(i)) for p in servers for i in range(PER_SERVER)]
    cols = [await columns(p, s) for p, s in changed]
    assert sum(c == ["id", "name", "c"] for c in cols) == 1
    # The push lock is free again: a plain push can run.
    r = await client.post("/v1/environments/test/push", json={"plan_hash": "x"}, headers=AUTH)
    assert r.status == 409 and (await r.json())["error"]["code"] == "plan_changed"


def test_a_daemon_killed_mid_campaign_resumes_it_and_runs_no_statement_twice(
    fleet: tuple[Path, list[ConnParams]],
    tmp_path: Path,
) -> None:
    root, servers = fleet
    change(root)
    for p in servers:
        sql(p, "SET GLOBAL log_output = 'TABLE'; TRUNCATE mysql.general_log; SET GLOBAL general_log = 1")
    d = RunningDaemon(DaemonRepo(root, "shards"), tmp_path / "run", poll_interval="30s")
    d.start()
    holder: Iterator[None] | None = None
    try:
        doc = d.get("/v1/repos/app/environments/test/fleet?refresh=true").json()
        [dd] = doc["dirs"]
        order = sorted((s["address"], s["schema"]) for s in dd["groups"][0]["shards"])
        slow_address, slow_schema = order[1 + 4]  # the last shard of wave 1
        slow = next(p for p in servers if f"{p.host}:{p.port}" == slow_address)
        holder = hold_metadata_lock(slow, slow_schema)
        next(holder)
        body = {
            "groups": [{"fingerprint": g["fingerprint"], "plan_hash": g["plan_hash"]} for g in dd["groups"]],
            "canaries": 1,
            "wave_size": 5,
            "concurrency": 5,
        }
        r = d.post("/v1/repos/app/environments/test/campaigns", body)
        assert r.status == 202, r.text
        cid = r.json()["campaign"]["id"]

        def slow_running() -> bool:
            c = d.get(f"/v1/campaigns/{cid}").json()["campaign"]
            s = next(x for x in c["shards"] if (x["address"], x["schema"]) == (slow_address, slow_schema))
            return s["state"] == "running" and s["job_id"] is not None and waiting_alter(slow, slow_schema)

        d.wait_for(slow_running, timeout=120, interval=0.2)
        first_job = next(
            x["job_id"]
            for x in d.get(f"/v1/campaigns/{cid}").json()["campaign"]["shards"]
            if (x["address"], x["schema"]) == (slow_address, slow_schema)
        )
        d.stop(9)  # kill -9 while the shard's ALTER waits for the lock the test holds
        d.start()  # the ALTER the dead daemon sent still waits; the new daemon must not send another
        time.sleep(2)
        next(holder, None)  # release: the orphaned ALTER runs now
        holder = None
        c = d.wait_for(
            lambda: (c := d.get(f"/v1/campaigns/{cid}").json()["campaign"])["state"] != "running" and c,
            timeout=300,
            interval=0.5,
        )
        assert c["state"] == "finished", c
        slow_run = next(x for x in c["shards"] if x["schema"] == slow_schema and x["address"] == slow_address)
        slow_where = f"{slow_address} {slow_schema}"
        # MariaDB aborts a metadata-lock wait whose client is gone: the re-check found the shard as it
        # started and ran it again, in a new job; the dead daemon's job is interrupted, its ALTER uncertain.
        assert slow_run["state"] == "done" and slow_run["job_id"] != first_job
        first = d.get(f"/v1/jobs/{first_job}").json()["job"]
        assert first["state"] == "interrupted" and first["statements"][0]["status"] == "failed"
        started: dict[str, int] = {}
        for x in c["shards"]:
            job = d.get(f"/v1/jobs/{x['job_id']}").json()["job"]
            for st in job["statements"]:
                if st["started_at"] is not None:
                    started[st["target"]] = started.get(st["target"], 0) + 1
        assert len(started) == 40 and set(started.values()) == {1}
        for p in servers:
            rows = asyncio.run(general_log_alters(p))
            extra = 1 if p is slow else 0  # the aborted one
            assert len(rows) >= PER_SERVER + extra, rows
            for i in range(PER_SERVER):
                assert asyncio.run(columns(p, shard(i))) == ["id", "name", "c"]
        assert slow_where in started
    finally:
        if holder is not None:
            next(holder, None)
        d.stop()
        for p in servers:
            sql(p, "SET GLOBAL general_log = 0")


def hold_metadata_lock(p: ConnParams, schema: str) -> Iterator[None]:
    """A transaction that read `a` holds its metadata lock until the generator is resumed."""
    loop = asyncio.new_event_loop()
    inst = Instance(p, pool_size=1)
    loop.run_until_complete(inst.__aenter__())

    async def begin() -> None:
        async with inst.session() as s:
            await s.execute("BEGIN")
            await s.execute(f"SELECT * FROM `{schema}`.`a`")
            held.set()
            await release.wait()
            await s.execute("ROLLBACK")

    held, release = asyncio.Event(), asyncio.Event()
    task = loop.create_task(begin())
    loop.run_until_complete(held.wait())
    try:
        yield
    finally:
        release.set()
        loop.run_until_complete(task)
        loop.run_until_complete(inst.__aexit__(None, None, None))
        loop.close()


def waiting_alter(p: ConnParams, schema: str) -> bool:
    async def q() -> bool:
        async with Instance(p) as inst:
            rows = await inst.query(
                "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE%%'"
                " AND STATE LIKE '%%metadata lock%%' AND (DB = %s OR INFO LIKE %s)",
                (schema, f"%{schema}%"),
            )
        return bool(rows[0]["n"])

    return asyncio.run(q())


async def general_log_alters(p: ConnParams) -> list[str]:
    async with Instance(p) as inst:
        rows = await inst.query(
            "SELECT CAST(argument AS CHAR) AS q FROM mysql.general_log WHERE command_type = 'Query'"
            " AND argument LIKE 'ALTER TABLE%%' AND argument LIKE '%%ADD COLUMN `c`%%'"
        )
    return [str(r["q"]) for r in rows]
