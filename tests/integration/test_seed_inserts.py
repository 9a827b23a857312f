"""Issue 14, point 6: seed data, the INSERT statements of a schema dir's *.sql files.

`push` runs a table's INSERTs right after it creates the table, or on a live
table that is empty (Skeema's `inserts=seed`), never on a table that has
rows; `diff` shows them; `inserts=none` turns them off.  `pull
--update-seed-inserts` rewrites them from the live rows (every kind of value
round-trips), and leaves the tables without INSERTs alone.  `lint` places an
INSERT that does not fit its table at its file:line; a form push would not
accept (another schema, INSERT ... SELECT, a second statement) is refused
there too and never reaches a server.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.apply.executor import execute_plan
from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectKey, ObjectType
from schemad.service.drift import render_sql
from schemad.service.environment import RepoEnvironment
from schemad.workspace.cache import CanonicalCache
from tests.conftest import DBServer
from tests.helpers import load_sql

PID = os.getpid()
SCHEMA, OTHER = f"seed_app_{PID}", f"seed_other_{PID}"

COLORS = (
    "CREATE TABLE colors (\n  id int NOT NULL,\n  name varchar(20) NOT NULL,\n  PRIMARY KEY (id)\n);\n"
    "INSERT INTO colors (id, name) VALUES (1, 'red'), (2, 'green');\n"
    "INSERT INTO colors (id, name) VALUES (3, 'blue');\n"
)
PLAIN = "CREATE TABLE plain (\n  id int NOT NULL,\n  PRIMARY KEY (id)\n);\n"


def sql(server: DBServer, text: str) -> None:
    asyncio.run(load_sql(server.params, None, text))


async def _rows(server: DBServer, query: str) -> list[tuple[object, ...]]:
    async with Instance(server.params) as inst:
        return [tuple(r.values()) for r in await inst.query(query)]


def rows(server: DBServer, table: str, schema: str = SCHEMA) -> list[tuple[object, ...]]:
    return asyncio.run(_rows(server, f"SELECT * FROM `{schema}`.`{table}` ORDER BY 1"))


def tables(server: DBServer) -> list[tuple[object, ...]]:
    q = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{SCHEMA}' ORDER BY 1"
    return asyncio.run(_rows(server, q))


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty live schema, and a repo whose schema dir holds colors.sql (CREATE + INSERTs) and plain.sql."""
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; DROP DATABASE IF EXISTS {OTHER};")
    sql(server, f"CREATE DATABASE {SCHEMA}; CREATE DATABASE {OTHER}; CREATE TABLE {OTHER}.t (id int);")
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    schema_dir = tmp_path / SCHEMA
    schema_dir.mkdir()
    (schema_dir / ".skeema").write_text(f"schema={SCHEMA}\n")
    (schema_dir / "colors.sql").write_text(COLORS)
    (schema_dir / "plain.sql").write_text(PLAIN)
    monkeypatch.chdir(tmp_path)
    try:
        yield schema_dir
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; DROP DATABASE IF EXISTS {OTHER};")


