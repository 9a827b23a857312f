"""Issue 12, point 5: `@renamed from=` annotations rename a column, an index and a table, keeping the rows.

Each case runs the CLI as a user would (test_peer_cases_converge.py's repo and
converges helpers: push, a diff that exits 0, the live SHOW CREATE equal to
the workspace's) and compares the rows before and after (count and a
checksum over every value).  Then: the annotation left in the file is stale,
`lint` says so and `pull` drops it; without an annotation a rename is still a
drop plus an add, refused as unsafe.

The push and diff cases need the planner to put the files' annotations on the
desired side (`annotate_renames` in plan_from_models and before verify,
schemad/plan/, outside this change): until it does they are expected to fail.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.integration.test_peer_cases_converge import SCHEMA, converges, repo

pytestmark = pytest.mark.db

LIVE = (
    "CREATE TABLE accounts (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, username varchar(40) NOT NULL,"
    " email varchar(80), score int, KEY old_email (email), KEY by_name (username, score),"
    " CONSTRAINT score_pos CHECK (score >= 0));\n"
    "CREATE TABLE posts (id int NOT NULL PRIMARY KEY, account_id int NOT NULL, body text,"
    " CONSTRAINT fk_account FOREIGN KEY (account_id) REFERENCES accounts (id));\n"
    "INSERT INTO accounts (username, email, score)"
    " VALUES ('ann', 'a@x', 3), ('bob', NULL, 0), ('cy', 'c@x', 9);\n"
    "INSERT INTO posts VALUES (1, 1, 'hello'), (2, 3, 'bye');\n"
)
USERS = (
    "CREATE TABLE users /* @renamed from=accounts */ (\n"
    "  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
    "  user_name varchar(40) NOT NULL, -- @renamed from=username\n"
    "  email varchar(80),\n"
    "  score int,\n"
    "  KEY email_idx (email), -- @renamed from=old_email\n"
    "  KEY by_name (user_name, score),\n"
    "  CONSTRAINT score_pos CHECK (score >= 0)\n"
    ");\n"
)
POSTS = (
    "CREATE TABLE posts (id int NOT NULL PRIMARY KEY, account_id int NOT NULL, body text,"
    " CONSTRAINT fk_account FOREIGN KEY (account_id) REFERENCES users (id));\n"
)


async def _rows(server: DBServer, table: str, columns: str) -> tuple[int, int, list[tuple[object, ...]]]:
    """Row count, a checksum over every value, and the rows, of `table` in id order."""
    async with Instance(server.params) as inst:
        where = f"`{SCHEMA}`.`{table}`"
        (agg,) = await inst.query(
            f"SELECT COUNT(*) AS n, BIT_XOR(CRC32(CONCAT_WS('|', {columns}))) AS sum FROM {where}"
        )
        rows = await inst.query(f"SELECT {columns} FROM `{SCHEMA}`.`{table}` ORDER BY id")
    return int(agg["n"]), int(agg["sum"]), [tuple(r.values()) for r in rows]


def test_column_index_and_table_renamed_with_the_rows_kept(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with repo(server, tmp_path, monkeypatch, LIVE, {"users": USERS, "posts": POSTS}) as d:
        before = asyncio.run(_rows(server, "accounts", "id, username, email, score"))
        posts = asyncio.run(_rows(server, "posts", "id, account_id, body"))
        assert main(["push"]) == 0  # safe: nothing is dropped, no --allow-unsafe
        pushed = capsys.readouterr().out
        assert "ALTER TABLE `accounts` RENAME COLUMN `username` TO `user_name`, " in pushed
        assert "RENAME KEY `old_email` TO `email_idx`" in pushed
        assert "ALTER TABLE `accounts` RENAME TO `users`;" in pushed
        assert "DROP" not in pushed  # not the FK of posts either: it follows the renamed table
        converges(server, d, capsys)
        assert asyncio.run(_rows(server, "users", "id, user_name, email, score")) == before
        assert asyncio.run(_rows(server, "posts", "id, account_id, body")) == posts

        # The annotations are stale now: lint warns where each stands, and pull drops them.
        run = _lint(d, capsys)
        stale = sorted(
            (f["line"], f["message"].split(" already")[0]) for f in run if f["rule"] == "stale-rename"
        )
        assert stale == [
            (1, "table `users`"),
            (3, "column `user_name` of table `users`"),
            (6, "index `email_idx` of table `users`"),
        ]
        assert all(f["severity"] == "warning" for f in run if f["rule"] == "stale-rename")
        assert main(["pull"]) == 0
        assert "@renamed" not in (d / "users.sql").read_text()
        assert main(["diff"]) == 0


def test_renamed_column_with_a_wider_type_is_a_safe_change_column(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, posts = LIVE.split(";\n")[:2]
    wider = accounts.replace("username", "login").replace(
        "login varchar(40)", "login varchar(60) /* @renamed from=username */"
    )
    files = {"accounts": wider + ";\n", "posts": posts + ";\n"}
    with repo(server, tmp_path, monkeypatch, LIVE, files) as d:
        before = asyncio.run(_rows(server, "accounts", "id, username, email, score"))
        assert main(["push"]) == 0
        assert "CHANGE COLUMN `username` `login` varchar(60) NOT NULL" in capsys.readouterr().out
        converges(server, d, capsys)
        assert asyncio.run(_rows(server, "accounts", "id, login, email, score")) == before


def test_renamed_foreign_key_column(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Verify copies every table, and MariaDB refuses to copy while renaming an FK column: no COPY there."""
    accounts, posts = LIVE.split(";\n")[:2]
    renamed = posts.replace("account_id int", "owner_id int /* @renamed from=account_id */").replace(
        "KEY (account_id)", "KEY (owner_id)"
    )
    with repo(
        server, tmp_path, monkeypatch, LIVE, {"accounts": accounts + ";\n", "posts": renamed + ";\n"}
    ) as d:
        before = asyncio.run(_rows(server, "posts", "id, account_id, body"))
        assert main(["push"]) == 0
        assert "ALTER TABLE `posts` RENAME COLUMN `account_id` TO `owner_id`;" in capsys.readouterr().out
        converges(server, d, capsys)
        assert asyncio.run(_rows(server, "posts", "id, owner_id, body")) == before


