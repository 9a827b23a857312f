"""A restart stops only the wrappers its own jobs started (the recorded pid may be anyone's by now)."""

from __future__ import annotations

import os
import subprocess
import time

from schemad.service.jobs import JOB_ENV, kill_orphan_wrappers
from schemad.service.state import JobRecord, JobState


def job(id: str, pgid: int) -> JobRecord:
    now = time.time()
    return JobRecord(id, "prod", "repo", "h", "ci", now, JobState.INTERRUPTED, (), None, now, pgid, None)


def spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "30"], start_new_session=True, env={**os.environ, **env})


def test_only_groups_carrying_the_job_id_are_stopped() -> None:
    ours = spawn({JOB_ENV: "job-1"})
    stranger = spawn({})
    other_job = spawn({JOB_ENV: "job-9"})
    try:
        killed = kill_orphan_wrappers(
            [job("job-1", ours.pid), job("job-2", stranger.pid), job("job-3", other_job.pid)]
        )
        assert killed == [ours.pid]
        assert ours.wait(5) == -9
        assert stranger.poll() is None and other_job.poll() is None
    finally:
        for p in (ours, stranger, other_job):
            p.kill()
            p.wait()


def test_a_vanished_group_is_skipped() -> None:
    p = spawn({JOB_ENV: "gone"})
    p.kill()
    p.wait()
    assert kill_orphan_wrappers([job("gone", p.pid), job("none", 0)]) == []
