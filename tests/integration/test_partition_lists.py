"""Issue 12, point 6: RANGE/LIST partition lists, opt in with partitioning=modify-list.

Each case loads a live partitioned table with rows, writes the repo with
another partition list, and runs the CLI as a user would: under
`partitioning=modify-list` the push converges (then a diff that exits 0, and
the live SHOW CREATE equal to the workspace's: test_peer_cases_converge's
helpers), with the rows that the surviving partitions hold kept; a dropped
partition is refused without --allow-unsafe.  Under the default (and under
Skeema's `modify`) a difference in the list alone is no difference at all.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.integration.test_peer_cases_converge import SCHEMA, _live_and_workspace, converges, repo

pytestmark = pytest.mark.db

HEAD = "CREATE TABLE events (id int NOT NULL, d int NOT NULL, note varchar(20), PRIMARY KEY (id, d))"
LIVE = HEAD + (
    " PARTITION BY RANGE (d) (PARTITION p10 VALUES LESS THAN (10), PARTITION p20 VALUES LESS THAN (20),"
    " PARTITION p30 VALUES LESS THAN (30));\n"
)
ROWS = "INSERT INTO events VALUES (1, 5, 'a'), (2, 15, 'b'), (3, 16, 'c'), (4, 25, 'd'), (5, 29, 'e');\n"


def _file(*parts: str, method: str = "RANGE (d)") -> dict[str, str]:
    return {"events": f"{HEAD} PARTITION BY {method} ({', '.join(parts)});\n"}


def _range(name: str, bound: str) -> str:
    return f"PARTITION {name} VALUES LESS THAN ({bound})"


P10, P20, P30 = _range("p10", "10"), _range("p20", "20"), _range("p30", "30")


def _modify_list(schema_dir: Path) -> None:
    with (schema_dir / ".skeema").open("a") as f:
        f.write("partitioning=modify-list\n")


async def _rows(server: DBServer) -> list[tuple[object, ...]]:
    async with Instance(server.params) as inst:
        rows = await inst.query(f"SELECT id, d, note FROM `{SCHEMA}`.events ORDER BY id")
    return [tuple(r.values()) for r in rows]


async def _in_partitions(server: DBServer) -> dict[str, list[int]]:
    """The ids each partition holds (read with PARTITION (..), not estimated)."""
    async with Instance(server.params) as inst:
        names = [
            r["name"]
            for r in await inst.query(
                "SELECT partition_name AS name FROM information_schema.partitions"
                " WHERE table_schema = %s AND table_name = 'events' ORDER BY partition_ordinal_position",
                (SCHEMA,),
            )
        ]
        out = {}
        for n in names:
            rows = await inst.query(f"SELECT id FROM `{SCHEMA}`.events PARTITION (`{n}`) ORDER BY id")
            out[n] = [int(r["id"]) for r in rows]
    return out


def test_partition_added_at_the_end_converges(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _file(P10, P20, P30, _range("p40", "40"), "PARTITION pmax VALUES LESS THAN MAXVALUE")
    with repo(server, tmp_path, monkeypatch, LIVE + ROWS, files) as d:
        _modify_list(d)
        rows = asyncio.run(_rows(server))
        assert main(["push"]) == 0  # safe: no --allow-unsafe needed
        pushed = capsys.readouterr().out
        assert (
            "ALTER TABLE `events` ADD PARTITION (PARTITION `p40` VALUES LESS THAN (40) ENGINE = InnoDB,"
            " PARTITION `pmax` VALUES LESS THAN MAXVALUE ENGINE = InnoDB);" in pushed
        )
        converges(server, d, capsys)
        assert asyncio.run(_rows(server)) == rows
        assert asyncio.run(_in_partitions(server)) == {
            "p10": [1],
            "p20": [2, 3],
            "p30": [4, 5],
            "p40": [],
            "pmax": [],
        }


def test_dropped_partition_is_unsafe_and_keeps_the_rows_of_the_others(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rotation: the oldest partition dropped (with its rows) and a new one added."""
    with repo(server, tmp_path, monkeypatch, LIVE + ROWS, _file(P20, P30, _range("p40", "40"))) as d:
        _modify_list(d)
        rows = asyncio.run(_rows(server))
        assert main(["push"]) == 2  # refused: the partition's rows would go
        err = capsys.readouterr().err
        assert "partition `p10` would be dropped, with its rows" in err
        assert asyncio.run(_rows(server)) == rows  # nothing ran
        pushed = converges(server, d, capsys)  # push --allow-unsafe, a clean diff, live == workspace
        assert "ALTER TABLE `events` DROP PARTITION `p10`;\n" in pushed
        assert "ALTER TABLE `events` ADD PARTITION (PARTITION `p40` VALUES LESS THAN (40)" in pushed
        assert asyncio.run(_rows(server)) == rows[1:]  # only the dropped partition's row is gone
        assert asyncio.run(_in_partitions(server)) == {"p20": [2, 3], "p30": [4, 5], "p40": []}


