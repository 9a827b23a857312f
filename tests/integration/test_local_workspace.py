"""workspace=local and workspace=docker never touch the target (issue 12, point 8).

A hand-written repo (no file is its table's SHOW CREATE, so everything goes
through the workspace) is diffed and pushed with `workspace=local` in its
`.skeema`.  While the command runs, the target's general log (the suite's
own server logs every statement) and information_schema.SCHEMATA (polled)
must show no temp schema, no GET_LOCK, no CREATE/DROP DATABASE; the
diff must equal the temp-schema workspace's.  A second command finds the
same local server (same watchdog, server pid and port in the state file).
The local server started here is stopped at the end, and checked gone.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.model.flavor import Flavor, Vendor
from schemad.workspace import local
from schemad.workspace.local import LocalServerState
from tests.conftest import DBServer
from tests.helpers import load_sql
from tests.workspace_log import entries

PID = os.getpid()
APP = f"lw_app_{PID}"

LIVE = f"""
DROP DATABASE IF EXISTS {APP};
CREATE DATABASE {APP} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE TABLE {APP}.users (id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, email varchar(100) NOT NULL,
    created timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, UNIQUE KEY email (email));
CREATE TABLE {APP}.orders (id bigint PRIMARY KEY, user_id int unsigned, total decimal(10,2),
    KEY user_id (user_id), CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES {APP}.users (id));
CREATE VIEW {APP}.v_users AS SELECT id, email FROM {APP}.users;
DELIMITER //
CREATE PROCEDURE {APP}.touch(IN x int) BEGIN SELECT x; END//
DELIMITER ;
INSERT INTO {APP}.users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');
INSERT INTO {APP}.orders VALUES (10, 1, 9.50), (11, 2, 20.00);
"""

# What a workspace does on its server, and must never do on the target under workspace=local:
# any DDL, its lock (a push's own lock is `schemad.push.<schema>`), its schema's name.
WORKSPACE_TRACE = re.compile(r"^\s*(?:CREATE|DROP|ALTER)\b|GET_LOCK\('skeema\.|_skeema_tmp", re.IGNORECASE)


def sql(server: DBServer, text: str) -> None:
    asyncio.run(load_sql(server.params, None, text))


@pytest.fixture(scope="module", autouse=True)
def _local_servers_stopped() -> Iterator[None]:
    """Whatever local server these tests started is stopped at the end, and is gone."""
    yield
    states = [LocalServerState.load(p) for p in sorted(local.state_dir().glob("*.json"))]
    local.stop_local_servers()
    for st in states:
        if st is None:
            continue
        for pid in (st.pid, st.server_pid):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
            assert not Path(f"/proc/{pid}").exists(), f"local workspace process {pid} still running"
        assert not Path(st.root).exists()
    assert not list(local.state_dir().glob("*.json"))


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """APP exported by init, then made hand-written, changed, and set to workspace=local."""
    sql(server, LIVE)
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
    with (d / ".skeema").open("a") as opts:
        opts.write("workspace=local\nlocal-workspace-idle=120s\n")
    monkeypatch.chdir(d)
    try:
        yield d
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {APP}")


@dataclass
class TargetWatch:
    statements: list[str] = field(default_factory=list)  # from the general log, while watched
    schemas: set[str] = field(default_factory=set)  # every schema seen in SCHEMATA while watched

    def workspace_traces(self) -> list[str]:
        seen = [s for s in self.statements if WORKSPACE_TRACE.search(s)]
        return seen + sorted(s for s in self.schemas if s.startswith("_"))


@contextmanager
def watch_target(server: DBServer) -> Iterator[TargetWatch]:
    """The target's general log (when on) and its SCHEMATA polled every 10 ms, during the block."""
    watch = TargetWatch()

    async def log_file() -> tuple[str | None, int]:
        async with Instance(server.params) as inst:
            row = (await inst.query("SELECT @@global.general_log AS on_, @@global.general_log_file AS f"))[0]
        path = str(row["f"]) if int(row["on_"]) else None
        return path, (os.path.getsize(path) if path and os.path.exists(path) else 0)

    path, offset = asyncio.run(log_file())
    stop = threading.Event()

    async def poll() -> None:
        async with Instance(server.params, pool_size=1) as inst:
            while not stop.is_set():
                rows = await inst.query("SELECT schema_name AS s FROM information_schema.schemata")
                watch.schemas.update(str(r["s"]) for r in rows)
                await asyncio.sleep(0.01)

    poller = threading.Thread(target=lambda: asyncio.run(poll()))
    poller.start()
    try:
        yield watch
    finally:
        stop.set()
        poller.join()
        if path is not None:
            with open(path, errors="replace") as f:
                f.seek(offset)
                text = f.read()
            watch.statements = [e.argument for e in entries(text) if e.command == "Query"]


def state() -> LocalServerState:
    (st,) = [LocalServerState.load(p) for p in local.state_dir().glob("*.json")]
    assert st is not None
    return st


