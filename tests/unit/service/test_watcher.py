"""Repo watcher: real filesystem, real watchfiles; what reaches `on_change`, and how fast."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from watchfiles import Change

from schemad.service.watcher import RepoChange, RepoFilter, group_changes, is_editor_temp, watch_repo

#: Upper bound for "well before 2 s"; the default debounce alone would be 1.6 s.
DELIVERY_BOUND = 1.0


@dataclass
class Recorder:
    """The `on_change` of the tests: keeps every RepoChange with its arrival time."""

    changes: asyncio.Queue[tuple[float, RepoChange]] = field(default_factory=asyncio.Queue)
    fail_next: int = 0  # raise from this many calls (after recording them)

    async def __call__(self, change: RepoChange) -> None:
        self.changes.put_nowait((time.perf_counter(), change))
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("handler boom")

    async def next(self, timeout: float = DELIVERY_BOUND) -> RepoChange:
        _, change = await asyncio.wait_for(self.changes.get(), timeout)
        return change

    async def drain(self, quiet: float = 0.1) -> list[RepoChange]:
        """Everything that arrives until nothing has for `quiet` seconds."""
        out: list[RepoChange] = []
        while True:
            try:
                out.append(await self.next(quiet))
            except TimeoutError:
                return out


def make_repo(root: Path) -> tuple[Path, Path]:
    a, b = root / "host" / "a", root / "host" / "b"
    for d in (a, b):
        d.mkdir(parents=True)
        (d / ".skeema").write_text(f"schema={d.name}\n")
        (d / "t.sql").write_text("CREATE TABLE t (id int);\n")
    (root / ".git" / "objects").mkdir(parents=True)
    return a, b


@asynccontextmanager
async def watching(root: Path) -> AsyncIterator[tuple[Recorder, asyncio.Event, asyncio.Task[None]]]:
    """Run watch_repo on `root` until the block ends; primed so the watch is live."""
    rec, stop = Recorder(), asyncio.Event()
    task = asyncio.create_task(watch_repo("repo", root, rec, stop))
    probe = root / "probe.sql"
    try:
        for _ in range(100):  # the watch starts inside the task: poke until it answers
            probe.write_text(str(time.monotonic()))
            try:
                await rec.next(0.05)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("watcher never became ready")
        probe.unlink()
        await rec.drain()
        yield rec, stop, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_edit_sql_file_is_one_change(tmp_path: Path) -> None:
    a, _ = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        t0 = time.perf_counter()
        (a / "t.sql").write_text("CREATE TABLE t (id bigint);\n")
        change = await rec.next()
        assert time.perf_counter() - t0 < DELIVERY_BOUND
        assert change.repo == "repo"
        assert change.dirs == {a}
        assert change.paths == {a / "t.sql"}
        assert not change.option_files_changed
        assert await rec.drain() == []


async def test_atomic_rename_into_place_is_one_change(tmp_path: Path) -> None:
    a, _ = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        tmp = a / ".t.sql.tmp123"
        tmp.write_text("CREATE TABLE t (id bigint);\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, a / "t.sql")
        changes = [await rec.next(), *await rec.drain()]
        assert len(changes) == 1
        assert changes[0].dirs == {a}
        assert changes[0].paths == {a / "t.sql"}


async def test_vim_style_save_is_one_change(tmp_path: Path) -> None:
    a, _ = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        (a / "4913").write_text("")
        (a / "4913").unlink()
        (a / ".t.sql.swp").write_text("swap")
        os.rename(a / "t.sql", a / "t.sql~")
        (a / "t.sql").write_text("CREATE TABLE t (id bigint);\n")
        (a / "t.sql~").unlink()
        changes = [await rec.next(), *await rec.drain()]
        assert len(changes) == 1
        assert changes[0].paths == {a / "t.sql"}


async def test_git_and_swap_files_are_ignored(tmp_path: Path) -> None:
    a, b = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        (tmp_path / ".git" / "objects" / "x.sql").write_text("x")
        (tmp_path / ".git" / "index").write_text("x")
        (a / "t.sql.swp").write_text("x")
        (a / ".#t.sql").write_text("x")
        (a / "t.sql~").write_text("x")
        (a / "notes.txt").write_text("x")
        (tmp_path / ".idea").mkdir()
        (tmp_path / ".idea" / "q.sql").write_text("x")
        await asyncio.sleep(0.1)  # give the ignored events time to be (not) delivered first
        (b / "t.sql").write_text("CREATE TABLE t (id bigint);\n")  # sentinel
        changes = [await rec.next(), *await rec.drain()]
        assert [c.paths for c in changes] == [{b / "t.sql"}]


async def test_option_file_change(tmp_path: Path) -> None:
    a, _ = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        (a / ".skeema").write_text("schema=other\n")
        change = await rec.next()
        assert change.option_files_changed
        assert change.dirs == {a}
        assert change.paths == {a / ".skeema"}


async def test_two_dirs_at_once(tmp_path: Path) -> None:
    a, b = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        (a / "t.sql").write_text("CREATE TABLE t (id bigint);\n")
        (b / "u.sql").write_text("CREATE TABLE u (id int);\n")
        changes = [await rec.next(), *await rec.drain()]
        assert 1 <= len(changes) <= 2
        assert set().union(*(c.dirs for c in changes)) == {a, b}
        assert set().union(*(c.paths for c in changes)) == {a / "t.sql", b / "u.sql"}


async def test_deleted_file_and_directory_are_reported(tmp_path: Path) -> None:
    a, b = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, _):
        (a / "t.sql").unlink()
        change = await rec.next()
        assert change.paths == {a / "t.sql"} and change.dirs == {a}
        await rec.drain()

        moved = tmp_path.parent / f"{tmp_path.name}-moved-out"
        os.rename(b, moved)  # a move produces no events for the files inside
        change = await rec.next()
        assert change.paths == {b} and change.dirs == {b}
        assert change.option_files_changed

        os.rename(moved, b)  # and back in
        change = await rec.next()
        assert change.paths == {b} and change.option_files_changed


async def test_stop_returns_promptly(tmp_path: Path) -> None:
    make_repo(tmp_path)
    async with watching(tmp_path) as (_, stop, task):
        t0 = time.perf_counter()
        stop.set()
        await asyncio.wait_for(task, 1.0)
        assert time.perf_counter() - t0 < 1.0


async def test_stop_set_before_start(tmp_path: Path) -> None:
    stop = asyncio.Event()
    stop.set()
    rec = Recorder()
    await asyncio.wait_for(watch_repo("repo", tmp_path, rec, stop), 1.0)
    assert rec.changes.empty()


async def test_raising_handler_does_not_kill_the_watcher(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = make_repo(tmp_path)
    async with watching(tmp_path) as (rec, _, task):
        rec.fail_next = 1
        (a / "t.sql").write_text("CREATE TABLE t (id bigint);\n")
        await rec.next()
        await asyncio.sleep(0.05)
        assert not task.done()
        (a / "t.sql").write_text("CREATE TABLE t (id int);\n")
        change = await rec.next()
        assert change.dirs == {a}
    assert "handler failed" in caplog.text
    assert "handler boom" in caplog.text


async def test_latency_median_over_20_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Measured, not asserted (beyond the 'well before 2 s' bound): printed with -s."""
    a, _ = make_repo(tmp_path)
    samples: list[float] = []
    async with watching(tmp_path) as (rec, _, _):
        for i in range(20):
            t0 = time.perf_counter()
            (a / "t.sql").write_text(f"CREATE TABLE t (id int, c{i} int);\n")
            arrived, change = await asyncio.wait_for(rec.changes.get(), DELIVERY_BOUND)
            assert change.dirs == {a}
            samples.append((arrived - t0) * 1000)
            await rec.drain(0.03)
    with capsys.disabled():
        print(
            f"\nwatcher latency over {len(samples)} edits: median {statistics.median(samples):.1f} ms, "
            f"min {min(samples):.1f} ms, max {max(samples):.1f} ms"
        )


