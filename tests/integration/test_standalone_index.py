"""Issue 12, point 4: standalone CREATE INDEX / ALTER TABLE .. ADD statements in *.sql files.

A dir whose table is written as mysqldump, Rails' structure.sql or a migration
writes it (the CREATE, then `CREATE INDEX` and `ALTER TABLE .. ADD
CONSTRAINT|UNIQUE KEY` statements) is diffed with those indexes as part of
the table, converges on push, and `format` / `pull` move them into the
CREATE.  A statement that does more than add an index or constraint, or names
another schema's table, is refused at its file:line and never reaches a live
schema; one on a table the dir does not define is warned about and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.fs.logical import LogicalSchema
from schemad.introspect.introspector import introspect_schema
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.tabletext import strip_auto_increment
from schemad.service.drift import render_sql
from schemad.service.environment import RepoEnvironment
from schemad.sqltext.splitter import StatementKind, split
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.tempschema import exec_statements
from tests.conftest import DBServer
from tests.helpers import load_sql

PID = os.getpid()
SCHEMA, OTHER = f"fold_app_{PID}", f"fold_other_{PID}"
T = ObjectKey(ObjectType.TABLE, "t")

LIVE = f"""
DROP DATABASE IF EXISTS {SCHEMA}; DROP DATABASE IF EXISTS {OTHER};
CREATE DATABASE {SCHEMA} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE DATABASE {OTHER};
CREATE TABLE {SCHEMA}.parent (id int NOT NULL PRIMARY KEY);
CREATE TABLE {SCHEMA}.t (id int NOT NULL PRIMARY KEY, c int, pid int, code varchar(10), x int);
INSERT INTO {SCHEMA}.parent VALUES (1);
INSERT INTO {SCHEMA}.t VALUES (1, 10, 1, 'a', 7), (2, 20, NULL, 'b', 8);
CREATE TABLE {OTHER}.t (id int NOT NULL PRIMARY KEY, c int);
"""

PARENT = "CREATE TABLE parent (id int NOT NULL PRIMARY KEY);\n"
T_CREATE = (
    "CREATE TABLE t (\n  id int NOT NULL PRIMARY KEY,\n  c int,\n  pid int,\n"
    "  code varchar(10),\n  x int\n);\n"
)
# Lines 8, 9 and 11 of t.sql, after the 7 lines of T_CREATE.
FOLDS = (
    "CREATE INDEX i ON t (c);\n"
    "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id);\n"
    "-- as mysqldump writes it\n"
    "ALTER TABLE `t`\n  ADD UNIQUE KEY `u` (`code`);\n"
)


def sql(server: DBServer, text: str) -> None:
    asyncio.run(load_sql(server.params, None, text))


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The live schemas, and a repo whose schema dir holds parent.sql and t.sql (CREATE + FOLDS)."""
    sql(server, LIVE)
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    schema_dir = tmp_path / SCHEMA
    schema_dir.mkdir()
    (schema_dir / ".skeema").write_text(f"schema={SCHEMA}\n")
    (schema_dir / "parent.sql").write_text(PARENT)
    (schema_dir / "t.sql").write_text(T_CREATE + FOLDS)
    monkeypatch.chdir(tmp_path)
    try:
        yield schema_dir
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; DROP DATABASE IF EXISTS {OTHER};")


async def _live(server: DBServer) -> dict[str, str]:
    async with Instance(server.params) as inst:
        out = {}
        for schema in (SCHEMA, OTHER):
            s = await introspect_schema(inst, schema)
            assert not (s.views or s.routines or s.triggers or s.events)
            out.update({f"{schema} {t.key}": strip_auto_increment(t.show_create) for t in s.tables})
            rows = await inst.query(f"SELECT COUNT(*) AS n, SUM(id) AS s FROM `{schema}`.`t`")
            out[f"{schema} rows"] = f"{rows[0]['n']} {rows[0]['s']}"
        return out


def live(server: DBServer) -> dict[str, str]:
    return asyncio.run(_live(server))


