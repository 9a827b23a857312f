"""The daemon's repo watcher: file saves in a checkout, reported per schema dir.

`watch_repo` runs `watchfiles.awatch` (recursive, inotify/FSEvents) over one
checkout and calls `on_change` with one `RepoChange` per batch of relevant
changes: `*.sql` and `.skeema` files, and directories appearing or vanishing.
Everything under a dot-dir (`.git/`, `.idea/`, …) and editor temp/backup files
(`*~`, `.#*`, `*.swp`, vim's `4913` probe) are filtered out.  It returns when
`stop` is set (checked every `step_ms`), which is how the daemon shuts it down
(STYLE rule 9).

Timing.  watchfiles yields a batch once the set of pending changes has not grown
for one `step` (so 1-2 steps after the last event), and at the latest `debounce`
after the first event of a burst that keeps growing.  Its defaults (1600/50 ms)
would blow the daemon's "save -> updated diff in <= 90 ms" budget, so the defaults
here are `step_ms=10`, `debounce_ms=50`: a single save is delivered 10-20 ms
after its last event (leaving >= 70 ms for parse + diff), an editor's
write-temp/rename-into-place/chmod sequence (microseconds to a few ms apart) still
lands in one batch, and a long burst (`git checkout`) is cut into 50 ms batches
rather than starving the caller.  Changes arriving while `on_change` runs are
kept by watchfiles and delivered in the next batch; nothing is lost.

What it will not do: read, split or parse the files, decide which dirs are
targets (`Dir.is_target` does, when the caller re-reads the tree), or restart
itself if the underlying watcher fails (that error propagates to the caller).
`on_change` errors are logged and never stop the watcher.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from watchfiles import Change, awatch

from schemad.records import dataclass

__all__ = ["DEFAULT_DEBOUNCE_MS", "DEFAULT_STEP_MS", "RepoChange", "RepoFilter", "watch_repo"]

log = logging.getLogger(__name__)

#: Longest time (ms) a burst of changes is held before it is delivered anyway.
DEFAULT_DEBOUNCE_MS = 50
#: Polling step (ms): a batch is delivered once no new change arrived for one step.
DEFAULT_STEP_MS = 10

OPTION_FILE = ".skeema"
SQL_SUFFIX = ".sql"
# Editor temp/backup files: emacs lock `.#x`, vim swap `*.swp`/`*.swx`, backup `x~`, vim probe `4913`.
_TEMP_PREFIXES = (".#",)
_TEMP_SUFFIXES = ("~", ".swp", ".swx")
_TEMP_NAMES = frozenset({"4913"})


@dataclass(frozen=True, slots=True)
class RepoChange:
    """One batch of relevant changes in one checkout."""

    repo: str  # the repo name given to watch_repo
    dirs: frozenset[Path]  # schema dirs whose *.sql or .skeema changed, or dirs added/removed
    option_files_changed: bool  # a .skeema (or a whole dir) changed: re-read the tree
    paths: frozenset[Path]  # the changed files and dirs (added, modified or deleted)


def is_editor_temp(name: str) -> bool:
    """True for the temp, lock and backup files editors write next to the real one."""
    return name in _TEMP_NAMES or name.startswith(_TEMP_PREFIXES) or name.endswith(_TEMP_SUFFIXES)


def _is_relevant_file(name: str) -> bool:
    return name == OPTION_FILE or (name.endswith(SQL_SUFFIX) and not is_editor_temp(name))


class RepoFilter:
    """The `watch_filter` of one checkout: `*.sql`, `.skeema` and (non-dot) directories.

    Directories are kept so that a dir moved in or out of the tree (which produces
    no events for the files inside) is still reported.  A deleted path can't be
    stat'ed, so the filter remembers the directories it has seen (`known_dirs`,
    seeded by `scan`).
    """

    __slots__ = ("known_dirs", "root")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known_dirs: set[str] = set()

    def scan(self, start: str | None = None) -> None:
        """Record every non-dot directory below `start` (the root by default; blocking)."""
        for dirpath, dirnames, _ in os.walk(start if start is not None else self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            self.known_dirs.update(os.path.join(dirpath, d) for d in dirnames)

    def __call__(self, change: Change, path: str) -> bool:
        try:
            rel = Path(path).relative_to(self.root)
        except ValueError:
            return False
        parts = rel.parts
        if not parts or any(p.startswith(".") for p in parts[:-1]):
            return False
        name = parts[-1]
        if _is_relevant_file(name):
            return True
        if name.startswith(".") or is_editor_temp(name):
            return False
        if change == Change.deleted:
            if path in self.known_dirs:
                self.known_dirs = {
                    d for d in self.known_dirs if d != path and not d.startswith(path + os.sep)
                }
                return True
            return False
        if os.path.isdir(path) and not os.path.islink(path):
            self.known_dirs.add(path)
            self.scan(path)  # a dir moved in brings its subdirs along, without events
            return True
        return False


def group_changes(repo: str, changes: Iterable[tuple[Change, str]]) -> RepoChange | None:
    """The filtered `changes` of one batch as a RepoChange; None when there are none.

    A `*.sql`/`.skeema` file belongs to the dir containing it; any other path
    that got through `RepoFilter` is a directory, which is reported as its own
    dir with `option_files_changed` set (the tree's shape changed).
    """
    dirs: set[Path] = set()
    paths: set[Path] = set()
    options = False
    for _, raw in changes:
        path = Path(raw)
        paths.add(path)
        if path.name.endswith(SQL_SUFFIX) and path.name != OPTION_FILE:
            dirs.add(path.parent)
        else:
            options = True
            dirs.add(path.parent if path.name == OPTION_FILE else path)
    if not paths:
        return None
    return RepoChange(repo=repo, dirs=frozenset(dirs), option_files_changed=options, paths=frozenset(paths))


async def watch_repo(
    name: str,
    root: Path,
    on_change: Callable[[RepoChange], Awaitable[None]],
    stop: asyncio.Event,
    *,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
    step_ms: int = DEFAULT_STEP_MS,
    started: asyncio.Event | None = None,
) -> None:
    """Watch the checkout at `root` and call `on_change` per batch, until `stop` is set.

    Returns within about `step_ms` of `stop` being set (or after the running
    `on_change` call finishes).  Raises FileNotFoundError if `root` doesn't exist.
    `started` is set once every change from then on will be reported.
    """
    root = Path(os.path.abspath(root))
    watch_filter = RepoFilter(root)
    await asyncio.to_thread(watch_filter.scan)
    if started is not None:
        # No await between this and awatch's first step, which installs the inotify
        # watches synchronously: a task woken by `started` runs only after that.
        started.set()
    async for batch in awatch(
        root,
        watch_filter=watch_filter,
        debounce=debounce_ms,
        step=step_ms,
        stop_event=stop,
        recursive=True,
    ):
        change = group_changes(name, batch)
        if change is None:
            continue
        try:
            await on_change(change)
        except Exception:
            log.exception("repo %s: change handler failed for %d path(s)", name, len(change.paths))
