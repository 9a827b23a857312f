"""The daemon's poll scheduler: when each environment is polled, and what happened last time.

`Poller` wraps one APScheduler `AsyncIOScheduler` (created per Poller, never a
module-level singleton) with one job per environment.  The job does not run the
poll itself: it starts the poll as a task of its own and waits for it through
`asyncio.shield`, so that

* one slow or hanging environment never delays another (each poll is its own
  task, and an optional per-environment `timeout` cancels a poll that runs too
  long and counts it as a failure);
* runs of one environment never overlap: the job has ``max_instances=1`` and
  ``coalesce=True``, and a scheduled run that arrives while a poll is running is
  a no-op (a `poll_now` then waits for the running poll, and with ``fresh``
  runs another after it, one for all the callers that waited);
* a client's `refresh` joins the running poll, or starts one at most every
  ``min_interval`` seconds per environment (else `RateLimitError`), so a
  client asking in a loop never multiplies the query load on the servers;
* `shutdown(wait=True)` can wait for polls in flight even though APScheduler's
  asyncio executor cancels its own futures on shutdown.

A failed poll backs off by rescheduling the job: the next run is put off to
``base × 2**consecutive_failures`` seconds from now, capped at the smaller of
10 × base and 5 minutes (but never earlier than the run the schedule would
make anyway).  ``base`` is the interval, or for a cron schedule the gap
between its next two fire times (`PollSchedule.base`).  The first success
resets the count and puts the job back on its regular schedule.
`next_run_after` is that rule as a pure function: the scheduler and the tests
of the alerting rules (which replay an outage with it) share it.  The cap is
half the 10 minutes config/alerts.yml waits before it calls polls failing, so
an outage is retried at least twice within that window whenever the schedule
itself runs that often.

Every finished run (success, failure or timeout) is reported to the optional
`Metrics` under the labels given to `add` (and `add` publishes the schedule's
base as the poll interval); a poll cancelled by `remove` or `shutdown` is not
a finished run and is not reported.  The clock (an injectable ``Callable[[], float]``,
`time.time` by default) stamps the `PollState` times and the Metrics' `at`;
durations come from `time.monotonic`.

What it will not do: know what a poll is (the caller passes a coroutine
function that introspects, diffs and publishes drift), retry within a run, or
mask error text.  `last_error` is ``str(exception)`` as raised; callers must
raise errors whose messages hold no secrets (schemad's own errors never do).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from schemad.errors import RateLimitError
from schemad.records import dataclass
from schemad.service.metrics import Metrics

__all__ = [
    "MAX_BACKOFF",
    "MAX_BACKOFF_FACTOR",
    "PollSchedule",
    "PollState",
    "Poller",
    "backoff_delay",
    "next_run_after",
]

#: Upper bound, in seconds, of the delay after a failed poll (well below the alert rules' 10 minutes).
MAX_BACKOFF = 5 * 60.0

#: Upper bound of the delay after a failed poll, as a multiple of the schedule's base interval.
MAX_BACKOFF_FACTOR = 10

#: Longest `last_error` kept; longer messages are cut (the start is kept).
MAX_ERROR_CHARS = 500

Poll = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """When an environment is polled: every `interval` seconds or on a `cron` expression (exactly one)."""

    interval: float | None = None  # seconds between polls
    cron: str | None = None  # a five-field crontab expression, evaluated in UTC
    jitter: float = 0  # each run is delayed by a random 0..jitter seconds

    def __post_init__(self) -> None:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("a PollSchedule needs exactly one of interval and cron")
        if self.interval is not None and not self.interval > 0:
            raise ValueError(f"poll interval must be positive, got {self.interval}")
        if self.jitter < 0:
            raise ValueError(f"poll jitter must not be negative, got {self.jitter}")

    def trigger(self) -> Any:
        """The APScheduler trigger for this schedule (ValueError for a malformed cron expression)."""
        jitter = self.jitter or None
        if self.interval is not None:
            return IntervalTrigger(seconds=self.interval, jitter=jitter, timezone=UTC)
        assert self.cron is not None
        fields = self.cron.split()
        if len(fields) != 5:
            raise ValueError(f"wrong number of fields in cron expression {self.cron!r}; expected 5")
        minute, hour, day, month, dow = fields
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_day_of_week(dow),
            timezone=UTC,
            jitter=jitter,
        )

    def base(self, now: datetime | None = None) -> float:
        """The back-off base in seconds: the interval, or the gap between the cron's next two runs."""
        if self.interval is not None:
            return self.interval
        return _cron_base(self.trigger(), now or datetime.now(UTC))


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_day_of_week(field: str) -> str:
    """Crontab's day-of-week field (0 or 7 = Sunday, names, lists, ranges, steps) as APScheduler day names.

    APScheduler numbers days from 0 = Monday, so numbers are never passed through.
    """
    if field == "*":
        return "*"
    days: set[int] = set()

    def day(text: str) -> int:
        low = text.lower()
        if low in _DAY_NAMES:
            return _DAY_NAMES.index(low)
        if not low.isdigit() or int(low) > 7:
            raise ValueError(f"bad day of week {text!r} in cron field {field!r}")
        return int(low) % 7

    for part in field.split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in cron field {field!r}")
        if rng == "*":
            first, last = 0, 6
        elif "-" in rng:
            a, b = rng.split("-", 1)
            first, last = day(a), (7 if b.strip() == "7" else day(b))
        else:
            first = last = day(rng)
        if last < first:
            raise ValueError(f"bad range in cron field {field!r}")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


