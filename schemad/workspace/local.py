"""workspace=local: a throwaway server from the local binaries, shared by commands until it idles out.

A schemad addition.  The files' CREATEs run on a private MariaDB started from
the locally installed server binaries (local_server.EmbeddedServer, datadir
on /dev/shm where there is one), never on the target.  Starting one takes
about a second, so it outlives the command that started it:

- One server per flavor and major.minor (one per installed binary, in
  practice), found by later commands through a state file in
  ``cache_dir()/local-workspace/`` (``<vendor>-<major.minor>.json``, mode
  0600 in a 0700 directory: it holds the server's password).
- ``<key>.lock`` (an exclusive flock) is held only while a command looks the
  server up or starts it, and while the watchdog decides to stop it.
- ``<key>.use`` is flocked shared by every command for as long as it uses the
  server, so the server is never stopped under a running command; concurrent
  commands share it (the temp schema's GET_LOCK orders their workspaces, as
  on any server).
- Idle shutdown is done by a small detached watchdog process (``python -m
  schemad.workspace.local``), which is the server's parent: it starts the
  server, publishes the state file, and every few seconds checks, under the
  lock, whether the state file (touched when a command takes or gives back
  the server) is older than ``local-workspace-idle`` and nobody holds
  ``.use``; then it removes the state file and stops the server.  The server
  dies with its watchdog (PR_SET_PDEATHSIG), and a command finding a state
  file whose watchdog or server is gone discards it and starts a new one.
  A watchdog rather than "the next command stops an expired server": an
  expired server would otherwise run until some later command, maybe never.
- A long-lived process (the daemon) calls :func:`keep_running`: it keeps its
  lease for its lifetime and gives it back in :func:`release_all`.
- ``binaries.cache`` remembers what the server binary's ``--version`` printed,
  by the binary's real path, inode, size and mtime, so a command does not
  start the binary just to learn its flavor.

Secrets: the server's accounts get a random password that exists only in the
watchdog's memory, the state file and this process; it is never logged nor
put on a command line, and the server's options (socket path included) are in
a defaults file, not on ``ps``.  Every workspace connection is TCP to
127.0.0.1, so no error message names the socket.

The flavor, settings and account are made to match the target's first
(mirror.py).  This module does not run CREATEs (scratch.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, field, replace
from pathlib import Path

from schemad.cachefile import cache_dir
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import ConfigError, SchemadError
from schemad.model.flavor import Flavor
from schemad.records import dataclass
from schemad.workspace import mirror
from schemad.workspace.local_server import (
    EmbeddedServer,
    find_server_binaries,
    flavor_from_version_output,
    version_output,
)

__all__ = [
    "DEFAULT_IDLE",
    "LocalServerState",
    "keep_running",
    "local_flavor",
    "local_workspace",
    "release_all",
    "server_key",
    "state_dir",
    "stop_local_servers",
]

log = logging.getLogger(__name__)

DEFAULT_IDLE = 300.0  # seconds: local-workspace-idle's default (5m)
ADMIN_USER = "schemad_workspace_admin"  # the workspace server's own admin account (127.0.0.1 only)
_LOCK_WAIT = 120.0  # seconds to wait for another command that is starting the server
# Options of a local workspace server beyond EmbeddedServer's (already tuned for throwaway
# data).  None changes what the server prints for a CREATE.  Optimizer statistics are not kept in
# mysql.innodb_table_stats / innodb_index_stats: a CREATE TABLE no longer writes rows there, nor a
# DROP deletes them (1,000 CREATE TABLEs: 0.61 -> 0.42 s).
_SERVER_OPTIONS: tuple[str, ...] = ("innodb-stats-persistent=OFF",)


def state_dir() -> Path:
    """Where the local servers' state, lock and log files live."""
    return cache_dir() / "local-workspace"


def server_key(flavor: Flavor) -> str:
    """The name of a local server's files: one server per flavor and major.minor."""
    return f"{flavor.vendor.value}-{flavor.major}.{flavor.minor}"


@dataclass(frozen=True, slots=True)
class _Paths:
    state: Path
    lock: Path
    use: Path
    log: Path

    @classmethod
    def of(cls, state: Path) -> _Paths:
        stem = state.name.removesuffix(".json")
        return cls(*(state.with_name(stem + ext) for ext in (".json", ".lock", ".use", ".log")))


