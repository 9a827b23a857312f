"""push with alter-wrapper / ddl-wrapper: the real pt-online-schema-change, failures, masking."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMA = "push_wrap"
PASSWORD = "Wr4p pw'$x"
USER = "wrapuser"
PT_OSC = (
    "pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE},h={HOST},P={PORT},"
    "u={USER},p={PASSWORDX} --recursion-method=none --no-version-check --chunk-size 500 --chunk-time 0"
    " --progress percentage,1"
)


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


async def _count_and_create(server: DBServer) -> tuple[int, str]:
    async with Instance(server.params) as inst:
        n = (await inst.query(f"SELECT COUNT(*) AS n FROM {SCHEMA}.big"))[0]["n"]
        create = (await inst.query(f"SHOW CREATE TABLE {SCHEMA}.big"))[0]["Create Table"]
    return int(n), str(create)


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}")
    quoted = PASSWORD.replace("'", "''")
    sql(
        server,
        f"DROP USER IF EXISTS '{USER}'@'%'; CREATE USER '{USER}'@'%' IDENTIFIED BY '{quoted}';"
        f" GRANT ALL ON *.* TO '{USER}'@'%';",
    )
    rows = ",".join(f"({i}, 'n{i}')" for i in range(1, 10001))
    sql(
        server,
        f"CREATE TABLE big (id int NOT NULL PRIMARY KEY, name varchar(20)); INSERT INTO big VALUES {rows};",
        SCHEMA,
    )
    p = server.params
    (tmp_path / ".skeema").write_text(
        f'[production]\nhost={p.host}\nport={p.port}\nuser={USER}\npassword="{PASSWORD}"\n'
    )
    d = tmp_path / SCHEMA
    d.mkdir()
    (d / ".skeema").write_text(f"schema={SCHEMA}\n")
    (d / "big.sql").write_text(
        "CREATE TABLE big (id int NOT NULL PRIMARY KEY, name varchar(20), added int);\n"
    )
    monkeypatch.chdir(tmp_path)
    yield d
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; DROP USER IF EXISTS '{USER}'@'%'")


def test_pt_osc_alter_wrapper_end_to_end(
    server: DBServer, repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    opts = f"alter-wrapper={PT_OSC}\nalter-wrapper-min-size=1\n"
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + opts)
    assert main(["diff"]) == 1
    out, err = capfd.readouterr()
    assert "\\! pt-online-schema-change --execute --alter 'ADD COLUMN `added` int(11) DEFAULT NULL'" in out
    assert "p=*****" in out and PASSWORD not in out + err
    assert main(["push"]) == 0
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err
    assert "Successfully altered" in err  # pt-osc's own output, logged line by line
    assert "Copying" in err  # its progress lines
    n, create = _count_and_create_sync(server)
    assert n == 10000 and "`added` int(11) DEFAULT NULL" in create
    assert main(["diff"]) == 0


def _count_and_create_sync(server: DBServer) -> tuple[int, str]:
    return asyncio.run(_count_and_create(server))


def test_small_tables_skip_the_alter_wrapper(server: DBServer, repo: Path) -> None:
    opts = "alter-wrapper=false-wrapper-never-runs {TABLE}\nalter-wrapper-min-size=1G\n"
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + opts)
    assert main(["push"]) == 0  # below the min size: plain ALTER, the wrapper is never started
    assert "`added`" in _count_and_create_sync(server)[1]


def test_failing_wrapper_fails_the_push_with_its_output(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    opts = "alter-wrapper=/bin/sh -c 'echo working on {TABLE} with {PASSWORDX}; echo boom >&2; exit 3'\n"
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + opts)
    assert main(["push"]) == 2
    _, err = capfd.readouterr()
    assert "boom" in caplog.text and "exit" in caplog.text.lower()
    assert PASSWORD not in caplog.text + err
    assert "`added`" not in _count_and_create_sync(server)[1]


def test_wrapper_timeout_stops_a_run_that_takes_too_long(
    server: DBServer, repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    started = tmp_path / "started"
    opts = f"alter-wrapper=/bin/sh -c 'touch {started}; sleep 60'\nwrapper-timeout=1s\n"
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + opts)
    t0 = time.monotonic()
    assert main(["push"]) == 2
    assert time.monotonic() - t0 < 30  # stopped at the bound, not after the tool's 60 s
    assert started.exists()  # the tool did run
    assert "timed out after" in caplog.text
    assert "`added`" not in _count_and_create_sync(server)[1]


def test_ddl_wrapper_receives_every_statement(server: DBServer, repo: Path, tmp_path: Path) -> None:
    record = tmp_path / "ddl.log"
    (repo / "extra.sql").write_text("CREATE TABLE extra (id int PRIMARY KEY);\n")
    opts = f"ddl-wrapper=echo {{TYPE}} {{CLASS}} {{NAME}} {{SCHEMA}} >> {record}\n"
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + opts)
    assert main(["push"]) == 0
    assert record.read_text().splitlines() == ["ALTER TABLE big push_wrap", "CREATE TABLE extra push_wrap"]
    assert "`added`" not in _count_and_create_sync(server)[1]  # the wrapper, not schemad, runs the DDL