@dataclass(frozen=True, slots=True)
class PollState:
    """What the poller knows about one environment; times are from the Poller's clock."""

    last_started: float | None  # when the last run started
    last_finished: float | None  # when the last run ended, however it ended
    last_success: float | None  # when the last successful run ended
    last_error: str | None  # message of the last run's failure; None if it succeeded or none ran
    consecutive_failures: int  # failed runs since the last success
    running: bool  # a poll is in flight now
    next_run: float | None  # Unix time of the next scheduled run; None if none (or not started)


class _Entry:
    """The mutable bookkeeping of one environment."""

    __slots__ = (
        "base",
        "consecutive_failures",
        "labels",
        "last_error",
        "last_finished",
        "last_refresh",
        "last_started",
        "last_success",
        "poll",
        "schedule",
        "task",
        "timeout",
        "trigger",
    )

    def __init__(
        self, schedule: PollSchedule, poll: Poll, timeout: float | None, trigger: Any, labels: tuple[str, str]
    ) -> None:
        self.schedule = schedule
        self.labels = labels  # (repo, environment) of its metrics
        self.poll = poll
        self.timeout = timeout
        self.trigger = trigger
        self.base = schedule.base()
        self.task: asyncio.Task[None] | None = None
        self.last_started: float | None = None
        self.last_finished: float | None = None
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.consecutive_failures = 0
        self.last_refresh: float | None = None  # time.monotonic() when `refresh` last started a poll


def _cron_base(trigger: Any, now: datetime) -> float:
    """The gap in seconds between a cron trigger's next two fire times after `now` (the backoff base)."""
    first: datetime | None = trigger.get_next_fire_time(None, now)
    if first is None:
        return 60.0
    second: datetime | None = trigger.get_next_fire_time(first, first + timedelta(microseconds=1))
    if second is None:
        return 60.0
    return max((second - first).total_seconds(), 1.0)


def backoff_delay(base: float, failures: int) -> float:
    """Seconds to wait after `failures` consecutive failures of a schedule with interval `base`."""
    cap = min(MAX_BACKOFF_FACTOR * base, MAX_BACKOFF)
    return min(base * 2.0 ** min(failures, 64), cap)


def next_run_after(
    trigger: Any, base: float, failures: int, now: datetime, scheduled: datetime | None
) -> datetime | None:
    """When a job runs next after a poll that ended at `now` with `failures` consecutive failures.

    After a failure: `backoff_delay` from now, but never before `scheduled` (the
    run the scheduler already has for it).  After a success that ended failures
    (`failures` 0): the trigger's next regular fire time.  None: no next run.
    """
    if failures == 0:
        natural: datetime | None = trigger.get_next_fire_time(None, now)
        return natural
    target = now + timedelta(seconds=backoff_delay(base, failures))
    if scheduled is not None and scheduled > target:
        return scheduled
    return target


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