def workspace_t(server: DBServer, schema_dir: Path) -> str:
    """What the workspace makes of the dir's table t (folded statements included)."""
    logical = LogicalSchema.from_files(sorted(schema_dir.glob("*.sql")))
    ws = asyncio.run(
        exec_statements(
            server.params,
            logical.creates.values(),
            schema_name=SCHEMA,
            char_set="utf8mb4",
            collation="utf8mb4_general_ci",
        )
    )
    assert not ws.failures, ws.failures
    (t,) = (t for t in ws.schema.tables if t.key == T)
    return strip_auto_increment(t.show_create)


def kinds(path: Path) -> list[StatementKind]:
    return [s.kind for s in split(path.read_text(), str(path)) if s.kind is not StatementKind.NOOP]


# What format and pull leave of t.sql: the CREATE, and the comment that stood before a moved statement
# (comments are the user's: the dumper removes statements, never comments).
def t_file(create: str) -> str:
    return create + ";\n-- as mysqldump writes it\n"


def test_diff_push_converge_then_format_moves_them_into_the_create(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert main(["diff", "--no-cache"]) == 1
    out = capsys.readouterr().out
    alter = next(line for line in out.splitlines() if line.startswith("ALTER TABLE `t`"))
    for clause in (
        "ADD UNIQUE KEY `u` (`code`)",
        "ADD KEY `i` (`c`)",
        "ADD CONSTRAINT `fk` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`)",
    ):
        assert clause in out, out
    assert "DROP" not in alter
    t_sql = repo / "t.sql"
    for line, head in ((8, "CREATE INDEX i ON t"), (9, "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY")):
        assert f"{t_sql}:{line}:1: {head} folded into table `t`" in caplog.text
    assert f"{t_sql}:11:1: ALTER TABLE `t` ADD UNIQUE KEY `u` folded into table `t`" in caplog.text
    # The canonical cache, cold and warm, gives the same plan.
    assert main(["diff"]) == main(["diff"]) == 1
    assert capsys.readouterr().out == out * 2

    assert main(["push"]) == 0
    assert main(["diff"]) == 0
    after = live(server)
    assert after[f"{SCHEMA} rows"] == "2 3"  # rows kept
    assert after[f"{SCHEMA} {T}"] == workspace_t(server, repo)  # live = what the workspace makes of the files

    # format: the table's file gets the canonical CREATE, with the indexes, and nothing else.
    assert main(["format", "--skip-write"]) == 1
    assert f"{t_sql}:8:1: CREATE INDEX i ON t belongs in the CREATE of table `t`" in caplog.text
    assert main(["format"]) == 1
    assert kinds(t_sql) == [StatementKind.CREATE]
    assert t_sql.read_text() == t_file(after[f"{SCHEMA} {T}"])
    assert main(["format"]) == 0  # canonical now
    assert main(["diff"]) == 0  # and still clean
    assert live(server) == after


def test_a_file_holding_the_live_text_plus_a_create_index(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Right after init/pull the CREATE is the live text: the folded index must still be diffed."""
    assert (
        main(["pull", "--skip-new-schemas"]) == 0
    )  # t.sql: the live CREATE (the statements pull removes; see below)
    t_sql = repo / "t.sql"
    assert kinds(t_sql) == [StatementKind.CREATE]
    assert main(["diff"]) == 0
    capsys.readouterr()
    with t_sql.open("a") as f:
        f.write("CREATE INDEX by_c ON t (c, x);\n")
    assert main(["diff"]) == 1
    assert "ALTER TABLE `t` ADD KEY `by_c` (`c`,`x`);" in capsys.readouterr().out
    assert main(["push"]) == 0
    assert main(["diff"]) == 0


def test_a_changed_folded_statement_misses_the_canonical_cache(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push"]) == 0
    assert main(["diff"]) == 0  # the cache now knows t with FOLDS
    t_sql = repo / "t.sql"
    t_sql.write_text(t_sql.read_text().replace("CREATE INDEX i ON t (c);", "CREATE INDEX i ON t (c, x);"))
    capsys.readouterr()
    assert main(["diff"]) == 1
    out = capsys.readouterr().out
    assert "DROP KEY `i`" in out and "ADD KEY `i` (`c`,`x`)" in out, out


def test_pull_removes_them_the_live_create_has_them(server: DBServer, repo: Path) -> None:
    assert main(["push"]) == 0
    (repo / "more.sql").write_text("-- added later\nCREATE INDEX i2 ON parent (id);\n")  # never pushed
    before = live(server)
    assert main(["pull", "--skip-new-schemas"]) == 0
    t_sql = repo / "t.sql"
    assert kinds(t_sql) == [StatementKind.CREATE]
    assert t_sql.read_text() == t_file(before[f"{SCHEMA} {T}"])
    assert not (
        repo / "more.sql"
    ).exists()  # left with only a comment: deleted, as pull deletes emptied files
    assert main(["diff"]) == 0
    assert live(server) == before


def test_format_without_fold_standalone_leaves_such_a_table_alone(server: DBServer, repo: Path) -> None:
    t_sql = repo / "t.sql"
    assert main(["format", "--skip-fold-standalone"]) == 1  # parent.sql is reformatted
    assert t_sql.read_text() == T_CREATE + FOLDS
    assert (repo / "parent.sql").read_text().startswith("CREATE TABLE `parent` (\n")


def test_statements_doing_more_are_refused_and_never_reach_the_server(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t_sql, other_sql = repo / "t.sql", repo / "other.sql"
    t_sql.write_text(T_CREATE + "ALTER TABLE t ADD INDEX j (c), DROP COLUMN x;\n")
    other_sql.write_text(f"\nALTER TABLE {OTHER}.t ADD INDEX k (c);\nCREATE INDEX k2 ON `{OTHER}`.`t` (c);\n")
    before = live(server)
    files = {p: p.read_text() for p in repo.glob("*.sql")}
    for command in (["diff"], ["push", "--allow-unsafe"], ["lint", "--skip-format"], ["format"]):
        caplog.clear()
        assert main(command) >= 1, command
        text = caplog.text
        assert (
            f"{t_sql}:8:1: table `t`: refused: `DROP` is not part of an index or constraint definition"
            in text
        )
        for line in (2, 3):
            assert (
                f"{other_sql}:{line}:1: table `t`: refused: the table this statement adds to is qualified"
                f" with schema `{OTHER}`" in text
            ), command
    assert main(["diff"]) == 2  # the target is skipped
    assert live(server) == before  # column x still there, no index on the other schema's t
    assert {p: p.read_text() for p in repo.glob("*.sql") if p.name != "parent.sql"} == {
        p: t for p, t in files.items() if p.name != "parent.sql"
    }  # format leaves a table with a refused statement as it is


def test_a_statement_on_a_table_the_dir_does_not_define_is_ignored(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    extra = repo / "extra.sql"
    extra.write_text("CREATE INDEX k ON nowhere (x);\nALTER TABLE t DROP COLUMN x;\n")
    assert main(["push"]) == 0
    warning = "CREATE INDEX k ON nowhere: no CREATE TABLE of this dir defines table `nowhere`; ignored"
    assert f"{extra}:1:1: {warning}" in caplog.text
    assert f"{extra}:2:1: unable to parse statement; ignored" in caplog.text  # any other statement: as before
    assert main(["diff"]) == 0
    assert "x" in live(server)[f"{SCHEMA} {T}"]


def test_the_daemon_diffs_the_same(server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff"]) == 1
    cli = capsys.readouterr().out

    async def daemon_text() -> str:
        env = RepoEnvironment("r", repo.parent, "production", CanonicalCache(repo.parent / "c.sqlite3"))
        try:
            await env.evaluate()
            return render_sql(env.diffs())
        finally:
            await env.close()

    assert asyncio.run(daemon_text()) == cli


def test_a_folded_statement_the_server_rejects_fails_at_its_own_line(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t_sql = repo / "t.sql"
    t_sql.write_text(T_CREATE + "\n\nCREATE INDEX bad ON t (no_such_column);\n")
    before = live(server)
    assert main(["diff"]) == 2
    assert f"{t_sql}:10:1: table `t`: Key column 'no_such_column' doesn't exist in table" in caplog.text
    assert main(["format"]) == 1  # the failure is reported, and the table's file left as it is
    assert t_sql.read_text() == T_CREATE + "\n\nCREATE INDEX bad ON t (no_such_column);\n"
    assert live(server) == before
