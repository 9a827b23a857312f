"""Issue 12, point 1: a generated column that switches kind converges.

MariaDB refuses MODIFY between VIRTUAL and STORED and between a regular and a
generated column (error 1907); the diff drops and re-adds the column in the
same ALTER, at the same place, with its indexes and CHECKs.  Each case runs
the CLI as a user would (push, then a diff that exits 0, then the live SHOW
CREATE compared with the workspace's: tests/integration/test_peer_cases_converge.py's
helpers) and checks what was pushed and whether it needed --allow-unsafe.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.integration.test_peer_cases_converge import SCHEMA, converges, repo

pytestmark = pytest.mark.db

TABLE = (
    "CREATE TABLE g (id int NOT NULL PRIMARY KEY, a int NOT NULL, b int AS (a * 2) {},"
    " c varchar(10), KEY kb (b), KEY kab (a, b), CONSTRAINT b_pos CHECK (b >= 0),"
    " CONSTRAINT a_pos CHECK (a >= 0));\n"
)
ROWS = "INSERT INTO g (id, a, c) VALUES (1, 1, 'x'), (2, 5, 'y'), (3, 7, NULL);\n"


async def _rows(server: DBServer) -> list[tuple[object, ...]]:
    async with Instance(server.params) as inst:
        rows = await inst.query(f"SELECT id, a, b, c FROM `{SCHEMA}`.g ORDER BY id")
    return [tuple(r.values()) for r in rows]


@pytest.mark.parametrize(("before", "after"), [("VIRTUAL", "STORED"), ("STORED", "VIRTUAL")])
def test_virtual_stored_switch_with_an_index_converges_safely(
    before: str,
    after: str,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with repo(server, tmp_path, monkeypatch, TABLE.format(before) + ROWS, {"g": TABLE.format(after)}) as d:
        rows = asyncio.run(_rows(server))
        assert main(["push"]) == 0  # safe: no --allow-unsafe needed
        pushed = capsys.readouterr().out
        assert (
            f"DROP COLUMN `b`, ADD COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 2) {after} AFTER `a`"
            in pushed
        )
        assert "DROP KEY `kb`, ADD KEY `kb` (`b`), DROP KEY `kab`, ADD KEY `kab` (`a`,`b`)" in pushed
        assert main(["diff"]) == 0, capsys.readouterr()
        converges(server, d, capsys)  # nothing left: an empty push, a clean diff, live == workspace
        assert asyncio.run(_rows(server)) == rows  # computed again, the same values


def test_regular_to_generated_stays_unsafe(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    regular = TABLE.replace("b int AS (a * 2) {}", "b int")
    with repo(server, tmp_path, monkeypatch, regular + ROWS, {"g": TABLE.format("STORED")}) as d:
        assert main(["push"]) == 2  # the stored data of `b` would be replaced
        assert "it becomes a generated column" in capsys.readouterr().err
        converges(server, d, capsys)
        assert [r[2] for r in asyncio.run(_rows(server))] == [2, 10, 14]


def test_generated_to_regular_is_unsafe_and_starts_empty(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    regular = TABLE.replace("b int AS (a * 2) {}", "b int")
    with repo(server, tmp_path, monkeypatch, TABLE.format("VIRTUAL") + ROWS, {"g": regular}) as d:
        assert main(["push"]) == 2
        assert "becomes a regular column: its values would not be kept" in capsys.readouterr().err
        converges(server, d, capsys)
        assert [r[2] for r in asyncio.run(_rows(server))] == [None, None, None]


def test_expression_change_of_the_same_kind_stays_a_modify(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """MariaDB 10.11 accepts MODIFY for a new expression of a VIRTUAL or STORED column: no drop there."""
    files = {"g": TABLE.format("STORED").replace("a * 2", "a * 3")}
    with repo(server, tmp_path, monkeypatch, TABLE.format("STORED") + ROWS, files) as d:
        pushed = converges(server, d, capsys)
        assert "MODIFY COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 3) STORED" in pushed
        assert "DROP COLUMN" not in pushed
