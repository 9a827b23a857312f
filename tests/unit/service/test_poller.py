"""Tests of the poll scheduler against a real APScheduler with short intervals.

Timing assertions are lower bounds or generous upper bounds only: a loaded CI
machine may run late, never early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemad.errors import RateLimitError
from schemad.service.metrics import Metrics
from schemad.service.poller import Poller, PollSchedule, backoff_delay, next_run_after

DEADLINE = 5.0  # generous bound for "eventually"


async def eventually(cond: Callable[[], bool], timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(m.render()[0].decode())
        for s in family.samples
    }


@pytest.fixture
async def poller() -> AsyncIterator[Poller]:
    p = Poller()
    yield p
    await p.shutdown(wait=False)


class Counter:
    """A poll that counts its runs, the runs in flight, and their start times."""

    def __init__(self, sleep: float = 0, fail_first: int = 0) -> None:
        self.sleep = sleep
        self.fail_first = fail_first
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.finished = 0
        self.cancelled = 0
        self.starts: list[float] = []

    async def __call__(self) -> None:
        self.calls += 1
        self.starts.append(time.monotonic())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.sleep:
                await asyncio.sleep(self.sleep)
            if self.calls <= self.fail_first:
                raise RuntimeError(f"boom {self.calls}")
            self.finished += 1
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1


@pytest.mark.parametrize(
    ("kwargs", "ok"),
    [
        ({"interval": 1.0}, True),
        ({"cron": "*/5 * * * *"}, True),
        ({"interval": 1.0, "jitter": 0.5}, True),
        ({}, False),
        ({"interval": 1.0, "cron": "* * * * *"}, False),
        ({"interval": 0}, False),
        ({"interval": -1.0}, False),
        ({"interval": 1.0, "jitter": -1}, False),
    ],
)
def test_schedule_validation(kwargs: dict[str, object], ok: bool) -> None:
    if ok:
        PollSchedule(**kwargs)  # type: ignore[arg-type]
    else:
        with pytest.raises(ValueError):
            PollSchedule(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base", "failures", "delay"),
    [
        (10.0, 1, 20.0),
        (10.0, 3, 80.0),
        (10.0, 4, 100.0),  # capped at 10 x interval
        (60.0, 1, 120.0),
        (60.0, 2, 240.0),
        (60.0, 3, 300.0),  # capped at 5 minutes, half the alert rules' window
        (300.0, 2, 300.0),
        (3600.0, 1, 300.0),  # the reschedule never moves a run earlier than its regular time
        (0.05, 1000, 0.5),
    ],
)
def test_backoff_delay(base: float, failures: int, delay: float) -> None:
    assert backoff_delay(base, failures) == pytest.approx(delay)


async def test_polls_run_repeatedly(poller: Poller) -> None:
    poll = Counter()
    poller.add("prod", PollSchedule(interval=0.05), poll)
    await poller.start()
    await eventually(lambda: poll.calls >= 3)
    state = poller.state("prod")
    assert state.last_success is not None
    assert state.consecutive_failures == 0
    assert state.last_error is None
    assert state.next_run is not None
    assert poller.environments() == ["prod"]


async def test_overlapping_runs_are_skipped(poller: Poller) -> None:
    poll = Counter(sleep=0.3)
    poller.add("slow", PollSchedule(interval=0.05), poll)
    await poller.start()
    await eventually(lambda: poll.finished >= 2)
    assert poll.max_active == 1
    assert poll.max_active == 1


async def test_poll_now_waits_for_a_running_poll_and_fresh_runs_one_more(poller: Poller) -> None:
    poll = Counter(sleep=0.2)
    poller.add("slow", PollSchedule(interval=3600), poll)  # only poll_now runs it here
    await poller.start()
    first = asyncio.create_task(poller.poll_now("slow"))
    await eventually(lambda: poller.state("slow").running)
    await poller.poll_now("slow")  # joins the running poll instead of starting another
    assert (poll.calls, poll.finished) == (1, 1)
    await first
    second = asyncio.create_task(poller.poll_now("slow"))
    await eventually(lambda: poller.state("slow").running)
    await poller.poll_now("slow", fresh=True)  # waits for it, then runs its own
    assert (poll.calls, poll.finished, poll.max_active) == (3, 3, 1)
    await second


async def test_fresh_callers_waiting_on_one_poll_share_the_next_and_all_wait_for_it(poller: Poller) -> None:
    poll = Counter(sleep=0.1)
    poller.add("slow", PollSchedule(interval=3600), poll)
    await poller.start()
    running = asyncio.create_task(poller.poll_now("slow"))
    await eventually(lambda: poller.state("slow").running)
    waiters = [asyncio.create_task(poller.poll_now("slow", fresh=True)) for _ in range(5)]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    # Whoever returns first returns after the one fresh poll: none returns while it still runs.
    assert (poll.calls, poll.finished) == (2, 2)
    await asyncio.gather(running, *waiters)
    assert (poll.calls, poll.max_active) == (2, 1)


async def test_refresh_joins_a_running_poll_and_is_rate_limited(poller: Poller) -> None:
    poll = Counter(sleep=0.1)
    poller.add("prod", PollSchedule(interval=3600), poll)
    await poller.start()
    # Ten concurrent refreshes: one poll.
    await asyncio.gather(*(poller.refresh("prod", min_interval=0.5) for _ in range(10)))
    assert poll.calls == 1
    # Too soon after it: refused, with how long to wait; no poll.
    with pytest.raises(RateLimitError) as info:
        await poller.refresh("prod", min_interval=0.5)
    assert 0 < info.value.retry_after <= 0.5
    assert poll.calls == 1
    # A poll started otherwise (schedule, push) is joined, limit or not.
    scheduled = asyncio.create_task(poller.poll_now("prod"))
    await eventually(lambda: poller.state("prod").running)
    await poller.refresh("prod", min_interval=0.5)
    await scheduled
    assert poll.calls == 2
    await asyncio.sleep(info.value.retry_after)
    await poller.refresh("prod", min_interval=0.5)  # waited long enough: a new poll
    assert poll.calls == 3
    await poller.refresh("prod", min_interval=0)  # 0: no limit
    assert poll.calls == 4
    with pytest.raises(KeyError):
        await poller.refresh("nope", min_interval=1)


async def test_failures_back_off_and_recover() -> None:
    metrics = Metrics(version="test")
    poller = Poller(metrics=metrics)
    poll = Counter(fail_first=3)
    poller.add("flaky", PollSchedule(interval=0.05), poll, labels=("main", "prod"))
    await poller.start()
    try:
        await eventually(lambda: poller.state("flaky").consecutive_failures >= 1)
        failed = poller.state("flaky")
        assert failed.last_error is not None and failed.last_error.startswith("boom")
        assert failed.last_success is None
        await eventually(lambda: poll.finished >= 1)
    finally:
        await poller.shutdown(wait=False)
    gaps = [b - a for a, b in zip(poll.starts, poll.starts[1:], strict=False)]
    # Delays after failures 1, 2, 3 are at least 0.1, 0.2, 0.4 s.
    assert gaps[0] >= 0.09
    assert gaps[1] >= 0.19
    assert gaps[2] >= 0.39
    assert gaps[2] > gaps[0]
    state = poller.state("flaky")
    assert state.consecutive_failures == 0
    assert state.last_error is None
    assert state.last_success is not None
    got = samples(metrics)
    env = (("environment", "prod"), ("repo", "main"))
    assert got[("schemad_poll_errors_total", env)] == 3.0
    assert got[("schemad_poll_consecutive_failures", env)] == 0.0
    assert got[("schemad_poll_duration_seconds_count", env)] >= 4.0  # 3 failures, then successes
    assert got[("schemad_poll_interval_seconds", env)] == 0.05
    assert got[("schemad_last_successful_poll_timestamp_seconds", env)] > 0
    assert not any(("environment", "flaky") in labels for _, labels in got)  # the labels, never the key


async def test_hanging_poll_times_out_without_delaying_others() -> None:
    metrics = Metrics(version="test")
    poller = Poller(metrics=metrics)
    hang = Counter(sleep=3600)
    ok = Counter()
    poller.add("hang", PollSchedule(interval=0.05), hang, timeout=0.2)
    poller.add("ok", PollSchedule(interval=0.05), ok)
    await poller.start()
    try:
        await eventually(lambda: poller.state("hang").consecutive_failures >= 1)
        ok_during = ok.calls
        assert ok_during >= 2  # "ok" kept polling while "hang" hung
        await eventually(lambda: ok.calls >= ok_during + 3)
    finally:
        await poller.shutdown(wait=False)
    assert hang.cancelled >= 1
    state = poller.state("hang")
    assert state.last_error is not None and "timed out" in state.last_error
    gaps = [b - a for a, b in zip(ok.starts, ok.starts[1:], strict=False)]
    assert max(gaps) < 1.0
    got = samples(metrics)  # added without labels: no repo, the key as environment
    assert got[("schemad_poll_errors_total", (("environment", "hang"), ("repo", "")))] in (1.0, 2.0)
    assert got[("schemad_poll_errors_total", (("environment", "ok"), ("repo", "")))] == 0.0


async def test_poll_now_uses_the_clock(poller: Poller) -> None:
    times = iter([100.0, 105.0, 200.0, 201.0])
    p = Poller(clock=lambda: next(times))
    poll = Counter()
    p.add("prod", PollSchedule(interval=3600), poll)
    await p.start()
    try:
        await p.poll_now("prod")
        assert poll.calls == 1
        state = p.state("prod")
        assert (state.last_started, state.last_finished, state.last_success) == (100.0, 105.0, 105.0)
        assert not state.running
        assert state.next_run is not None and state.next_run > time.time() + 3000
        await p.poll_now("prod")
        assert p.state("prod").last_success == 201.0
    finally:
        await p.shutdown(wait=True)
    with pytest.raises(KeyError):
        await poller.poll_now("nope")


async def test_poll_now_failure_counts(poller: Poller) -> None:
    poll = Counter(fail_first=1)
    poller.add("prod", PollSchedule(interval=3600), poll)
    await poller.start()
    await poller.poll_now("prod")
    assert poller.state("prod").consecutive_failures == 1
    await poller.poll_now("prod")
    assert poller.state("prod").consecutive_failures == 0


async def test_remove(poller: Poller) -> None:
    fast = Counter()
    hang = Counter(sleep=3600)
    poller.add("fast", PollSchedule(interval=0.05), fast)
    poller.add("hang", PollSchedule(interval=0.05), hang)
    await poller.start()
    await eventually(lambda: fast.calls >= 1 and hang.active == 1)
    poller.remove("fast")
    poller.remove("hang")
    calls = fast.calls
    await asyncio.sleep(0.3)
    assert fast.calls == calls
    assert hang.cancelled == 1
    assert poller.environments() == []
    with pytest.raises(KeyError):
        poller.state("fast")
    with pytest.raises(KeyError):
        poller.remove("fast")


async def test_add_twice_is_refused(poller: Poller) -> None:
    poller.add("prod", PollSchedule(interval=1), Counter())
    with pytest.raises(ValueError):
        poller.add("prod", PollSchedule(interval=1), Counter())
    with pytest.raises(ValueError):
        poller.add("other", PollSchedule(interval=1), Counter(), timeout=0)


async def test_shutdown_without_wait_is_prompt() -> None:
    poller = Poller()
    hang = Counter(sleep=3600)
    poller.add("hang", PollSchedule(interval=0.05), hang)
    await poller.start()
    await eventually(lambda: hang.active == 1)
    t0 = time.monotonic()
    await asyncio.wait_for(poller.shutdown(wait=False), timeout=2)
    assert time.monotonic() - t0 < 2
    assert hang.cancelled == 1


async def test_shutdown_with_wait_lets_polls_finish() -> None:
    poller = Poller()
    slow = Counter(sleep=0.2)
    poller.add("slow", PollSchedule(interval=0.05), slow)
    await poller.start()
    await eventually(lambda: slow.active == 1)
    await asyncio.wait_for(poller.shutdown(wait=True), timeout=2)
    assert slow.finished == 1
    assert slow.cancelled == 0
    calls = slow.calls
    await asyncio.sleep(0.2)
    assert slow.calls == calls


async def test_cron_schedule_next_run(poller: Poller) -> None:
    poller.add("nightly", PollSchedule(cron="*/5 * * * *", jitter=0), Counter())
    await poller.start()
    next_run = poller.state("nightly").next_run
    assert next_run is not None
    now = time.time()
    assert now < next_run <= now + 300 + 1
    when = datetime.fromtimestamp(next_run, UTC)
    assert when.minute % 5 == 0 and when.second == 0
    with pytest.raises(ValueError):
        poller.add("bad", PollSchedule(cron="61 * * * *"), Counter())
    with pytest.raises(ValueError):
        poller.add("short", PollSchedule(cron="* * *"), Counter())


def test_cron_day_of_week_uses_crontab_numbering() -> None:
    from datetime import UTC, datetime

    trigger = PollSchedule(cron="0 12 * * 1").trigger()  # crontab: 1 = Monday
    friday = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    nxt = trigger.get_next_fire_time(None, friday)
    assert nxt.weekday() == 0 and (nxt.hour, nxt.minute) == (12, 0)


@pytest.mark.parametrize(
    ("dow", "weekdays"),  # crontab numbering in, Python weekday() (0 = Monday) out
    [
        ("1", {0}),
        ("0", {6}),
        ("7", {6}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("*/2", {6, 1, 3, 5}),
    ],
)
def test_cron_day_of_week_fields(dow: str, weekdays: set[int]) -> None:
    from datetime import timedelta

    trigger = PollSchedule(cron=f"0 12 * * {dow}").trigger()
    seen, now = set(), datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    for _ in range(14):
        now = trigger.get_next_fire_time(None, now + timedelta(minutes=1))
        seen.add(now.weekday())
    assert seen == weekdays


def test_schedule_base_is_the_interval_or_the_cron_gap() -> None:
    at = datetime(2024, 1, 1, 8, 2, tzinfo=UTC)
    assert PollSchedule(interval=42).base(at) == 42
    assert PollSchedule(cron="*/5 * * * *").base(at) == 300
    assert PollSchedule(cron="0 9 * * *").base(at) == 86400


def test_next_run_after_backs_off_but_never_before_the_schedule() -> None:
    now = datetime(2024, 1, 1, 8, 2, tzinfo=UTC)
    fast = PollSchedule(interval=60)
    trigger = fast.trigger()
    soon = now + timedelta(seconds=60)
    # A failure: the back-off delay from now, later than the run already scheduled.
    assert next_run_after(trigger, 60, 1, now, soon) == now + timedelta(seconds=120)
    assert next_run_after(trigger, 60, 9, now, soon) == now + timedelta(seconds=300)
    # The schedule's own next run is later than the back-off: it stays.
    hourly = PollSchedule(cron="0 * * * *")
    top = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    assert next_run_after(hourly.trigger(), 3600, 1, now, top) == top
    # A success after failures: back on the regular schedule.
    assert next_run_after(hourly.trigger(), 3600, 0, now, now + timedelta(seconds=300)) == top
