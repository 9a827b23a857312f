"""Files that hold the live canonical text skip the workspace, and diffs stay right."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.sqltext.classify import classify
from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMA = "fixed_pt"
SETUP = f"""
DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}; USE {SCHEMA};
CREATE TABLE parent (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, code char(3)) AUTO_INCREMENT=42;
INSERT INTO parent (code) VALUES ('a'), ('b');
CREATE TABLE child (id int PRIMARY KEY, parent_id int,
  CONSTRAINT fk FOREIGN KEY (parent_id) REFERENCES parent (id));
CREATE TABLE lonely (id int PRIMARY KEY, note text);
CREATE TABLE read_by_view (id int PRIMARY KEY, v int);
CREATE VIEW v AS SELECT id, v FROM read_by_view;
"""


@pytest.fixture
def host(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    asyncio.run(load_sql(server.params, None, SETUP))
    p = server.params
    dest = tmp_path / "host"
    assert (
        main(["init", "-h", p.host, "-P", str(p.port), "--dir", str(dest), f"--ignore-schema=^(?!{SCHEMA}$)"])
        == 0
    )
    monkeypatch.chdir(dest)
    yield dest
    asyncio.run(load_sql(server.params, None, f"DROP DATABASE IF EXISTS {SCHEMA}"))


@pytest.fixture
def created_tables(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the tables any workspace creates (CREATE TABLE through execute_one / execute_each)."""
    seen: list[str] = []
    original, original_each = Instance.execute_one, Instance.execute_each

    def note(sql: str) -> None:
        c = classify(sql)
        if c.key is not None and c.key.type.value == "table":
            seen.append(c.key.name)

    async def spy(self: Instance, sql: str) -> int:
        note(sql)
        return await original(self, sql)

    async def spy_each(self: Instance, statements: Any) -> Any:
        for sql in statements:
            note(sql)
        return await original_each(self, statements)

    monkeypatch.setattr(Instance, "execute_one", spy)
    monkeypatch.setattr(Instance, "execute_each", spy_each)
    return seen


def test_unchanged_repo_needs_no_workspace_tables(host: Path, created_tables: list[str]) -> None:
    assert main(["diff", "--no-cache"]) == 0
    # Only the table a view reads runs in the workspace (the view needs it there).
    assert created_tables == ["read_by_view"]


def test_one_edited_table_is_the_only_change(
    host: Path, created_tables: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    lonely = host / SCHEMA / "lonely.sql"
    lonely.write_text(
        lonely.read_text().replace("  `note` text DEFAULT NULL,", "  `note` text DEFAULT NULL,\n  `x` int,")
    )
    assert main(["diff", "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert out.endswith("USE `fixed_pt`;\nALTER TABLE `lonely` ADD COLUMN `x` int(11) DEFAULT NULL;\n")
    assert set(created_tables) == {"lonely", "read_by_view"}  # lonely: the workspace, then verify
    assert main(["push"]) == 0
    assert main(["diff"]) == 0


def test_changing_a_table_a_view_reads(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = host / SCHEMA / "read_by_view.sql"
    f.write_text(f.read_text().replace("`v` int(11) DEFAULT NULL", "`v` bigint(20) DEFAULT NULL"))
    assert main(["push"]) == 0
    assert "MODIFY COLUMN `v` bigint(20)" in capsys.readouterr().out
    assert main(["diff"]) == 0


def test_a_pinned_auto_increment_is_not_a_fixed_point(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = host / SCHEMA / "parent.sql"
    text = f.read_text()
    assert "AUTO_INCREMENT=" not in text.split("\n) ")[-1]  # init stripped it; the live table has 44
    f.write_text(text.replace(") ENGINE=InnoDB", ") ENGINE=InnoDB AUTO_INCREMENT=1000"))
    assert main(["diff"]) == 1
    assert "ALTER TABLE `parent` AUTO_INCREMENT = 1000" in capsys.readouterr().out.replace("=1000", " = 1000")


# Modules a diff whose files are all fixed points has no use for (schemad/workspace/for_dir.py,
# plan/planner.py, fs/logical.py import them when a statement needs them): loading them is a
# small repo's start-up cost for nothing.
RUNNER_MODULES = {
    "schemad.workspace.tempschema",
    "schemad.workspace.guard",
    "schemad.plan.seeds",
    "schemad.sqltext.inserts",
    "sqlglot",
}


def test_a_fixed_point_diff_does_not_load_the_workspace_runner(server: DBServer, tmp_path: Path) -> None:
    schema = "fixed_pt_imports"
    asyncio.run(
        load_sql(
            server.params,
            None,
            f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema}; USE {schema};"
            " CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, a_id int,"
            " CONSTRAINT fk_a FOREIGN KEY (a_id) REFERENCES a (id))",
        )
    )
    p = server.params
    dest = tmp_path / "host"
    try:
        init = [
            "init",
            "-h",
            p.host,
            "-P",
            str(p.port),
            "--dir",
            str(dest),
            f"--ignore-schema=^(?!{schema}$)",
        ]
        assert main(init) == 0
        probe = (
            "import sys; from schemad.cli.main import main; rc = main(['diff']);"
            " print(rc); print(' '.join(sorted(sys.modules)))"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=dest, capture_output=True, text=True, check=True, timeout=120
        )
        rc, modules = out.stdout.splitlines()[-2:]
        assert rc == "0", out.stderr
        loaded = set(modules.split())
        assert "schemad.workspace.for_dir" in loaded  # the path under test did run
        assert not loaded & RUNNER_MODULES, sorted(loaded & RUNNER_MODULES)
        # The same repo with one hand-written file does load the runner.
        f = dest / schema / "a.sql"
        f.write_text(f.read_text().replace("CREATE TABLE", "create table", 1))
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=dest, capture_output=True, text=True, check=True, timeout=120
        )
        rc, modules = out.stdout.splitlines()[-2:]
        assert rc == "0", out.stderr
        assert "schemad.workspace.tempschema" in modules.split()
    finally:
        asyncio.run(load_sql(server.params, None, f"DROP DATABASE IF EXISTS {schema}"))
