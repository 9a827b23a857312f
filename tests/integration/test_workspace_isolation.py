"""A file, a lint request or a diff never changes a live schema or a row (issue 9, point 1).

Every payload of the audit goes through each way text reaches a workspace:
CLI `diff` / `lint` / `format`, `POST /v1/lint` (every token that may lint),
and a save into a repo the daemon watches.  Before and after, every live
schema of the server is fingerprinted (SHOW CREATE of every object, CHECKSUM
TABLE and COUNT(*) of every table); the two must be identical, and each
cross-schema statement must be refused naming its file, line and reason.
The event scheduler is ON throughout, as on most production servers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.model.keys import escape_identifier as q
from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    READER_TOKEN,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sha,
)
from tests.helpers import load_sql

PID = os.getpid()
SHOP, INV, EVT = f"iso_shop_{PID}", f"iso_inv_{PID}", f"iso_evt_{PID}"
LINT_TOKEN = "linter-" + sha(str(PID))[:24]

LIVE = f"""
CREATE DATABASE {SHOP};
CREATE TABLE {SHOP}.victim3 (id int PRIMARY KEY, v varchar(20));
INSERT INTO {SHOP}.victim3 VALUES (1, 'keep'), (2, 'me');
CREATE TABLE {SHOP}.orders (id int PRIMARY KEY, note varchar(40));
INSERT INTO {SHOP}.orders VALUES (1, 'first');
CREATE DATABASE {EVT};
CREATE TABLE {EVT}.log (at datetime(6) NOT NULL);
CREATE DATABASE {INV};
CREATE TABLE {INV}.items (id int PRIMARY KEY);
INSERT INTO {INV}.items VALUES (7);
"""

ITEMS = "CREATE TABLE `items` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n"

# file name -> (text, line of the refused statement or None when it runs harmlessly in the workspace)
PAYLOADS: dict[str, tuple[str, int | None]] = {
    "victim.sql": (
        f"-- empties a live table if it runs\nCREATE OR REPLACE TABLE {SHOP}.victim3 (id int primary key);\n",
        2,
    ),
    "pwn2.sql": (f"CREATE TABLE {INV}.pwn2 (id int primary key);\n", None),  # own schema: runs as `pwn2`
    "backdoor.sql": (
        "DELIMITER //\n"
        f"CREATE TRIGGER {SHOP}.lint_backdoor BEFORE INSERT ON {SHOP}.orders\n"
        "FOR EACH ROW SET NEW.note='pwned'//\nDELIMITER ;\n",
        2,
    ),
    "backdoor2.sql": (
        f"\n\nCREATE TRIGGER backdoor2 BEFORE INSERT ON {SHOP}.orders FOR EACH ROW SET NEW.note='pwned';\n",
        3,
    ),
    "repo_pwn.sql": (f"CREATE TABLE {SHOP}.repo_pwn (id int primary key);\n", 1),
    "twice.sql": (
        f"DELIMITER //\nCREATE VIEW twice AS SELECT 1 AS x; DROP TABLE {SHOP}.victim3//\nDELIMITER ;\n",
        2,
    ),
    "event.sql": (
        "CREATE EVENT e1 ON SCHEDULE AT CURRENT_TIMESTAMP ON COMPLETION PRESERVE\n"
        f"DO INSERT INTO {EVT}.log VALUES (now(6));\n",
        None,
    ),
    "every.sql": (
        f"CREATE EVENT e2 ON SCHEDULE EVERY 1 SECOND ENABLE DO INSERT INTO {EVT}.log VALUES (now(6));\n",
        None,
    ),
}
# Forms the workspace never runs at all (Skeema's unsupported CREATEs: ignored on both sides, with a warning).
UNSUPPORTED = {
    "like.sql": f"CREATE TABLE t2 LIKE {SHOP}.orders;\n",
    "select.sql": f"\nCREATE TABLE t3 AS SELECT * FROM {SHOP}.victim3;\n",
}
UNSUPPORTED_LINE = {"like.sql": 1, "select.sql": 2}
REFUSED = {name: line for name, (_, line) in PAYLOADS.items() if line is not None}


async def _snapshot(params: Any) -> dict[str, Any]:
    """Every non-system schema except workspaces: object texts, table checksums and row counts."""
    out: dict[str, Any] = {}
    async with Instance(params) as inst:
        for schema in await inst.schema_names():
            if schema.startswith("_"):
                continue  # a temp schema of a workspace running right now
            s = q(schema)
            tables = await inst.query(
                "SELECT table_name AS n, table_type AS t FROM information_schema.tables"
                " WHERE table_schema = %s",
                (schema,),
            )
            for row in tables:
                kind = "VIEW" if row["t"] == "VIEW" else "TABLE"
                name = f"{s}.{q(row['n'])}"
                out[f"{kind} {name}"] = (await inst.query(f"SHOW CREATE {kind} {name}"))[0]
                if kind == "TABLE":
                    out[f"checksum {name}"] = (await inst.query(f"CHECKSUM TABLE {name} EXTENDED"))[0]
                    out[f"rows {name}"] = (await inst.query(f"SELECT COUNT(*) AS n FROM {name}"))[0]["n"]
            for kind, sql in (
                (
                    "PROCEDURE",
                    "SELECT routine_name AS n FROM information_schema.routines"
                    " WHERE routine_schema = %s AND routine_type = 'PROCEDURE'",
                ),
                (
                    "FUNCTION",
                    "SELECT routine_name AS n FROM information_schema.routines"
                    " WHERE routine_schema = %s AND routine_type = 'FUNCTION'",
                ),
                (
                    "TRIGGER",
                    "SELECT trigger_name AS n FROM information_schema.triggers WHERE trigger_schema = %s",
                ),
                ("EVENT", "SELECT event_name AS n FROM information_schema.events WHERE event_schema = %s"),
            ):
                for row in await inst.query(sql, (schema,)):
                    name = f"{s}.{q(row['n'])}"
                    text = dict((await inst.query(f"SHOW CREATE {kind} {name}"))[0])
                    out[f"{kind} {name}"] = text
    return out


def snapshot(server: DBServer) -> dict[str, Any]:
    return asyncio.run(_snapshot(server.params))


def sql(server: DBServer, text: str) -> None:
    asyncio.run(load_sql(server.params, None, text))


@pytest.fixture
def live(server: DBServer) -> Iterator[dict[str, Any]]:
    """The victims, with the event scheduler on; yields the snapshot taken before anything ran."""
    sql(
        server,
        f"DROP DATABASE IF EXISTS {SHOP}; DROP DATABASE IF EXISTS {EVT}; DROP DATABASE IF EXISTS {INV};",
    )
    sql(server, LIVE)
    sql(server, "SET GLOBAL event_scheduler = ON")
    try:
        yield snapshot(server)
    finally:
        sql(server, "SET GLOBAL event_scheduler = OFF")
        sql(
            server,
            f"DROP DATABASE IF EXISTS {SHOP}; DROP DATABASE IF EXISTS {EVT}; DROP DATABASE IF EXISTS {INV};",
        )


def assert_unchanged(server: DBServer, before: dict[str, Any]) -> None:
    time.sleep(1.2)  # an event that slipped through would have fired by now (1 s scheduler ticks)
    after = snapshot(server)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"live objects changed: {changed}"


# ///// the test's own control: the payloads are live ammunition ////////////////////////////////////


def test_control_the_event_payload_fires_when_run_as_written(server: DBServer, live: dict[str, Any]) -> None:
    """Without the guard, the event writes a row: so the tests below can fail."""
    sql(server, f"CREATE DATABASE IF NOT EXISTS _iso_control_{PID}")
    try:
        sql(server, f"USE _iso_control_{PID};\n" + PAYLOADS["event.sql"][0])
        deadline = time.monotonic() + 10
        rows = 0
        while time.monotonic() < deadline and not rows:
            rows = asyncio.run(_count(server, f"{EVT}.log"))
            time.sleep(0.1)
        assert rows >= 1
    finally:
        sql(server, f"DROP DATABASE IF EXISTS _iso_control_{PID}")


async def _count(server: DBServer, table: str) -> int:
    async with Instance(server.params) as inst:
        return int((await inst.query(f"SELECT COUNT(*) AS n FROM {table}"))[0]["n"])


# ///// CLI ///////////////////////////////////////////////////////////////////////////////////////////


@pytest.fixture
def cli_repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / "inv"
    d.mkdir()
    (d / ".skeema").write_text(f"schema={INV}\n")
    (d / "items.sql").write_text(ITEMS)
    for name, (text, _) in PAYLOADS.items():
        (d / name).write_text(text)
    for name, text in UNSUPPORTED.items():
        (d / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return d


@pytest.mark.parametrize(
    "argv", [["diff", "--no-cache"], ["diff"], ["lint", "--skip-format"], ["lint"], ["format"]], ids=" ".join
)
def test_cli_runs_nothing_outside_the_workspace(
    argv: list[str], cli_repo: Path, live: dict[str, Any], server: DBServer, caplog: pytest.LogCaptureFixture
) -> None:
    main(argv)
    assert_unchanged(server, live)
    expect = dict(REFUSED)
    if argv[0] == "format":
        # format refuses a dir with schema-qualified names before any workspace (like Skeema);
        # without them, what is left goes through the workspace and its guard.
        assert "cannot rewrite schema-qualified names" in caplog.text
        caplog.clear()
        for name in ("victim.sql", "pwn2.sql", "backdoor.sql", "repo_pwn.sql"):
            (cli_repo / name).unlink()
            expect.pop(name, None)
        main(argv)
        assert_unchanged(server, live)
        for name in expect:
            assert (cli_repo / name).read_text() == PAYLOADS[name][0]  # a refused file is not rewritten
    for name, line in expect.items():
        found = [r for r in caplog.messages if f"{name}:{line}" in r and "refused" in r]
        assert found, f"{name}:{line} not reported as refused:\n{caplog.text}"
    for name, line in UNSUPPORTED_LINE.items():
        found = [r for r in caplog.messages if f"{name}:{line}" in r and "not supported" in r]
        assert found, f"{name}:{line} not reported as unsupported:\n{caplog.text}"


# ///// the daemon: POST /v1/lint and a watched repo //////////////////////////////////////////////////


@pytest.fixture
def daemon(server: DBServer, tmp_path: Path, live: dict[str, Any]) -> Iterator[RunningDaemon]:
    ensure_db_user(server)
    repo = DaemonRepo.create(tmp_path / "repo", server, INV, {"items.sql": ITEMS})
    d = RunningDaemon(
        repo,
        tmp_path / "run",
        extra_toml=f'\n[[tokens]]\nname = "linter"\nsha256 = "{sha(LINT_TOKEN)}"\nscopes = ["lint"]\n',
    ).start()
    try:
        yield d
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        assert_no_password(d)


@pytest.mark.parametrize("token", [ADMIN_TOKEN, LINT_TOKEN], ids=["admin", "lint-only"])
def test_lint_requests_run_nothing_outside_the_workspace(
    token: str, daemon: RunningDaemon, live: dict[str, Any], server: DBServer
) -> None:
    for name, (text, line) in PAYLOADS.items():
        r = daemon.post("/v1/lint", {"file": f"{INV}/{name}", "sql": text}, token=token)
        assert r.status == 200, r.text
        if line is not None:
            refused = [d for d in r.json()["diagnostics"] if d["line"] == line and "refused" in d["message"]]
            assert refused and refused[0]["severity"] == "error", (name, r.json())
    r = daemon.post(
        "/v1/lint", {"file": f"{INV}/x.sql", "sql": PAYLOADS["victim.sql"][0]}, token=READER_TOKEN
    )
    assert r.status == 403
    assert_unchanged(server, live)


def test_saving_into_a_watched_repo_runs_nothing_outside_the_workspace(
    daemon: RunningDaemon, live: dict[str, Any], server: DBServer
) -> None:
    for name, (text, _) in PAYLOADS.items():
        (daemon.repo.dir / name).write_text(text)
    for name, text in UNSUPPORTED.items():
        (daemon.repo.dir / name).write_text(text)

    def reported() -> str | None:
        error = daemon.diff()["targets"][0]["error"] or ""
        return error if all(f"{n}:{line}" in error for n, line in REFUSED.items()) else None

    error = daemon.wait_for(reported, timeout=15)
    assert error.count("refused") >= len(REFUSED)
    assert_unchanged(server, live)
    # The dir's own files still work: the diff of the refused dir names the harmless objects.
    for name in [*PAYLOADS, *UNSUPPORTED]:
        (daemon.repo.dir / name).unlink()
    daemon.wait_for(lambda: daemon.diff()["targets"][0]["error"] is None, timeout=15)
    assert_unchanged(server, live)


async def test_events_keep_their_written_status_through_the_workspace(server: DBServer) -> None:
    """Created DISABLE'd in the workspace, each event comes back with the status its file wrote."""
    from schemad.model.event import EventStatus
    from schemad.model.flavor import MARIADB_10_11
    from schemad.sqltext.splitter import split
    from schemad.workspace.scratch import WorkspaceOptions
    from schemad.workspace.tempschema import exec_statements

    every = "ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'"
    text = (
        f"CREATE EVENT e_plain {every} DO SELECT 1;\n"
        f"CREATE EVENT e_on {every} ENABLE COMMENT 'c' DO SELECT 1;\n"
        f"CREATE EVENT e_off {every} DISABLE DO SELECT 1;\n"
        f"CREATE EVENT e_replica {every} DISABLE ON SLAVE DO SELECT 1;\n"
    )
    stmts = [s for s in split(text, "events.sql") if s.key is not None]
    result = await exec_statements(
        server.params,
        stmts,
        schema_name="app",
        char_set="utf8mb4",
        collation="utf8mb4_general_ci",
        options=WorkspaceOptions(temp_schema=f"_iso_events_{PID}"),
    )
    assert result.failures == ()
    got = {e.name: e for e in result.schema.events}
    want = {
        "e_plain": EventStatus.ENABLED,
        "e_on": EventStatus.ENABLED,
        "e_off": EventStatus.DISABLED,
        "e_replica": EventStatus.SLAVESIDE_DISABLED,
    }
    assert {n: e.status for n, e in got.items()} == want
    for name, event in got.items():
        assert f" {want[name].clause} " in event.show_create, event.show_create
        assert event.show_create == event.create_statement(MARIADB_10_11), name
        assert not event.unsupported
