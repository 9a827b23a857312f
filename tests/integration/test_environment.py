"""RepoEnvironment in process, against the real test server: polls, partial re-reads, options."""

from __future__ import annotations

from pathlib import Path

from schemad.connection.instance import Instance
from schemad.daemon_config import WorkspaceConfig
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
        env = RepoEnvironment("r", root, "test", CanonicalCache(tmp_path / f"{sub}.sqlite3"))
        try:
            await env.evaluate()
            assert env.diffs()[0].steps == ()
            before = queries(env)
            await env.poll()
            costs.append(queries(env) - before)
        finally:
            await env.close()
    assert costs[0] == costs[1] == 6


async def test_poll_rereads_only_the_table_whose_fingerprint_moved(
    server: DBServer, instance: Instance, schema: str, tmp_path: Path
) -> None:
    await load(server, schema, 5)
    make_repo(tmp_path, server, schema, 5)
    env = RepoEnvironment("r", tmp_path, "test", CanonicalCache(tmp_path / "c.sqlite3"))
    try:
        await env.evaluate()
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
    finally:
        await env.close()


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
        env = RepoEnvironment("r", root, "test", CanonicalCache(tmp_path / "c.sqlite3"), workspace=ws)
        try:
            await env.evaluate()
            (ds,) = env.dirs.values()
            assert ds.opts.workspace.temp_schema == expected
            assert ds.opts.workspace.concurrency == 2
            assert env.diffs()[0].steps == ()
        finally:
            await env.close()
