"""A tiny sd_notify(3) client: readiness, reload, stop, status and watchdog pings.

`Notifier.from_environ()` reads `$NOTIFY_SOCKET` (a filesystem path, or an
abstract socket name starting with `@`) and `$WATCHDOG_USEC` / `$WATCHDOG_PID`
once; without `$NOTIFY_SOCKET` the notifier is disabled and every method is a
no-op.  Each message is one AF_UNIX datagram sent from a fresh non-blocking
socket, so the methods never block the event loop and may be called from sync
code too (signal handlers, `cleanup_ctx` teardown).  `watchdog_loop(notifier,
stop)` pings `WATCHDOG=1` at half the interval systemd asked for, until `stop`
is set.

What it will not do: raise (a vanished socket, a full queue or an unsupported
address is logged at debug level and reported by `notify()` returning False),
unset `$NOTIFY_SOCKET` for child processes (the unit's `NotifyAccess=main`
makes systemd ignore them), pass file descriptors, or decide *when* the daemon
is ready or reloading (`schemad serve` does; STYLE rule 9).  It holds no
module-level state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping

__all__ = ["Notifier", "watchdog_loop"]

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages to systemd, or does nothing when not run under `Type=notify`."""

    __slots__ = ("_address", "_watchdog_usec")

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        """`address` is `$NOTIFY_SOCKET` as given (path or `@abstract`); None disables the notifier.

        `watchdog_usec` is the already validated `$WATCHDOG_USEC`, or None when
        the watchdog is off or meant for another process.
        """
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ, *, pid: int | None = None) -> Notifier:
        """The notifier systemd set up for this process (`pid` defaults to `os.getpid()`).

        The watchdog counts only if `$WATCHDOG_USEC` is a positive integer and
        `$WATCHDOG_PID`, when set, is this process's pid, as sd_watchdog_enabled(3) says.
        """
        address = environ.get("NOTIFY_SOCKET") or None
        return cls(address, watchdog_usec=_watchdog_usec(environ, os.getpid() if pid is None else pid))

    @property
    def enabled(self) -> bool:
        """Whether messages are sent at all."""
        return self._address is not None

    def __repr__(self) -> str:
        return f"Notifier(address={self._address!r}, watchdog_usec={self._watchdog_usec!r})"

    # ///// messages /////

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` lines as one datagram; True if it was sent, never raises."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(payload, self._address)
        except OSError as e:
            log.debug("sd_notify to %r failed: %s", self._address, e)
            return False
        return True

    def ready(self) -> bool:
        """Startup finished, or a reload announced with `reloading()` has."""
        return self.notify("READY=1")

    def reloading(self) -> bool:
        """A reload started; call `ready()` when it is done.

        MONOTONIC_USEC is what `Type=notify-reload` (systemd 253+) requires; older
        versions ignore it.
        """
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={now_usec}")

    def stopping(self) -> bool:
        """Shutdown started."""
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`; newlines become spaces."""
        return self.notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> bool:
        """Keep-alive ping for `WatchdogSec=`."""
        return self.notify("WATCHDOG=1")

    # ///// watchdog /////

    def watchdog_interval(self) -> float | None:
        """Seconds between pings: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) recommends.

        None when the notifier is disabled or no watchdog applies to this process.
        """
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2_000_000


async def watchdog_loop(notifier: Notifier, stop: asyncio.Event) -> None:
    """Ping the watchdog every `notifier.watchdog_interval()` seconds until `stop` is set.

    Returns at once when there is no watchdog.  The first ping is sent immediately.
    """
    interval = notifier.watchdog_interval()
    if interval is None:
        return
    while not stop.is_set():
        notifier.watchdog()
        try:
            async with asyncio.timeout(interval):
                await stop.wait()
        except TimeoutError:
            pass


# ///// helpers /////


def _socket_address(address: str) -> str | None:
    """`$NOTIFY_SOCKET` as a Python AF_UNIX address, or None when unsupported (e.g. `vsock:`)."""
    if address.startswith("@"):
        return "\0" + address[1:]  # abstract namespace
    if address.startswith("/"):
        return address
    log.debug("unsupported NOTIFY_SOCKET %r: notifications disabled", address)
    return None


def _watchdog_usec(environ: Mapping[str, str], pid: int) -> int | None:
    usec_text = environ.get("WATCHDOG_USEC")
    if not usec_text:
        return None
    pid_text = environ.get("WATCHDOG_PID")
    try:
        usec = int(usec_text)
        if pid_text and int(pid_text) != pid:
            log.debug("WATCHDOG_PID=%s is not this process (%d): watchdog ignored", pid_text, pid)
            return None
    except ValueError:
        log.debug("invalid WATCHDOG_USEC=%r / WATCHDOG_PID=%r: watchdog ignored", usec_text, pid_text)
        return None
    return usec if usec > 0 else None
