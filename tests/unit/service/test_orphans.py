"""After a crash: a restart stops only its own jobs' wrappers, records what it did, closes the audit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from schemad.apply.clientcnf import client_option_file
from schemad.apply.runner import JOB_ENV
from schemad.connection.params import ConnParams
from schemad.service.jobs import JobRunner, stop_orphan_wrapper
from schemad.service.metrics import Metrics
from schemad.service.state import (
    UNCERTAIN,
    JobRecord,
    JobState,
    MemoryStateStore,
    OrphanAction,
    OrphanRecord,
    StatementRecord,
)

NOW = 1_700_000_000.0


def job(id: str, pgid: int | None, state: JobState = JobState.INTERRUPTED) -> JobRecord:
    return JobRecord(id, "prod", "repo", "h", "ci", NOW, state, (), None, NOW, pgid, None)


def spawn(env: dict[str, str], cmd: str = "exec sleep 30") -> subprocess.Popen[bytes]:
    """`cmd` leading a process group of its own, with `env` added to its environment."""
    return subprocess.Popen(["sh", "-c", cmd], start_new_session=True, env={**os.environ, **env})


def kill_group(p: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def clock() -> float:
    return NOW + 60


async def test_only_groups_carrying_the_job_id_are_stopped() -> None:
    ours = spawn({JOB_ENV: "job-1"})
    stranger = spawn({})
    other_job = spawn({JOB_ENV: "job-9"})
    try:
        got = [
            await stop_orphan_wrapper(job(id, p.pid), clock)
            for id, p in [("job-1", ours), ("job-2", stranger), ("job-3", other_job)]
        ]
        assert got == [
            OrphanRecord(OrphanAction.KILLED, ours.pid, NOW + 60),
            OrphanRecord(OrphanAction.LEFT_ALONE_PID_REUSED, stranger.pid, NOW + 60),
            OrphanRecord(OrphanAction.LEFT_ALONE_PID_REUSED, other_job.pid, NOW + 60),
        ]
        assert ours.wait(5) == -9
        assert stranger.poll() is None and other_job.poll() is None
    finally:
        for p in (ours, stranger, other_job):
            kill_group(p)


async def test_a_group_whose_leader_exited_is_still_found_by_its_members() -> None:
    # The shell leads the group, starts the tool in the background and exits: the tool runs on.
    leader = spawn({JOB_ENV: "job-1"}, "sleep 30 & echo $! ; exit 0")
    leader.wait(5)
    members = [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and _pgrp(e) == leader.pid and int(e.name) != leader.pid
    ]
    assert members, "the background tool should still run in the group"
    got = await stop_orphan_wrapper(job("job-1", leader.pid), clock)
    assert got == OrphanRecord(OrphanAction.KILLED, leader.pid, NOW + 60)
    assert all(_pgrp(Path(f"/proc/{m}")) != leader.pid for m in members)


def _pgrp(entry: Path) -> int | None:
    try:
        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]) if fields[0] not in ("Z", "X") else None


async def test_a_vanished_group_is_gone_and_no_wrapper_is_nothing() -> None:
    p = spawn({JOB_ENV: "gone"})
    kill_group(p)
    assert await stop_orphan_wrapper(job("gone", p.pid), clock) == OrphanRecord(
        OrphanAction.GONE, p.pid, NOW + 60
    )
    assert await stop_orphan_wrapper(job("none", None), clock) is None
    assert await stop_orphan_wrapper(job("zero", 0), clock) is None


async def test_recover_ends_the_job_closes_its_audit_and_emits_the_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStateStore(clock=clock)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    # The option files the crashed job's wrapper and another job's were reading when the daemon died.
    theirs = [client_option_file(ConnParams(password="pw"), tag=t) for t in ("crashed", "other")]
    crashed_file, other_file = (cm.__enter__() for cm in theirs)
    tool = spawn({JOB_ENV: "crashed"})
    try:
        running = replace(
            job("crashed", tool.pid, JobState.RUNNING),
            statements=(
                StatementRecord("ALTER TABLE `a` ADD `x` int", "done", None, NOW, NOW + 1, "db:3306 s", "a"),
                StatementRecord(
                    "ALTER TABLE `big` ADD `x` int", "pending", None, NOW + 1, None, "db:3306 s", "big"
                ),
                StatementRecord("DROP TABLE `c`", "pending", None, None, None, "db:3306 s", "c"),
            ),
            log_path=str(tmp_path / "crashed.log"),
        )
        store.create_job(running)
        store.create_job(job("ended", None, JobState.SUCCEEDED))
        audit_id = store.append_audit(
            at=NOW,
            who="ci",
            environment="prod",
            plan_hash="h",
            statements=tuple(s.sql for s in running.statements),
            result="running",
            job_id="crashed",
        )
        runner = JobRunner(store, Metrics(), tmp_path, audit_stdout=True, clock=clock)

        (recovered,) = await runner.recover()

        assert tool.wait(5) == -9
    finally:
        kill_group(tool)
    assert recovered == store.get_job("crashed")
    assert recovered.state is JobState.INTERRUPTED and recovered.wrapper_pid is None
    assert recovered.orphan == OrphanRecord(OrphanAction.KILLED, tool.pid, NOW + 60)
    assert [(s.status, s.error) for s in recovered.statements] == [
        ("done", None),
        ("failed", UNCERTAIN),
        ("not_run", None),
    ]
    assert [a.result for a in store.list_audit()] == ["interrupted"]
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "audit_id": audit_id,
        "at": NOW + 60,
        "who": "ci",
        "environment": "prod",
        "plan_hash": "h",
        "statements": [s.sql for s in running.statements],
        "result": "interrupted",
        "job_id": "crashed",
    }
    log = (tmp_path / "crashed.log").read_text()
    assert f"the wrapper's process group {tool.pid}: killed" in log
    assert not crashed_file.parent.exists() and other_file.exists()  # "other" is not being recovered
    theirs[1].__exit__(None, None, None)
    assert await runner.recover() == []  # nothing left to recover
    assert capsys.readouterr().out == ""
