"""update-views against the real server: format, lint and pull leave a hand-formatted CREATE VIEW
alone (pull even when the view changed on the server) and rewrite it with update-views; new views
are still written and views dropped on the server still removed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemad.cli.main import main
from tests.conftest import DBServer
from tests.helpers import load_sql
from tests.integration.test_peer_cases_converge import SCHEMA, repo

pytestmark = pytest.mark.db

TABLE = "CREATE TABLE t (id int NOT NULL PRIMARY KEY, a int);\n"
HAND = "-- the ids\nCREATE VIEW v AS\n  SELECT id  -- only the key\n  FROM t;\n"
# How the server keeps it (without DEFINER: strip-definer keeps the text independent of the test's user).
CANONICAL = (
    "-- the ids\nCREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS"
    " select `t`.`id` AS `id` from `t`;\n"
)


def test_format_and_lint_keep_hand_formatted_views(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with repo(server, tmp_path, monkeypatch, "", {"t": TABLE, "v": HAND}) as schema_dir:
        view = schema_dir / "v.sql"
        assert main(["format"]) == 1  # the table is rewritten
        assert view.read_text() == HAND
        assert main(["format"]) == 0  # and nothing is left to do
        assert main(["lint"]) == 0
        assert view.read_text() == HAND
        assert main(["lint", "--update-views", "--strip-definer"]) == 1
        assert view.read_text() == CANONICAL  # the comment before the statement is not part of it
        view.write_text(HAND)
        assert main(["format", "--update-views", "--strip-definer"]) == 1
        assert view.read_text() == CANONICAL
        assert main(["format", "--update-views", "--strip-definer"]) == 0


def test_pull_leaves_existing_views_unless_update_views(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = f"{TABLE}CREATE VIEW v AS SELECT id FROM t;\nCREATE VIEW gone AS SELECT a FROM t;\n"
    files = {"t": TABLE, "v": HAND, "gone": "CREATE VIEW gone AS SELECT a FROM t;\n"}
    with repo(server, tmp_path, monkeypatch, live, files) as schema_dir:
        view = schema_dir / "v.sql"
        asyncio.run(
            load_sql(
                server.params,
                SCHEMA,
                "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t; DROP VIEW gone;"
                " CREATE VIEW added AS SELECT a FROM t",
            )
        )
        assert main(["pull"]) == 0
        assert view.read_text() == HAND  # changed on the server, still as written
        assert not (schema_dir / "gone.sql").exists()  # dropped on the server: removed
        assert "VIEW `added` AS select `t`.`a` AS `a` from `t`" in (schema_dir / "added.sql").read_text()
        assert main(["pull", "--update-views"]) == 0
        assert "select `t`.`id` AS `id`,`t`.`a` AS `a` from `t`" in view.read_text()
        assert "only the key" not in view.read_text()