def test_without_an_annotation_a_rename_is_still_an_unsafe_drop_and_add(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = USERS.replace(" /* @renamed from=accounts */", "").replace(" -- @renamed from=username", "")
    files = {
        "accounts": plain.replace("TABLE users", "TABLE accounts"),
        "posts": LIVE.split(";\n")[1] + ";\n",
    }
    with repo(server, tmp_path, monkeypatch, LIVE, files):
        before = asyncio.run(_rows(server, "accounts", "id, username, email, score"))
        assert main(["push"]) == 2
        err = capsys.readouterr().err
        assert "column `username` would be dropped" in err
        assert asyncio.run(_rows(server, "accounts", "id, username, email, score")) == before  # nothing ran


def test_lint_reports_nothing_for_an_annotation_not_pushed_yet(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with repo(server, tmp_path, monkeypatch, LIVE, {"users": USERS, "posts": POSTS}) as d:
        assert [f for f in _lint(d, capsys) if f["rule"] == "stale-rename"] == []


def test_lint_reports_a_stale_annotation(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live table already has the annotated names (say, renamed by hand): the annotations can go."""
    live = (
        LIVE.replace("accounts", "users").replace("username", "user_name").replace("old_email", "email_idx")
    )
    with repo(server, tmp_path, monkeypatch, live, {"users": USERS, "posts": POSTS}) as d:
        found = [f for f in _lint(d, capsys, "--lint-stale-rename=error") if f["rule"] == "stale-rename"]
        assert [(f["line"], f["severity"]) for f in found] == [(1, "error"), (3, "error"), (6, "error")]
        assert main(["diff"]) == 0  # a stale annotation changes nothing


def _lint(d: Path, capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, object]]:
    main(["lint", "--skip-format", "--output=json", *options])
    findings: list[dict[str, object]] = json.loads(capsys.readouterr().out)["findings"]
    return [f for f in findings if str(f["file"]).endswith(("users.sql", "accounts.sql"))]


def test_an_annotation_whose_old_name_is_still_declared_is_refused_at_its_line(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = "CREATE TABLE people (id int NOT NULL PRIMARY KEY, username varchar(50));\n"
    files = {
        "people": "CREATE TABLE people (\n  id int NOT NULL PRIMARY KEY,\n  username varchar(50),\n"
        "  user_name varchar(100) /* @renamed from=username */\n);\n"
    }
    with repo(server, tmp_path, monkeypatch, live, files):
        assert main(["diff"]) == 2  # no rename gives both names: the target is skipped (sqldef refuses it)
        err = capsys.readouterr().err
        assert "people.sql:4" in err and "cannot rename `username` to `user_name`" in err, err
        assert main(["push", "--allow-unsafe"]) == 2
