"""Fleets on real servers: 40 shards (20 schemas on the suite's server, 20 on a second throwaway MariaDB).

The repo's `test` environment gets its hosts from a host-wrapper script that
prints the `host:port` lines of a file the tests rewrite, and its one schema
dir lists the shards of each host with a `/regex/` schema option (Skeema's
layout for many shards per server).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.embedded import EmbeddedServer
from schemad.errors import SchemadError
from schemad.introspect.fingerprint import fingerprints
from schemad.service.environment import RepoEnvironment
from schemad.workspace.cache import CanonicalCache
from tests.conftest import DBServer
from tests.daemon_proc import READER_TOKEN, DaemonRepo, RunningDaemon
from tests.helpers import another_server, load_sql
from tests.integration.test_openapi import check_response

PREFIX = f"fleet{os.getpid()}_"
PER_SERVER = 20
TABLES = (
    "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `name` varchar(20) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`)\n)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n",
    "CREATE TABLE `b` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n",
)


def shard(i: int) -> str:
    return f"{PREFIX}{i:02d}"


def sql(params: ConnParams, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(params, schema, text))


@pytest.fixture(scope="module")
def other() -> Iterator[ConnParams]:
    """A second throwaway MariaDB holding half of the fleet."""
    with another_server() as params:
        yield params


@pytest.fixture
def fleet(server: DBServer, other: ConnParams, tmp_path: Path) -> Iterator[tuple[Path, list[ConnParams]]]:
    """The 40 shards, created fresh, and a repo whose host-wrapper lists both servers."""
    servers = [server.params, other]
    for p in servers:
        text = "".join(
            f"DROP DATABASE IF EXISTS `{shard(i)}`; CREATE DATABASE `{shard(i)}`;"
            f" USE `{shard(i)}`; {''.join(TABLES)}"
            for i in range(PER_SERVER)
        )
        sql(p, text)
    root = tmp_path / "repo"
    (root / "shards").mkdir(parents=True)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("".join(f"{p.host}:{p.port}\n" for p in servers))
    wrapper = tmp_path / "hosts.sh"
    wrapper.write_text(f"#!/bin/sh\ncat {hosts}\n")
    wrapper.chmod(0o755)
    (root / ".skeema").write_text(f"[test]\nhost=fleet\nhost-wrapper={wrapper}\nuser=root\n")
    (root / "shards" / ".skeema").write_text(f"schema=/^{PREFIX}[0-9]+$/\n")
    for i, text in enumerate(TABLES):
        (root / "shards" / f"t{i}.sql").write_text(text)
    try:
        yield root, servers
    finally:
        for p in servers:
            sql(p, "".join(f"DROP DATABASE IF EXISTS `{shard(i)}`;" for i in range(PER_SERVER)))


@pytest.fixture
async def env(fleet: tuple[Path, list[ConnParams]], tmp_path: Path) -> AsyncIterator[RepoEnvironment]:
    e = RepoEnvironment("r", fleet[0], "test", CanonicalCache(tmp_path / "c.sqlite3"), poll_concurrency=4)
    try:
        await e.evaluate()
        yield e
    finally:
        await e.close()


def queries(env: RepoEnvironment) -> int:
    return sum(sum(i.query_counts.values()) for i in env.instances)


async def test_consistency_view_names_the_shard_changed_by_hand(
    env: RepoEnvironment, fleet: tuple[Path, list[ConnParams]]
) -> None:
    _, (a, b) = fleet
    assert len(env.targets) == 2 * PER_SERVER and env.is_fleet
    [view] = env.fleet()
    assert [len(g.shards) for g in view.groups] == [40]
    assert view.groups[0].matches_repo is True and view.odd == ()

    # An unchanged poll of 40 shards on 2 servers: the six fingerprint queries per server (all the
    # shards of a server read together), nothing introspected, the same fingerprints and sizes.
    polled = {k: (dict(t.live.fingerprints), dict(t.live.sizes)) for k, t in env.targets.items()}
    before = queries(env)
    await env.poll()
    unchanged = queries(env) - before
    assert unchanged == 6 * 2
    assert {k: (t.live.fingerprints, t.live.sizes) for k, t in env.targets.items()} == polled

    async with Instance(b) as inst:
        await inst.execute(f"ALTER TABLE `{shard(7)}`.`a` ADD COLUMN `x` int")
    before = queries(env)
    await env.poll()
    one = queries(env) - before - unchanged  # what reading one changed shard cost
    [view] = env.fleet()
    major, odd = view.groups
    assert major.majority and len(major.shards) == 39 and major.matches_repo is True
    assert [(s.address, s.schema) for s in odd.shards] == [(f"127.0.0.1:{b.port}", shard(7))]
    assert odd.matches_repo is False and odd.statements == 1 and odd.plan_hash
    assert [(d.key.type.value, d.key.name, d.kind) for d in odd.differences] == [("table", "a", "differs")]
    doc = view.to_json()
    assert doc["odd"] == [
        {"address": f"127.0.0.1:{b.port}", "schema": shard(7), "fingerprint": odd.fingerprint}
    ]

    # The same new table on 5 shards of both servers: one group, read once (shared), one extra object.
    for p, ids in ((a, (1, 2, 3)), (b, (11, 12))):
        async with Instance(p) as inst:
            for i in ids:
                await inst.execute(f"CREATE TABLE `{shard(i)}`.`c` (`id` int NOT NULL PRIMARY KEY)")
    before = queries(env)
    await env.poll()
    five = queries(env) - before - unchanged
    assert one > 0 and five < 2 * one  # five shards with one new schema cost about one read
    [view] = env.fleet()
    assert [len(g.shards) for g in view.groups] == [34, 5, 1]
    extra = view.groups[1]
    assert {s.schema for s in extra.shards} == {shard(i) for i in (1, 2, 3, 11, 12)}
    assert [(d.key.name, d.kind) for d in extra.differences] == [("c", "extra")]
    diffs = {(t.target.address, t.target.schema): t.diff for t in env.targets.values()}
    for s in extra.shards:
        d = diffs[(s.address, s.schema)]
        assert d is not None and [p.step.sql for p in d.planned] == ["DROP TABLE `c`"]
        assert s.plan_hash == extra.plan_hash


async def test_an_unchanged_poll_reads_each_server_once_with_the_same_results(
    env: RepoEnvironment, fleet: tuple[Path, list[ConnParams]]
) -> None:
    _, servers = fleet
    before = queries(env)
    await env.poll()
    assert queries(env) - before <= 6 * len(servers)  # 40 shards on 2 servers: not 6 x 40
    for p in servers:  # what each shard holds is what reading it alone gives
        async with Instance(p) as inst:
            for i in range(PER_SERVER):
                sizes: dict[str, tuple[int, int]] = {}
                fp = await fingerprints(inst, shard(i), sizes)
                live = env.targets[(p.address, shard(i))].live
                assert (
                    live.fingerprints == fp
                    and {n: (s.length, s.rows) for n, s in live.sizes.items()} == sizes
                )


async def test_a_server_that_fails_fails_only_its_own_shards(
    fleet: tuple[Path, list[ConnParams]], tmp_path: Path
) -> None:
    root, (a, _) = fleet
    srv = EmbeddedServer()
    srv.start()
    try:
        c = ConnParams(host="127.0.0.1", port=srv.port, user="root")
        text = "".join(f"CREATE DATABASE `{shard(i)}`; USE `{shard(i)}`; {''.join(TABLES)}" for i in (0, 1))
        await load_sql(c, None, text)
        (tmp_path / "hosts.txt").write_text(f"{a.host}:{a.port}\n{c.host}:{c.port}\n")
        e = RepoEnvironment("r", root, "test", CanonicalCache(tmp_path / "c2.sqlite3"))
        try:
            await e.evaluate()
            assert len(e.targets) == PER_SERVER + 2 and e.last_poll_error is None
            polled = {k: t.live.snapshot_at for k, t in e.targets.items()}
            srv.halt()  # server C goes away
            with pytest.raises(SchemadError):
                await e.poll()
            failed = {k for k, t in e.targets.items() if t.live.error}
            assert failed == {(c.address, shard(0)), (c.address, shard(1))}
            assert all(t.live.snapshot_at == polled[k] for k, t in e.targets.items() if k in failed)
            assert f"{c.address} {shard(1)}: " in (e.last_poll_error or "")
            assert all(
                t.diff is not None and not t.diff.planned for k, t in e.targets.items() if k not in failed
            )
        finally:
            await e.close()
    finally:
        srv.stop()


async def test_removed_shards_disappear_when_host_wrapper_runs_again(
    env: RepoEnvironment,
    fleet: tuple[Path, list[ConnParams]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, (a, b) = fleet
    (tmp_path / "hosts.txt").write_text(f"{a.host}:{a.port}\n")  # server B leaves the fleet
    await load_sql(a, None, f"DROP DATABASE `{shard(3)}`")
    await env.poll()  # not due yet (fleet_refresh 5 minutes): the shards are still there
    assert len(env.targets) == 40
    env.fleet_refresh = 0
    with caplog.at_level(logging.INFO):
        await env.poll()
    assert sorted(s for _, s in env.targets) == sorted(shard(i) for i in range(PER_SERVER) if i != 3)
    assert {addr for addr, _ in env.targets} == {f"127.0.0.1:{a.port}"}
    assert "21 shard(s) removed" in caplog.text and f"127.0.0.1:{a.port} {shard(3)}" in caplog.text
    [view] = env.fleet()
    assert [len(g.shards) for g in view.groups] == [19]
    # And it comes back: a new shard appears on the next run.
    (tmp_path / "hosts.txt").write_text(f"{a.host}:{a.port}\n{b.host}:{b.port}\n")
    await env.poll()
    assert len(env.targets) == 39
    assert all(t.diff is not None and not t.diff.planned for t in env.targets.values())


def test_cli_diff_summarises_shard_groups_and_bounds_servers(
    fleet: tuple[Path, list[ConnParams]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root, (a, b) = fleet
    sql(
        b,
        f"ALTER TABLE `{shard(5)}`.`a` DROP COLUMN `name`; ALTER TABLE `{shard(6)}`.`a` DROP COLUMN `name`;",
    )
    sql(b, f"ALTER TABLE `{shard(12)}`.`a` ADD COLUMN `x` int")  # dropping it is unsafe: skipped
    sql(a, f"DROP TABLE `{shard(9)}`.`b`; ALTER TABLE `{shard(9)}`.`a` DROP COLUMN `name`")
    monkeypatch.chdir(root)

    def starts(concurrency: int) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            assert main(["diff", "test", f"--concurrent-servers={concurrency}"]) == 2  # one skipped
        return [
            r.getMessage().split()[3] for r in caplog.records if r.getMessage().startswith("Generating diff")
        ]

    order = starts(1)
    assert len(order) == 40
    runs = [x for i, x in enumerate(order) if i == 0 or order[i - 1] != x]
    assert len(runs) == 2  # one server at a time: each server's shards in one block
    summary = [r for r in caplog.records if r.name.startswith("schemad") and " shard" in r.getMessage()[:12]]
    assert [r.getMessage() for r in summary] == [
        "36 shards: no differences",
        "2 shards: 1 statement to push",
        "1 shard: 2 statements to push",
        "1 shard: skipped (unsafe)",
    ]
    assert all(r.levelno == logging.INFO for r in summary)

    order = starts(2)
    runs = [x for i, x in enumerate(order) if i == 0 or order[i - 1] != x]
    assert len(runs) > 2  # both servers at once: their shards interleave


def test_daemon_serves_the_fleet_view_and_per_environment_gauges(
    fleet: tuple[Path, list[ConnParams]], tmp_path: Path
) -> None:
    root, (a, b) = fleet
    d = RunningDaemon(
        DaemonRepo(root, "shards"), tmp_path / "run", extra_toml='[fleet]\nrefresh = "1s"\nconcurrency = 4\n'
    ).start()
    env = {"repo": "app", "environment": "test"}
    try:
        d.wait_for(lambda: d.metric("schemad_fleet_shards", **env) == 40, timeout=60)
        sql(b, f"ALTER TABLE `{shard(4)}`.`b` ADD COLUMN `y` int")

        def view() -> dict[str, object]:
            r = d.get("/v1/repos/app/environments/test/fleet", token=READER_TOKEN)
            check_response(
                "GET",
                "/v1/repos/{repo}/environments/{env}/fleet",
                r.status,
                r.headers["Content-Type"],
                r.body,
            )
            doc: dict[str, object] = r.json()
            return doc

        doc = d.wait_for(lambda: (v := view())["groups"] == 2 and v["drifted"] == 1 and v, timeout=30)
        assert doc["fleet"] is True and doc["shards"] == 40
        [shards_dir] = doc["dirs"]  # type: ignore[misc]
        assert shards_dir["odd"] == [
            {
                "address": f"127.0.0.1:{b.port}",
                "schema": shard(4),
                "fingerprint": shards_dir["groups"][1]["fingerprint"],
            }
        ]
        assert shards_dir["groups"][1]["differences"] == [{"type": "table", "name": "b", "kind": "differs"}]
        assert d.metric("schemad_fleet_schema_groups", **env) == 2
        assert d.metric("schemad_fleet_shards_drifted", **env) == 1
        assert d.metric("schemad_fleet_shards_failing", **env) == 0
        assert d.metric("schemad_drift", **env, schema=shard(15)) == 0

        # Server B and shard 15 leave: host-wrapper's next run drops them, and their series go.
        (tmp_path / "hosts.txt").write_text(f"{a.host}:{a.port}\n")
        sql(a, f"DROP DATABASE `{shard(15)}`")
        d.wait_for(lambda: d.metric("schemad_fleet_shards", **env) == 19, timeout=30)
        assert d.metric("schemad_fleet_schema_groups", **env) == 1
        assert d.metric("schemad_drift", **env, schema=shard(15)) is None
        assert d.get("/v1/environments/test/fleet").json()["drifted"] == 0
    finally:
        d.stop()
