"""RepoEnvironment in process, against the real test server: polls, partial re-reads, options."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.daemon_config import WorkspaceConfig
from schemad.plan.planner import RefusalKind
from schemad.plan.routes import RouteKind
from schemad.service.drift import select
from schemad.service.environment import RepoEnvironment
from schemad.workspace.cache import CanonicalCache
from tests.conftest import DBServer
from tests.helpers import load_sql


def table(name: str, extra: str = "") -> str:
    return (
        f"CREATE TABLE `{name}` (\n  `id` int(11) NOT NULL,\n{extra}  PRIMARY KEY (`id`)\n)"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
    )


def make_repo(root: Path, server: DBServer, schema: str, n: int, dir_options: str = "") -> Path:
    p = server.params
    (root / ".skeema").write_text(f"[test]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = root / schema
    d.mkdir()
    (d / ".skeema").write_text(f"schema={schema}\n{dir_options}")
    for i in range(n):
        (d / f"t{i}.sql").write_text(table(f"t{i}"))
    return d


async def load(server: DBServer, schema: str, n: int) -> None:
    await load_sql(server.params, schema, "".join(table(f"t{i}") for i in range(n)))


@contextlib.asynccontextmanager
async def evaluated(
    root: Path, cache: Path, workspace: WorkspaceConfig | None = None
) -> AsyncIterator[RepoEnvironment]:
    """The repo at `root`'s `test` environment, evaluated; closed afterwards."""
    env = RepoEnvironment("r", root, "test", CanonicalCache(cache), workspace=workspace)
    try:
        await env.evaluate()
        yield env
    finally:
        await env.close()


def queries(env: RepoEnvironment) -> int:
    return sum(sum(i.query_counts.values()) for i in env.instances)


async def test_unchanged_poll_costs_the_same_queries_at_any_size(
    server: DBServer, instance: Instance, schema: str, tmp_path: Path
) -> None:
    costs = []
    for n, sub in ((3, "small"), (60, "big")):
        await instance.execute(f"DROP DATABASE IF EXISTS `{schema}`")
        await instance.execute(f"CREATE DATABASE `{schema}`")
        await load(server, schema, n)
        root = tmp_path / sub
        root.mkdir()
        make_repo(root, server, schema, n)
        async with evaluated(root, tmp_path / f"{sub}.sqlite3") as env:
            assert env.diffs()[0].steps == ()
            before = queries(env)
            await env.poll()
            costs.append(queries(env) - before)
    assert costs[0] == costs[1] == 6  # the six fingerprint queries (the sizes come from the TABLES one)


async def test_poll_rereads_only_the_table_whose_fingerprint_moved(
    server: DBServer, instance: Instance, schema: str, tmp_path: Path
) -> None:
    await load(server, schema, 5)
    make_repo(tmp_path, server, schema, 5)
    async with evaluated(tmp_path, tmp_path / "c.sqlite3") as env:
        t = env.ordered_targets()[0]
        assert t.live.schema is not None
        old = {tb.name: tb for tb in t.live.schema.tables}
        await instance.execute(f"ALTER TABLE `{schema}`.t3 ADD COLUMN x int")
        await env.poll()
        new = {tb.name: tb for tb in t.live.schema.tables}
        assert sorted(new) == sorted(old)
        assert all(new[n] is old[n] for n in old if n != "t3")  # kept, not read again
        assert new["t3"] is not old["t3"] and "`x` int(11)" in new["t3"].show_create
        assert [s.sql for s in env.diffs()[0].steps] == ["ALTER TABLE `t3` DROP COLUMN `x`"]

        await instance.execute(f"DROP TABLE `{schema}`.t4")
        await instance.execute(f"CREATE TABLE `{schema}`.extra (id int PRIMARY KEY)")
        await env.poll()
        assert sorted(tb.name for tb in t.live.schema.tables) == ["extra", "t0", "t1", "t2", "t3"]
        sqls = [s.sql.splitlines()[0] for s in env.diffs()[0].steps]
        assert "DROP TABLE `extra`" in sqls and "CREATE TABLE `t4` (" in sqls


