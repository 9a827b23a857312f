"""Where schemad keeps its caches, and how a cache file is opened.

Caches live in one directory: ``$SCHEMAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/schemad``, else ``~/.cache/schemad`` (created with mode
0700).  Each is one SQLite file in WAL mode, so concurrent CLI runs and a
daemon can share it; callers treat every error as "no cache".
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["cache_dir", "open_cache_file", "read_values", "sources_digest", "write_values"]


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


def read_values(conn: sqlite3.Connection, table: str, keys: Sequence[str]) -> dict[str, bytes]:
    """The stored values of those `keys` that are in `table` (sqlite3.Error on failure)."""
    out: dict[str, bytes] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        out.update(conn.execute(f"SELECT key, value FROM {table} WHERE key IN ({marks})", chunk))
    return out


def write_values(conn: sqlite3.Connection, table: str, items: Iterable[tuple[str, bytes]]) -> None:
    """Store (key, value) pairs in one transaction (sqlite3.Error on failure, nothing written)."""
    now = time.time()
    rows = [(k, v, now) for k, v in items]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(f"INSERT OR REPLACE INTO {table} (key, value, stored_at) VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
