"""Run one wrapper command as a managed subprocess.

`run_managed` starts `/bin/sh -c <command>` in a new session (so it leads its
own process group), reads stdout and stderr concurrently as they arrive, cuts
them into timestamped `LogLine`s with every secret of the command replaced by
`*****` *before* any line reaches a callback or the result, and enforces a
timeout and a cancellation event.  Stopping is always the same sequence, run at
most once per command: exactly one SIGTERM to the whole group, up to `grace`
seconds for every member to exit, then SIGKILL to the group.  No second SIGTERM
is ever sent, not to the leader either: one landing while the tool handles the
first can cut its clean-up short.  Processes the tool leaves running in its
group after it exits are stopped the same way, so nothing started by the
command outlives the call; the leader is always reaped.  Memory stays bounded
however much the tool prints: only the last `max_lines` lines are kept and an
over-long line is cut into pieces of at most `max_line_chars` characters
(never inside a secret), so a run holds at most about max_lines x
max_line_chars characters of output.

`CommandRunner` is the I/O edge as a Protocol: `SubprocessRunner` is the real
one and `FakeRunner` a scripted stand-in for plan/apply tests.

This module will not: feed the command any stdin (it gets /dev/null), track
processes that leave the group on purpose (`setsid`, `setpgid`), talk to
gh-ost's control socket, or deal with what a stopped tool leaves in the
database (pt-osc triggers, `_t_new` tables): `apply.leftovers` finds those.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import field
from typing import Any, Literal, Protocol

from schemad.errors import SchemadError
from schemad.plan.shellout import WrapperCommand
from schemad.records import dataclass

__all__ = [
    "DEFAULT_MAX_LINES",
    "DEFAULT_MAX_LINE_CHARS",
    "JOB_ENV",
    "CommandRunner",
    "FakeRun",
    "FakeRunner",
    "LogLine",
    "RunResult",
    "Stream",
    "SubprocessRunner",
    "WrapperFailed",
    "group_members",
    "run_managed",
]

Stream = Literal["stdout", "stderr"]

#: Lines kept in `RunResult.lines` (the most recent ones).
DEFAULT_MAX_LINES = 1000
#: Longest line passed on in one piece; longer output is split.
DEFAULT_MAX_LINE_CHARS = 16384
#: Lines of output carried by `WrapperFailed.tail`.
TAIL_LINES = 20
#: Set by the daemon in every wrapper's environment to the job's id: how a restart recognizes its tools.
JOB_ENV = "SCHEMAD_JOB_ID"

_POLL = 0.05  # seconds between checks that a process group has emptied


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a command's output, secrets already masked."""

    ts: float  # wall-clock time (time.time()) when the line's end was read
    stream: Stream
    text: str  # without the line terminator


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a managed command ended."""

    command: str  # the masked display text of the command
    pid: int  # the process id of the shell, which was also the process group id
    exit_code: int  # the shell's return code; -N means it was killed by signal N
    timed_out: bool
    cancelled: bool  # by the cancel event (a cancelled *task* raises CancelledError instead)
    lines: tuple[LogLine, ...]  # the last lines of both streams, in arrival order
    duration: float  # seconds from start until the whole process group was gone
    total_lines: int = 0  # lines seen in all; more than len(lines) when some were dropped

    @property
    def ok(self) -> bool:
        """True when the command exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out and not self.cancelled

    def tail(self, n: int = TAIL_LINES) -> tuple[str, ...]:
        """The texts of the last `n` lines (both streams)."""
        return tuple(line.text for line in self.lines[-n:]) if n > 0 else ()

    def check(self) -> RunResult:
        """Return self if `ok`, else raise `WrapperFailed`."""
        if not self.ok:
            raise WrapperFailed.from_result(self)
        return self