def test_reorganized_partitions_keep_every_row(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A split (p20 into p16 and p20), a merge under a new name, and the last bound raised."""
    live = LIVE.replace(
        "(30));", "(30), PARTITION p40 VALUES LESS THAN (40), PARTITION p50 VALUES LESS THAN (50));"
    )
    files = _file(
        P10,
        _range("p16", "16"),
        P20,
        P30,
        _range("p4050", "50"),
    )
    files["events"] = files["events"].replace("(50)", "(60)")  # the last bound grows too
    rows = ROWS.replace(";\n", ", (6, 35, 'f'), (7, 45, 'g');\n")
    with repo(server, tmp_path, monkeypatch, live + rows, files) as d:
        _modify_list(d)
        before = asyncio.run(_rows(server))
        assert main(["push"]) == 0  # reorganizing moves rows, it never drops one
        pushed = capsys.readouterr().out
        assert "REORGANIZE PARTITION `p20` INTO (PARTITION `p16` VALUES LESS THAN (16)" in pushed
        assert "REORGANIZE PARTITION `p40`, `p50` INTO (PARTITION `p4050` VALUES LESS THAN (60)" in pushed
        converges(server, d, capsys)
        assert asyncio.run(_rows(server)) == before
        assert asyncio.run(_in_partitions(server)) == {
            "p10": [1],
            "p16": [2],
            "p20": [3],
            "p30": [4, 5],
            "p4050": [6, 7],
        }


def test_list_partitions_reorganized_and_added(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = (
        HEAD
        + " PARTITION BY LIST (d) (PARTITION odd VALUES IN (5, 15, 25), PARTITION even VALUES IN (16));\n"
    )
    files = _file(
        "PARTITION odd VALUES IN (5, 15, 25, 29)",
        "PARTITION even VALUES IN (16)",
        "PARTITION other DEFAULT",
        method="LIST (d)",
    )
    with repo(server, tmp_path, monkeypatch, live + ROWS.replace(", (5, 29, 'e')", ""), files) as d:
        _modify_list(d)
        before = asyncio.run(_rows(server))
        pushed = converges(server, d, capsys)
        assert "REORGANIZE PARTITION `odd` INTO (PARTITION `odd` VALUES IN (5,15,25,29)" in pushed
        assert "ADD PARTITION (PARTITION `other` DEFAULT ENGINE = InnoDB)" in pushed
        assert asyncio.run(_rows(server)) == before


@pytest.mark.parametrize("mode", ["", "partitioning=keep\n", "partitioning=modify\n"])
def test_partition_list_is_untouched_by_default(
    mode: str,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Skeema's rule: a table that differs only in its partition list shows no difference."""
    files = _file(P20, P30, _range("p40", "40"))
    with repo(server, tmp_path, monkeypatch, LIVE + ROWS, files) as d:
        with (d / ".skeema").open("a") as f:
            f.write(mode)
        assert main(["diff"]) == 0, capsys.readouterr()
        assert main(["push"]) == 0
        assert "ALTER TABLE" not in capsys.readouterr().out
        live, workspace = asyncio.run(_live_and_workspace(server, d))
        assert live != workspace  # the live list is still the live one
        assert "PARTITION `p10`" in live["table `events`"]
