"""`schemad lint` against the real server: findings with file:line, severities, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemad.cli.main import main
from tests.conftest import DBServer


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / "app"
    d.mkdir()
    (d / ".skeema").write_text("schema=app\n")
    (d / "good.sql").write_text(
        "CREATE TABLE good (id bigint unsigned NOT NULL PRIMARY KEY) ENGINE=InnoDB;\n"
    )
    monkeypatch.chdir(tmp_path)
    return d


def test_clean_repo_exits_0(repo: Path) -> None:
    assert main(["lint"]) == 0


def test_warning_names_file_line_and_column(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "nopk.sql").write_text("-- no primary key here\nCREATE TABLE nopk (\n  a int,\n  b int\n);\n")
    assert main(["lint"]) == 1  # lint-pk is a warning by default
    assert "nopk.sql:2:" in caplog.text and "[warning] pk:" in caplog.text


def test_severity_options_and_errors(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "myisam.sql").write_text("CREATE TABLE myisam (id int PRIMARY KEY) ENGINE=MyISAM;\n")
    assert main(["lint", "--lint-engine=error"]) == 2
    assert "[error] engine:" in caplog.text and "myisam.sql:1:" in caplog.text
    assert main(["lint", "--lint-engine=ignore"]) == 0


def test_sql_errors_are_errors(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "bad.sql").write_text("CREATE TABLE bad (id int,, x int);\n")
    assert main(["lint"]) == 2
    assert "bad.sql:1" in caplog.text
