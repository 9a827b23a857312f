"""An ALTER of a MariaDB system-versioned table is never handed to the alter-wrapper.

An online-schema-change tool copies the current rows into a new table and
swaps it in: the history rows of a table `WITH SYSTEM VERSIONING` would be
lost.  When such an ALTER would go to the alter-wrapper, the target is
refused before any of its statements runs, in `diff` and `push` as in the
daemon's diff and push; with alter-wrapper-min-size above the table's size
the server alters it in place and keeps the history, while a bigger plain
table of the same push still goes to the wrapper.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemad.api.app import create_app
from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.daemon_config import DaemonConfig, RepoConfig, Token
from schemad.plan.planner import table_sizes
from tests.conftest import DBServer
from tests.helpers import load_sql

pytestmark = pytest.mark.db

SCHEMA = "wrap_versioned"
HIST = "CREATE TABLE hist (id int NOT NULL PRIMARY KEY, qty int) WITH SYSTEM VERSIONING;\n"
HIST_ADDED = (
    "CREATE TABLE hist (id int NOT NULL PRIMARY KEY, qty int, note varchar(20)) WITH SYSTEM VERSIONING;\n"
)
BIG = "CREATE TABLE big (id int NOT NULL PRIMARY KEY, name varchar(20));\n"
BIG_ADDED = "CREATE TABLE big (id int NOT NULL PRIMARY KEY, name varchar(20), added int);\n"
# Rows with a history: two inserted, one updated twice, one deleted.
HISTORY = (
    "INSERT INTO hist (id, qty) VALUES (1, 1), (2, 2); UPDATE hist SET qty = 10 WHERE id = 1;"
    " UPDATE hist SET qty = 11 WHERE id = 1; DELETE FROM hist WHERE id = 2;"
)
TOKEN = "versioned-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


async def _state(server: DBServer) -> dict[str, Any]:
    """hist's columns and row versions (history included), big's columns, sizes as the planner reads them."""
    async with Instance(server.params) as inst:
        cols = await inst.query(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns"
            " WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (SCHEMA,),
        )
        every = await inst.query(f"SELECT COUNT(*) AS n FROM {SCHEMA}.hist FOR SYSTEM_TIME ALL")
        now = await inst.query(f"SELECT COUNT(*) AS n FROM {SCHEMA}.hist")
        sizes = await table_sizes(inst, SCHEMA, ["big", "hist"])
    by_table: dict[str, list[str]] = {}
    for r in cols:
        by_table.setdefault(r["t"], []).append(r["c"])
    return {
        "hist": by_table["hist"],
        "big": by_table["big"],
        "versions": int(every[0]["n"]),
        "rows": int(now[0]["n"]),
        "sizes": sizes,
    }


def state(server: DBServer) -> dict[str, Any]:
    return asyncio.run(_state(server))


def write_repo(root: Path, server: DBServer, record: Path) -> Path:
    """A repo whose files add a column to both tables; the alter-wrapper only records the table it gets."""
    root.mkdir(parents=True)
    p = server.params
    password = f"password={p.password}\n" if p.password else ""
    (root / ".skeema").write_text(f"[test]\nhost={p.host}\nport={p.port}\nuser={p.user}\n{password}")
    d = root / SCHEMA
    d.mkdir()
    (d / ".skeema").write_text(
        f"schema={SCHEMA}\nalter-wrapper=echo wrapped {{TABLE}} >> {record}\nalter-wrapper-min-size=0\n"
    )
    (d / "hist.sql").write_text(HIST_ADDED)
    (d / "big.sql").write_text(BIG_ADDED)
    return d


@pytest.fixture
def tables(server: DBServer) -> Iterator[None]:
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}")
    rows = ",".join(f"({i}, 'n{i}')" for i in range(1, 10001))
    sql(server, f"{HIST}{HISTORY}{BIG}INSERT INTO big VALUES {rows}; ANALYZE TABLE big, hist;", SCHEMA)
    yield
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}")


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """The root logger as it was: the CLI adds a handler on this test's captured STDERR."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_push_refuses_the_wrapper_for_a_versioned_table_and_runs_it_in_place_below_the_min_size(
    server: DBServer,
    tables: None,
    cli_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    record = tmp_path / "wrapped.log"
    write_repo(tmp_path / "repo", server, record)
    monkeypatch.chdir(tmp_path / "repo")
    before = state(server)
    assert before["versions"] == 4 and before["rows"] == 1  # 3 history rows behind the current one
    assert before["hist"] == ["id", "qty"] and before["big"] == ["id", "name"]

    # min size 0: hist's ALTER would go to the wrapper.  diff shows the error, no statement of the target.
    assert main(["diff", "test"]) == 2
    out, _ = capfd.readouterr()
    assert "ALTER TABLE" not in out and "\\!" not in out
    refusal = [r.getMessage() for r in caplog.records if "system-versioned" in r.getMessage()]
    assert len(refusal) == 1
    assert f"`{SCHEMA}`.`hist`" in refusal[0] and "history" in refusal[0]
    assert "alter-wrapper-min-size" in refusal[0] and "by hand" in refusal[0]
    caplog.clear()

    # push: refused before any statement of the target runs, big's wrapper included.
    assert main(["push", "test"]) == 2
    capfd.readouterr()
    assert any("`hist`" in r.getMessage() and "history" in r.getMessage() for r in caplog.records)
    assert not record.exists()
    after = state(server)
    assert after["hist"] == before["hist"] and after["big"] == before["big"]
    assert after["versions"] == before["versions"] and after["rows"] == before["rows"]

    # Above hist's size (the message's advice), below big's: hist is altered in place, big is wrapped.
    hist_size, big_size = before["sizes"]["hist"], before["sizes"]["big"]
    assert 0 < hist_size < big_size
    flag = f"--alter-wrapper-min-size={hist_size + 1}"
    assert main(["diff", "test", flag]) == 1
    out, _ = capfd.readouterr()
    assert "\\! echo wrapped big" in out
    assert (
        "SET STATEMENT system_versioning_alter_history=KEEP FOR ALTER TABLE `hist`"
        " ADD COLUMN `note` varchar(20) DEFAULT NULL;" in out
    )
    assert main(["push", "test", flag]) == 0
    capfd.readouterr()
    assert record.read_text().splitlines() == ["wrapped big"]  # the wrapper got big only
    done = state(server)
    assert done["hist"] == ["id", "qty", "note"]
    assert done["versions"] == before["versions"] and done["rows"] == before["rows"]  # history kept
    assert done["big"] == ["id", "name"]  # the echo wrapper, not schemad, had big's ALTER