class Poller:
    """Runs each environment's poll on its schedule; see the module docstring for the rules."""

    def __init__(self, *, metrics: Metrics | None = None, clock: Callable[[], float] = time.time) -> None:
        self._metrics = metrics
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._entries: dict[str, _Entry] = {}

    # ///// lifecycle /////

    async def start(self) -> None:
        """Start the scheduler on the running event loop; jobs added before start are scheduled now."""
        self._scheduler.start()

    async def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait` let polls in flight finish, otherwise cancel them."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        if not wait:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # AsyncIOScheduler runs its shutdown in a loop callback

    # ///// environments /////

    def add(
        self,
        environment: str,
        schedule: PollSchedule,
        poll: Poll,
        *,
        timeout: float | None = None,
        labels: tuple[str, str] | None = None,
    ) -> None:
        """Poll `environment` by awaiting `poll()` on `schedule`; a run over `timeout` seconds fails.

        `labels` are the (repo, environment) its metrics are recorded under
        (default: no repo, and `environment`).
        """
        if environment in self._entries:
            raise ValueError(f"environment {environment!r} is already scheduled")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"poll timeout must be positive, got {timeout}")
        trigger = schedule.trigger()
        entry = _Entry(schedule, poll, timeout, trigger, labels or ("", environment))
        self._entries[environment] = entry
        if self._metrics is not None:
            self._metrics.set_poll_interval(*entry.labels, entry.base)
        self._scheduler.add_job(
            self._fire,
            trigger,
            args=(environment,),
            id=environment,
            name=f"poll {environment}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def remove(self, environment: str) -> None:
        """Stop polling `environment` and cancel its poll in flight (KeyError if unknown)."""
        entry = self._entries.pop(environment)
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(environment)
        if entry.task is not None:
            entry.task.cancel()

    def running(self, environment: str) -> asyncio.Task[None] | None:
        """`environment`'s poll in flight (None: none, or not scheduled)."""
        entry = self._entries.get(environment)
        return entry.task if entry is not None else None

    def environments(self) -> list[str]:
        """The environments being polled, sorted."""
        return sorted(self._entries)

    def state(self, environment: str) -> PollState:
        """A snapshot of `environment`'s poll state (KeyError if unknown)."""
        e = self._entries[environment]
        return PollState(
            last_started=e.last_started,
            last_finished=e.last_finished,
            last_success=e.last_success,
            last_error=e.last_error,
            consecutive_failures=e.consecutive_failures,
            running=e.task is not None,
            next_run=self._next_run(environment),
        )

    async def poll_now(self, environment: str, *, fresh: bool = False) -> None:
        """Run `environment`'s poll now and wait for it (KeyError if unknown).

        If one is running, this waits for it instead of starting another; with
        `fresh` it then runs one more, so what it read started after the call
        (a push checks its plan against that).
        """
        entry = self._entries[environment]
        running = entry.task
        if running is not None:
            await asyncio.shield(running)
            if not fresh:
                return
        # Another caller that waited too may have started the next poll already: it began after
        # this call as well, so join it rather than return before it ends.
        task = self._spawn(environment, entry) or entry.task
        if task is not None:
            await asyncio.shield(task)

    async def refresh(self, environment: str, *, min_interval: float) -> None:
        """Poll `environment` for a client that wants the live side now (KeyError if unknown).

        A running poll is joined (however it started); otherwise a new one is
        started, unless `refresh` started one less than `min_interval` seconds
        ago: then RateLimitError says how long to wait.  Scheduled polls and
        `poll_now` are not counted and never limited.
        """
        entry = self._entries[environment]
        running = entry.task
        if running is not None:
            await asyncio.shield(running)
            return
        now = time.monotonic()
        if entry.last_refresh is not None and now - entry.last_refresh < min_interval:
            wait = min_interval - (now - entry.last_refresh)
            raise RateLimitError(
                f"{environment} was refreshed {now - entry.last_refresh:.1f}s ago; "
                f"refreshes start a poll at most every {min_interval:g}s: retry in {wait:.1f}s",
                retry_after=wait,
            )
        entry.last_refresh = now
        task = self._spawn(environment, entry)
        if task is not None:
            await asyncio.shield(task)

    # ///// internals /////

    async def _fire(self, environment: str) -> None:
        """The APScheduler job: run one poll as its own task and wait for it."""
        entry = self._entries.get(environment)
        if entry is None:
            return
        task = self._spawn(environment, entry)
        if task is not None:
            await asyncio.shield(task)

    def _spawn(self, environment: str, entry: _Entry) -> asyncio.Task[None] | None:
        if entry.task is not None:
            return None
        task = asyncio.get_running_loop().create_task(
            self._run(environment, entry), name=f"poll {environment}"
        )
        entry.task = task
        task.add_done_callback(lambda _t: setattr(entry, "task", None))
        return task

    async def _run(self, environment: str, entry: _Entry) -> None:
        entry.last_started = self._clock()
        t0 = time.monotonic()
        error: str | None = None
        try:
            async with asyncio.timeout(entry.timeout):
                await entry.poll()
        except TimeoutError:
            error = f"poll timed out after {entry.timeout:g}s"
        except Exception as exc:
            error = _short(exc)
        seconds = time.monotonic() - t0
        now = self._clock()
        entry.last_finished = now
        entry.last_error = error
        if error is None:
            recovered = entry.consecutive_failures > 0
            entry.last_success = now
            entry.consecutive_failures = 0
            if recovered:
                self._reschedule(environment, entry)
        else:
            entry.consecutive_failures += 1
            self._reschedule(environment, entry)
        if self._metrics is not None:
            self._metrics.record_poll(*entry.labels, seconds, error is None, now)

    def _reschedule(self, environment: str, entry: _Entry) -> None:
        """Move the job's next run as `next_run_after` says for its failures so far."""
        if self._entries.get(environment) is not entry or not self._scheduler.running:
            return
        job = self._scheduler.get_job(environment)
        if job is None:
            return
        target = next_run_after(
            entry.trigger, entry.base, entry.consecutive_failures, datetime.now(UTC), job.next_run_time
        )
        if target is not None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.modify_job(environment, next_run_time=target)

    def _next_run(self, environment: str) -> float | None:
        job = self._scheduler.get_job(environment)
        when: datetime | None = getattr(job, "next_run_time", None) if job is not None else None
        return when.timestamp() if when is not None else None
