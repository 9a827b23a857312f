"""The sd_notify client against real AF_UNIX datagram sockets, and the shipped unit file."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.service.systemd import Notifier, watchdog_loop

UNIT = Path(__file__).resolve().parents[3] / "systemd" / "schemad.service"


# ///// a fake systemd: one datagram socket /////


class Listener:
    """A bound datagram socket and the NOTIFY_SOCKET value that reaches it."""

    def __init__(self, sock: socket.socket, notify_socket: str) -> None:
        self.sock = sock
        self.notify_socket = notify_socket

    def messages(self) -> list[str]:
        """Every datagram received so far (non-blocking)."""
        out: list[str] = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return out


@pytest.fixture(params=["path", "abstract"])
def listener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Listener]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        path = str(tmp_path / "notify")
        sock.bind(path)
        notify_socket = path
    else:
        name = f"schemad-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        notify_socket = "@" + name
    sock.setblocking(False)
    with sock:
        yield Listener(sock, notify_socket)


# ///// messages /////


def test_messages_reach_the_socket(listener: Listener) -> None:
    n = Notifier.from_environ({"NOTIFY_SOCKET": listener.notify_socket})
    assert n.enabled
    assert n.ready()
    assert n.reloading()
    assert n.stopping()
    assert n.status("polling 3 targets\nsecond line")
    assert n.watchdog()
    got = listener.messages()
    assert got[0] == "READY=1"
    assert got[1].startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert int(got[1].rsplit("=", 1)[1]) > 0
    assert got[2:] == ["STOPPING=1", "STATUS=polling 3 targets second line", "WATCHDOG=1"]


async def test_methods_work_inside_the_event_loop(listener: Listener) -> None:
    n = Notifier.from_environ({"NOTIFY_SOCKET": listener.notify_socket})
    n.ready()
    n.status("serving")
    assert listener.messages() == ["READY=1", "STATUS=serving"]


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}, {"NOTIFY_SOCKET": "vsock:2:1234"}])
def test_disabled_notifier_does_nothing(environ: dict[str, str]) -> None:
    n = Notifier.from_environ({**environ, "WATCHDOG_USEC": "1000000"})
    assert not n.enabled
    assert not n.ready()
    assert not n.status("x")
    assert not n.watchdog()
    assert n.watchdog_interval() is None


def test_vanished_socket_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "gone"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    path.unlink()
    n = Notifier(str(path))
    caplog.set_level("DEBUG", logger="schemad.service.systemd")
    assert n.enabled
    assert not n.ready()
    assert not n.stopping()
    assert "sd_notify" in caplog.text


def test_bound_but_closed_socket_never_raises(tmp_path: Path) -> None:
    path = tmp_path / "closed"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens: ECONNREFUSED
    assert not Notifier(str(path)).watchdog()


# ///// watchdog interval /////


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "{pid}"}, 15.0),
        ({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "{pid}"}, 0.0005),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "{other}"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "nope"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "30s"}, None),
        ({"WATCHDOG_USEC": ""}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(environ: dict[str, str], expected: float | None) -> None:
    pid = os.getpid()
    env = {k: v.format(pid=pid, other=pid + 1) for k, v in environ.items()}
    n = Notifier.from_environ({"NOTIFY_SOCKET": "/run/systemd/notify", **env})
    assert n.watchdog_interval() == expected


def test_watchdog_pid_defaults_to_this_process() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "4242"}
    assert Notifier.from_environ(env).watchdog_interval() == (1.0 if os.getpid() == 4242 else None)
    assert Notifier.from_environ(env, pid=4242).watchdog_interval() == 1.0


# ///// watchdog loop /////


async def test_watchdog_loop_pings_until_stopped(listener: Listener) -> None:
    n = Notifier.from_environ({"NOTIFY_SOCKET": listener.notify_socket, "WATCHDOG_USEC": "20000"})
    assert n.watchdog_interval() == 0.01
    stop = asyncio.Event()
    task = asyncio.create_task(watchdog_loop(n, stop))
    pings: list[str] = []
    deadline = time.monotonic() + 10
    while len(pings) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        pings += listener.messages()
    assert len(pings) >= 3
    assert set(pings) == {"WATCHDOG=1"}
    stop.set()
    async with asyncio.timeout(5):
        await task
    listener.messages()
    await asyncio.sleep(0.05)
    assert listener.messages() == []  # nothing after stop


async def test_watchdog_loop_returns_at_once_without_watchdog(listener: Listener) -> None:
    n = Notifier.from_environ({"NOTIFY_SOCKET": listener.notify_socket})
    async with asyncio.timeout(5):
        await watchdog_loop(n, asyncio.Event())
    assert listener.messages() == []


async def test_watchdog_loop_can_be_cancelled(listener: Listener) -> None:
    n = Notifier.from_environ({"NOTIFY_SOCKET": listener.notify_socket, "WATCHDOG_USEC": "60000000"})
    task = asyncio.create_task(watchdog_loop(n, asyncio.Event()))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await task
    assert listener.messages() == ["WATCHDOG=1"]


# ///// the unit file /////


def read_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """systemd's INI dialect: repeated keys allowed, `#`/`;` comments, no continuation lines used."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"line {lineno}: continuation lines are not expected"
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"line {lineno}: not KEY=value inside a section: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def test_unit_file_has_the_required_settings() -> None:
    sections = read_unit(UNIT)
    assert set(sections) == {"Unit", "Service", "Install"}
    service = dict(sections["Service"])
    # No key is repeated in [Service], except SystemCallFilter=, whose lines add up (allow, then deny).
    repeated = [k for k in service if sum(key == k for key, _ in sections["Service"]) > 1]
    assert repeated in ([], ["SystemCallFilter"]), repeated
    for key, value in {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30s",
        "ExecStart": "/usr/local/bin/schemad serve --config /etc/schemad/schemad.toml",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "Restart": "on-failure",
        "User": "schemad",
        "StateDirectory": "schemad",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/schemad",
        "KillMode": "mixed",
    }.items():
        assert service.get(key) == value, key
    timeout = service["TimeoutStopSec"]
    assert timeout.endswith("min") and int(timeout.removesuffix("min")) >= 5
    text = UNIT.read_text()
    assert "#LoadCredential=" in text
    assert "$CREDENTIALS_DIRECTORY/" in text