def test_local_diff_creates_nothing_on_the_target_and_equals_temp_schema(
    server: DBServer, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    with watch_target(server) as watch:
        assert main(["diff"]) == 1
    local_out = capsys.readouterr()
    assert watch.workspace_traces() == [], local_out.err
    assert "ADD COLUMN `note` varchar(20)" in local_out.out and "CREATE TABLE `tags`" in local_out.out

    with watch_target(server) as control:
        assert main(["diff", "--workspace=temp-schema"]) == 1
    temp_out = capsys.readouterr()
    assert control.workspace_traces(), "the watch must see a workspace on the target"
    assert local_out.out == temp_out.out


def test_second_command_reuses_the_running_local_server(server: DBServer, repo: Path) -> None:
    start = time.perf_counter()
    assert main(["diff"]) == 1
    first = time.perf_counter() - start
    before = state()
    start = time.perf_counter()
    assert main(["diff"]) == 1
    second = time.perf_counter() - start
    after = state()
    assert (after.pid, after.server_pid, after.port, after.root) == (
        before.pid,
        before.server_pid,
        before.port,
        before.root,
    )
    if first > 1.0:  # a cold start of the local server happened in this test: the reuse is faster
        assert second < first


def test_push_verifies_in_the_local_workspace(
    server: DBServer, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schemad.workspace.scratch import scratch_schema

    used: list[int] = []

    @asynccontextmanager
    async def spy(*args: Any, **kwargs: Any) -> AsyncIterator[Instance]:
        async with scratch_schema(*args, **kwargs) as ws:
            used.append(ws.params.port)
            yield ws

    monkeypatch.setattr("schemad.plan.verify.scratch_schema", spy)
    with watch_target(server) as watch:
        assert main(["push"]) == 0
    pushed = [
        t for t in watch.workspace_traces() if t.startswith(("CREATE TABLE `tags`", "ALTER TABLE `orders`"))
    ]
    assert [t for t in watch.workspace_traces() if t not in pushed] == []
    if watch.statements:  # the general log is on (the suite's own server): the push itself is there
        assert len(pushed) == 2, watch.statements
    assert used == [state().port]  # verify's ALTERs ran on the local server
    assert main(["diff"]) == 0


def test_version_mismatch_is_refused_with_what_to_install(
    server: DBServer, repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(local, "local_flavor", lambda: Flavor(Vendor.MARIADB, 10, 6, 21))
    with watch_target(server) as watch:
        assert main(["diff"]) == 2
    assert watch.workspace_traces() == []
    assert (
        "workspace=local: the target is MariaDB 10.11 but the local server binaries are MariaDB 10.6; "
        "install mariadb-server 10.11 or use workspace=temp-schema"
    ) in caplog.text


@pytest.mark.parametrize("hide", [True, False], ids=["no-docker-on-path", "docker-daemon-unreachable"])
def test_docker_without_docker_is_exit_78(
    server: DBServer,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    hide: bool,
) -> None:
    from schemad.workspace.docker import SubprocessDocker

    docker = SubprocessDocker()
    if hide:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    elif docker.which() is None or docker.run(["info", "--format", "{{.ServerVersion}}"]).returncode == 0:
        pytest.skip("needs a docker command whose daemon does not answer (the case on this machine)")
    with watch_target(server) as watch:
        assert main(["diff", "--workspace=docker"]) == 78
        assert main(["lint", "--workspace=docker", "--skip-format"]) == 78
    assert watch.workspace_traces() == []
    expected = "the docker command is not installed" if hide else "the Docker daemon is not reachable"
    assert f"workspace=docker: {expected}" in caplog.text


async def test_a_kept_server_outlives_its_idle_time_then_stops_once_given_back(server: DBServer) -> None:
    """The daemon's way (keep_running): never stopped under it; after release_all, the idle stop."""
    from schemad.workspace.scratch import WorkspaceKind, WorkspaceOptions, scratch_schema

    opts = WorkspaceOptions(kind=WorkspaceKind.LOCAL, local_idle=0.5, temp_schema=f"_lw_keep_{PID}")

    async def use() -> int:
        async with scratch_schema(
            server.params, char_set="utf8mb4", collation="utf8mb4_general_ci", options=opts
        ) as ws:
            await ws.execute("CREATE TABLE t (id int PRIMARY KEY)")
            return ws.params.port

    local.keep_running()
    try:
        port = await use()
        kept = state()
        await asyncio.sleep(2.0)  # four idle times: it would have stopped, were it not kept
        assert state() == kept and await use() == port
    finally:
        local.release_all()
    deadline = time.monotonic() + 10
    while list(local.state_dir().glob("*.json")) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not list(local.state_dir().glob("*.json")), "an idle, unused local server must stop"
    # The watchdog removes the server's directory after the server exited: wait for both.
    while (
        Path(f"/proc/{kept.server_pid}").exists() or Path(kept.root).exists()
    ) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not Path(f"/proc/{kept.server_pid}").exists() and not Path(kept.root).exists()


def test_password_and_socket_stay_out_of_ps_and_logs(
    server: DBServer, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["diff"]) == 1
    st = state()
    socket_path = str(Path(st.root) / "mysql.sock")
    shown = [
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        for pid in (st.pid, st.server_pid)
    ]
    shown.append(caplog.text)
    shown.append((local.state_dir() / f"{local.server_key(local.local_flavor())}.log").read_text())
    for text in shown:
        assert st.password not in text and socket_path not in text and "mysql.sock" not in text
    assert oct(local.state_dir().stat().st_mode & 0o777) == "0o700"
    assert oct(next(local.state_dir().glob("*.json")).stat().st_mode & 0o777) == "0o600"
