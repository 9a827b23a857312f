"""fetch_and_fast_forward and RepoFetcher against real git repos in tmp_path.

Global and system git config are shut out (GIT_CONFIG_GLOBAL points at an
empty file) so a developer's settings cannot change what the tests see.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from schemad.daemon_config import FetchConfig
from schemad.service.gitfetch import RepoFetcher, fetch_and_fast_forward, mask_url_credentials

DEADLINE = 10.0  # generous bound for "eventually"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def commit(repo: Path, name: str, text: str = "x\n") -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    """(origin, clone): origin on branch main with one commit, clone made from it."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    commit(origin, "first.sql")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    return origin, tmp_path / "clone"


async def eventually(cond: Callable[[], bool], timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# ///// fetch_and_fast_forward /////


async def test_fast_forwards_to_upstream(repos: tuple[Path, Path]) -> None:
    origin, clone = repos
    before = git(clone, "rev-parse", "HEAD")
    upstream = commit(origin, "second.sql")

    result = await fetch_and_fast_forward(clone, "origin/main")

    assert result.ok and result.error is None
    assert result.before == before
    assert result.after == upstream != before
    assert result.changed
    assert (clone / "second.sql").exists()


async def test_git_does_not_inherit_the_database_password(
    repos: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A daemon started with MYSQL_PWD must not hand it to git, its hooks or credential helpers.
    origin, clone = repos
    seen = tmp_path / "hook-env"
    hook = clone / ".git" / "hooks" / "post-merge"
    hook.write_text(f"#!/bin/sh\nenv > '{seen}'\n")
    hook.chmod(0o755)
    monkeypatch.setenv("MYSQL_PWD", "s3cret-db-pw")
    commit(origin, "second.sql")

    result = await fetch_and_fast_forward(clone, "origin/main")

    assert result.ok and result.changed
    env = seen.read_text()
    assert "GIT_TERMINAL_PROMPT=0" in env  # the hook ran with git's environment
    assert "s3cret-db-pw" not in env and "MYSQL_PWD" not in env


async def test_path_with_shell_characters(tmp_path: Path, repos: tuple[Path, Path]) -> None:
    origin, _ = repos
    odd = tmp_path / "it's a $dir; (x)"
    git(tmp_path, "clone", "-q", str(origin), odd.name)
    commit(origin, "second.sql")

    result = await fetch_and_fast_forward(odd, "origin/main")

    assert result.ok and result.changed
    assert (odd / "second.sql").exists()


async def test_nothing_new_is_ok_and_unchanged(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    head = git(clone, "rev-parse", "HEAD")

    result = await fetch_and_fast_forward(clone, "origin/main")

    assert result.ok
    assert result.before == result.after == head
    assert not result.changed


async def test_diverged_checkout_is_left_alone(repos: tuple[Path, Path]) -> None:
    origin, clone = repos
    local = commit(clone, "local.sql")
    commit(origin, "second.sql")

    result = await fetch_and_fast_forward(clone, "origin/main")

    assert not result.ok
    assert not result.changed
    assert result.before == local
    assert result.error is not None and "fast-forward" in result.error
    assert git(clone, "rev-parse", "HEAD") == local
    assert not (clone / "second.sql").exists()


@pytest.mark.parametrize("sub", ["plain", "missing"])
async def test_not_a_repo_fails_without_raising(tmp_path: Path, sub: str) -> None:
    path = tmp_path / sub
    if sub == "plain":
        path.mkdir()

    result = await fetch_and_fast_forward(path, "origin/main")

    assert not result.ok
    assert result.before is None and result.after is None
    assert result.error is not None and "rev-parse" in result.error


async def test_unknown_ref_fails(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    result = await fetch_and_fast_forward(clone, "origin/nope")
    assert not result.ok
    assert result.error is not None and "origin/nope" in result.error


async def test_option_like_ref_is_refused(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    result = await fetch_and_fast_forward(clone, "--abort")
    assert not result.ok
    assert result.error is not None and "invalid ref" in result.error


async def test_timeout_is_a_failure(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    result = await fetch_and_fast_forward(clone, "origin/main", timeout=1e-6)
    assert not result.ok
    assert result.error is not None and "timed out" in result.error


async def test_set_cancel_event_is_a_failure(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    cancel = asyncio.Event()
    cancel.set()
    result = await fetch_and_fast_forward(clone, "origin/main", cancel=cancel)
    assert not result.ok
    assert result.error is not None and "cancelled" in result.error


async def test_credentials_in_remote_url_never_reach_the_error(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    # Port 1 on localhost refuses at once.  git 2.39 already drops the userinfo from this
    # message; the mask covers older gits and other paths (test_mask_url_credentials).
    git(clone, "remote", "set-url", "origin", "https://u:secret@127.0.0.1:1/x.git")

    result = await fetch_and_fast_forward(clone, "origin/main", timeout=30)

    assert not result.ok
    assert result.error is not None and "git fetch" in result.error
    assert "secret" not in result.error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:secret@host/x", "https://***@host/x"),
        (
            "fatal: 'https://tok@github.com/o/r.git/' failed",
            "fatal: 'https://***@github.com/o/r.git/' failed",
        ),
        ("a https://u:p@h/1 b ssh://git:pw@h2/2", "a https://***@h/1 b ssh://***@h2/2"),
        ("https://host/path@x and git@github.com:o/r", "https://host/path@x and git@github.com:o/r"),
        ("no url here", "no url here"),
    ],
)
def test_mask_url_credentials(text: str, expected: str) -> None:
    masked = mask_url_credentials(text)
    assert masked == expected
    assert "secret" not in masked


# ///// RepoFetcher /////


class Counter:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    async def __call__(self) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("reload boom")


async def test_run_calls_on_updated_once_per_upstream_change(repos: tuple[Path, Path]) -> None:
    origin, clone = repos
    commit(origin, "second.sql")
    updated = Counter()
    fetcher = RepoFetcher("app", clone, FetchConfig(interval=0.02), updated)
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(stop))
    try:
        await eventually(lambda: updated.calls >= 1)
        first_success = fetcher.last_success
        # Several more rounds with nothing new upstream.
        await eventually(lambda: fetcher.last_success != first_success)
        await asyncio.sleep(0.2)
        assert updated.calls == 1
        assert fetcher.failures == 0 and fetcher.last_error is None
        assert (clone / "second.sql").exists()
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE)


async def test_run_returns_promptly_when_stopped(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    fetcher = RepoFetcher("app", clone, FetchConfig(interval=3600), Counter())
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(stop))
    await eventually(lambda: fetcher.last_success is not None)

    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, DEADLINE)

    assert time.monotonic() - started < 1.0


async def test_run_with_stop_already_set_does_nothing(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    stop = asyncio.Event()
    stop.set()
    fetcher = RepoFetcher("app", clone, FetchConfig(interval=0.01), Counter())
    await asyncio.wait_for(fetcher.run(stop), DEADLINE)
    assert fetcher.last_result is None


async def test_run_counts_failures_and_keeps_going(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fetcher = RepoFetcher("broken", tmp_path, FetchConfig(interval=0.01), Counter())
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run(stop))
    try:
        await eventually(lambda: fetcher.failures >= 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE)
    assert fetcher.last_success is None
    assert fetcher.last_error is not None and "not a git repository" in fetcher.last_error
    warnings = [r for r in caplog.records if r.name == "schemad.service.gitfetch"]
    assert warnings and all(getattr(r, "repo", None) == "broken" for r in warnings)


async def test_failing_on_updated_is_counted_not_raised(repos: tuple[Path, Path]) -> None:
    origin, clone = repos
    commit(origin, "second.sql")
    updated = Counter(fail=True)
    fetcher = RepoFetcher("app", clone, FetchConfig(interval=60), updated, clock=lambda: 42.0)

    result = await fetcher.fetch_once()

    assert result.ok and result.changed
    assert updated.calls == 1
    assert fetcher.failures == 1
    assert fetcher.last_success == 42.0
    assert fetcher.last_error is not None and "reload boom" in fetcher.last_error


async def test_stop_during_fetch_is_not_a_failure(repos: tuple[Path, Path]) -> None:
    _, clone = repos
    fetcher = RepoFetcher("app", clone, FetchConfig(interval=60), Counter())
    stop = asyncio.Event()
    stop.set()

    result = await fetcher.fetch_once(stop)

    assert not result.ok
    assert fetcher.failures == 0 and fetcher.last_error is None
