"""config/alerts.yml against a 2-hour outage, replayed with the daemon's own back-off and metrics.

The poll times come from the poller's `next_run_after` (the function its
scheduler reschedules with) and the triggers of real `PollSchedule`s, stepped
as APScheduler steps them; the series come from a real `Metrics` fed those
polls and scraped every 30 s.  promtool then evaluates the real rules on them
every minute: SchemadPollsFailing must not fire while polls succeed or before
the outage is 10 minutes old, must fire within 10 minutes plus one interval
(plus a minute of scrape lag) and stay firing to the end of the outage, and
must resolve once a poll succeeds again; SchemadPollStale leaves failing
polls to it and never fires.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from schemad.service.metrics import Metrics
from schemad.service.poller import PollSchedule, next_run_after
from tests.integration.test_alert_rules import RULES, promtool

SCRAPE = 30  # seconds between scrapes
LEAD = 60  # promtool time of the first poll (series start at 0)
HEALTHY = 30 * 60  # polls succeed for this long before the outage, and after it
OUTAGE = 2 * 60 * 60
OK_SECONDS = 0.2  # how long a successful poll takes
FAIL_SECONDS = 5.0  # a failing one: the connect timeout
LABELS = {"job": "schemad", "instance": "d:9108", "repo": "main", "environment": "prod"}


@dataclass(frozen=True)
class Run:
    start: float  # promtool time (seconds)
    end: float
    ok: bool


def replay(schedule: PollSchedule, outage: tuple[float, float], until: float) -> tuple[list[Run], float]:
    """The polls the daemon runs on `schedule` when every poll started inside `outage` fails.

    Returns the runs and the schedule's back-off base.  As APScheduler does, the
    job's next run is set from the trigger when a run is dispatched; the poller
    then moves it with `next_run_after` after a failure, and after the success
    that ends failures.
    """
    trigger = schedule.trigger()
    first: datetime = trigger.get_next_fire_time(None, datetime.now(UTC))
    base = schedule.base(first)
    origin = first - timedelta(seconds=LEAD)
    fire, failures, runs = first, 0, []
    while (t := (fire - origin).total_seconds()) < until:
        ok = not outage[0] <= t < outage[1]
        scheduled: datetime = trigger.get_next_fire_time(fire, fire)
        end = fire + timedelta(seconds=OK_SECONDS if ok else FAIL_SECONDS)
        runs.append(Run(t, (end - origin).total_seconds(), ok))
        if ok:
            nxt = next_run_after(trigger, base, 0, end, scheduled) if failures else scheduled
            failures = 0
        else:
            failures += 1
            nxt = next_run_after(trigger, base, failures, end, scheduled)
        assert nxt is not None and nxt > fire
        fire = nxt
    return runs, base


def scraped(runs: list[Run], base: float, until: float, names: set[str]) -> dict[str, list[float | None]]:
    """Series text -> one value per scrape (None: no sample yet), from a real Metrics fed `runs`."""
    m = Metrics(version="test")
    m.set_poll_interval("main", "prod", base)  # Poller.add publishes it before the first poll
    pending = sorted(runs, key=lambda r: r.end)
    series: dict[str, list[float | None]] = {}
    for k in range(int(until // SCRAPE) + 1):
        now = k * SCRAPE
        while pending and pending[0].end <= now:
            r = pending.pop(0)
            m.record_poll("main", "prod", r.end - r.start, r.ok, r.end)
        for family in text_string_to_metric_families(m.render()[0].decode()):
            for s in family.samples:
                if s.name in names:
                    labels = {**{"job": "schemad", "instance": "d:9108"}, **s.labels}
                    text = s.name + "{" + ", ".join(f'{a}="{b}"' for a, b in sorted(labels.items())) + "}"
                    series.setdefault(text, [None] * k).append(s.value)
    return series


def rule(alert: str) -> dict[str, Any]:
    doc = yaml.safe_load(RULES.read_text())
    found: dict[str, Any] = next(r for g in doc["groups"] for r in g["rules"] if r.get("alert") == alert)
    return found


def series_in(alert: str) -> set[str]:
    """The schemad series the alert's expression reads."""
    return set(re.findall(r"\bschemad_[a-z_]+\b", rule(alert)["expr"]))


def annotations(alert: str, labels: dict[str, str]) -> dict[str, str]:
    """The rule's annotations with `{{ $labels.x }}` expanded, as Prometheus renders them."""
    return {
        k: re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda mt: labels[mt.group(1)], v)
        for k, v in rule(alert)["annotations"].items()
    }


def firing(alert: str, severity: str) -> list[dict[str, Any]]:
    labels = {**LABELS, "severity": severity}
    return [{"exp_labels": labels, "exp_annotations": annotations(alert, LABELS)}]


@pytest.mark.parametrize(
    "schedule",
    [PollSchedule(interval=60), PollSchedule(cron="*/5 * * * *"), PollSchedule(interval=600)],
    ids=["interval-60s", "cron-every-5-minutes", "interval-10m"],
)
def test_polls_failing_fires_within_the_window_for_a_whole_outage(
    schedule: PollSchedule, tmp_path: Path
) -> None:
    start = LEAD + HEALTHY
    outage = (start, start + OUTAGE)
    until = outage[1] + HEALTHY
    runs, base = replay(schedule, outage, until)
    failed = [r for r in runs if not r.ok]
    # The replay is an outage: every poll inside it failed, and the back-off spaced them.
    assert failed and all(outage[0] <= r.start < outage[1] for r in failed)
    assert max(b.start - a.start for a, b in itertools.pairwise(failed)) <= max(base, 300) + FAIL_SECONDS
    recovered = next(r for r in runs if r.ok and r.start >= outage[1])  # the first poll after it

    used = {n for alert in ("SchemadPollsFailing", "SchemadPollStale") for n in series_in(alert)}
    series = scraped(runs, base, until, used)
    assert {s.split("{")[0] for s in series} == used
    input_series = [
        {"series": s, "values": " ".join("_" if v is None else repr(v) for v in values)}
        for s, values in series.items()
    ]

    fire_by = outage[0] + 600 + base + 2 * SCRAPE  # the rule's window plus the scrape lag
    checks: list[dict[str, Any]] = []
    expected_firing = 0
    for minute in range(math.ceil(until / 60) + 1):
        t = minute * 60
        if t < outage[0] + 600 or t >= recovered.end + 60:
            want: list[dict[str, Any]] | None = []
        elif fire_by <= t < recovered.end:
            want = firing("SchemadPollsFailing", "critical")
            expected_firing += 1
        else:
            want = None  # between the window and its bound, or the minute the recovery is scraped
        if want is not None:
            checks.append({"eval_time": f"{minute}m", "alertname": "SchemadPollsFailing", "exp_alerts": want})
        checks.append({"eval_time": f"{minute}m", "alertname": "SchemadPollStale", "exp_alerts": []})
    assert expected_firing >= (OUTAGE - 600 - base - 2 * SCRAPE) // 60  # it stays firing, not in cycles

    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": f"2-hour outage, {schedule}",
                "interval": f"{SCRAPE}s",
                "input_series": input_series,
                "alert_rule_test": checks,
            }
        ],
    }
    path = tmp_path / "outage_test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = promtool("test", "rules", str(path))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "SUCCESS" in proc.stdout + proc.stderr
