"""Issue 12, point 7 (system-versioned tables): written by init and pull, diffed, pushed, never skipped.

MariaDB lists a table `WITH SYSTEM VERSIONING` as 'SYSTEM VERSIONED' in
information_schema; schemad used to read 'BASE TABLE' only, so such tables
were silently left out of the files.  Each push case runs the CLI as a user
would (push, then a diff that exits 0, then the live SHOW CREATE equal to the
workspace's: test_peer_cases_converge's helpers) and checks that the history
rows are kept.  What schemad cannot change is reported with the table's name.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.helpers import load_sql
from tests.integration.test_peer_cases_converge import SCHEMA, _live_and_workspace, converges, repo

pytestmark = pytest.mark.db

IMPLICIT = "CREATE TABLE hist (id int NOT NULL PRIMARY KEY, qty int) WITH SYSTEM VERSIONING;\n"
EXPLICIT = (
    "CREATE TABLE audited (id int NOT NULL PRIMARY KEY, qty int,"
    " rs timestamp(6) GENERATED ALWAYS AS ROW START INVISIBLE,"
    " re timestamp(6) GENERATED ALWAYS AS ROW END INVISIBLE,"
    " PERIOD FOR SYSTEM_TIME (rs, re), UNIQUE KEY u_qty (qty)) WITH SYSTEM VERSIONING;\n"
)
UNVERSIONED_COLUMN = (
    "CREATE TABLE partly (id int NOT NULL PRIMARY KEY, qty int,"
    " seen datetime WITHOUT SYSTEM VERSIONING) WITH SYSTEM VERSIONING;\n"
)
BY_SYSTEM_TIME = (
    "CREATE TABLE rotated (id int NOT NULL PRIMARY KEY, qty int) WITH SYSTEM VERSIONING"
    " PARTITION BY SYSTEM_TIME LIMIT 1000 (PARTITION p_hist HISTORY, PARTITION p_cur CURRENT);\n"
)
# An application-time period as well: not modelled, so written as is and named by init.
APPLICATION_TIME = (
    "CREATE TABLE booked (id int NOT NULL PRIMARY KEY, s date NOT NULL, e date NOT NULL,"
    " PERIOD FOR stay (s, e)) WITH SYSTEM VERSIONING;\n"
)
TABLES = {"hist": IMPLICIT, "audited": EXPLICIT, "partly": UNVERSIONED_COLUMN, "rotated": BY_SYSTEM_TIME}


def _changes(table: str) -> str:
    """Rows with a history: two inserted, one updated twice, one deleted."""
    return (
        f"INSERT INTO {table} (id, qty) VALUES (1, 1), (2, 2); UPDATE {table} SET qty = 10 WHERE id = 1;"
        f" UPDATE {table} SET qty = 11 WHERE id = 1; DELETE FROM {table} WHERE id = 2;\n"
    )


async def _counts(server: DBServer, table: str) -> tuple[int, int]:
    """(current rows, every row version: history included)."""
    async with Instance(server.params) as inst:
        now = await inst.query(f"SELECT COUNT(*) AS n FROM `{SCHEMA}`.`{table}`")
        every = await inst.query(f"SELECT COUNT(*) AS n FROM `{SCHEMA}`.`{table}` FOR SYSTEM_TIME ALL")
    return int(now[0]["n"]), int(every[0]["n"])


async def _show_create(server: DBServer, table: str) -> str:
    async with Instance(server.params) as inst:
        rows = await inst.query(f"SHOW CREATE TABLE `{SCHEMA}`.`{table}`")
    return str(rows[0]["Create Table"])


def test_init_writes_versioned_tables_and_pull_rewrites_them(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "unused").mkdir()
    with repo(server, tmp_path / "unused", monkeypatch, "".join(TABLES.values()) + APPLICATION_TIME, {}):
        p = server.params
        host = tmp_path / "host"
        argv = ["init", "-h", p.host, "-P", str(p.port), "-u", p.user, "--schema", SCHEMA, "--dir", str(host)]
        assert main(argv) == 0
        # Every one is modelled exactly, but for the application-time period, which init names.
        warnings = [line for line in capsys.readouterr().err.splitlines() if "cannot alter" in line]
        assert len(warnings) == 1 and "table `booked` uses features schemad cannot alter" in warnings[0]
        assert (host / "booked.sql").read_text() == asyncio.run(_show_create(server, "booked")) + ";\n"
        for name in TABLES:
            text = (host / f"{name}.sql").read_text()
            assert text == asyncio.run(_show_create(server, name)) + ";\n"
            assert " WITH SYSTEM VERSIONING" in text
        assert "PERIOD FOR SYSTEM_TIME (`rs`, `re`)" in (host / "audited.sql").read_text()
        assert "WITHOUT SYSTEM VERSIONING" in (host / "partly.sql").read_text()

        # A column added on the server (history kept), a table versioned: pull rewrites the files.
        asyncio.run(
            load_sql(
                server.params,
                SCHEMA,
                "SET SESSION system_versioning_alter_history = KEEP;"
                " ALTER TABLE hist ADD COLUMN note varchar(20);"
                " CREATE TABLE later (id int NOT NULL PRIMARY KEY) WITH SYSTEM VERSIONING;",
            )
        )
        monkeypatch.chdir(host)
        assert main(["pull"]) == 0
        assert "table `booked` uses features schemad cannot alter" in capsys.readouterr().err
        assert "`note` varchar(20)" in (host / "hist.sql").read_text()
        assert (host / "later.sql").read_text() == asyncio.run(_show_create(server, "later")) + ";\n"
        assert main(["diff"]) == 0, capsys.readouterr()


def test_column_added_to_a_versioned_table_keeps_its_history(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "hist": IMPLICIT.replace("qty int)", "qty int, note varchar(20) NOT NULL DEFAULT 'x')"),
        "audited": EXPLICIT.replace("qty int,", "qty bigint, note varchar(20),"),
        "partly": UNVERSIONED_COLUMN.replace("qty int,", "qty int WITHOUT SYSTEM VERSIONING,").replace(
            " WITHOUT SYSTEM VERSIONING)", ")"
        ),
    }
    before = (
        IMPLICIT + EXPLICIT + UNVERSIONED_COLUMN + "".join(_changes(t) for t in ("hist", "audited", "partly"))
    )
    with repo(server, tmp_path, monkeypatch, before, files) as d:
        counts = {t: asyncio.run(_counts(server, t)) for t in files}
        assert counts["hist"] == (1, 4)  # one current row, three old versions
        assert main(["push"]) == 0  # safe: nothing is dropped
        pushed = capsys.readouterr().out
        keep = "SET STATEMENT system_versioning_alter_history=KEEP FOR ALTER TABLE"
        assert f"{keep} `hist` ADD COLUMN `note` varchar(20) NOT NULL DEFAULT 'x';" in pushed
        assert f"{keep} `audited` MODIFY COLUMN `qty` bigint(20) DEFAULT NULL" in pushed
        assert "MODIFY COLUMN `seen` datetime DEFAULT NULL" in pushed  # versioned again
        converges(server, d, capsys)
        assert {t: asyncio.run(_counts(server, t)) for t in files} == counts  # history kept


@pytest.mark.parametrize("table", ["hist", "audited"])
def test_system_versioning_added_and_removed(
    table: str,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    versioned = TABLES[table]
    plain = versioned.replace(" WITH SYSTEM VERSIONING", "")
    for drop in (
        "rs timestamp(6) GENERATED ALWAYS AS ROW START INVISIBLE,",
        " re timestamp(6) GENERATED ALWAYS AS ROW END INVISIBLE,",
        " PERIOD FOR SYSTEM_TIME (rs, re),",
    ):
        plain = plain.replace(drop, "")
    (tmp_path / "add").mkdir()
    (tmp_path / "drop").mkdir()
    # Added: safe, and history starts being kept.
    with repo(server, tmp_path / "add", monkeypatch, plain + _changes(table), {table: versioned}) as d:
        assert main(["push"]) == 0
        pushed = capsys.readouterr().out
        assert pushed.rstrip().endswith("ADD SYSTEM VERSIONING;")
        assert "SET STATEMENT" not in pushed  # the live table is not versioned yet
        converges(server, d, capsys)
        asyncio.run(load_sql(server.params, SCHEMA, f"UPDATE {table} SET qty = 12"))
        assert asyncio.run(_counts(server, table)) == (1, 2)
    # Removed: the history rows go with it, so it is unsafe.
    with repo(server, tmp_path / "drop", monkeypatch, versioned + _changes(table), {table: plain}) as d:
        assert main(["push"]) == 2
        assert "history rows would be deleted" in capsys.readouterr().err
        assert asyncio.run(_counts(server, table)) == (1, 4)
        pushed = converges(server, d, capsys)
        assert "DROP SYSTEM VERSIONING;" in pushed

        async def current() -> list[object]:
            async with Instance(server.params) as inst:
                return [
                    tuple(r.values()) for r in await inst.query(f"SELECT id, qty FROM `{SCHEMA}`.{table}")
                ]

        assert asyncio.run(current()) == [(1, 11)]  # the current rows stay


def test_what_cannot_be_changed_is_reported_by_name(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        # PARTITION BY SYSTEM_TIME changes: applied nowhere
        "rotated": BY_SYSTEM_TIME.replace("LIMIT 1000", "LIMIT 500"),
        # the ROW START/END columns of a table that stays versioned: MariaDB refuses to modify them
        "audited": EXPLICIT.replace("ROW END INVISIBLE", "ROW END"),
        "hist": IMPLICIT,
        "partly": UNVERSIONED_COLUMN,
    }
    with repo(server, tmp_path, monkeypatch, "".join(TABLES.values()), files) as d:
        with (d / ".skeema").open("a") as f:
            f.write("partitioning=modify\n")
        assert main(["push", "--allow-unsafe"]) == 1  # unsupported tables skipped
        err = capsys.readouterr().err
        assert "Skipping table `rotated`" in err and "Skipping table `audited`" in err
        assert "`hist`" not in err and "`partly`" not in err
        live, workspace = asyncio.run(_live_and_workspace(server, d))
        assert "LIMIT 1000" in live["table `rotated`"] and "LIMIT 500" in workspace["table `rotated`"]
        assert main(["diff"]) == 1
        # Under the default partitioning=keep a SYSTEM_TIME difference is left alone, as a re-partition is.
        del files["audited"]
        (d / "audited.sql").write_text(EXPLICIT)
        with (d / ".skeema").open("a") as f:
            f.write("partitioning=keep\n")
        assert main(["diff"]) == 0, capsys.readouterr()