def systemd_verify(path: Path) -> list[str]:
    """Problems `systemd-analyze verify` reports about `path`, minus the missing ExecStart binary.

    verify exits 1 when /usr/local/bin/schemad does not exist (on a dev box or in CI), so
    the exit code alone says nothing; unknown keys, bad values and syntax errors are only
    warnings on stderr, always prefixed with the unit's name.  So: every stderr line naming
    our unit is a problem, except "Command ... is not executable".  Lines about other units
    (the host's own, pulled in as dependencies) are not ours to judge.
    """
    exe = shutil.which("systemd-analyze")
    assert exe
    proc = subprocess.run(
        [exe, "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    assert proc.returncode in (0, 1), proc.stderr
    return [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if path.name in line and "is not executable" not in line
    ]


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (parse test still runs)"
)


@needs_systemd_analyze
def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    copy = tmp_path / "schemad.service"
    shutil.copy(UNIT, copy)
    assert systemd_verify(copy) == []


@needs_systemd_analyze
def test_systemd_analyze_check_catches_a_broken_unit(tmp_path: Path) -> None:
    """The filter above must not hide real parse problems."""
    copy = tmp_path / "schemad.service"
    copy.write_text(UNIT.read_text().replace("KillMode=mixed", "KillMode=mixed\nNoSuchSetting=1"))
    problems = systemd_verify(copy)
    assert any("NoSuchSetting" in p for p in problems), problems
