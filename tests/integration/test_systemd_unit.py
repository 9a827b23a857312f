"""systemd/schemad.service: valid for systemd, hardened (`systemd-analyze security` ≤ 2.0), and still
letting the daemon do its work.

`systemd-analyze` comes from Debian's `systemd` package (`make setup` installs
it).  `verify` runs against a scratch root where the unit is installed as its
header says (/etc/systemd/system, the command in /usr/local/bin), with the
host's own units for the targets it depends on, and must print nothing at
all: unknown keys and bad values are only warnings there, not an exit code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "schemad.service"
HOST_UNITS = Path("/usr/lib/systemd/system")
MAX_EXPOSURE = 2.0

# Every system call seen (strace -f) from the daemon (`schemad serve`: polls, diff, a push, SIGHUP,
# TCP and Unix listeners, `git fetch`) and from what it runs (/bin/sh for `.skeema` backticks and
# git, git and its helpers, pt-online-schema-change), plus sendto for sd_notify.  Left out:
# fchown, which SQLite calls on its journal only when running as root (the unit sets User=).
_SEEN = """accept4 access arch_prctl bind brk chdir chmod clock_nanosleep clone clone3 close close_range
    connect dup2 epoll_create1 epoll_ctl epoll_wait eventfd2 execve exit exit_group fcntl fdatasync
    ftruncate futex getcwd getdents64 getegid geteuid getgid getpeername getpid getppid getrandom
    getsockname getsockopt gettid getuid inotify_add_watch inotify_init1 inotify_rm_watch ioctl kill
    link listen lseek madvise mkdir mmap mprotect munmap newfstatat openat pipe2 poll prctl pread64
    prlimit64 pwrite64 read readlink recvfrom rename rseq rt_sigaction rt_sigprocmask rt_sigreturn
    sendto set_robust_list set_tid_address setsid setsockopt socket socketpair statx symlink sysinfo
    uname unlink utimensat vfork wait4 write"""
DAEMON_SYSCALLS = frozenset(_SEEN.split())


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze not found: `make setup` installs it (Debian package systemd)"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=30)


def _settings(section: str) -> list[tuple[str, str]]:
    """(key, value) of one section of the unit, in order, repeated keys included."""
    out: list[tuple[str, str]] = []
    current = None
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def _values(section: str, key: str) -> list[str]:
    return [v for k, v in _settings(section) if k == key]


def test_verify_accepts_the_installed_unit(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    for link in ("bin", "sbin", "lib"):  # merged /usr, as Debian has it
        (root / "usr" / link).mkdir(parents=True)
        (root / link).symlink_to(f"usr/{link}")
    assert HOST_UNITS.is_dir(), f"{HOST_UNITS}: the systemd package's units are missing"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    shutil.copy(UNIT, root / "etc/systemd/system/schemad.service")
    # The commands the unit runs, where it expects them (stand-ins: verify checks they are executable).
    commands = [v.lstrip("-@:+!").split()[0] for k, v in _settings("Service") if k.startswith("Exec")]
    assert "/usr/local/bin/schemad" in commands, commands
    for command in commands:
        stub = root / command.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    r = _analyze("verify", f"--root={root}", "/etc/systemd/system/schemad.service")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def test_security_exposure_at_most_2() -> None:
    r = _analyze("security", "--offline=true", f"--threshold={round(MAX_EXPOSURE * 10)}", str(UNIT))
    m = re.search(r"Overall exposure level for schemad\.service: (\d+\.\d+)", r.stdout)
    assert m is not None, r.stdout + r.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr


def _syscall_group(name: str) -> set[str]:
    out = _analyze("syscall-filter", name)
    assert out.returncode == 0, out.stderr
    calls: set[str] = set()
    for line in out.stdout.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            calls |= _syscall_group(item) if item.startswith("@") else {item}
    return calls


def _allowed_syscalls() -> set[str]:
    """What the unit's SystemCallFilter= lines let through (an allow list, then deny lists)."""
    allowed: set[str] | None = None
    for value in _values("Service", "SystemCallFilter"):
        deny = value.startswith("~")
        names: set[str] = set()
        for item in value.lstrip("~").split():
            names |= _syscall_group(item) if item.startswith("@") else {item}
        if deny:
            assert allowed is not None, "an allow list comes first"
            allowed -= names
        else:
            allowed = names if allowed is None else allowed | names
    assert allowed is not None, "no SystemCallFilter="
    return allowed


def test_the_daemon_keeps_what_it_needs() -> None:
    service = dict(_settings("Service"))
    # The network (its API, database servers, git) and Unix sockets (sd_notify, local servers).
    assert set(service["RestrictAddressFamilies"].split()) >= {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "PrivateNetwork" not in service and "IPAddressDeny" not in service
    # Its state directory stays writable; repos are read (ProtectSystem=strict leaves reading).
    assert service["StateDirectory"] == "schemad" and "/var/lib/schemad" in service["ReadWritePaths"]
    assert service["User"] == "schemad" and service["CapabilityBoundingSet"] == ""
    # Denied calls fail with EPERM rather than killing whatever made them.
    assert service["SystemCallErrorNumber"] == "EPERM"
    missing = sorted(DAEMON_SYSCALLS - _allowed_syscalls())
    assert not missing, f"the daemon or what it runs uses these system calls, denied by the unit: {missing}"
    # Documentation= is this project's: its README and the API description the daemon serves.
    docs = _values("Unit", "Documentation")
    assert any(d.endswith("/schemad/README.md") for d in docs), docs
    assert any(d.endswith("/openapi.yaml") for d in docs), docs
