"""run_managed against real subprocesses: capture, masking, timeouts, cancellation, bounds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from schemad.apply.runner import (
    CommandRunner,
    FakeRun,
    FakeRunner,
    LogLine,
    RunResult,
    SubprocessRunner,
    WrapperFailed,
    run_managed,
)
from schemad.plan.shellout import MASK, WrapperCommand, escape_value

SECRET = "pa ss'w$rd"

# A child that ignores SIGTERM, forks a grandchild that ignores it too, reports
# both pids and then sleeps: only SIGKILL to the whole group gets rid of it.
STUBBORN = """
    import os, signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    kid = os.fork()
    if kid == 0:
        time.sleep(600)
        os._exit(0)
    print(f"ready child={os.getpid()} grandchild={kid} group={os.getpgid(0)}", flush=True)
    time.sleep(600)
"""


def py(code: str, *, args: str = "", secret: str = SECRET, prefix: str = "") -> WrapperCommand:
    """A command running `code` with this interpreter; {PASSWORD} is `secret`."""
    return WrapperCommand.from_template(
        prefix + "{PY} -u -c {CODE}" + (" " + args if args else ""),
        {"PY": sys.executable, "CODE": textwrap.dedent(code), "PASSWORD": secret},
    )


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Running processes whose process group is `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def pids_of(lines: list[LogLine] | tuple[LogLine, ...]) -> tuple[int, int, int]:
    """(child, grandchild, process group) as the STUBBORN-style child reported them."""
    for line in lines:
        if m := re.search(r"ready child=(\d+) grandchild=(\d+) group=(\d+)", line.text):
            return int(m[1]), int(m[2]), int(m[3])
    raise AssertionError(f"the child never reported its pids: {[line.text for line in lines]}")


def assert_all_gone(pgid: int, *pids: int) -> None:
    """No process of the run survives (survivors are killed so a failure leaves none behind)."""
    survivors = sorted({p for p in pids if alive(p)} | set(group_members(pgid)))
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert survivors == []


# ///// capture /////


async def test_lines_are_captured_per_stream_in_order_with_timestamps() -> None:
    cmd = py(
        """
        import sys
        for i in range(5):
            print(f"out {i}", flush=True)
            print(f"err {i}", file=sys.stderr, flush=True)
        sys.stdout.write("crlf\\r\\nno newline at end")
        """
    )
    seen: list[LogLine] = []
    before = time.time()
    result = await run_managed(cmd, timeout=60, on_line=seen.append)
    after = time.time()

    assert result.ok and result.exit_code == 0
    assert not result.timed_out and not result.cancelled
    out = [line for line in result.lines if line.stream == "stdout"]
    err = [line for line in result.lines if line.stream == "stderr"]
    assert [line.text for line in out] == [f"out {i}" for i in range(5)] + ["crlf", "no newline at end"]
    assert [line.text for line in err] == [f"err {i}" for i in range(5)]
    for stream in (out, err):
        stamps = [line.ts for line in stream]
        assert stamps == sorted(stamps)
        assert before <= stamps[0] and stamps[-1] <= after
    assert seen == list(result.lines)
    assert result.total_lines == 12
    assert result.command == cmd.display


async def test_utf8_split_across_reads_and_invalid_bytes() -> None:
    cmd = py(
        """
        import sys, time
        out = sys.stdout.buffer
        out.write(b"caf\\xc3"); out.flush(); time.sleep(0.05)
        out.write(b"\\xa9\\n"); out.write(b"bad \\xff byte\\n"); out.flush()
        """
    )
    result = await run_managed(cmd, timeout=60)
    assert [line.text for line in result.lines] == ["café", "bad \ufffd byte"]


async def test_values_reach_the_program_exactly_through_sh() -> None:
    values = [
        "plain",
        "has space",
        "it's",
        "'''",
        "$HOME",
        "`id`",
        "a;b|c&d",
        "x\ny",
        "*",
        "café",
        "\\n",
        '"dq"',
    ]
    names = [f"V{i}" for i in range(len(values))]
    cmd = WrapperCommand.from_template(
        "{PY} -c {CODE} " + " ".join(f"{{{n}}}" for n in names),
        {
            "PY": sys.executable,
            "CODE": "import json, sys; print(json.dumps(sys.argv[1:]))",
            **dict(zip(names, values, strict=True)),
        },
    )
    result = (await run_managed(cmd, timeout=60)).check()
    assert json.loads(result.lines[0].text) == values


async def test_env_adds_to_the_inherited_environment() -> None:
    cmd = py("import os; print(os.environ['SCHEMAD_T'], 'PATH' in os.environ)")
    result = await run_managed(cmd, timeout=60, env={"SCHEMAD_T": "v 1"})
    assert [line.text for line in result.lines] == ["v 1 True"]


# ///// masking /////


async def test_secret_is_masked_even_when_the_child_prints_it() -> None:
    cmd = py(
        """
        import shlex, sys, time
        pw = sys.argv[1]
        print("connecting with p=" + pw, flush=True)
        print(f"error: password={pw}!", file=sys.stderr, flush=True)
        print("quoted: " + shlex.quote(pw), flush=True)
        sys.stdout.write("split " + pw[:3]); sys.stdout.flush(); time.sleep(0.05)
        sys.stdout.write(pw[3:] + " across reads\\n"); sys.stdout.flush()
        sys.exit(1)
        """,
        args="{PASSWORDX}",
    )
    seen: list[LogLine] = []
    result = await run_managed(cmd, timeout=60, on_line=seen.append)

    assert escape_value(SECRET) in cmd.argv_for_exec()[2]
    texts = [line.text for line in seen]
    assert texts == [line.text for line in result.lines]
    assert all("pa ss" not in t and "w$rd" not in t for t in texts), texts
    assert f"connecting with p={MASK}" in texts
    assert f"error: password={MASK}!" in texts
    assert f"split {MASK} across reads" in texts
    assert "pa ss" not in result.command and MASK in result.command
    with pytest.raises(WrapperFailed) as info:
        result.check()
    assert "pa ss" not in str(info.value)
    assert all("pa ss" not in t for t in info.value.tail)


@pytest.mark.parametrize("pieces", ["whole", "dribbled"])
async def test_long_lines_are_split_but_never_inside_a_secret(pieces: str) -> None:
    secret = "S3CR3T!"
    cmd = py(
        f"""
        import sys, time
        secret, dribble = sys.argv[1], {pieces == "dribbled"}
        for k in range(130):
            head = "x" * k + secret
            if dribble:
                sys.stdout.write(head); sys.stdout.flush(); time.sleep(0.002)
            else:
                sys.stdout.write(head)
            sys.stdout.write("y" * (130 - k) + "\\n")
        """,
        args="{PASSWORDX}",
        secret=secret,
    )
    result = await run_managed(cmd, timeout=60, max_line_chars=64, max_lines=100_000)
    texts = [line.text for line in result.lines]
    assert all(len(t) <= 64 for t in texts)
    assert "".join(texts) == "".join("x" * k + MASK + "y" * (130 - k) for k in range(130))
    for t in texts:
        assert not any(t.endswith(secret[:j]) for j in range(1, len(secret))), t


# ///// stopping /////


async def test_timeout_kills_a_child_that_ignores_sigterm_and_its_grandchild(sent: Sent) -> None:
    result = await run_managed(py(STUBBORN), timeout=3.0, grace=0.5)
    child, grandchild, group = pids_of(result.lines)
    assert sent == [("group", group, signal.SIGTERM), ("group", group, signal.SIGKILL)]
    assert result.timed_out and not result.cancelled and not result.ok
    assert result.exit_code != 0
    assert result.duration < 3.0 + 0.5 + 20  # generous: SIGKILL after the grace period
    assert group == result.pid
    assert_all_gone(group, child, grandchild)
    with pytest.raises(WrapperFailed, match="timed out") as info:
        result.check()
    assert info.value.timed_out and info.value.exit_code == result.exit_code


# A tool whose clean-up takes a while, run as the group leader (`exec`).  A second
# SIGTERM landing during the clean-up would run the handler again (and be counted):
# pt-online-schema-change, for one, exits at once on a signal it gets while it
# cleans up.  The SIGTERM arrives however early the stop comes: the child starts
# with SIGTERM blocked (see `sigterm_held`) and unblocks it once its handler is in.
PATIENT = """
    import signal, sys, time
    terms = 0
    def on_term(*_):
        global terms
        terms += 1
        if terms > 1:
            return
        print("cleaning up", flush=True)
        time.sleep(0.5)
        print(f"cleaned up after {terms} SIGTERM(s)", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    print("ready", flush=True)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    time.sleep(600)
"""


@contextlib.contextmanager
def sigterm_held() -> Iterator[Callable[[int], None]]:
    """Block SIGTERM in this thread until the yielded `on_start` runs: the child inherits the block.

    A SIGTERM sent while the child's interpreter starts then waits, pending,
    until the child unblocks it, instead of killing it before its handler is
    installed, so a stop test need not leave seconds for start-up.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    def release(_pgid: int) -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)

    try:
        yield release
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


