"""Start and stop a private, throwaway MariaDB server from the locally installed binaries.

The server lives in a temporary datadir (on /dev/shm where there is one) with
its own unix socket and a free 127.0.0.1 port, so it never touches a server
already running on the machine.  One class backs the test suite, the
benchmarks, `serve --embedded` (re-exported as schemad.embedded) and
`workspace=local` (schemad.workspace.local).  Its options go to the server in
a defaults file inside its 0700 directory, so `ps` shows no socket path.  It
does not install anything: `make setup` (scripts/ensure-package) does; and it
only initialises a MariaDB datadir (mariadb-install-db).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from schemad.errors import SchemadError
from schemad.model.flavor import Flavor
from schemad.records import dataclass

_SEARCH = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/libexec")


@dataclass(frozen=True, slots=True)
class ServerBinaries:
    server: str  # mariadbd (or mysqld)
    install_db: str  # mariadb-install-db


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in _SEARCH:
        p = Path(d, name)
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def find_server_binaries() -> ServerBinaries:
    server = _which("mariadbd") or _which("mysqld")
    install_db = _which("mariadb-install-db") or _which("mysql_install_db")
    if not server or not install_db:
        raise SchemadError(
            "no MariaDB server binary (mariadbd, mariadb-install-db) found; "
            "run `make setup` (Debian package mariadb-server) "
            "or set SCHEMAD_TEST_DSN to use an existing server"
        )
    return ServerBinaries(server=server, install_db=install_db)


def binaries_flavor(server: str) -> Flavor:
    """The flavor of the server binary `server`, from its `--version` (run once per path)."""
    return flavor_from_version_output(version_output(server))


@functools.cache
def version_output(server: str) -> str:
    """What `server --version` prints (run once per path and process: it starts the binary, ~30 ms)."""
    try:
        out = subprocess.run([server, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SchemadError(f"{server} --version failed: {exc}") from None
    return out.stdout


def flavor_from_version_output(text: str) -> Flavor:
    """`mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu ...` -> mariadb:10.11.6.

    MySQL prints `mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)`,
    Percona `... (Percona Server (GPL), Release '28', ...)`: the text after the version
    says which.
    """
    _, _, rest = text.partition(" Ver ")
    version, _, comment = rest.strip().partition(" ")
    return Flavor.from_server(version, comment)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the server gets SIGTERM if the process that started it dies, so a
    # killed test run never leaves a stray mariadbd behind.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpgrp()


class EmbeddedServer:
    """A private MariaDB server in a temporary directory.

    `resolve_names`: the server resolves client addresses, so a TCP client on
    127.0.0.1 also matches accounts `@'localhost'` (workspace=local creates
    the target's own account on it); off by default, like the tests' server.
    `options`: more server options (`name=value`), after the defaults.
    """

    def __init__(
        self,
        *,
        base_dir: str | Path | None = None,
        memory: bool = True,
        resolve_names: bool = False,
        options: Sequence[str] = (),
    ) -> None:
        parent = base_dir
        if parent is None and memory and Path("/dev/shm").is_dir():
            parent = "/dev/shm"
        self.root = Path(tempfile.mkdtemp(prefix="schemad-db-", dir=parent))
        self.datadir = self.root / "data"
        self.socket = str(self.root / "mysql.sock")
        self.port = 0
        self.resolve_names = resolve_names
        self.options = tuple(options)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._proc.pid if self._proc is not None and self.running() else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def dsn(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.root / "error.log"

    def start(self, timeout: float = 60.0) -> None:
        bins = find_server_binaries()
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        init = subprocess.run(
            [
                bins.install_db,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *as_root,
            ],
            capture_output=True,
            check=False,
        )
        if init.returncode != 0:
            raise SchemadError("mariadb-install-db failed: " + init.stderr.decode(errors="replace")[-2000:])
        self.port = _free_port()
        self._launch(bins, timeout)

    def _launch(self, bins: ServerBinaries, timeout: float) -> None:
        # Its own tmpdir: internal temp tables of information_schema queries were seen
        # vanishing from a shared /tmp mid-query ("Error on delete of '/tmp/#sql-temptable...'").
        tmpdir = self.root / "tmp"
        tmpdir.mkdir(exist_ok=True)
        options = [
            f"datadir={self.datadir}",
            f"socket={self.socket}",
            f"port={self.port}",
            "bind-address=127.0.0.1",
            f"pid-file={self.root / 'mariadbd.pid'}",
            f"log-error={self.log_path}",
            f"tmpdir={tmpdir}",
            # Match Debian's packaged defaults so output equals a stock server's.
            "character-set-server=utf8mb4",
            "collation-server=utf8mb4_general_ci",
            # Throwaway data: trade durability for speed.
            "innodb-buffer-pool-size=256M",
            "innodb-flush-log-at-trx-commit=0",
            "innodb-doublewrite=0",
            "skip-log-bin",
            *([] if self.resolve_names else ["skip-name-resolve"]),
            "max-connections=500",
            *(["user=root"] if os.geteuid() == 0 else []),
            *self.options,
        ]
        # In a file (mode 0600 in the 0700 root), not on the command line: `ps` shows no socket path.
        cnf = self.root / "my.cnf"
        fd = os.open(cnf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[mysqld]\n" + "".join(o + "\n" for o in options))
        args = [bins.server, f"--defaults-file={cnf}"]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SchemadError(f"mariadbd exited at start-up:\n{self._log_tail()}")
            if self._ready():
                return
            time.sleep(0.05)
        self.stop()
        raise SchemadError(f"mariadbd did not become ready in {timeout:.0f}s:\n{self._log_tail()}")

    def halt(self) -> None:
        """Stop the server process but keep its datadir and port (`resume` starts it again)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def resume(self, timeout: float = 60.0) -> None:
        """Start a halted server again on the same datadir, socket and port."""
        if self._proc is not None:
            return
        self._launch(find_server_binaries(), timeout)

    def _ready(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(self.socket)
                greeting = s.recv(64)
            # A MySQL protocol greeting: 3-byte length, seq 0, protocol version 10.
            return len(greeting) > 4 and greeting[4] == 10
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no error log)"

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
