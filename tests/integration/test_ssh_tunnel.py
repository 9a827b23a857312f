"""`ssh` / `ssh-to-db`: init, diff, push, a wrapper and the daemon through a real sshd; host keys; errors.

The bastion is a real OpenSSH sshd on a loopback port (own config, host key
and authorized key, made here; LogLevel DEBUG1 to stderr).  On one machine
the test server is reachable directly too, so a bypass is caught by
counting: every database connection opens one SSH channel, so across a
command the server's `Connections` counter grows exactly by the channels
sshd logged (direct-tcpip, or direct-streamlocal for a socket); a connection
that skipped the tunnel would make the server count one more.  sshd's log
also shows one login per command (one SSH connection shared by all of its
database connections, workspace included) and a clean disconnect at the end.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection import tunnel
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.connection.sshopts import SshHost, SshRoute
from schemad.errors import ConnectError
from tests.conftest import DBServer
from tests.daemon_proc import (
    DB_PASSWORD,
    USERS,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    free_port,
)
from tests.helpers import load_sql

SCHEMA = "ssh_app"
CHANNEL = "server_request_direct_"  # direct-tcpip and direct-streamlocal channel opens (DEBUG1)
LOGIN = "Accepted publickey for "
CLEAN_CLOSE = "Disconnected by application"  # asyncssh's DISCONNECT: the tunnel was closed, not dropped


def _sshd() -> str:
    found = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail("sshd is not installed: run make setup (Debian openssh-server)")
    return found


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


@dataclass
class Bastion:
    dir: Path
    port: int
    user: str
    known_hosts: Path  # holds the sshd's real host key
    identity: Path  # the one authorized client key
    log: Path
    host_key: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def ssh(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"

    def route(self, **kw: object) -> SshRoute:
        args: dict[str, object] = {
            "bastion": SshHost("127.0.0.1", self.port, self.user),
            "known_hosts": str(self.known_hosts),
            "identity": str(self.identity),
        }
        args.update(kw)
        return SshRoute(**args)  # type: ignore[arg-type]

    def options(self) -> str:
        return f"ssh={self.ssh}\nssh-known-hosts={self.known_hosts}\nssh-identity-file={self.identity}\n"

    def count(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [_sshd(), "-D", "-e", "-f", str(self.dir / "sshd_config")], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 20
        while "Server listening" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def bastion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bastion]:
    d = tmp_path_factory.mktemp("sshd")
    d.chmod(0o755)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir, when root
    port = free_port()
    host_pub = _keygen(d / "host_key")
    client_pub = _keygen(d / "client_key")
    (d / "authorized_keys").write_text(client_pub + "\n")
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    (d / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile none\nUsePAM no\nStrictModes no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nAllowTcpForwarding yes\nAllowStreamLocalForwarding yes\n"
        "LogLevel DEBUG1\n"
    )
    import pwd

    b = Bastion(
        d,
        port,
        pwd.getpwuid(os.getuid()).pw_name,
        d / "known_hosts",
        d / "client_key",
        d / "sshd.log",
        d / "host_key",
    )
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(autouse=True)
def _fresh_tunnels() -> Iterator[None]:
    """Each test starts without SSH connections of an earlier one (the registry is process-wide)."""
    tunnel.close_all_sync()
    yield
    tunnel.close_all_sync()


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    children = [int(x) for x in out.split()]
    return children + [d for c in children for d in _descendants(c)]


def _listening(port: int) -> bool:
    """A TCP listener on 127.0.0.1:port, read from /proc (connecting would be accepted by it)."""
    want = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(f[1] == want and f[3] == "0A" for f in (line.split() for line in lines))


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


def connections(server: DBServer) -> int:
    """The server's connection attempts so far, this reading's own included."""

    async def read() -> int:
        async with Instance(server.params, pool_size=1) as inst:
            return int((await inst.query("SHOW GLOBAL STATUS LIKE 'Connections'"))[0]["Value"])

    return asyncio.run(read())


@dataclass
class Tally:
    """What one stretch of work did: DB connections (server side), SSH channels, logins, clean closes."""

    db: int
    channels: int
    logins: int
    closes: int


class Counter:
    def __init__(self, server: DBServer, b: Bastion) -> None:
        self.server, self.b = server, b
        self.mark = self._now()

    def _now(self) -> tuple[int, int, int, int]:
        b = self.b
        return connections(self.server), b.count(CHANNEL), b.count(LOGIN), b.count(CLEAN_CLOSE)

    def take(self) -> Tally:
        now = self._now()
        db, ch, login, close = (a - b for a, b in zip(now, self.mark, strict=True))
        self.mark = now
        return Tally(db - 1, ch, login, close)  # -1: the reading's own connection, made directly


@pytest.fixture
def app_schema(server: DBServer) -> Iterator[str]:
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA} CHARACTER SET utf8mb4")
    sql(server, "CREATE TABLE t (id int NOT NULL PRIMARY KEY, name varchar(20))", SCHEMA)
    try:
        yield SCHEMA
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}")


def test_init_diff_push_and_wrapper_go_through_the_bastion(
    server: DBServer, bastion: Bastion, app_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = server.params
    count = Counter(server, bastion)
    host = tmp_path / "host"
    ssh_args = [
        f"--ssh={bastion.ssh}",
        f"--ssh-known-hosts={bastion.known_hosts}",
        f"--ssh-identity-file={bastion.identity}",
    ]
    argv = [
        "init",
        "-h",
        p.host,
        "-P",
        str(p.port),
        "-u",
        p.user,
        "--dir",
        str(host),
        f"--ignore-schema=^(?!{SCHEMA}$)",
    ]
    assert main(argv + ssh_args) == 0
    init = count.take()
    assert init.channels >= 1 and init.db == init.channels  # nothing reached the server directly
    assert init.logins == 1 and init.closes == 1  # one SSH connection, closed when the command ended
    written = (host / ".skeema").read_text()
    assert f"ssh={bastion.ssh}" in written and f"ssh-known-hosts={bastion.known_hosts}" in written

    monkeypatch.chdir(host)
    table = host / SCHEMA / "t.sql"
    table.write_text(table.read_text().replace("`name` varchar(20)", "`name` varchar(20),\n  `added` int"))
    assert main(["diff"]) == 1
    diff = count.take()
    assert diff.channels >= 2 and diff.db == diff.channels  # the workspace (temp schema) went through it too
    assert diff.logins == 1 and diff.closes == 1

    # A wrapper runs here and connects to the forwarded port: {HOST}/{PORT} say where.
    record = tmp_path / "wrapper.txt"
    wrapper = (
        f"echo {{HOST}} {{PORT}} > {record} && mariadb --defaults-file={{DEFAULTSFILE}}"
        " -h {HOST} -P {PORT} {SCHEMA} -e {DDL}"
    )
    with (host / ".skeema").open("a") as f:
        f.write(f"alter-wrapper={wrapper}\nalter-wrapper-min-size=0\n")
    assert main(["push"]) == 0
    push = count.take()
    assert push.db == push.channels and push.logins == 1 and push.closes == 1
    wrapped_host, wrapped_port = record.read_text().split()
    assert wrapped_host == "127.0.0.1" and int(wrapped_port) != p.port  # the tunnel's port, not the server's

    async def columns() -> list[str]:
        async with Instance(p) as inst:
            rows = await inst.query(f"SHOW COLUMNS FROM {SCHEMA}.t")
        return [r["Field"] for r in rows]

    assert asyncio.run(columns()) == ["id", "name", "added"]
    assert main(["diff"]) == 0


async def test_a_unix_socket_is_forwarded_as_a_stream(server: DBServer, bastion: Bastion) -> None:
    if not server.socket:
        pytest.skip("SCHEMAD_TEST_DSN server: no socket of its own")
    before = bastion.count("server_request_direct_streamlocal")
    params = ConnParams(host="localhost", socket=server.socket, user=server.params.user, ssh=bastion.route())
    async with Instance(params) as inst:
        rows = await inst.query(
            "SELECT HOST AS h FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
        )
    assert rows[0]["h"] == "localhost"  # the server saw its socket, not TCP
    assert bastion.count("server_request_direct_streamlocal") == before + 1


async def test_ssh_to_db_two_hops(
    server: DBServer, bastion: Bastion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The db host's sshd is the same one here; ~/.ssh/config gives its port, as it would in production.
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n  Port {bastion.port}\n")
    monkeypatch.setenv("HOME", str(home))
    logins = bastion.count(LOGIN)
    params = ConnParams(host="127.0.0.1", port=server.params.port, user="root", ssh=bastion.route(to_db=True))
    try:
        async with Instance(params) as inst:
            assert (await inst.query("SELECT @@port AS p"))[0]["p"] == server.params.port
    finally:
        await tunnel.close_all()
    assert bastion.count(LOGIN) == logins + 2  # the bastion, then the db host through it


async def test_unknown_host_is_refused(bastion: Bastion, server: DBServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    params = ConnParams(host="127.0.0.1", port=server.params.port, ssh=bastion.route(known_hosts=str(empty)))
    with pytest.raises(ConnectError) as caught:
        async with Instance(params) as inst:
            await inst.query("SELECT 1")
    assert str(caught.value) == (
        f"ssh {bastion.ssh} (for 127.0.0.1:{server.params.port}): host key verification failed: "
        f"the host is not in {empty}; refused (add its key first)"
    )


async def test_a_changed_host_key_is_refused(bastion: Bastion, server: DBServer, tmp_path: Path) -> None:
    other = _keygen(tmp_path / "other_host_key")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{bastion.port} {other}\n")
    params = ConnParams(host="127.0.0.1", port=server.params.port, ssh=bastion.route(known_hosts=str(known)))
    with pytest.raises(ConnectError, match=r"differs from the one .* holds for it .*; refused") as caught:
        async with Instance(params) as inst:
            await inst.query("SELECT 1")
    assert f"ssh {bastion.ssh} (for 127.0.0.1:{server.params.port})" in str(caught.value)


def test_a_missing_known_hosts_file_is_an_error_of_the_cli(
    bastion: Bastion, server: DBServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = server.params
    missing = tmp_path / "nope" / "known_hosts"
    argv = ["init", "-h", p.host, "-P", str(p.port), "--dir", str(tmp_path / "h"), f"--ssh={bastion.ssh}"]
    assert main([*argv, f"--ssh-known-hosts={missing}", f"--ssh-identity-file={bastion.identity}"]) != 0
    assert f"no known_hosts file {missing} to check the host key against" in caplog.text


async def test_login_refused_and_forward_refused(bastion: Bastion, server: DBServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    _keygen(stranger)
    params = ConnParams(
        host="127.0.0.1",
        port=server.params.port,
        password="s3cret-pw",
        ssh=bastion.route(identity=str(stranger)),
    )
    env = os.environ.pop("SSH_AUTH_SOCK", None)  # no agent key may log in instead
    try:
        with pytest.raises(
            ConnectError, match=rf"ssh {re.escape(bastion.ssh)} .*login as \S+ refused"
        ) as caught:
            async with Instance(params) as inst:
                await inst.query("SELECT 1")
    finally:
        if env is not None:
            os.environ["SSH_AUTH_SOCK"] = env
    assert "s3cret-pw" not in str(caught.value)

    closed = free_port()
    params = ConnParams(host="127.0.0.1", port=closed, ssh=bastion.route())
    with pytest.raises(ConnectError) as refused:
        async with Instance(params) as inst:
            await inst.query("SELECT 1")
    assert str(refused.value) == (
        f"cannot connect to 127.0.0.1:{closed}: ssh {bastion.ssh} refused to forward to 127.0.0.1:{closed}: "
        "Connection refused"
    )
    await tunnel.close_all()


async def test_a_dropped_ssh_connection_is_made_again(bastion: Bastion, server: DBServer) -> None:
    params = ConnParams(host="127.0.0.1", port=server.params.port, ssh=bastion.route())
    logins = bastion.count(LOGIN)
    try:
        async with Instance(params) as inst:
            await inst.query("SELECT 1")
        first = await tunnel.local_endpoint(params)
        # Drop it from the far side: the sshd session processes (the listener's descendants) are killed.
        assert bastion.proc is not None
        for pid in _descendants(bastion.proc.pid):
            os.kill(pid, signal.SIGKILL)
        # Once the client has seen the drop, the old listener is gone (a connection racing the drop
        # could wait out its connect timeout instead: asyncssh's forwarder leaves it waiting).
        deadline = time.monotonic() + 10
        while _listening(first[1]):
            assert time.monotonic() < deadline, "the SSH connection's drop went unnoticed"
            await asyncio.sleep(0.05)
        while True:
            try:
                async with Instance(params, connect_timeout=3) as inst:
                    assert (await inst.query("SELECT 2 AS x"))[0]["x"] == 2
                break
            except ConnectError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        assert bastion.count(LOGIN) == logins + 2
        assert await tunnel.local_endpoint(params) != first  # a new listener on the new connection
    finally:
        await tunnel.close_all()


def test_daemon_polls_through_the_bastion(server: DBServer, bastion: Bastion, tmp_path: Path) -> None:
    ensure_db_user(server)
    schema = f"ssh_daemon_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4")
    sql(server, USERS, schema)
    repo = DaemonRepo.create(
        tmp_path / "repo", server, schema, {"users.sql": USERS}, extra_options=bastion.options()
    )
    count = Counter(server, bastion)
    d = RunningDaemon(repo, tmp_path / "run", poll_interval="1h").start()
    try:
        assert d.wait_for(lambda: d.diff()["statement_count"] == 0)
        sql(server, "ALTER TABLE users ADD COLUMN nick varchar(10)", schema)
        assert d.wait_for(lambda: d.diff(refresh="true")["statement_count"] == 1)  # the poll saw the change
        d.stop()
        daemon = count.take()
        # Nothing reached the server directly (the one more is this test's own ALTER).
        assert daemon.channels >= 2 and daemon.db == daemon.channels + 1
        assert daemon.logins == 1  # every poll and workspace shared one SSH connection
        assert daemon.closes == 1  # closed on shutdown
        assert_no_password(d)
        assert DB_PASSWORD not in bastion.log.read_text(errors="replace")
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
