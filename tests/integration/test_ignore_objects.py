"""ignore-view, ignore-trigger, ignore-event (and ignore-table on views and triggers) on a real server.

Issue 14.7, as Skeema Premium documents them: a matching object is left out
of init and pull, on the server and in the files, so push never creates,
alters or drops it, even with allow-unsafe; one that does not match is
managed as usual.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from tests.conftest import DBServer
from tests.helpers import load_sql

APP = f"ign_app_{os.getpid()}"

LIVE = f"""
DROP DATABASE IF EXISTS {APP};
CREATE DATABASE {APP} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE {APP};
CREATE TABLE users (id int PRIMARY KEY, email varchar(100));
CREATE TABLE tmp_log (id int PRIMARY KEY);
CREATE VIEW v_keep AS SELECT id FROM users;
CREATE VIEW skip_view AS SELECT id FROM users;
CREATE VIEW tmp_view AS SELECT id FROM users;
CREATE TRIGGER trg_keep BEFORE INSERT ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email);
CREATE TRIGGER skip_trg BEFORE UPDATE ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email);
CREATE TRIGGER audit BEFORE INSERT ON tmp_log FOR EACH ROW SET NEW.id = NEW.id + 1;
CREATE EVENT ev_keep ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM users;
CREATE EVENT skip_ev ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM users;
"""

IGNORES = ["--ignore-table=^tmp_", "--ignore-view=^skip_", "--ignore-trigger=^skip_", "--ignore-event=^skip_"]
IGNORED = {
    ("view", "skip_view"),
    ("view", "tmp_view"),
    ("table", "tmp_log"),
    ("trigger", "skip_trg"),
    ("trigger", "audit"),
    ("event", "skip_ev"),
}
OBJECTS_SQL = """
SELECT IF(table_type = 'VIEW', 'view', 'table') AS t, table_name AS n FROM information_schema.tables
 WHERE table_schema = %s
UNION ALL SELECT 'trigger', trigger_name FROM information_schema.triggers WHERE trigger_schema = %s
UNION ALL SELECT 'event', event_name FROM information_schema.events WHERE event_schema = %s
"""


def live_objects(params: ConnParams) -> set[tuple[str, str]]:
    async def run() -> set[tuple[str, str]]:
        async with Instance(params, pool_size=1) as inst:
            rows = await inst.query(OBJECTS_SQL, (APP, APP, APP))
        return {(str(r["t"]), str(r["n"])) for r in rows}

    return asyncio.run(run())


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    asyncio.run(load_sql(server.params, None, LIVE))
    p = server.params
    d = tmp_path / "repo"
    args = ["init", "-h", p.host, "-P", str(p.port), "-u", p.user, "--schema", APP, "--dir", str(d)]
    assert main(args + IGNORES) == 0
    monkeypatch.chdir(d)
    try:
        yield d
    finally:
        asyncio.run(load_sql(server.params, None, f"DROP DATABASE IF EXISTS {APP}"))


def test_init_writes_only_what_is_not_ignored(repo: Path) -> None:
    text = "".join(f.read_text() for f in sorted(repo.glob("*.sql")))
    assert sorted(f.name for f in repo.glob("*.sql")) == [
        "ev_keep.sql",
        "trg_keep.sql",
        "users.sql",
        "v_keep.sql",
    ]
    for ignored in ("tmp_log", "skip_view", "tmp_view", "skip_trg", "audit", "skip_ev"):
        assert ignored not in text
    options = (repo / ".skeema").read_text()
    assert "ignore-view=^skip_" in options and "ignore-event=^skip_" in options  # copied from the CLI
    assert main(["diff"]) == 0  # the ignored live objects are no difference


def test_push_leaves_ignored_objects_alone_even_with_allow_unsafe(server: DBServer, repo: Path) -> None:
    for f in ("v_keep.sql", "trg_keep.sql", "ev_keep.sql"):
        (repo / f).unlink()
    # Files naming ignored objects are left out too: never created, never compared.
    (repo / "more.sql").write_text(
        "CREATE VIEW skip_new AS SELECT 1 AS x;\nCREATE TABLE tmp_new (id int PRIMARY KEY);\n"
        "CREATE EVENT skip_ev2 ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1;\n"
    )
    before = live_objects(server.params)
    assert before >= IGNORED
    assert main(["push", "--allow-unsafe"]) == 0
    after = live_objects(server.params)
    assert after == before - {("view", "v_keep"), ("trigger", "trg_keep"), ("event", "ev_keep")}
    assert main(["diff", "--allow-unsafe"]) == 0


def test_pull_keeps_a_files_trigger_on_an_ignored_table(server: DBServer, repo: Path) -> None:
    kept = "CREATE TABLE tmp_log (id int PRIMARY KEY);\nCREATE TRIGGER audit BEFORE INSERT ON tmp_log\n"
    kept += "FOR EACH ROW SET NEW.id = NEW.id + 2;\n"
    (repo / "tmp_log.sql").write_text(kept)
    asyncio.run(load_sql(server.params, APP, "DROP VIEW skip_view; DROP VIEW v_keep"))
    assert main(["pull"]) == 0
    assert (repo / "tmp_log.sql").read_text() == kept  # ignored: left as written
    assert not (repo / "v_keep.sql").exists()  # not ignored: follows the server