class WrapperFailed(SchemadError):
    """A wrapper command failed: non-zero exit, timeout or cancellation."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int,
        tail: tuple[str, ...] = (),
        command: str = "",
        timed_out: bool = False,
        cancelled: bool = False,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.tail = tail  # the last TAIL_LINES lines of output, masked
        self.command = command  # masked display text
        self.timed_out = timed_out
        self.cancelled = cancelled

    @classmethod
    def from_result(cls, result: RunResult) -> WrapperFailed:
        if result.timed_out:
            why = f"timed out after {result.duration:.1f}s"
        elif result.cancelled:
            why = "was cancelled"
        elif result.exit_code < 0:
            why = f"was killed by signal {-result.exit_code}"
        else:
            why = f"exited with code {result.exit_code}"
        return cls(
            f"wrapper command {why}: {result.command}",
            exit_code=result.exit_code,
            tail=result.tail(TAIL_LINES),
            command=result.command,
            timed_out=result.timed_out,
            cancelled=result.cancelled,
        )


# ///// Reading output /////


class _Collector:
    """Keeps the last lines of a run and hands each one to the callback."""

    __slots__ = ("_abort", "_on_line", "error", "lines", "sealed", "total")

    def __init__(
        self, on_line: Callable[[LogLine], None] | None, max_lines: int, abort: asyncio.Event
    ) -> None:
        self._on_line = on_line
        self._abort = abort
        self.lines: deque[LogLine] = deque(maxlen=max_lines)
        self.total = 0
        self.error: Exception | None = None  # raised by on_line; stops the run
        self.sealed = False  # set once the result is built; late output is dropped

    def emit(self, stream: Stream, text: str) -> None:
        if self.sealed:
            return
        line = LogLine(ts=time.time(), stream=stream, text=text)
        self.lines.append(line)
        self.total += 1
        if self._on_line is not None and self.error is None:
            try:
                self._on_line(line)
            except Exception as exc:  # a broken consumer aborts the run; re-raised by run_managed
                self.error = exc
                self._abort.set()


class _LineSplitter:
    """Cuts one stream's bytes into lines, masks them and passes them on."""

    __slots__ = ("_closed", "_decoder", "_emit", "_forms", "_mask", "_max", "_pending", "_stream")

    def __init__(
        self,
        stream: Stream,
        emit: Callable[[Stream, str], None],
        mask: Callable[[str], str],
        secret_forms: Sequence[str],
        max_line_chars: int,
    ) -> None:
        self._stream: Stream = stream
        self._emit = emit
        self._mask = mask
        self._forms = secret_forms
        self._max = max_line_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # raw (unmasked) start of an unfinished line, at most _max chars
        self._closed = False

    def feed(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if not text:
            return
        parts = (self._pending + text).split("\n")
        self._pending = parts.pop()
        for part in parts:
            self._line(part.removesuffix("\r"), complete=True)
        if len(self._pending) > self._max:
            self._pending = self._line(self._pending, complete=False)

    def close(self) -> None:
        if self._closed:
            return
        self.feed(b"")
        tail = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        self._closed = True
        if tail:
            self._line(tail.removesuffix("\r"), complete=True)

    def _line(self, text: str, *, complete: bool) -> str:
        """Emit `text` in pieces of at most _max chars; an incomplete line keeps its last piece."""
        while len(text) > self._max:
            cut = _safe_cut(text, self._max, self._forms)
            self._emit(self._stream, self._mask(text[:cut]))
            text = text[cut:]
        if complete:
            self._emit(self._stream, self._mask(text))
            return ""
        return text


def _safe_cut(text: str, cut: int, forms: Sequence[str]) -> int:
    """A cut point <= `cut` that splits no secret, whole or (at the end of `text`) partial."""
    limit = cut
    moved = True
    while moved and cut > 0:
        moved = False
        for form in forms:
            n = len(form)
            for i in range(max(0, cut - n + 1), cut):
                seg = text[i : i + n]
                if form.startswith(seg) and (len(seg) == n or i + len(seg) == len(text)):
                    cut, moved = i, True
                    break
    # Only a secret longer than a whole piece can get here; cutting it is the lesser evil.
    return cut if cut > 0 else limit


class _Protocol(asyncio.SubprocessProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, splitters: dict[int, _LineSplitter]) -> None:
        self._splitters = splitters
        self._open = set(splitters)
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._splitters[fd].feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in self._open:
            self._open.discard(fd)
            self._splitters[fd].close()
        if not self._open and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def flush(self) -> None:
        """Pass on what is buffered of pipes that never closed (a holder left the group)."""
        for fd in sorted(self._open):
            self._splitters[fd].close()
        self._open.clear()


# ///// Process groups /////


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False if it has no members left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed user; the ones we own still got it
        return True
    return True


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """/proc/PID/stat after the command name (state, ppid, pgrp, ...); None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return None


def process_running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie awaiting its reaper has)."""
    fields = _stat_fields(pid)
    return fields is not None and len(fields) > 0 and fields[0] not in (b"Z", b"X")


def group_members(pgid: int) -> list[int] | None:
    """The running members of process group `pgid` (zombies awaiting their reaper left out).

    None when there is no procfs to read them from.
    """
    proc = "/proc"
    if not os.path.isdir(f"{proc}/self"):
        return None
    try:
        entries = os.listdir(proc)
    except OSError:
        return None
    members = []
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None:
            continue  # exited meanwhile
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry))
    return members


