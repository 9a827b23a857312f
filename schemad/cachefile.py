"""Where schemad keeps its caches, and how a cache file is opened.

Caches live in one directory: ``$SCHEMAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/schemad``, else ``~/.cache/schemad`` (created with mode
0700).  Each is one SQLite file in WAL mode, so concurrent CLI runs and a
daemon can share it; callers treat every error as "no cache".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["CacheFile", "cache_dir", "open_cache_file", "sources_digest"]


def cache_dir() -> Path:
    """``$SCHEMAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/schemad``, else ``~/.cache/schemad``."""
    explicit = os.environ.get("SCHEMAD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "schemad"


def sources_digest(files: Iterable[Path]) -> str:
    """SHA-256 over files' names and contents, in order: keys a cache by the code that filled it."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def open_cache_file(path: Path, table: str, *, busy_timeout: float = 5.0) -> sqlite3.Connection:
    """Open (creating if needed) the cache file `path` with a key/value `table` in it.

    Raises sqlite3.Error or OSError; the connection is in autocommit mode.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value BLOB NOT NULL,"
            " stored_at REAL NOT NULL) WITHOUT ROWID"
        )
    except BaseException:
        conn.close()
        raise
    return conn


_CHUNK = 500  # keys per SELECT ... IN (...), below SQLite's variable limit


class CacheFile:
    """One cache's key/value table in one SQLite file, never fatal.

    Opened on first use.  An error reading, writing or opening it is logged
    once as a warning naming `label` and the file; the file is then left
    alone for the rest of the run (reads find nothing, writes are dropped).
    A write that finds the file busy for longer than `busy_timeout` (another
    process's transaction) only skips that batch.  Not thread-safe: callers
    that share one across threads hold their own lock.
    """

    def __init__(self, path: Path, table: str, label: str, *, busy_timeout: float = 5.0) -> None:
        self.path, self.table, self.label, self.busy_timeout = path, table, label, busy_timeout
        self.ok = True  # False once an error switched the file off
        self._conn: sqlite3.Connection | None = None

    def read(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored values of those `keys` that are in the file."""
        conn = self._connection()
        if conn is None or not keys:
            return {}
        out: dict[str, bytes] = {}
        try:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                out.update(conn.execute(f"SELECT key, value FROM {self.table} WHERE key IN ({marks})", chunk))
        except sqlite3.Error as exc:
            self._disable("read", exc)
            return {}
        return out

    def write(self, items: Iterable[tuple[str, bytes]]) -> bool:
        """Store (key, value) pairs in one transaction; False when nothing was written."""
        rows = [(k, v, time.time()) for k, v in items]
        conn = self._connection()
        if conn is None or not rows:
            return False
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT OR REPLACE INTO {self.table} (key, value, stored_at) VALUES (?, ?, ?)", rows
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                # Another process held the file for longer than busy_timeout: skip this batch only.
                log.warning("%s %s: not written, file busy (%s)", self.label, self.path, exc)
            else:
                self._disable("write", exc)
            return False
        except sqlite3.Error as exc:
            self._disable("write", exc)
            return False
        return True

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None and self.ok:
            try:
                self._conn = open_cache_file(self.path, self.table, busy_timeout=self.busy_timeout)
            except (sqlite3.Error, OSError) as exc:
                self._disable("open", exc)
        return self._conn

    def _disable(self, action: str, exc: BaseException) -> None:
        log.warning(
            "%s %s: cannot %s (%s); continuing without it (delete the file to reset it)",
            self.label,
            self.path,
            action,
            exc,
        )
        self.ok = False
        self.close()