# ---------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("name", "temp"),
    [
        ("t.sql", False),
        (".skeema", False),
        ("t.sql~", True),
        (".#t.sql", True),
        (".t.sql.swp", True),
        ("t.sql.swx", True),
        ("4913", True),
    ],
)
def test_is_editor_temp(name: str, temp: bool) -> None:
    assert is_editor_temp(name) is temp


def test_filter_table(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    f = RepoFilter(tmp_path)
    f.scan()
    cases = [
        (Change.modified, tmp_path / "s" / "t.sql", True),
        (Change.added, tmp_path / "s" / ".skeema", True),
        (Change.deleted, tmp_path / "s" / "gone.sql", True),
        (Change.modified, tmp_path / ".git" / "x.sql", False),
        (Change.modified, tmp_path / "s" / ".hidden" / "x.sql", False),
        (Change.modified, tmp_path / "s" / "x.txt", False),
        (Change.deleted, tmp_path / "s" / "never-a-dir", False),
        (Change.modified, tmp_path.parent / "elsewhere.sql", False),
        (Change.deleted, tmp_path / "s", True),
    ]
    for change, path, keep in cases:
        assert f(change, str(path)) is keep, (change, path)
    assert str(tmp_path / "s") not in f.known_dirs


def test_group_changes() -> None:
    root = Path("/r")
    assert group_changes("x", []) is None
    change = group_changes(
        "x",
        [
            (Change.modified, "/r/a/t.sql"),
            (Change.added, "/r/a/u.sql"),
            (Change.modified, "/r/b/.skeema"),
            (Change.deleted, "/r/c"),
        ],
    )
    assert change == RepoChange(
        repo="x",
        dirs=frozenset({root / "a", root / "b", root / "c"}),
        option_files_changed=True,
        paths=frozenset({root / "a/t.sql", root / "a/u.sql", root / "b/.skeema", root / "c"}),
    )


def test_filter_learns_subdirs_of_a_dir_moved_in(tmp_path: Path) -> None:
    f = RepoFilter(tmp_path)
    f.scan()
    (tmp_path / "host" / "s").mkdir(parents=True)
    assert f(Change.added, str(tmp_path / "host")) is True
    assert f(Change.deleted, str(tmp_path / "host" / "s")) is True
    assert f(Change.deleted, str(tmp_path / "host" / "s")) is False  # forgotten once reported