def _group_alive(pgid: int) -> bool:
    """True while a member of the group runs; zombies awaiting their reaper do not count."""
    if not _signal_group(pgid, 0):
        return False
    members = group_members(pgid)
    return members is None or bool(members)  # no procfs: a zombie keeps the group "alive" until reaped


async def _wait_group_gone(pgid: int, exited: asyncio.Future[None], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if exited.done() and not _group_alive(pgid):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(_POLL, remaining))


class _GroupStop:
    """Stops one process group, once: a single SIGTERM, `grace` seconds, then SIGKILL.

    Awaiting it again (the task was cancelled while it waited) sends no
    second SIGTERM: it goes on waiting for what is left of the same grace
    period.  Returns when the whole group is gone and the leader reaped.
    """

    __slots__ = ("_exited", "_grace", "_kill_at", "_pgid", "gone")

    def __init__(self, pgid: int, exited: asyncio.Future[None], grace: float) -> None:
        self._pgid = pgid
        self._exited = exited
        self._grace = grace
        self._kill_at: float | None = None  # monotonic time of the SIGKILL, once the SIGTERM went out
        self.gone = False  # the group is gone and the leader reaped: never signal the id again

    async def __call__(self) -> None:
        if self.gone:
            return
        if self._kill_at is None:
            if self._exited.done() and not _group_alive(self._pgid):
                self.gone = True
                return
            self._kill_at = time.monotonic() + self._grace
            _signal_group(self._pgid, signal.SIGTERM)
        if not await _wait_group_gone(self._pgid, self._exited, self._kill_at - time.monotonic()):
            # A session leader can't leave its group: this reaches it too.
            _signal_group(self._pgid, signal.SIGKILL)
            await self._exited
            # Killed members are reaped by whoever inherited them; wait a little for that.
            await _wait_group_gone(self._pgid, self._exited, 5.0)
        self.gone = True

    def kill(self) -> None:
        """SIGKILL the group now, unless it is known to be gone (its id may be someone else's by then)."""
        if not self.gone:
            _signal_group(self._pgid, signal.SIGKILL)


# ///// Running /////


