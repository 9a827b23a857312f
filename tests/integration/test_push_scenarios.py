"""Push converges: for each scenario, after `push` the live schema matches the files and `diff` exits 0.

Each scenario is the SQL of a schema before (loaded into the live server) and
after (written as the repo's *.sql files).  The push runs through the CLI,
exactly as a user would run it, with --allow-unsafe so every kind of change
is exercised; safety itself is tested separately.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.api.payloads import step_json
from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.introspect.introspector import introspect_schema
from schemad.model.flavor import Flavor
from schemad.service.drift import render_sql
from schemad.service.environment import RepoEnvironment
from schemad.sqltext.splitter import StatementKind, split
from schemad.workspace.cache import CanonicalCache
from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMA = "push_scn"

T_PARENT = (
    "CREATE TABLE parent (id int NOT NULL PRIMARY KEY, code varchar(10) NOT NULL, UNIQUE KEY code (code));\n"
)
T_BASE = (
    "CREATE TABLE t (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL DEFAULT '',"
    " qty int DEFAULT NULL, note text, created datetime DEFAULT NULL, KEY name (name));\n"
)


def _t(cols: str, tail: str = "") -> str:
    return f"CREATE TABLE t ({cols}){tail};\n"


PROC = "DELIMITER //\nCREATE PROCEDURE p(IN x int)\nBEGIN\n  SELECT x;\nEND//\nDELIMITER ;\n"
PROC2 = "DELIMITER //\nCREATE PROCEDURE p(IN x int)\nBEGIN\n  SELECT x + 1;\nEND//\nDELIMITER ;\n"
PROC_SIG = "DELIMITER //\nCREATE PROCEDURE p(IN x int, IN y int)\nBEGIN\n  SELECT x, y;\nEND//\nDELIMITER ;\n"
PROC_COMMENT = PROC.replace("(IN x int)\n", "(IN x int)\n    COMMENT 'documented'\n")
FUNC = "CREATE FUNCTION f(a int) RETURNS int DETERMINISTIC RETURN a * 2;\n"
FUNC2 = "CREATE FUNCTION f(a int) RETURNS int DETERMINISTIC RETURN a * 3;\n"
VIEW = "CREATE VIEW v AS SELECT id, name FROM t;\n"
VIEW2 = "CREATE VIEW v AS SELECT id, name, qty FROM t WHERE qty > 0;\n"
VIEW_ON_VIEW = "CREATE VIEW vv AS SELECT id FROM v;\n"
TRIG = "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.qty = 1;\n"
TRIG2 = "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.qty = 2;\n"
EVENT = (
    "CREATE EVENT ev ON SCHEDULE EVERY 1 DAY STARTS '2031-01-01 00:00:00' DO DELETE FROM t WHERE qty = 0;\n"
)
EVENT2 = (
    "CREATE EVENT ev ON SCHEDULE EVERY 2 DAY STARTS '2031-01-01 00:00:00' DO DELETE FROM t WHERE qty = 0;\n"
)

SCENARIOS: dict[str, tuple[str, str]] = {
    # tables: columns
    "add column": (T_BASE, T_BASE.replace("note text,", "note text, extra int NOT NULL DEFAULT 5,")),
    "drop column": (T_BASE, T_BASE.replace(" qty int DEFAULT NULL,", "")),
    "widen varchar": (T_BASE, T_BASE.replace("varchar(50)", "varchar(200)")),
    "narrow varchar": (T_BASE, T_BASE.replace("varchar(50)", "varchar(20)")),
    "int to bigint": (T_BASE, T_BASE.replace("qty int", "qty bigint")),
    "change default": (T_BASE, T_BASE.replace("DEFAULT ''", "DEFAULT 'x'")),
    "null to not null": (T_BASE, T_BASE.replace("qty int DEFAULT NULL", "qty int NOT NULL DEFAULT 0")),
    "reorder columns": (
        T_BASE,
        _t(
            "id int NOT NULL AUTO_INCREMENT PRIMARY KEY, qty int DEFAULT NULL, "
            "name varchar(50) NOT NULL DEFAULT '', note text, created datetime DEFAULT NULL, "
            "KEY name (name)"
        ),
    ),
    "move column first": (
        T_BASE,
        _t(
            "note text, id int NOT NULL AUTO_INCREMENT PRIMARY KEY, "
            "name varchar(50) NOT NULL DEFAULT '', qty int DEFAULT NULL, "
            "created datetime DEFAULT NULL, KEY name (name)"
        ),
    ),
    "column charset": (T_BASE, T_BASE.replace("note text", "note text CHARACTER SET latin1")),
    "column collation": (T_BASE, T_BASE.replace("varchar(50)", "varchar(50) COLLATE utf8mb4_bin")),
    "column comment": (
        T_BASE,
        T_BASE.replace("qty int DEFAULT NULL", "qty int DEFAULT NULL COMMENT 'how many'"),
    ),
    "on update": (
        T_BASE,
        T_BASE.replace(
            "created datetime DEFAULT NULL",
            "created datetime DEFAULT current_timestamp() ON UPDATE current_timestamp()",
        ),
    ),
    "generated virtual": (T_BASE, T_BASE.replace("note text,", "note text, dbl int AS (qty * 2) VIRTUAL,")),
    "generated stored": (T_BASE, T_BASE.replace("note text,", "note text, dbl int AS (qty * 2) STORED,")),
    "invisible column": (T_BASE, T_BASE.replace("note text,", "note text, hid int INVISIBLE,")),
    "enum append": (_t("id int PRIMARY KEY, s enum('a','b')"), _t("id int PRIMARY KEY, s enum('a','b','c')")),
    # tables: keys
    "add index": (T_BASE, T_BASE.replace("KEY name (name)", "KEY name (name), KEY qty (qty)")),
    "drop index": (T_BASE, T_BASE.replace(", KEY name (name)", "")),
    "change index": (T_BASE, T_BASE.replace("KEY name (name)", "KEY name (name, qty)")),
    "unique index": (T_BASE, T_BASE.replace("KEY name (name)", "UNIQUE KEY name (name)")),
    "prefix index": (T_BASE, T_BASE.replace("KEY name (name)", "KEY name (name), KEY note (note(10))")),
    "fulltext index": (T_BASE, T_BASE.replace("KEY name (name)", "KEY name (name), FULLTEXT KEY ft (note)")),
    "ignored index": (T_BASE, T_BASE.replace("KEY name (name)", "KEY name (name) IGNORED")),
    "index comment": (T_BASE, T_BASE.replace("KEY name (name)", "KEY name (name) COMMENT 'lookup'")),
    "change primary key": (
        T_BASE,
        _t(
            "id int NOT NULL AUTO_INCREMENT, name varchar(50) NOT NULL DEFAULT '', "
            "qty int DEFAULT NULL, note text, created datetime DEFAULT NULL, "
            "PRIMARY KEY (id, name), KEY name (name)"
        ),
    ),
    # tables: constraints, options, partitioning
    "check constraint": (
        T_BASE,
        T_BASE.replace("KEY name (name)", "KEY name (name), CONSTRAINT pos CHECK (qty > 0)"),
    ),
    "add fk across tables": (
        T_PARENT + T_BASE,
        T_PARENT
        + T_BASE.replace(
            "KEY name (name)", "KEY name (name), CONSTRAINT fk_p FOREIGN KEY (qty) REFERENCES parent (id)"
        ),
    ),
    "fk to new table": (
        T_BASE,
        T_PARENT
        + T_BASE.replace(
            "KEY name (name)", "KEY name (name), CONSTRAINT fk_p FOREIGN KEY (qty) REFERENCES parent (id)"
        ),
    ),
    "fk parent qualified with its own schema": (  # the temp schema's parent, printed bare as live
        T_PARENT + T_BASE,
        T_PARENT
        + T_BASE.replace(
            "KEY name (name)",
            f"KEY name (name), CONSTRAINT fk_p FOREIGN KEY (qty) REFERENCES `{SCHEMA}`.parent (id)",
        ),
    ),
    "fk action change": (
        T_PARENT
        + T_BASE.replace(
            "KEY name (name)", "KEY name (name), CONSTRAINT fk_p FOREIGN KEY (qty) REFERENCES parent (id)"
        ),
        T_PARENT
        + T_BASE.replace(
            "KEY name (name)",
            "KEY name (name), CONSTRAINT fk_p FOREIGN KEY (qty) REFERENCES parent (id) ON DELETE CASCADE",
        ),
    ),
    "drop fk": (
        T_PARENT
        + T_BASE.replace(
            "KEY name (name)", "KEY name (name), CONSTRAINT fk_p FOREIGN KEY (qty) REFERENCES parent (id)"
        ),
        T_PARENT + T_BASE,
    ),
    "table comment": (T_BASE, T_BASE.replace(");", ") COMMENT='the t table';")),
    "row format": (T_BASE, T_BASE.replace(");", ") ROW_FORMAT=COMPACT;")),
    "table charset": (T_BASE, T_BASE.replace(");", ") DEFAULT CHARSET=latin1;")),
    "engine": (T_BASE, T_BASE.replace(");", ") ENGINE=Aria;")),
    "add table": (T_BASE, T_BASE + T_PARENT),
    "drop table": (T_BASE + T_PARENT, T_BASE),
    "partition table": (
        _t("id int NOT NULL, d date NOT NULL, PRIMARY KEY (id, d)"),
        _t(
            "id int NOT NULL, d date NOT NULL, PRIMARY KEY (id, d)",
            " PARTITION BY RANGE (year(d))"
            " (PARTITION p1 VALUES LESS THAN (2030), PARTITION p2 VALUES LESS THAN MAXVALUE)",
        ),
    ),
    # views
    "add view": (T_BASE, T_BASE + VIEW),
    "change view": (T_BASE + VIEW, T_BASE + VIEW2),
    "drop view": (T_BASE + VIEW, T_BASE),
    "view on view": (T_BASE + VIEW, T_BASE + VIEW + VIEW_ON_VIEW),
    # routines
    "add procedure": (T_BASE, T_BASE + PROC),
    "change procedure body": (T_BASE + PROC, T_BASE + PROC2),
    "change procedure signature": (T_BASE + PROC, T_BASE + PROC_SIG),
    "procedure comment only": (T_BASE + PROC, T_BASE + PROC_COMMENT),
    "drop procedure": (T_BASE + PROC, T_BASE),
    "add function": (T_BASE, T_BASE + FUNC),
    "change function": (T_BASE + FUNC, T_BASE + FUNC2),
    # triggers and events
    "add trigger": (T_BASE, T_BASE + TRIG),
    "change trigger": (T_BASE + TRIG, T_BASE + TRIG2),
    "drop trigger": (T_BASE + TRIG, T_BASE),
    "add event": (T_BASE, T_BASE + EVENT),
    "change event": (T_BASE + EVENT, T_BASE + EVENT2),
    "drop event": (T_BASE + EVENT, T_BASE),
    "view calls a new function": (T_BASE, T_BASE + FUNC + "CREATE VIEW vf AS SELECT f(id) AS d FROM t;\n"),
    # several at once
    "mixed": (
        T_PARENT + T_BASE + VIEW + PROC,
        T_BASE.replace("varchar(50)", "varchar(60)") + VIEW2 + FUNC + TRIG,
    ),
}


def write_repo(root: Path, server: DBServer, after_sql: str) -> Path:
    p = server.params
    (root / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    schema_dir = root / SCHEMA
    schema_dir.mkdir()
    (schema_dir / ".skeema").write_text(f"schema={SCHEMA}\n")
    for i, stmt in enumerate(s for s in split(after_sql, "after.sql") if s.kind is StatementKind.CREATE):
        assert stmt.key is not None
        text = stmt.text if not stmt.compound else f"DELIMITER //\n{stmt.body}//\nDELIMITER ;\n"
        (schema_dir / f"{i:02d}_{stmt.key.name}.sql").write_text(text)
    return schema_dir


async def _snapshot(server: DBServer) -> dict[str, str]:
    async with Instance(server.params) as inst:
        flavor: Flavor = await inst.flavor()
        schema = await introspect_schema(inst, SCHEMA)
    return {str(k): o.create_statement(flavor) for k, o in schema.objects().items()}


@contextlib.contextmanager
def scenario(
    server: DBServer, root: Path, monkeypatch: pytest.MonkeyPatch, before: str, after: str
) -> Iterator[Path]:
    """The live schema loaded with `before`, a repo at `root` (the cwd) holding `after`; its schema dir."""
    asyncio.run(load_sql(server.params, None, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}"))
    try:
        asyncio.run(load_sql(server.params, SCHEMA, before))
        schema_dir = write_repo(root, server, after)
        monkeypatch.chdir(root)
        yield schema_dir
    finally:
        asyncio.run(load_sql(server.params, None, f"DROP DATABASE IF EXISTS {SCHEMA}"))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_push_converges(
    name: str,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before, after = SCENARIOS[name]
    with scenario(server, tmp_path, monkeypatch, before, after):
        live_before = asyncio.run(_snapshot(server))
        assert main(["diff", "--allow-unsafe", "--no-cache"]) == 1  # there is something to do
        plain = capsys.readouterr().out
        assert main(["diff", "--allow-unsafe"]) == 1  # the canonical-form cache, cold...
        assert main(["diff", "--allow-unsafe"]) == 1  # ...and warm
        assert capsys.readouterr().out == plain * 2  # a cache hit never changes a plan
        assert asyncio.run(_snapshot(server)) == live_before  # diff never changes the database
        assert main(["push", "--allow-unsafe"]) == 0
        assert main(["diff"]) == 0  # converged: nothing left to do


async def daemon_text(root: Path) -> str:
    """The daemon's `?format=sql` answer for the repo at `root` (its environment's diff, rendered)."""
    env = RepoEnvironment("r", root, "production", CanonicalCache(root / "c.sqlite3"))
    try:
        await env.evaluate()
        return render_sql(env.diffs())
    finally:
        await env.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cli_diff_and_daemon_sql_are_the_same_text(
    name: str,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One renderer: the daemon's `?format=sql` text is the CLI's `diff` output, byte for byte."""
    before, after = SCENARIOS[name]
    with scenario(server, tmp_path, monkeypatch, before, after):
        assert main(["diff", "--allow-unsafe"]) == 1
        cli = capsys.readouterr().out
        assert asyncio.run(daemon_text(tmp_path)) == cli