@dataclass(frozen=True, slots=True)
class LocalServerState:
    """What a running local server's state file says (written by its watchdog)."""

    pid: int  # the watchdog's (the server's parent)
    server_pid: int
    port: int  # on 127.0.0.1
    root: str  # the server's directory (datadir, socket, defaults file)
    version: str  # the server's @@version
    idle: float  # seconds without users after which it stops
    password: str = field(default="", repr=False)  # of every account on it

    @classmethod
    def load(cls, path: Path) -> LocalServerState | None:
        try:
            data = json.loads(path.read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path: Path) -> None:
        """Write atomically, mode 0600."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f)
        os.replace(tmp, path)


# ///// the command's side: find or start a server, and lease it /////////////////////////////////


def _flock(fd: int, how: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise SchemadError(
                f"workspace=local: another schemad kept the local server's lock for {timeout:.0f}s"
            )
        time.sleep(0.05)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_watchdog(pid: int) -> bool:
    """`pid` runs this module (not a recycled pid), where /proc says; True when it can't tell."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _pid_alive(pid)
    return b"schemad.workspace.local" in cmdline


def _answers(port: int) -> bool:
    """A MySQL-protocol greeting comes back from 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
            greeting = s.recv(64)
        return len(greeting) > 4 and greeting[4] == 10
    except OSError:
        return False


def _alive(st: LocalServerState) -> bool:
    return _is_watchdog(st.pid) and _pid_alive(st.server_pid) and _answers(st.port)


def _discard(st: LocalServerState, paths: _Paths) -> None:
    """Forget a server that no longer answers: its watchdog stopped, its files removed."""
    log.debug("workspace=local: discarding a local server that does not answer (pid %d)", st.pid)
    if _is_watchdog(st.pid) and _pid_alive(st.pid):
        with contextlib.suppress(OSError):
            os.kill(st.pid, signal.SIGTERM)
    root = Path(st.root)
    if root.name.startswith("schemad-db-"):
        shutil.rmtree(root, ignore_errors=True)
    with contextlib.suppress(OSError):
        paths.state.unlink()


def _spawn(paths: _Paths, idle: float) -> LocalServerState:
    """Start a watchdog (which starts the server) and wait for its state file."""
    log.info("workspace=local: starting a local server (it stops after %gs unused)", idle)
    logf = os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "schemad.workspace.local", str(paths.state), repr(idle)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=logf,
            cwd="/",
            start_new_session=True,
        )
    finally:
        os.close(logf)
    assert proc.stdout is not None
    with proc.stdout:
        proc.wait()  # the watchdog forks itself away at once: this is its short-lived first half
        line = proc.stdout.readline()
    st = LocalServerState.load(paths.state)
    if line.strip() != b"ready" or st is None:
        raise SchemadError(f"workspace=local: the local server did not start; see {paths.log}")
    return st


@dataclass(slots=True)
class _Lease:
    key: str
    state: LocalServerState
    paths: _Paths
    use_fd: int | None

    def release(self) -> None:
        if self.use_fd is None:
            return
        with contextlib.suppress(OSError):
            os.utime(self.paths.state)  # the idle time counts from now
        os.close(self.use_fd)  # gives back the shared lock
        self.use_fd = None

    def alive(self) -> bool:
        return self.use_fd is not None and _answers(self.state.port)


def _acquire(key: str, idle: float) -> _Lease:
    d = state_dir()
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = _Paths.of(d / f"{key}.json")
    lock_fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _flock(lock_fd, fcntl.LOCK_EX, _LOCK_WAIT)
        st = LocalServerState.load(paths.state)
        if st is not None and not _alive(st):
            _discard(st, paths)
            st = None
        if st is None:
            st = _spawn(paths, idle)
        elif st.idle != idle:
            st = replace(st, idle=idle)
            st.save(paths.state)
        use_fd = os.open(paths.use, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(use_fd, fcntl.LOCK_SH)  # the watchdog only takes it exclusively under lock_fd
        os.utime(paths.state)
        log.debug("workspace=local: using the local server on port %d (watchdog pid %d)", st.port, st.pid)
        return _Lease(key, st, paths, use_fd)
    finally:
        os.close(lock_fd)


class LocalServers:
    """This process's leases on local servers: one per use, or one per server for the process's life."""

    def __init__(self) -> None:
        self.keep = False  # keep_running(): leases last until release_all()
        self._held: dict[str, _Lease] = {}
        self._mutex = threading.Lock()

    @contextlib.asynccontextmanager
    async def lease(self, key: str, idle: float) -> AsyncIterator[LocalServerState]:
        if not self.keep:
            lease = await asyncio.to_thread(_acquire, key, idle)
            try:
                yield lease.state
            finally:
                await asyncio.to_thread(lease.release)
            return
        with self._mutex:
            held = self._held.get(key)
        if held is None or not await asyncio.to_thread(held.alive):
            fresh = await asyncio.to_thread(_acquire, key, idle)
            with self._mutex:
                old, self._held[key] = self._held.get(key), fresh
            if old is not None:
                old.release()
            held = fresh
        yield held.state

    def release_all(self) -> None:
        with self._mutex:
            held, self._held = list(self._held.values()), {}
            self.keep = False
        for lease in held:
            lease.release()


_SERVERS = LocalServers()  # per process: what it holds are OS-level locks of this process


def keep_running() -> None:
    """Keep each local server this process uses until release_all() (the daemon's lifetime)."""
    _SERVERS.keep = True


def release_all() -> None:
    """Give back every local server kept by keep_running(); they stop after their idle time."""
    _SERVERS.release_all()


def local_flavor() -> Flavor:
    """The flavor of the locally installed server binaries (ConfigError when there are none)."""
    try:
        server = find_server_binaries().server
    except SchemadError:
        raise ConfigError(
            "workspace=local: no local server binaries (mariadbd, mariadb-install-db) found; "
            "install mariadb-server or use workspace=temp-schema"
        ) from None
    try:
        st = os.stat(server)
    except OSError:
        return flavor_from_version_output(version_output(server))
    return _binary_flavor(server, f"{os.path.realpath(server)}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")


# In state_dir(): JSON {binary stamp: its `--version` output}.  Not *.json: that is the state files.
_BINARIES_FILE = "binaries.cache"


@functools.lru_cache(maxsize=8)
def _binary_flavor(server: str, stamp: str) -> Flavor:
    """The flavor of `server`, its `--version` output remembered in state_dir() by `stamp`.

    `--version` starts the server binary (~30 ms, every command); the stamp
    (real path, inode, size, mtime) changes when the binary is replaced,
    e.g. by a package upgrade, and the output is then read again.
    """
    path = state_dir() / _BINARIES_FILE
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    text = known.get(stamp) if isinstance(known, dict) else None
    if not isinstance(text, str):
        text = version_output(server)
        with contextlib.suppress(OSError):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({stamp: text}, f)  # one binary per machine, in practice: the last one read
            os.replace(tmp, path)
    return flavor_from_version_output(text)


@contextlib.asynccontextmanager
async def local_workspace(target: ConnParams, *, idle: float = DEFAULT_IDLE) -> AsyncIterator[ConnParams]:
    """Params of the local server, set up to print what `target` would, for the time of the block.

    Reads the target's version, settings and account (only reads); refuses
    (ConfigError) another flavor or major.minor than the local binaries', a
    global-only variable that differs, or an account the local server can't
    log in as.  The params carry the target's connect-options plus its
    session values of the variables that shape canonical text.
    """
    facts = await mirror.read_facts(target)
    flavor = local_flavor()
    if flavor.vendor.value != "mariadb":
        raise ConfigError(
            f"workspace=local: the local server binaries are {flavor}; only MariaDB's can be started "
            "here; use workspace=temp-schema or workspace=docker"
        )
    mirror.check_flavor("local", facts.flavor, flavor, "the local server binaries are")
    async with _SERVERS.lease(server_key(flavor), idle) as st:
        base = ConnParams(host="127.0.0.1", port=st.port)
        async with Instance(replace(base, user=ADMIN_USER, password=st.password), pool_size=1) as admin:
            mirror.check_globals("local", facts, await mirror.read_globals(admin))
            params = await mirror.account_params(admin, base, facts, st.password, kind="local")
        yield mirror.with_target_session(params, target, facts)


def stop_local_servers(directory: Path | None = None, *, timeout: float = 30.0) -> int:
    """Stop every local server whose state file is in `directory` (default state_dir()); how many.

    For tests and for a user who wants them gone before their idle time.
    """
    d = directory or state_dir()
    pids = []
    for path in sorted(d.glob("*.json")) if d.is_dir() else []:
        st = LocalServerState.load(path)
        if st is not None and _is_watchdog(st.pid) and _pid_alive(st.pid):
            with contextlib.suppress(OSError):
                os.kill(st.pid, signal.SIGTERM)
                pids.append(st.pid)
    deadline = time.monotonic() + timeout
    while any(_pid_alive(p) and _is_watchdog(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(pids)


# ///// the watchdog: starts the server, stops it when idle //////////////////////////////////////


class _Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP reached the watchdog."""


def _log(paths: _Paths, message: str) -> None:
    with contextlib.suppress(OSError), open(paths.log, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {message}\n")


async def _prepare(srv: EmbeddedServer, password: str) -> str:
    """Lock a fresh server down: the admin account (127.0.0.1, `password`) is its only login.

    Every account mariadb-install-db made (root@localhost, root@127.0.0.1, ...,
    without a password) is dropped: the target's own account is created per
    use (mirror.account_params), and no other one may shadow it.
    """
    async with Instance(ConnParams(host="localhost", socket=srv.socket, user="root"), pool_size=1) as root:
        await root.execute(f"CREATE USER '{ADMIN_USER}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        await root.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'127.0.0.1' WITH GRANT OPTION")
        version = (await root.query("SELECT @@version AS v"))[0]["v"]
        for r in await root.query("SELECT user AS u, host AS h FROM mysql.user WHERE is_role = 'N'"):
            if r["u"] not in (ADMIN_USER, "mariadb.sys"):
                await root.execute("DROP USER %s@%s", (r["u"], r["h"]))
    return str(version)


def _watch(paths: _Paths, idle: float) -> int:
    """The watchdog's body: start, publish, watch, stop.  Returns the exit status."""

    def stop(signum: int, frame: object) -> None:
        raise _Stop

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    srv = EmbeddedServer(memory=True, resolve_names=True, options=_SERVER_OPTIONS)
    published = False
    try:
        password = mirror.new_password()
        try:
            srv.start()
            version = asyncio.run(_prepare(srv, password))
        except (SchemadError, OSError) as exc:
            _log(paths, "the local server did not start: " + str(exc).replace(str(srv.root), "<server dir>"))
            return 1
        assert srv.pid is not None
        LocalServerState(
            pid=os.getpid(),
            server_pid=srv.pid,
            port=srv.port,
            root=str(srv.root),
            version=version,
            idle=idle,
            password=password,
        ).save(paths.state)
        published = True
        _log(paths, f"local server {version} started on port {srv.port}")
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        while _keep_serving(paths, srv):
            time.sleep(max(0.2, min(5.0, idle / 4)))
    except _Stop:
        _log(paths, "stopping on a signal")
    finally:
        if published:
            _unpublish(paths)
        srv.stop()
    return 0


def _keep_serving(paths: _Paths, srv: EmbeddedServer) -> bool:
    """One look: False when the server should stop (idle and unused, replaced, or gone)."""
    if not srv.running():
        _log(paths, "the local server exited")
        return False
    lock_fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        st = LocalServerState.load(paths.state)
        if st is None or st.pid != os.getpid():
            _log(paths, "the state file no longer names this server")
            return False
        unused_for = time.time() - paths.state.stat().st_mtime
        if unused_for < st.idle:
            return True
        use_fd = os.open(paths.use, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(use_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True  # in use (a command, or a daemon that keeps it)
        finally:
            os.close(use_fd)
        paths.state.unlink()  # under the lock: the next command starts a new server
        _log(paths, f"stopping after {unused_for:.0f}s unused")
        return False
    finally:
        os.close(lock_fd)


def _unpublish(paths: _Paths) -> None:
    """Remove the state file if it still names this watchdog."""
    with contextlib.suppress(OSError):
        lock_fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            st = LocalServerState.load(paths.state)
            if st is not None and st.pid == os.getpid():
                paths.state.unlink()
        finally:
            os.close(lock_fd)


def _main(argv: list[str]) -> int:
    """`python -m schemad.workspace.local STATE_FILE IDLE_SECONDS` (started by _spawn, not by hand)."""
    if len(argv) != 2:
        print("usage: python -m schemad.workspace.local STATE_FILE IDLE_SECONDS", file=sys.stderr)
        return 64
    if os.fork() > 0:  # detach: the command waits only for this first half
        os._exit(0)
    return _watch(_Paths.of(Path(argv[0])), float(argv[1]))


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