async def test_daemon_workspace_settings_apply_where_the_skeema_files_are_silent(
    server: DBServer, schema: str, tmp_path: Path
) -> None:
    await load(server, schema, 1)
    silent = tmp_path / "a"
    silent.mkdir()
    make_repo(silent, server, schema, 1)
    pinned = tmp_path / "b"
    pinned.mkdir()
    make_repo(pinned, server, schema, 1, dir_options="temp-schema=_mine\n")
    ws = WorkspaceConfig(temp_schema="_daemon_ws", threads=2)
    for root, expected in ((silent, "_daemon_ws"), (pinned, "_mine")):
        async with evaluated(root, tmp_path / "c.sqlite3", ws) as env:
            (ds,) = env.dirs.values()
            assert ds.opts.workspace.temp_schema == expected
            assert ds.opts.workspace.concurrency == 2
            assert env.diffs()[0].steps == ()


async def test_the_poll_reads_sizes_and_the_diff_routes_by_them(
    server: DBServer, instance: Instance, schema: str, tmp_path: Path
) -> None:
    await load(server, schema, 2)
    await instance.execute(f"INSERT INTO `{schema}`.t0 VALUES (1), (2)")
    d = make_repo(
        tmp_path,
        server,
        schema,
        2,
        dir_options="alter-wrapper=/bin/echo {TABLE} {SIZE}\nalter-wrapper-min-size=1\n",
    )
    for i in range(2):
        (d / f"t{i}.sql").write_text(table(f"t{i}", "  `x` int(11) DEFAULT NULL,\n"))
    async with evaluated(tmp_path, tmp_path / "c.sqlite3") as env:
        (t,) = env.ordered_targets()
        assert t.live.sizes["t0"].rows == 2 and t.live.sizes["t1"].rows == 0
        size = t.live.table_sizes["t0"]
        assert size == t.live.sizes["t0"].length > 0 and t.live.table_sizes["t1"] == 0
        routes = {p.step.key.name: p.route for p in env.diffs()[0].planned}
        assert routes["t0"].kind is RouteKind.ALTER_WRAPPER and routes["t0"].command == f"/bin/echo t0 {size}"
        assert routes["t1"].kind is RouteKind.DIRECT  # empty: below alter-wrapper-min-size

        version = env.version
        await instance.execute(f"INSERT INTO `{schema}`.t1 VALUES (1)")  # no DDL: only a size moves
        await env.poll()
        assert env.version > version
        routes = {p.step.key.name: p.route for p in env.diffs()[0].planned}
        assert routes["t1"].kind is RouteKind.ALTER_WRAPPER

        plan = await env.push_plan(t.key, allow_unsafe=False, tables=["t1"])
        assert [p.step.key.name for p in plan.steps] == ["t1"] and plan.refusals == ()
        assert plan.wrappers is not None and plan.steps[0].route == routes["t1"]
        assert plan.plan_hash == select(env.diffs(), tables=["t1"])[0].plan_hash


async def test_push_plan_asks_the_table_whether_it_has_rows_before_safe_below_size_lets_a_drop_run(
    server: DBServer, instance: Instance, schema: str, tmp_path: Path
) -> None:
    await load(server, schema, 3)
    await instance.execute(f"INSERT INTO `{schema}`.t1 VALUES (1)")
    d = make_repo(tmp_path, server, schema, 3, dir_options="safe-below-size=1\n")
    (d / "t1.sql").unlink()
    (d / "t2.sql").unlink()
    async with evaluated(tmp_path, tmp_path / "c.sqlite3") as env:
        (t,) = env.ordered_targets()
        plan = await env.push_plan(t.key, allow_unsafe=False)
        assert [(r.kind, r.object.name) for r in plan.refusals] == [(RefusalKind.UNSAFE, "t1")]
        assert plan.refusals[0].reason.startswith("DROP TABLE `t1` (")
        # The server's row count is an estimate (MySQL 8 may serve it from a cache): a push never
        # lets an unsafe statement through on it alone.
        t.live.sizes["t1"] = replace(t.live.sizes["t1"], rows=0)
        plan = await env.push_plan(t.key, allow_unsafe=False)
        assert [r.object.name for r in plan.refusals] == ["t1"]
        assert not (await env.push_plan(t.key, allow_unsafe=True)).refusals
