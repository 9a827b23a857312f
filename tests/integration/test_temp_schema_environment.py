"""temp-schema-environment: the workspace runs on another environment's server (issue 14, point 4).

Server A is the suite's own server, the target of `[production]`; server B is
a second throwaway MariaDB started here, the `[development]` server, whose
account has a password given as `$WS_PASSWORD`.  A hand-written repo (no
file is its table's SHOW CREATE, so everything goes through the workspace)
is diffed, pushed, linted and formatted with `temp-schema-environment=
development`: A's general log must show no workspace at all (no temp schema,
no GET_LOCK('skeema.…'), no CREATE/DROP but the push's own), B's must show
the temp schema.  A global-only variable that differs on B, or an
environment without a host, skips the target (exit 2) without touching A.
Different flavors can't be had from the one installed server version: that
comparison is unit-tested (tests/unit/workspace/test_offload.py).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.embedded import EmbeddedServer
from schemad.fs.cascade import ConfigSources
from tests.conftest import DBServer
from tests.helpers import load_sql
from tests.workspace_log import entries

PID = os.getpid()
APP = f"tse_app_{PID}"
SECRET = f"ws-Secret-{PID}-x9"  # server B's password for the workspace account

LIVE = f"""
DROP DATABASE IF EXISTS {APP};
CREATE DATABASE {APP} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE TABLE {APP}.users (id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, email varchar(100) NOT NULL,
    UNIQUE KEY email (email));
CREATE TABLE {APP}.orders (id bigint PRIMARY KEY, user_id int unsigned, total decimal(10,2),
    KEY user_id (user_id));
CREATE VIEW {APP}.v_users AS SELECT id, email FROM {APP}.users;
INSERT INTO {APP}.users (id, email) VALUES (1, 'a@example.com');
"""

# What a workspace does on its server: DDL, its lock, its schema's name.
WORKSPACE_TRACE = re.compile(r"^\s*(?:CREATE|DROP|ALTER)\b|GET_LOCK\('skeema\.|_skeema_tmp", re.IGNORECASE)
TEMP_SCHEMA_MADE = re.compile(r"CREATE DATABASE IF NOT EXISTS `_skeema_tmp`")


@dataclass
class Log:
    """Statements a server's general log got while watched."""

    statements: list[str] = field(default_factory=list)

    def workspace_traces(self) -> list[str]:
        return [s for s in self.statements if WORKSPACE_TRACE.search(s)]

    def made_temp_schema(self) -> bool:
        return any(TEMP_SCHEMA_MADE.search(s) for s in self.statements)


async def _log_file(params: ConnParams) -> tuple[str, int]:
    async with Instance(params, pool_size=1) as inst:
        row = (await inst.query("SELECT @@global.general_log AS on_, @@global.general_log_file AS f"))[0]
        if not int(row["on_"]):
            await inst.execute("SET GLOBAL log_output = 'FILE', general_log = ON")
    path = str(row["f"])
    if not os.path.isabs(path):  # relative to the datadir
        async with Instance(params, pool_size=1) as inst:
            datadir = (await inst.query("SELECT @@datadir AS d"))[0]["d"]
        path = os.path.join(str(datadir), path)
    return path, (os.path.getsize(path) if os.path.exists(path) else 0)


@contextmanager
def watch(*servers: ConnParams) -> Iterator[list[Log]]:
    """The general log of each of `servers` during the block."""
    starts = [asyncio.run(_log_file(p)) for p in servers]
    logs = [Log() for _ in servers]
    try:
        yield logs
    finally:
        for (path, offset), log in zip(starts, logs, strict=True):
            with open(path, errors="replace") as f:
                f.seek(offset)
                text = f.read()
            log.statements = [e.argument for e in entries(text) if e.command == "Query"]


@pytest.fixture(scope="module")
def other() -> Iterator[ConnParams]:
    """Server B: a second throwaway MariaDB with a password-protected workspace account, logging all."""
    srv = EmbeddedServer()
    srv.start()
    try:
        root = ConnParams(host="127.0.0.1", port=srv.port, user="root")
        asyncio.run(
            load_sql(
                root,
                None,
                f"CREATE USER 'ws'@'%' IDENTIFIED BY '{SECRET}';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'ws'@'%';\n"
                f"SET GLOBAL general_log_file = '{srv.root / 'general.log'}', log_output = 'FILE', "
                "general_log = ON;\n",
            )
        )
        yield root
    finally:
        srv.stop()