async def run_managed(
    cmd: WrapperCommand,
    *,
    timeout: float | None,
    grace: float = 10.0,
    on_line: Callable[[LogLine], None] | None = None,
    cancel: asyncio.Event | None = None,
    env: Mapping[str, str] | None = None,
    unset_env: Collection[str] = (),
    cwd: str | os.PathLike[str] | None = None,
    max_lines: int = DEFAULT_MAX_LINES,
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
    on_start: Callable[[int], None] | None = None,
) -> RunResult:
    """Run `cmd` in its own process group and supervise it until every member is gone.

    `timeout` (seconds, None for none) or setting `cancel` stops the group:
    SIGTERM, then SIGKILL after `grace` seconds.  Members still running when
    the shell exits are stopped the same way.  `env` adds to (and overrides)
    this process's environment; the variables named in `unset_env` are left
    out of what the command inherits (unless `env` sets them).  Every line
    is masked with `cmd.mask` before `on_line` sees it; if `on_line` raises,
    the group is stopped and the exception re-raised.  Cancelling the awaiting task stops the group the
    same way before CancelledError propagates.  A non-zero exit is reported,
    not raised: call `RunResult.check()` for that.  `on_start` gets the
    process group id as soon as the group exists (a daemon records it, so a
    restart after a crash can stop what it left running).
    """
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be positive (or None)")
    if grace < 0 or max_lines < 1 or max_line_chars < 1:
        raise ValueError("grace must be >= 0, max_lines and max_line_chars >= 1")
    loop = asyncio.get_running_loop()
    abort = asyncio.Event()
    collector = _Collector(on_line, max_lines, abort)
    forms = cmd.secret_forms
    splitters = {
        1: _LineSplitter("stdout", collector.emit, cmd.mask, forms, max_line_chars),
        2: _LineSplitter("stderr", collector.emit, cmd.mask, forms, max_line_chars),
    }
    started = time.monotonic()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(loop, splitters),
            *cmd.argv_for_exec(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=_child_env(env, unset_env),
            cwd=cwd,
        )
    except OSError as exc:  # no /bin/sh, a bad cwd, out of processes...
        raise WrapperFailed(
            f"cannot start wrapper command ({exc.strerror or exc}): {cmd.display}",
            exit_code=127,
            command=cmd.display,
        ) from exc
    pgid = transport.get_pid()  # a new session's leader: its pid is the group id
    stop = _GroupStop(pgid, protocol.exited, grace)
    timed_out = cancelled = False
    try:
        try:
            if on_start is not None:
                on_start(pgid)
            watchers: list[asyncio.Future[Any]] = [asyncio.ensure_future(abort.wait())]
            if cancel is not None:
                watchers.append(asyncio.ensure_future(cancel.wait()))
            try:
                waitables: list[asyncio.Future[Any]] = [protocol.exited, *watchers]
                await asyncio.wait(waitables, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in watchers:
                    w.cancel()
            if not protocol.exited.done() and collector.error is None:
                cancelled = cancel is not None and cancel.is_set()
                timed_out = not cancelled
            await stop()
        except BaseException:
            # The awaiting task was cancelled (or something broke), maybe while `stop` waited
            # out the grace period: still stop the group, with the same single SIGTERM.
            try:
                await stop()
            except BaseException:
                stop.kill()  # cancelled again: no more waiting
                raise
            raise
        # The group is gone, so the pipes close as soon as they are drained,
        # unless a process that left the group holds them: don't wait for that.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(protocol.pipes_closed), timeout=2.0)
    finally:
        transport.close()
    protocol.flush()
    collector.sealed = True
    if collector.error is not None:
        raise collector.error
    exit_code = transport.get_returncode()
    assert exit_code is not None  # the leader was reaped by stop()
    return RunResult(
        command=cmd.display,
        pid=pgid,
        exit_code=exit_code,
        timed_out=timed_out,
        cancelled=cancelled,
        lines=tuple(collector.lines),
        duration=time.monotonic() - started,
        total_lines=collector.total,
    )


def _child_env(env: Mapping[str, str] | None, unset: Collection[str]) -> dict[str, str] | None:
    """The command's environment: ours minus `unset`, plus `env`; None (inherit as is) if neither."""
    if env is None and not unset:
        return None
    inherited = {k: v for k, v in os.environ.items() if k not in unset}
    return {**inherited, **(env or {})}


# ///// The I/O edge /////


class CommandRunner(Protocol):
    """Runs wrapper commands; `SubprocessRunner` for real, `FakeRunner` in tests."""

    async def run(
        self,
        cmd: WrapperCommand,
        *,
        timeout: float | None,
        grace: float = 10.0,
        on_line: Callable[[LogLine], None] | None = None,
        cancel: asyncio.Event | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RunResult: ...


@dataclass(frozen=True, slots=True)
class SubprocessRunner:
    """The real `CommandRunner`: `run_managed` with fixed output bounds."""

    max_lines: int = DEFAULT_MAX_LINES
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS

    async def run(
        self,
        cmd: WrapperCommand,
        *,
        timeout: float | None,
        grace: float = 10.0,
        on_line: Callable[[LogLine], None] | None = None,
        cancel: asyncio.Event | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RunResult:
        return await run_managed(
            cmd,
            timeout=timeout,
            grace=grace,
            on_line=on_line,
            cancel=cancel,
            env=env,
            max_lines=self.max_lines,
            max_line_chars=self.max_line_chars,
        )


@dataclass(frozen=True, slots=True)
class FakeRun:
    """What a `FakeRunner` handler says one command did."""

    exit_code: int = 0
    output: tuple[tuple[Stream, str], ...] = ()  # (stream, text) in order; text may hold newlines
    timed_out: bool = False


@dataclass(slots=True)
class FakeRunner:
    """A `CommandRunner` that starts nothing: `handler(cmd)` scripts each outcome.

    Output goes through the command's masking and `on_line` like real output;
    a `cancel` event already set when `run` is called yields a cancelled
    result.  Every command is recorded in `calls`.
    """

    handler: Callable[[WrapperCommand], FakeRun] = field(default=lambda cmd: FakeRun())
    calls: list[WrapperCommand] = field(default_factory=list)

    async def run(
        self,
        cmd: WrapperCommand,
        *,
        timeout: float | None,
        grace: float = 10.0,
        on_line: Callable[[LogLine], None] | None = None,
        cancel: asyncio.Event | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RunResult:
        self.calls.append(cmd)
        if cancel is not None and cancel.is_set():
            outcome, cancelled = FakeRun(exit_code=-signal.SIGTERM), True
        else:
            outcome, cancelled = self.handler(cmd), False
        lines: deque[LogLine] = deque(maxlen=DEFAULT_MAX_LINES)
        total = 0
        for stream, text in outcome.output:
            for part in text.split("\n"):
                line = LogLine(ts=time.time(), stream=stream, text=cmd.mask(part))
                lines.append(line)
                total += 1
                if on_line is not None:
                    on_line(line)
        return RunResult(
            command=cmd.display,
            pid=0,
            exit_code=outcome.exit_code,
            timed_out=outcome.timed_out,
            cancelled=cancelled,
            lines=tuple(lines),
            duration=0.0,
            total_lines=total,
        )