#: Wrapper options for the "mixed" scenario: (rows loaded first, the dir's options, lines the diff prints).
WRAPPERS: dict[str, tuple[str, str, list[str]]] = {
    "templates": (
        "",
        "alter-wrapper=pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE}\n"
        "ddl-wrapper=/bin/echo {TYPE} {CLASS} {NAME}\n",
        [r"^\\! pt-online-schema-change --execute --alter ", r"^\\! /bin/echo "],
    ),
    "by size": (  # t has rows (at least the min size: the alter-wrapper), parent none (size 0)
        "INSERT INTO t (name) VALUES ('a'), ('b');\n",
        "alter-wrapper=/bin/echo alter {TABLE} {SIZE}\nalter-wrapper-min-size=1\n"
        "ddl-wrapper=/bin/echo {TYPE} {CLASS} {NAME} {SIZE}\n",
        [r"^\\! /bin/echo alter t [1-9]\d*$", r"^\\! /bin/echo DROP TABLE parent 0$"],
    ),
}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrapper_lines_are_the_same_text_in_the_cli_and_the_daemon(
    name: str,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`\\!` lines: the route is decided at plan time, and both front ends print it.

    By size (alter-wrapper-min-size, {SIZE}): the daemon routes by the sizes its
    poll read, the CLI by those it read for its plan.
    """
    rows, options, expected = WRAPPERS[name]
    before, after = SCENARIOS["mixed"]
    with scenario(server, tmp_path, monkeypatch, before, after) as schema_dir:
        if rows:
            asyncio.run(load_sql(server.params, SCHEMA, rows))
        with (schema_dir / ".skeema").open("a") as f:
            f.write(options)
        assert main(["diff", "--allow-unsafe"]) == 1
        cli = capsys.readouterr().out
        assert all(re.search(line, cli, re.MULTILINE) for line in expected), cli
        assert asyncio.run(daemon_text(tmp_path)) == cli


def test_verbose_diff_says_how_each_alter_runs_and_the_daemon_json_agrees(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Risk at plan time: `diff --verbose` comments each ALTER TABLE; the daemon serves the same."""
    before, after = SCENARIOS["add column"]  # an instant ADD COLUMN at the end on MariaDB 10.11
    with scenario(server, tmp_path, monkeypatch, before, after.replace("qty int", "qty bigint")):
        assert main(["diff", "--verbose"]) == 1
        verbose = capsys.readouterr().out
        assert main(["diff"]) == 1
        plain = capsys.readouterr().out
        said = [ln for ln in verbose.splitlines() if ln.startswith("-- ") and "instance:" not in ln]
        assert said[0].startswith("-- plan_hash: ")
        cli_hash = said[0].removeprefix("-- plan_hash: ")
        comments = said[1:]
        # Adding a column is instant, changing int to bigint copies: the statement costs the most expensive.
        assert len(comments) == 1 and comments[0].startswith("-- COPY, LOCK=SHARED: "), verbose
        assert "[mariadb." in comments[0]
        assert [line for line in verbose.splitlines() if not line.startswith("-- ")] == [
            line for line in plain.splitlines() if not line.startswith("-- ")
        ]

        async def served() -> tuple[str, list[dict[str, object]]]:
            env = RepoEnvironment("r", tmp_path, "production", CanonicalCache(tmp_path / "c.sqlite3"))
            try:
                await env.evaluate()
                (t,) = env.ordered_targets()
                assert t.diff is not None
                return t.diff.plan_hash, [step_json(p) for p in t.diff.planned]
            finally:
                await env.close()

        daemon_hash, (statement,) = asyncio.run(served())
        assert daemon_hash == cli_hash  # one plan: the same statements for the same target
        risk = statement["risk"]
        assert isinstance(risk, dict) and (risk["algorithm"], risk["lock"]) == ("COPY", "SHARED")
        assert f"[{risk['rule']}]" in comments[0]
        assert statement["route"] == {"kind": "direct", "command": None}