def test_push_creates_the_table_then_inserts_once(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--no-cache"]) == 1
    out = capsys.readouterr().out
    create = out.index("CREATE TABLE `colors`")
    first = out.index("INSERT INTO colors (id, name) VALUES (1, 'red'), (2, 'green');\n")
    second = out.index("INSERT INTO colors (id, name) VALUES (3, 'blue');\n")
    assert create < first < second
    assert out.count("INSERT") == 2  # plain has none
    assert tables(server) == []  # diff ran nothing

    assert main(["push"]) == 0
    assert rows(server, "colors") == [(1, "red"), (2, "green"), (3, "blue")]
    capsys.readouterr()
    assert main(["diff"]) == 0  # the table has rows now: nothing to do
    assert "INSERT" not in capsys.readouterr().out
    assert main(["push"]) == 0
    assert rows(server, "colors") == [(1, "red"), (2, "green"), (3, "blue")]


def test_a_table_with_rows_is_never_seeded_an_empty_one_is(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql(
        server, f"CREATE TABLE {SCHEMA}.colors (id int NOT NULL, name varchar(20) NOT NULL, PRIMARY KEY (id))"
    )
    sql(server, f"INSERT INTO {SCHEMA}.colors VALUES (9, 'mine')")
    assert main(["diff", "--no-cache"]) == 1  # plain is new
    assert "INSERT" not in capsys.readouterr().out
    assert main(["push"]) == 0
    assert rows(server, "colors") == [(9, "mine")]

    sql(server, f"DELETE FROM {SCHEMA}.colors")  # the same table, empty: Skeema seeds it
    capsys.readouterr()
    assert main(["diff"]) == 1
    out = capsys.readouterr().out
    assert "CREATE" not in out and out.count("INSERT INTO colors") == 2
    assert main(["push"]) == 0
    assert rows(server, "colors") == [(1, "red"), (2, "green"), (3, "blue")]
    assert main(["diff"]) == 0


def test_inserts_none_leaves_them_out(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["push", "--inserts=none"]) == 0
    assert rows(server, "colors") == []
    assert main(["diff", "--inserts=none"]) == 0
    assert main(["diff"]) == 1  # the default, seed: the table is empty
    assert "INSERT INTO colors" in capsys.readouterr().out
    assert main(["diff", "--skip-inserts"]) == 0
    (repo / ".skeema").write_text(f"schema={SCHEMA}\ninserts=all\n")  # Skeema's `all`: refused here
    assert main(["diff"]) == 2  # a subdir's bad option skips its dir
    assert '.skeema:2: option inserts can only be set to one of these values: "none", "seed"' in caplog.text


TRICKY = (
    "CREATE TABLE `tricky` (\n"
    "  `id` int(11) NOT NULL,\n"
    "  `s` varchar(100) DEFAULT NULL,\n"
    "  `t` text DEFAULT NULL,\n"
    "  `b` varbinary(20) DEFAULT NULL,\n"
    "  `bl` blob DEFAULT NULL,\n"
    "  `d` date DEFAULT NULL,\n"
    "  `dt` datetime(6) DEFAULT NULL,\n"
    "  `tm` time DEFAULT NULL,\n"
    "  `dec` decimal(20,10) DEFAULT NULL,\n"
    "  `f` double DEFAULT NULL,\n"
    "  `bt` bit(5) DEFAULT NULL,\n"
    "  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),\n"
    "  `e` enum('a','b') DEFAULT NULL,\n"
    "  `st` set('x','y') DEFAULT NULL,\n"
    "  `g` int(11) GENERATED ALWAYS AS (`id` * 2) VIRTUAL,\n"
    "  PRIMARY KEY (`id`)\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
)
# Written by hand, in no particular order: pull rewrites them in primary-key order.
TRICKY_ROWS = (
    "INSERT INTO tricky (id, s, t, b, bl, d, dt, tm, `dec`, f, bt, j, e, st) VALUES\n"
    "(3, 'it''s \\\\ a \"quote\"', 'line1\\nline2\\r\\ttab', 0x00FF27, X'', '2024-02-29',"
    " '2024-01-02 03:04:05.123456', '-838:59:59', -12.3456789012, 0.1, b'10101',"
    " '{\"k\": [1, \"v\\\\\\\\\"]}', 'b', 'x,y'),\n"
    "(1, 'nul\\0 and ^Z\\Z and é ✓ 😀', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, ''),\n"
    "(2, '', '', '', 0x5c27, '1000-01-01', '9999-12-31 23:59:59.999999', '00:00:00', 0, -1.5e-300,"
    " 0, 'null', 'a', 'y');\n"
)
# Every value, exactly as stored.
EXACT = (
    "SELECT id, HEX(s), HEX(t), HEX(b), HEX(bl), d, dt, tm, `dec`, f, bt + 0, HEX(j), e, st, g"
    " FROM `{schema}`.`tricky` ORDER BY id"
)


def test_pull_update_seed_inserts_round_trips_every_kind_of_value(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sql(server, f"USE {SCHEMA}; {TRICKY} {TRICKY_ROWS} {PLAIN} INSERT INTO plain VALUES (1), (2);")
    stored = asyncio.run(_rows(server, EXACT.format(schema=SCHEMA)))
    assert len(stored) == 3
    tricky = repo / "tricky.sql"
    tricky.write_text(TRICKY + "-- seed data, kept by pull\nINSERT INTO tricky (id) VALUES (99);\n")
    assert main(["pull", "--skip-new-schemas"]) == 0  # without the option: the INSERT stays as written
    assert "INSERT INTO tricky (id) VALUES (99);\n" in tricky.read_text()
    assert "INSERT" not in (repo / "plain.sql").read_text()  # a table without INSERTs gets none

    assert main(["pull", "--skip-new-schemas", "--update-seed-inserts"]) == 0
    text = tricky.read_text()
    create, seed = text.split("-- seed data, kept by pull\n")
    assert create == TRICKY
    head = (
        "INSERT INTO `tricky` (`id`, `s`, `t`, `b`, `bl`, `d`, `dt`, `tm`, `dec`, `f`, `bt`, `j`, `e`, `st`)"
    )
    assert seed.startswith(head + " VALUES\n")  # not `g`: generated, the server fills it
    assert [line[:3] for line in text.splitlines() if line.startswith("(")] == ["(1,", "(2,", "(3,"]
    assert "INSERT" not in (repo / "plain.sql").read_text()
    text.encode("utf-8")  # the file is text whatever the bytes

    # Round trip: the written INSERT, pushed into the emptied table, gives back every value exactly.
    sql(server, f"DELETE FROM {SCHEMA}.tricky")
    assert main(["push"]) == 0
    assert asyncio.run(_rows(server, EXACT.format(schema=SCHEMA))) == stored
    assert main(["pull", "--skip-new-schemas", "--update-seed-inserts"]) == 0
    assert tricky.read_text() == text  # and pulled again, byte for byte


def test_pull_leaves_seeds_of_an_empty_or_huge_table_and_drops_those_of_a_dropped_one(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["push"]) == 0
    sql(server, f"DELETE FROM {SCHEMA}.colors")
    colors = repo / "colors.sql"
    assert main(["pull", "--skip-new-schemas", "--update-seed-inserts"]) == 0
    assert colors.read_text().endswith(COLORS.split(";\n", 1)[1])  # no live rows: kept as written
    assert "table colors has no rows; its INSERTs were left as they are" in caplog.text

    import schemad.introspect.seedrows as seedrows

    sql(server, f"INSERT INTO {SCHEMA}.colors VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    monkeypatch.setattr(seedrows.read_seed_rows, "__defaults__", (2,))  # a limit of 2 rows
    assert main(["pull", "--skip-new-schemas", "--update-seed-inserts"]) == 0
    assert colors.read_text().endswith(COLORS.split(";\n", 1)[1])
    assert "table colors has more than 10000 rows" in caplog.text

    sql(server, f"DROP TABLE {SCHEMA}.colors")
    assert main(["pull", "--skip-new-schemas"]) == 0
    assert not colors.exists()  # the CREATE went, and its INSERTs with it


def test_lint_places_an_insert_that_does_not_fit_its_table(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    colors = repo / "colors.sql"
    colors.write_text(COLORS + "INSERT INTO colors (id, nope) VALUES (4, 'x');\n")
    assert main(["lint", "--skip-format"]) == 2
    assert f"{colors}:8:1: table `colors`: column `nope` does not exist in table `colors`" in caplog.text
    colors.write_text(COLORS + "INSERT INTO colors VALUES (4);\n")
    assert main(["lint", "--skip-format"]) == 2
    assert f"{colors}:8:1: table `colors`: row 1 has 1 value(s) for 2 column(s)" in caplog.text
    (repo / "ghost.sql").write_text("INSERT INTO ghost VALUES (1);\n")
    colors.write_text(COLORS)
    assert main(["lint", "--skip-format"]) == 2
    assert "ghost.sql:1:1: table `ghost`: INSERT into table `ghost`, which no CREATE TABLE" in caplog.text
    # diff and push refuse the target the same way, and nothing runs.
    assert main(["push"]) == 2
    assert tables(server) == []
    (repo / "ghost.sql").unlink()
    assert main(["lint", "--skip-format"]) == 0


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"INSERT INTO {OTHER}.t VALUES (1);\n", f"INSERT into schema `{OTHER}`"),
        (f"INSERT INTO colors SELECT id, 'x' FROM {OTHER}.t;\n", "INSERT ... SELECT is not accepted"),
        ("INSERT INTO colors VALUES (5, (SELECT USER()));\n", "subqueries and parenthesised expressions"),
        (
            "INSERT INTO colors VALUES (5, 'x') ON DUPLICATE KEY UPDATE name = 'y';\n",
            "ON DUPLICATE KEY UPDATE",
        ),
        ("REPLACE INTO colors VALUES (5, 'x');\n", "REPLACE is not accepted"),
        ("INSERT INTO colors VALUES (5, sleep(5));\n", "function sleep() is not allowed"),
        (
            "DELIMITER //\nINSERT INTO colors VALUES (5, 'x'); DROP DATABASE mysql//\nDELIMITER ;\n",
            "more than one statement",
        ),
    ],
)
def test_hostile_forms_are_refused_at_file_line(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture, text: str, why: str
) -> None:
    bad = repo / "zz_bad.sql"
    bad.write_text("-- first line\n" + text)
    line = 3 if text.startswith("DELIMITER") else 2
    for command in (["diff"], ["push"], ["lint", "--skip-format"]):
        caplog.clear()
        assert main(command) == 2, command
        assert f"{bad}:{line}:" in caplog.text and why in caplog.text, (command, caplog.text)
    assert tables(server) == []  # the push never reached the schema
    assert rows(server, "t", OTHER) == []


def test_the_daemon_diffs_and_plans_the_same_inserts(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--verbose"]) == 1
    cli = capsys.readouterr().out
    cli_hash = cli.split("-- plan_hash: ", 1)[1].split("\n", 1)[0]
    cli_sql = cli.replace(f"-- plan_hash: {cli_hash}\n", "")

    async def daemon() -> tuple[str, str, str | None]:
        env = RepoEnvironment("r", repo.parent, "production", CanonicalCache(repo.parent / "c.sqlite3"))
        try:
            await env.evaluate()
            text = render_sql(env.diffs())
            (key,) = env.targets
            plan = await env.push_plan(key, allow_unsafe=False)
            (repo / "colors.sql").write_text(COLORS + "INSERT INTO colors (id, nope) VALUES (4, 'x');\n")
            env2 = RepoEnvironment("r", repo.parent, "production", CanonicalCache(repo.parent / "c.sqlite3"))
            try:
                await env2.evaluate()
                error = env2.targets[key].error
            finally:
                await env2.close()
            return text, plan.plan_hash, error
        finally:
            await env.close()

    text, plan_hash, error = asyncio.run(daemon())
    assert text == cli_sql and "INSERT INTO colors (id, name) VALUES (3, 'blue');" in text
    assert plan_hash == cli_hash
    assert error is not None and f"{repo / 'colors.sql'}:8:1: table `colors`: column `nope`" in error
    assert tables(server) == []  # the daemon ran nothing


def test_the_push_asks_the_table_right_before_and_runs_one_statement_per_step(
    server: DBServer, repo: Path
) -> None:
    """The executor's own guard, whatever the plan said: a table with rows is refused; `;` is no separator."""
    sql(server, f"USE {SCHEMA}; {PLAIN} CREATE TABLE other (id int); INSERT INTO other VALUES (7);")
    key = ObjectKey(ObjectType.TABLE, "plain")

    def run(*steps: Step) -> list[tuple[str, str | None]]:
        record = asyncio.run(execute_plan(server.params, SCHEMA, list(steps)))
        return [(r.status.value, r.error) for r in record.results]

    hidden = Step(key, DiffKind.INSERT, "INSERT INTO plain VALUES (1); DROP TABLE other")
    (result,) = run(hidden)
    assert result[0] == "failed" and "1064" in (result[1] or "")  # a syntax error: one statement only
    assert rows(server, "other") == [(7,)] and rows(server, "plain") == []

    first, second = (Step(key, DiffKind.INSERT, f"INSERT INTO plain VALUES ({n})") for n in (1, 2))
    assert run(first, second) == [("done", None), ("done", None)]  # asked once, before the first
    assert rows(server, "plain") == [(1,), (2,)]
    third = Step(key, DiffKind.INSERT, "INSERT INTO plain VALUES (3)")
    assert run(third) == [("failed", "table `plain` already has rows: its seed INSERT was not run")]
    assert rows(server, "plain") == [(1,), (2,)]


def test_a_session_sql_mode_that_reads_quotes_differently_does_not_apply_to_seeds(
    server: DBServer, repo: Path
) -> None:
    # The INSERT is admitted as read with backslash escapes; a target session with NO_BACKSLASH_ESCAPES
    # would read `\'` as the end of the string.  The seeds run with the default quoting and the
    # session's own mode is back for what follows (the procedure keeps it).
    (repo.parent / ".skeema").write_text(
        (repo.parent / ".skeema").read_text()
        + "connect-options=\"sql_mode='NO_BACKSLASH_ESCAPES,ANSI_QUOTES,STRICT_TRANS_TABLES'\"\n"
    )
    (repo / "colors.sql").write_text(
        COLORS + "INSERT INTO colors (id, name) VALUES (4, 'it\\'s'), (5, \"x\");\n"
    )
    (repo / "p.sql").write_text("CREATE PROCEDURE p() SELECT 1;\n")
    assert main(["push"]) == 0
    assert rows(server, "colors")[3:] == [(4, "it's"), (5, "x")]
    mode = asyncio.run(
        _rows(server, f"SELECT sql_mode FROM information_schema.routines WHERE routine_schema = '{SCHEMA}'")
    )
    assert mode and "NO_BACKSLASH_ESCAPES" in str(mode[0][0]) and "ANSI_QUOTES" in str(mode[0][0])