async def test_daemon_diff_and_push_carry_the_refusal_and_run_nothing(
    server: DBServer, tables: None, tmp_path: Path, aiohttp_client: Any
) -> None:
    record = tmp_path / "wrapped.log"
    root = tmp_path / "repo"
    await asyncio.to_thread(write_repo, root, server, record)
    before = await _state(server)
    cfg = DaemonConfig(
        state_dir=tmp_path / "state",
        refresh_min_interval=0.0,
        repos=(RepoConfig("app", root, environments=("test",)),),
        tokens=(
            Token("admin", hashlib.sha256(TOKEN.encode()).hexdigest(), frozenset({"read", "push:test"})),
        ),
    )
    client = await aiohttp_client(create_app(cfg))
    deadline = time.monotonic() + 60
    while True:
        r = await client.get("/v1/environments/test/diff", headers=AUTH)
        assert r.status == 200
        doc = await r.json()
        errors = [t["error"] for t in doc["targets"] if t["error"]]
        if errors and "system-versioned" in errors[0]:
            break
        assert time.monotonic() < deadline, doc
        await asyncio.sleep(0.2)
    assert f"`{SCHEMA}`.`hist`" in errors[0] and "history" in errors[0]

    r = await client.post("/v1/environments/test/push", json={"plan_hash": doc["plan_hash"]}, headers=AUTH)
    assert r.status == 422
    error = (await r.json())["error"]
    assert error["code"] == "plan_blocked"
    assert "`hist`" in error["message"] and "history" in error["message"]

    r = await client.get("/v1/jobs", headers=AUTH)
    assert r.status == 200 and (await r.json())["jobs"] == []  # no job: nothing was run
    assert not record.exists()
    after = await _state(server)
    assert after["hist"] == before["hist"] and after["big"] == before["big"]
    assert after["versions"] == before["versions"]
