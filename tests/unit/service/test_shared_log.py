"""Replicas: a job's log lines are copied for the other replicas, batched, in order, and capped."""

from __future__ import annotations

from pathlib import Path

from schemad.service.jobs import JobRunner, LiveJob, SharedLog
from schemad.service.metrics import Metrics
from schemad.service.state import JobRecord, JobState, MemoryStateStore
from schemad.service.writebehind import WriteBehind

NOW = 1_700_000_000.0


def live_job(tmp_path: Path) -> LiveJob:
    record = JobRecord(
        "job-1",
        "prod",
        "repo",
        "h",
        "ci",
        NOW,
        JobState.RUNNING,
        (),
        None,
        NOW,
        None,
        str(tmp_path / "j.log"),
    )
    return LiveJob(record, WriteBehind("job job-1"))


def runner(tmp_path: Path) -> JobRunner:
    return JobRunner(MemoryStateStore(), Metrics(), tmp_path, clock=lambda: NOW)


async def test_lines_are_copied_in_order_and_cut_after_the_cap(tmp_path: Path) -> None:
    copied: dict[int, str] = {}

    def append(job_id: str, first: int, lines: list[str]) -> None:
        assert job_id == "job-1"
        copied.update({first + i: line for i, line in enumerate(lines)})

    r = runner(tmp_path)
    r.shared_log = SharedLog(append, "replica-a", cap=3)
    live = live_job(tmp_path)
    for i in range(6):
        r.log_line(live, f"line {i}")
    await live.writes.flush()
    local = (tmp_path / "j.log").read_text().splitlines()
    assert len(local) == 6  # the runner's own file keeps everything
    assert [copied[n] for n in (1, 2, 3)] == local[:3]
    assert sorted(copied) == [1, 2, 3, 4]
    assert "log cut: only the first 3 lines" in copied[4] and str(tmp_path / "j.log") in copied[4]
    assert "replica-a" in copied[4] and copied[4].startswith(local[3][:20])
    assert live.unshared == []


async def test_a_failed_copy_is_sent_again_with_the_next_line(tmp_path: Path) -> None:
    calls: list[tuple[int, list[str]]] = []
    fail = [True]

    def append(job_id: str, first: int, lines: list[str]) -> None:
        calls.append((first, lines))
        if fail[0]:
            fail[0] = False
            raise OSError("control server gone")

    r = runner(tmp_path)
    r.shared_log = SharedLog(append, "replica-a")
    live = live_job(tmp_path)
    r.log_line(live, "one")
    await live.writes.flush()
    r.log_line(live, "two")
    await live.writes.flush()
    assert [(first, [x[21:] for x in lines]) for first, lines in calls] == [(1, ["one"]), (1, ["one", "two"])]
    assert live.unshared == []
