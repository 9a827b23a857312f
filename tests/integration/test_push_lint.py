"""diff and push lint the objects they change (Skeema's `lint` option): warnings shown, errors block."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMA = "push_lint"
PARENT = (
    "CREATE TABLE `parent` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n)"
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
)


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}")
    sql(server, PARENT, SCHEMA)
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / SCHEMA
    d.mkdir()
    (d / ".skeema").write_text(f"schema={SCHEMA}\n")
    (d / "parent.sql").write_text(PARENT)  # the live text: a fixed point, never run in the workspace
    monkeypatch.chdir(tmp_path)
    yield d
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}")


def test_changed_objects_are_linted_with_file_and_line(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "nopk.sql").write_text("-- a log table\nCREATE TABLE nopk (\n  msg varchar(10)\n);\n")
    assert main(["diff"]) == 1  # a warning does not block
    assert "nopk.sql:2:" in caplog.text and "[warning] pk:" in caplog.text
    caplog.clear()
    assert main(["diff", "--skip-lint"]) == 1
    assert "[warning] pk:" not in caplog.text


def test_lint_errors_skip_the_target(server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "nopk.sql").write_text("CREATE TABLE nopk (msg varchar(10));\n")
    assert main(["push", "--lint-pk=error"]) == 2
    assert "[error] pk:" in caplog.text and "Skipping" in caplog.text and "linter error" in caplog.text
    assert main(["push"]) == 0  # as a warning it is pushed


def test_unchanged_objects_are_not_linted(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    # parent has lint findings under strict options, but it is not in the diff.
    (repo / "child.sql").write_text(
        "CREATE TABLE child (\n  id int PRIMARY KEY,\n  p int,\n"
        "  CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES parent (id)\n);\n"
    )
    assert main(["diff", "--lint-has-fk=warning", "--allow-pk-type=bigint", "--lint-pk-type=warning"]) == 1
    assert "child.sql:4:" in caplog.text and "[warning] has-fk:" in caplog.text
    assert "parent.sql" not in caplog.text
    # The FK parent is a fixed point (its file is the live text) yet lint-fk-parent sees it.
    assert "fk-parent" not in caplog.text