def sql(params: ConnParams, text: str) -> None:
    asyncio.run(load_sql(params, None, text))


@pytest.fixture
def repo(
    server: DBServer, other: ConnParams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """APP exported from A by init, made hand-written and changed; [development] is server B."""
    sql(server.params, LIVE)
    p = server.params
    d = tmp_path / "repo"
    assert (
        main(["init", "-h", p.host, "-P", str(p.port), "-u", p.user, "--schema", APP, "--dir", str(d)]) == 0
    )
    for f in d.glob("*.sql"):
        f.write_text(f.read_text().replace("CREATE TABLE ", "create table ", 1))
    orders = d / "orders.sql"
    orders.write_text(
        orders.read_text().replace(
            "  `total` decimal(10,2)", "  `note` varchar(20),\n  `total` decimal(10,2)"
        )
    )
    (d / "tags.sql").write_text("create table tags (id int primary key, name varchar(20) not null);\n")
    options = d / ".skeema"
    options.write_text(
        "temp-schema-environment=development\n"
        + options.read_text()
        + f"\n[development]\nhost=127.0.0.1\nport={other.port}\nuser=ws\npassword=$WS_PASSWORD\n"
    )
    monkeypatch.setenv("WS_PASSWORD", SECRET)
    monkeypatch.chdir(d)
    try:
        yield d
    finally:
        sql(server.params, f"DROP DATABASE IF EXISTS {APP}")


def test_diff_runs_the_workspace_on_the_other_environment_only(
    server: DBServer,
    other: ConnParams,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    capsys.readouterr()
    with watch(server.params, other) as (a, b):
        assert main(["diff", "--debug"]) == 1
    offloaded = capsys.readouterr()
    assert a.workspace_traces() == [], offloaded.err
    assert b.made_temp_schema() and any("create table tags" in s for s in b.statements)
    assert "ADD COLUMN `note` varchar(20)" in offloaded.out and "CREATE TABLE `tags`" in offloaded.out
    assert SECRET not in offloaded.out + offloaded.err + caplog.text

    # The same diff with the temp schema on A itself (the option emptied on the command line).
    with watch(server.params, other) as (a, b):
        assert main(["diff", "--temp-schema-environment="]) == 1
    on_target = capsys.readouterr()
    assert a.made_temp_schema() and not b.made_temp_schema()
    assert on_target.out == offloaded.out


def test_push_and_its_verify_leave_the_target_nothing_but_the_push(
    server: DBServer, other: ConnParams, repo: Path
) -> None:
    with watch(server.params, other) as (a, b):
        assert main(["push"]) == 0
    pushed = sorted(t.split("\n")[0] for t in a.workspace_traces())
    assert pushed == [
        "ALTER TABLE `orders` ADD COLUMN `note` varchar(20) DEFAULT NULL AFTER `user_id`",
        "CREATE TABLE `tags` (",
    ]
    # The workspace and verify's copy of `orders` (replaying the ALTER) both ran on B.
    assert b.made_temp_schema()
    assert any(s.lstrip().startswith("ALTER TABLE `orders`") for s in b.statements)
    with watch(server.params, other) as (a, b):
        assert main(["diff"]) == 0
    assert a.workspace_traces() == []


def test_lint_and_format_honour_it(
    server: DBServer, other: ConnParams, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty canonical cache: with every statement cached nothing runs, and no temp schema is made anywhere.
    monkeypatch.setenv("SCHEMAD_CACHE_DIR", str(tmp_path / "cache"))
    with watch(server.params, other) as (a, b):
        assert main(["lint", "--skip-format"]) == 0
        assert main(["format"]) == 1  # the hand-written files are rewritten
    assert a.workspace_traces() == []
    assert b.made_temp_schema()
    assert "CREATE TABLE `tags`" in (repo / "tags.sql").read_text()


def test_a_warm_cache_makes_no_temp_schema_anywhere(
    server: DBServer, other: ConnParams, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cache keys are read on a connection without a schema: when every statement hits,
    # no lock is taken and no temp schema is made or dropped, on either server.  (--skip-verify:
    # verify replays the ALTER on copies of the live tables, in a temp schema of its own.)
    monkeypatch.setenv("SCHEMAD_CACHE_DIR", str(tmp_path / "cache"))
    with watch(server.params, other) as (a, b):
        first = main(["diff", "--skip-verify"])
    assert b.made_temp_schema() and not a.made_temp_schema()
    with watch(server.params, other) as (a, b):
        assert main(["diff", "--skip-verify"]) == first == 1
    assert not a.made_temp_schema() and not b.made_temp_schema()
    assert not any("GET_LOCK" in s for s in (*a.statements, *b.statements))


def test_a_differing_global_setting_skips_the_target(
    server: DBServer, other: ConnParams, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sql(other, "SET GLOBAL innodb_file_per_table = OFF")
    try:
        with watch(server.params, other) as (a, b):
            assert main(["diff"]) == 2  # the target skipped
            assert main(["lint", "--skip-format"]) == 78  # lint's code for a dir skipped on its options
            assert main(["format"]) == 78
    finally:
        sql(other, "SET GLOBAL innodb_file_per_table = ON")
    assert a.workspace_traces() == [] and not b.made_temp_schema()
    assert (
        "temp-schema-environment=development: innodb_file_per_table=1 on the target but 0 on the workspace "
        "server"
    ) in caplog.text
    assert SECRET not in caplog.text


def test_an_environment_without_a_host_skips_the_target(
    server: DBServer, other: ConnParams, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with watch(server.params, other) as (a, b):
        assert main(["diff", "--temp-schema-environment=staging"]) == 2
    assert a.workspace_traces() == [] and not b.made_temp_schema()
    assert (
        "temp-schema-environment=staging (command line): no host is configured for environment [staging]"
        in (caplog.text)
    )


def test_workspace_local_or_docker_ignore_it(server: DBServer, other: ConnParams, repo: Path) -> None:
    """As Skeema's docker workspace does: the option only moves a temp-schema workspace."""
    from schemad.fs.dir import Dir
    from schemad.plan.dir_options import DirOptions

    d = Dir.open(repo)
    assert DirOptions.from_dir(d).workspace.server is not None
    for kind in ("local", "docker"):
        d = Dir.open(repo, sources=ConfigSources(cli={"workspace": kind}))
        assert DirOptions.from_dir(d).workspace.server is None


async def test_the_daemons_desired_build_runs_on_the_other_environment(
    server: DBServer, other: ConnParams, repo: Path, tmp_path: Path
) -> None:
    from schemad.fs.dir import Dir
    from schemad.plan.planner import Target
    from schemad.service.desired import DirState, build_dir, dir_options
    from schemad.workspace.cache import CanonicalCache

    d = Dir.open(repo)
    cache = CanonicalCache(tmp_path / "canonical.sqlite3")  # empty: the workspace must run
    try:
        ds = DirState(d, dir_options(d, cache, None))
        target = Target("production", server.params.address, server.params, APP, str(repo))
        instances: list[Instance] = []

        def instance(p: ConnParams) -> Instance:
            instances.append(Instance(p))
            return instances[-1]

        path_a, start_a = await _log_file(server.params)
        path_b, start_b = await _log_file(other)
        await build_dir(ds, "repo", target, {("utf8mb4", "utf8mb4_general_ci")}, instance)
        for inst in instances:
            await inst.close()
    finally:
        cache.close()
    assert ds.error is None
    desired = ds.schema(("utf8mb4", "utf8mb4_general_ci"), APP)
    assert desired is not None and {t.name for t in desired.tables} == {"users", "orders", "tags"}
    a = _read_from(path_a, start_a)
    b = _read_from(path_b, start_b)
    assert a.workspace_traces() == []
    assert b.made_temp_schema()


def _read_from(path: str, offset: int) -> Log:
    with open(path, errors="replace") as f:
        f.seek(offset)
        text = f.read()
    return Log([e.argument for e in entries(text) if e.command == "Query"])
