"""Push safety: unsafe changes refused, dry runs change nothing, pushes never interleave,
and a failed push says exactly which statements ran."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from schemad.apply.executor import push_lock_name
from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.introspect.introspector import introspect_schema
from tests.conftest import DBServer
from tests.helpers import load_sql, temp_schemas_left

SCHEMA = "push_safe"
T_SAME = "id int NOT NULL PRIMARY KEY, name varchar(50) NOT NULL DEFAULT '', qty int DEFAULT NULL"
BEFORE = f"CREATE TABLE t ({T_SAME});\nCREATE TABLE empty_t (id int PRIMARY KEY);\n"


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


def snapshot(server: DBServer) -> dict[str, str]:
    async def go() -> dict[str, str]:
        async with Instance(server.params) as inst:
            flavor = await inst.flavor()
            schema = await introspect_schema(inst, SCHEMA)
            rows = await inst.query(f"SELECT COUNT(*) AS n FROM {SCHEMA}.t")
        texts = {str(k): o.create_statement(flavor) for k, o in schema.objects().items()}
        texts["rows"] = str(rows[0]["n"])
        return texts

    return asyncio.run(go())


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}")
    sql(server, BEFORE + "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 1);", SCHEMA)
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / SCHEMA
    d.mkdir()
    (d / ".skeema").write_text(f"schema={SCHEMA}\n")
    (d / "empty_t.sql").write_text("CREATE TABLE empty_t (id int PRIMARY KEY);\n")
    monkeypatch.chdir(tmp_path)
    yield d
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}")


def write_t(d: Path, body: str) -> None:
    (d / "t.sql").write_text(f"CREATE TABLE t ({body});\n")


def test_unsafe_change_refused_then_allowed(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_t(repo, "id int NOT NULL PRIMARY KEY, name varchar(50) NOT NULL DEFAULT ''")  # drops qty
    before = snapshot(server)
    assert main(["push"]) == 2
    assert snapshot(server) == before  # nothing ran
    assert "is not safe" in caplog.text and "qty" in caplog.text
    assert main(["diff"]) == 2  # diff refuses the same way
    assert main(["push", "--allow-unsafe"]) == 0
    assert "qty" not in snapshot(server)["table `t`"]
    assert main(["diff"]) == 0


def test_safe_below_size_allows_unsafe_ddl_on_empty_tables_only(server: DBServer, repo: Path) -> None:
    write_t(repo, T_SAME)
    (repo / "empty_t.sql").write_text("CREATE TABLE empty_t (id bigint PRIMARY KEY);\n")  # safe: widens
    (repo / "empty_t.sql").write_text("CREATE TABLE empty_t (id tinyint PRIMARY KEY);\n")  # unsafe: narrows
    assert main(["push"]) == 2
    assert main(["push", "--safe-below-size=1"]) == 0  # empty_t has no rows
    write_t(repo, "id int NOT NULL PRIMARY KEY, name varchar(5) NOT NULL DEFAULT '', qty int DEFAULT NULL")
    assert main(["push", "--safe-below-size=1"]) == 2  # t has rows


def test_dry_run_and_diff_never_change_the_database(server: DBServer, repo: Path) -> None:
    write_t(repo, T_SAME.replace("qty int DEFAULT NULL", "qty bigint DEFAULT 5, extra text"))
    (repo / "v.sql").write_text("CREATE VIEW v AS SELECT id FROM t;\n")
    before = snapshot(server)
    assert main(["diff"]) == 1
    assert main(["push", "--dry-run"]) == 1
    assert main(["diff", "--brief"]) == 1
    assert snapshot(server) == before
    assert main(["push"]) == 0
    assert snapshot(server) != before


def test_failed_push_says_which_statements_ran(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Statement order: ALTERs of existing tables by name (empty_t, then t), then CREATEs.
    # Both rows of t have qty=1: the UNIQUE key passes in the (empty) workspace and fails live.
    (repo / "empty_t.sql").write_text("CREATE TABLE empty_t (id int PRIMARY KEY, note text);\n")
    write_t(repo, T_SAME + ", UNIQUE KEY qty (qty)")
    (repo / "z_new.sql").write_text("CREATE TABLE z_new (id int PRIMARY KEY);\n")
    assert main(["push"]) == 2
    err = caplog.text
    assert "Duplicate entry" in err and "ALTER TABLE `t` ADD UNIQUE KEY `qty`" in err
    assert "1 of 3 statement(s) ran before the failure" in err
    live = snapshot(server)
    assert "`note` text" in live["table `empty_t`"]  # ran before the failure
    assert "UNIQUE KEY `qty`" not in live["table `t`"]  # failed
    assert "table `z_new`" not in live  # never ran


def test_second_push_waits_for_the_first(server: DBServer, repo: Path) -> None:
    write_t(repo, T_SAME + ", KEY name (name)")
    released_at: list[float] = []

    def hold_lock() -> None:
        async def go() -> None:
            async with Instance(server.params) as inst, inst.session() as s:
                await s.query("SELECT GET_LOCK(%s, 5)", (push_lock_name(SCHEMA),))
                holding.set()
                await asyncio.sleep(1.0)
                released_at.append(time.monotonic())
                await s.query("SELECT RELEASE_LOCK(%s)", (push_lock_name(SCHEMA),))

        asyncio.run(go())

    holding = threading.Event()
    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert holding.wait(10)
    assert main(["push", "--push-lock-timeout=20"]) == 0
    finished_at = time.monotonic()
    holder.join()
    assert released_at and finished_at > released_at[0]  # it ran only after the holder let go


def test_second_push_gives_up_naming_the_holder(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_t(repo, T_SAME + ", KEY name (name)")

    async def blocked_push() -> int:
        async with Instance(server.params) as inst, inst.session() as s:
            await s.query("SELECT GET_LOCK(%s, 5)", (push_lock_name(SCHEMA),))
            conn_id = (await s.query("SELECT CONNECTION_ID() AS id"))[0]["id"]
            code = await asyncio.to_thread(main, ["push", "--push-lock-timeout=1"])
            await s.query("SELECT RELEASE_LOCK(%s)", (push_lock_name(SCHEMA),))
            assert f"connection {conn_id}" in caplog.text
            return code

    assert asyncio.run(blocked_push()) == 2
    assert "another push to schema push_safe is running" in caplog.text
    assert "KEY `name`" not in snapshot(server)["table `t`"]


def _temp_schemas(server: DBServer) -> list[str]:
    return asyncio.run(temp_schemas_left(server.params))


def test_temp_schema_is_gone_after_every_failure_path(server: DBServer, repo: Path) -> None:
    (repo / "bad.sql").write_text("CREATE TABLE bad (id int,, x int);\n")
    assert main(["diff"]) == 2  # workspace failure
    assert _temp_schemas(server) == []
    (repo / "bad.sql").unlink()
    write_t(repo, T_SAME + ", UNIQUE KEY qty (qty)")
    assert main(["push"]) == 2  # statement failure on the live table
    assert _temp_schemas(server) == []
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + "alter-wrapper=/bin/false {TABLE}\n")
    assert main(["push"]) == 2  # wrapper failure
    assert _temp_schemas(server) == []


def test_temp_schema_is_gone_after_a_cancel(server: DBServer) -> None:
    from schemad.fs.logical import LogicalSchema
    from schemad.workspace.scratch import WorkspaceOptions
    from schemad.workspace.tempschema import exec_statements

    texts = {f"t{i}.sql": f"CREATE TABLE t{i} (id int PRIMARY KEY, v varchar(10));\n" for i in range(300)}
    logical = LogicalSchema.from_texts(texts)

    async def cancel_midway() -> None:
        task = asyncio.create_task(
            exec_statements(
                server.params,
                logical.creates.values(),
                schema_name="x",
                char_set="utf8mb4",
                collation="utf8mb4_general_ci",
                options=WorkspaceOptions(concurrency=1),
            )
        )
        async with Instance(server.params) as probe:
            for _ in range(500):  # wait until the workspace exists and holds some tables
                await asyncio.sleep(0.01)
                rows = await probe.query(
                    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = '_skeema_tmp'"
                )
                if rows[0]["n"]:
                    break
            else:
                pytest.fail("the workspace never started")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    assert _temp_schemas(server) == []