Sent = list[tuple[str, int, int]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Every signal this process sends (probes with signal 0 left out), as ("group"|"pid", id, signal)."""
    record: Sent = []
    killpg, kill = os.killpg, os.kill

    def on_killpg(pgid: int, sig: int) -> None:
        if sig:
            record.append(("group", pgid, sig))
        killpg(pgid, sig)

    def on_kill(pid: int, sig: int) -> None:
        if sig:
            record.append(("pid", pid, sig))
        kill(pid, sig)

    monkeypatch.setattr(os, "killpg", on_killpg)
    monkeypatch.setattr(os, "kill", on_kill)
    return record


async def test_a_stop_sends_one_sigterm_and_waits_for_the_clean_up(sent: Sent) -> None:
    with sigterm_held() as on_start:
        result = await run_managed(py(PATIENT, prefix="exec "), timeout=0.3, grace=60, on_start=on_start)
    assert [line.text for line in result.lines] == ["ready", "cleaning up", "cleaned up after 1 SIGTERM(s)"]
    assert result.timed_out and result.exit_code == 0  # `exec`: the tool is the leader, its code the result's
    assert sent == [("group", result.pid, signal.SIGTERM)]
    assert result.duration < 30  # it did not wait out the 60 s grace


async def test_cancelling_the_task_during_the_grace_period_sends_no_second_sigterm(sent: Sent) -> None:
    ready = asyncio.Event()
    seen: list[LogLine] = []

    def on_line(line: LogLine) -> None:
        seen.append(line)
        ready.set()

    task = asyncio.create_task(run_managed(py(STUBBORN), timeout=0.3, grace=2.0, on_line=on_line))
    await asyncio.wait_for(ready.wait(), timeout=60)
    child, grandchild, group = pids_of(seen)
    await asyncio.sleep(0.5)  # the timeout has passed: the stop waits out its grace period
    assert sent == [("group", group, signal.SIGTERM)]
    cancelled_at = time.monotonic()
    task.cancel()  # e.g. the daemon gave up waiting for the job
    with pytest.raises(asyncio.CancelledError):
        await task
    # The same grace period ran on (not a new one) and ended with SIGKILL, not another SIGTERM.
    assert time.monotonic() - cancelled_at < 2.0
    assert sent == [("group", group, signal.SIGTERM), ("group", group, signal.SIGKILL)]
    assert_all_gone(group, child, grandchild)


async def test_cancel_event_stops_the_whole_group() -> None:
    cancel = asyncio.Event()

    def on_line(line: LogLine) -> None:
        if line.text.startswith("ready"):
            cancel.set()

    result = await run_managed(py(STUBBORN), timeout=300, grace=0.5, on_line=on_line, cancel=cancel)
    child, grandchild, group = pids_of(result.lines)
    assert result.cancelled and not result.timed_out and not result.ok
    assert result.duration < 60
    assert group == result.pid
    assert_all_gone(group, child, grandchild)
    with pytest.raises(WrapperFailed, match="cancelled"):
        result.check()


async def test_cancelling_the_task_stops_the_group_too() -> None:
    ready = asyncio.Event()
    seen: list[LogLine] = []

    def on_line(line: LogLine) -> None:
        seen.append(line)
        ready.set()

    task = asyncio.create_task(run_managed(py(STUBBORN), timeout=300, grace=0.5, on_line=on_line))
    await asyncio.wait_for(ready.wait(), timeout=60)
    child, grandchild, group = pids_of(seen)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_all_gone(group, child, grandchild)


async def test_children_left_behind_after_a_normal_exit_are_stopped() -> None:
    cmd = py(
        """
        import os, signal, time
        kid = os.fork()
        if kid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(600)
            os._exit(0)
        print(f"ready child={os.getpid()} grandchild={kid} group={os.getpgid(0)}", flush=True)
        """
    )
    result = await run_managed(cmd, timeout=300, grace=0.5)
    child, grandchild, group = pids_of(result.lines)
    assert result.ok
    assert result.duration < 60
    assert group == result.pid
    assert_all_gone(group, child, grandchild)


async def test_a_failing_callback_stops_the_run_and_is_raised() -> None:
    seen: list[LogLine] = []

    def on_line(line: LogLine) -> None:
        seen.append(line)
        raise RuntimeError("consumer broke")

    with pytest.raises(RuntimeError, match="consumer broke"):
        await run_managed(py(STUBBORN), timeout=300, grace=0.5, on_line=on_line)
    child, grandchild, group = pids_of(seen)
    assert_all_gone(group, child, grandchild)


async def test_nonzero_exit_gives_exit_code_and_tail() -> None:
    cmd = py(
        """
        import sys
        for i in range(30):
            print(f"line {i}", file=sys.stderr, flush=True)
        sys.exit(3)
        """,
        args="{PASSWORDX}",
    )
    result = await run_managed(cmd, timeout=60)
    assert result.exit_code == 3 and not result.ok
    assert result.tail() == tuple(f"line {i}" for i in range(10, 30))
    with pytest.raises(WrapperFailed) as info:
        result.check()
    err = info.value
    assert err.exit_code == 3
    assert err.tail == tuple(f"line {i}" for i in range(10, 30))
    assert err.command == cmd.display
    assert "exited with code 3" in str(err)
    assert "pa ss" not in str(err)


async def test_a_command_that_cannot_start_is_a_wrapper_failure(tmp_path: Path) -> None:
    with pytest.raises(WrapperFailed) as info:
        await run_managed(py("print(1)"), timeout=60, cwd=tmp_path / "missing")
    assert info.value.exit_code == 127


# ///// bounds /////


async def test_a_very_chatty_child_keeps_memory_bounded() -> None:
    cmd = py(
        """
        import sys
        w = sys.stdout.write
        for i in range(100_000):
            w(f"{i:06d} " + "z" * 93 + "\\n")
        w("q" * 2_000_000 + "\\n")
        """
    )
    count = 0

    def on_line(line: LogLine) -> None:
        nonlocal count
        count += 1

    tracemalloc.start()
    try:
        result = await run_managed(cmd, timeout=120, on_line=on_line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    pieces = -(-2_000_000 // 16384)
    assert result.ok
    assert count == result.total_lines == 100_000 + pieces
    assert len(result.lines) == 1000
    assert result.lines[-pieces - 1].text.startswith("099999 ")
    assert {len(line.text) for line in result.lines[-pieces:-1]} == {16384}
    # 12 MB went through: keeping every line would take over 20 MB; the last
    # 1000 lines (2 MB of them the long one's pieces) take about 2.5 MB.
    assert peak < 8_000_000, peak


# ///// the fake /////


async def test_fake_runner_masks_records_and_reports() -> None:
    cmd = py("print(1)", args="{PASSWORDX}")
    fake = FakeRunner(lambda c: FakeRun(exit_code=2, output=(("stderr", f"bad {SECRET}\nmore"),)))
    runner: CommandRunner = fake
    seen: list[LogLine] = []
    result = await runner.run(cmd, timeout=10, on_line=seen.append)
    assert fake.calls == [cmd]
    assert [(line.stream, line.text) for line in seen] == [("stderr", f"bad {MASK}"), ("stderr", "more")]
    assert result.lines == tuple(seen) and result.exit_code == 2
    with pytest.raises(WrapperFailed):
        result.check()

    cancel = asyncio.Event()
    cancel.set()
    assert (await runner.run(cmd, timeout=10, cancel=cancel)).cancelled


async def test_subprocess_runner_is_run_managed() -> None:
    runner: CommandRunner = SubprocessRunner(max_lines=2)
    result = await runner.run(py("for i in range(5): print(i)"), timeout=60)
    assert isinstance(result, RunResult)
    assert [line.text for line in result.lines] == ["3", "4"] and result.total_lines == 5
