"""CanonicalCache: what the workspace made of a CREATE statement, remembered on disk.

Running a repo's CREATEs in the temp schema and introspecting them is most of
a diff's time, yet the result depends only on the statement's text, the
schema's default charset/collation, the server's settings and (for views and
triggers) the objects the statement reads.  This module keys the introspected
model object (Table, View, Routine, Trigger) by a sha256 over exactly those
inputs and keeps it in one SQLite file, with an in-memory dict in front for a
long-lived process such as the daemon.

The key (:meth:`KeyContext.key`) is a sha256 over length-prefixed parts:

- :data:`FORMAT_VERSION` and :func:`code_version` (schemad's version plus a
  digest of the model and introspection sources), so a code change can never
  return an object built by other code;
- the object type and name, and the statement body exactly as it is executed
  (for a table, followed by the standalone index statements folded into it,
  as they are executed right after its CREATE: ``Admitted.body``);
- the schema's default charset and collation, and the temp schema's name;
- the server fingerprint (:func:`server_fingerprint`): flavor and full version,
  global and session sql_mode, every other server or session variable that
  changes canonical output, CURRENT_USER() (the DEFINER of objects without
  one), the time zone, and the connection's own session variables;
- dependency material chosen by the caller (the workspace adds the canonical
  text of what a view or trigger reads, see ``tempschema``).

The text analyses that find those dependencies (what a view, trigger or
foreign key reads) are in :mod:`schemad.sqltext.references`.

What it will not do: decide what must be re-run (the workspace does), cache
events (a recurring event without STARTS gets its creation time), cache
failures, or evict old entries from disk (delete the file to reset it).  It is
never fatal: a corrupt, locked or unwritable file logs a warning and the cache
behaves as empty (the memory layer keeps working).  Values are pickles: the
cache file must be as trusted as the user's own files (its directory is
created with mode 0700).  A model dataclass is pickled as a call of its
constructor with its field values, and a model enum member by name
(:func:`_model_reducers`): a warm run of 1,000 tables loads them in about
half the time of dataclasses' own per-field ``__setstate__``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import schemad
import schemad.introspect
import schemad.model
from schemad.cachefile import CacheFile, cache_dir, sources_digest
from schemad.connection.instance import Instance
from schemad.model.keys import ObjectKey
from schemad.model.routine import Routine
from schemad.model.table import Table
from schemad.model.trigger import Trigger
from schemad.model.view import View
from schemad.records import dataclass

__all__ = [
    "FINGERPRINT_SQL",
    "FINGERPRINT_VARIABLES",
    "FORMAT_VERSION",
    "MARIADB_FINGERPRINT_VARIABLES",
    "CacheStats",
    "CachedObject",
    "CanonicalCache",
    "KeyContext",
    "code_version",
    "default_cache_path",
    "fingerprint_from_row",
    "server_fingerprint",
]

log = logging.getLogger(__name__)

#: Bump when the key composition or the stored value's shape changes.
FORMAT_VERSION = 1

#: What the cache stores: every introspected object kind except events.
CachedObject = Table | View | Routine | Trigger
_CACHED_TYPES = (Table, View, Routine, Trigger)

_FILE_NAME = "canonical.sqlite3"
_TABLE = f"objects_v{FORMAT_VERSION}"  # a new format gets a new table in the same file


def default_cache_path() -> Path:
    """The canonical cache's file in :func:`schemad.cachefile.cache_dir`."""
    return cache_dir() / _FILE_NAME


@functools.cache
def code_version() -> str:
    """schemad's version plus a digest of the model and introspection sources (computed once)."""
    files = [
        p
        for pkg in (schemad.model, schemad.introspect)
        if pkg.__file__ is not None
        for p in sorted(Path(pkg.__file__).parent.glob("*.py"))
    ]
    return f"{schemad.__version__}+{sources_digest(files)[:16]}"


# ///// keys /////////////////////////////////////////////////////////////////////////////////////


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))  # length-prefixed: no two part lists collide
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class KeyContext:
    """Everything besides the statement that decides its canonical form, for one workspace run."""

    fingerprint: str  # server_fingerprint() of the workspace connection
    char_set: str  # the schema's default character set
    collation: str  # the schema's default collation
    temp_schema: str = ""  # the workspace schema's name

    def key(self, obj: ObjectKey, body: str, dependencies: Sequence[str] = ()) -> str:
        """The cache key of the statement `body` creating `obj`; `dependencies` in a stable order."""
        return _key(FORMAT_VERSION, code_version(), self, obj, body, tuple(dependencies))


@functools.lru_cache(maxsize=1 << 16)
def _key(
    fmt: int, code: str, ctx: KeyContext, obj: ObjectKey, body: str, dependencies: tuple[str, ...]
) -> str:
    """KeyContext.key, remembered: a daemon re-keys every statement of a dir on each save."""
    return _digest(
        (
            f"schemad-canonical-cache/{fmt}",
            code,
            obj.type.value,
            obj.name,
            body,
            ctx.char_set,
            ctx.collation,
            ctx.temp_schema,
            ctx.fingerprint,
            str(len(dependencies)),
            *dependencies,
        )
    )


# ///// server fingerprint /////////////////////////////////////////////////////////////////////////

#: (alias, expression) of every server fact that changes what the server makes of a CREATE.
#: Unqualified ``@@x`` reads the session value where one exists (what the workspace runs with).
FINGERPRINT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("version", "@@version"),
    ("version_comment", "@@version_comment"),
    ("global_sql_mode", "@@global.sql_mode"),
    ("session_sql_mode", "@@session.sql_mode"),
    ("explicit_defaults_for_timestamp", "@@explicit_defaults_for_timestamp"),
    ("innodb_default_row_format", "@@innodb_default_row_format"),
    ("lower_case_table_names", "@@lower_case_table_names"),
    ("character_set_server", "@@character_set_server"),
    ("collation_server", "@@collation_server"),
    ("character_set_client", "@@character_set_client"),  # literals in views, routine metadata
    ("collation_connection", "@@collation_connection"),
    ("default_storage_engine", "@@default_storage_engine"),
    ("innodb_strict_mode", "@@innodb_strict_mode"),
    ("innodb_file_per_table", "@@innodb_file_per_table"),  # ROW_FORMAT=COMPRESSED without strict mode
    ("innodb_page_size", "@@innodb_page_size"),  # KEY_BLOCK_SIZE limits
    ("definer_user", "CURRENT_USER()"),  # DEFINER of objects created without one
    ("time_zone", "@@time_zone"),
    ("system_time_zone", "@@system_time_zone"),  # what time_zone=SYSTEM means
)
#: MariaDB only (MySQL skips ``/*M! */``): old_mode=UTF8_IS_UTF8MB3 changes what `utf8` means,
#: enforce_storage_engine replaces ENGINE=, innodb_compression_default adds PAGE_COMPRESSED.
MARIADB_FINGERPRINT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("old_mode", "@@old_mode"),
    ("enforce_storage_engine", "@@enforce_storage_engine"),
    ("innodb_compression_default", "@@innodb_compression_default"),
)

FINGERPRINT_SQL = (
    "SELECT "
    + ", ".join(f"{expr} AS {alias}" for alias, expr in FINGERPRINT_VARIABLES)
    + " /*M!100000 , "
    + ", ".join(f"{expr} AS {alias}" for alias, expr in MARIADB_FINGERPRINT_VARIABLES)
    + " */"
)


def fingerprint_from_row(row: Mapping[str, object], session_vars: Sequence[tuple[str, str]] = ()) -> str:
    """The fingerprint text of one FINGERPRINT_SQL row plus the connection's own session variables.

    Readable JSON (sorted keys) so a surprising miss can be explained by comparing two of them.
    """
    values = {k: None if v is None else str(v) for k, v in row.items()}
    return json.dumps({"vars": values, "session": [list(kv) for kv in session_vars]}, sort_keys=True)


async def server_fingerprint(inst: Instance) -> str:
    """Everything on `inst`'s server and session that changes canonical output (one query)."""
    rows = await inst.query(FINGERPRINT_SQL)
    return fingerprint_from_row(rows[0], inst.params.session_vars)


# ///// pickling //////////////////////////////////////////////////////////////////////////////////

_Reducer = Callable[[Any], tuple[Any, ...]]


def _dataclass_reducer(cls: type) -> _Reducer | None:
    """`obj -> (cls, field values)`: unpickling calls the constructor (None if a field is not an argument)."""
    fields = dataclasses.fields(cls)
    if not fields or not all(f.init for f in fields):
        return None
    import operator

    get = operator.attrgetter(*(f.name for f in fields))
    if len(fields) == 1:
        return lambda obj: (cls, (get(obj),))
    return lambda obj: (cls, get(obj))


def _enum_reducer(cls: type[enum.Enum]) -> _Reducer:
    return lambda member: (getattr, (cls, member.name))


@functools.cache
def _model_reducers() -> dict[type, Any]:
    """copyreg's dispatch table plus a fast reducer for each dataclass and enum of schemad.model.

    Dataclasses with slots pickle their fields through a ``__setstate__``
    written in Python, which loops over ``fields()`` for every object; a
    frozen dataclass's generated ``__init__`` sets the same fields in one go,
    and an enum member found by name skips ``EnumType.__call__``.  The
    values are the same objects either way (a test round-trips every field).
    """
    import copyreg
    import importlib
    import pkgutil

    table: dict[type, Any] = dict(copyreg.dispatch_table)
    for info in pkgutil.iter_modules(schemad.model.__path__, "schemad.model."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if not isinstance(obj, type) or obj.__module__ != module.__name__:
                continue
            if issubclass(obj, enum.Enum):
                table[obj] = _enum_reducer(obj)
            elif dataclasses.is_dataclass(obj) and (reducer := _dataclass_reducer(obj)) is not None:
                table[obj] = reducer
    return table


def _dumps(obj: CachedObject) -> bytes:
    import io
    import pickle  # loaded by what pickles or unpickles: a run that never touches the cache skips it

    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _model_reducers()
    pickler.dump(obj)
    return buf.getvalue()


# ///// the store //////////////////////////////////////////////////////////////////////////////////


@dataclass(slots=True)
class CacheStats:
    """Counters since the cache was opened (for logs, metrics and tests)."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    writes: int = 0  # objects written to disk
    statements_run: int = 0  # statements the workspaces using this cache actually ran


class CanonicalCache:
    """Introspected objects by cache key: a bounded in-memory dict in front of one SQLite file.

    Safe to share between threads (one lock) and between processes (WAL journal,
    busy timeout, each batch of writes in one transaction).  Every disk error is
    logged once as a warning; the disk layer is then switched off and the cache
    behaves as empty (memory only).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        memory_limit: int = 100_000,
        busy_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.memory_limit = memory_limit
        self.busy_timeout = busy_timeout
        self.stats = CacheStats()
        self._memory: OrderedDict[str, CachedObject] = OrderedDict()
        self._lock = threading.Lock()
        self._disk = CacheFile(self.path, _TABLE, "canonical cache", busy_timeout=busy_timeout)

    def __repr__(self) -> str:
        return f"CanonicalCache({str(self.path)!r})"

    # --- public API ---------------------------------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedObject]:
        """The cached objects of those `keys` that are known; unknown keys are simply absent."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, CachedObject] = {}
        with self._lock:
            rest = []
            for k in wanted:
                obj = self._memory.get(k)
                if obj is None:
                    rest.append(k)
                else:
                    self._memory.move_to_end(k)
                    found[k] = obj
            self.stats.memory_hits += len(found)
            from_disk = self._read(rest) if rest else {}
            self.stats.disk_hits += len(from_disk)
            self.stats.misses += len(rest) - len(from_disk)
            for k, obj in from_disk.items():
                self._remember(k, obj)
            found.update(from_disk)
        return found

    def get(self, key: str) -> CachedObject | None:
        return self.get_many([key]).get(key)

    def put_many(self, items: Mapping[str, CachedObject]) -> None:
        """Remember `items` in memory and write them to disk in one transaction."""
        if not items:
            return
        with self._lock:
            for k, obj in items.items():
                self._remember(k, obj)
            self._write(items)

    def clear_memory(self) -> None:
        """Forget the in-memory layer (the file is kept)."""
        with self._lock:
            self._memory.clear()

    @property
    def disk_ok(self) -> bool:
        """False once a disk error switched the file off for this run (memory only)."""
        return self._disk.ok

    def close(self) -> None:
        with self._lock:
            self._disk.close()

    def __enter__(self) -> CanonicalCache:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- internals (called with the lock held) -------------------------------

    def _remember(self, key: str, obj: CachedObject) -> None:
        self._memory[key] = obj
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_limit:
            self._memory.popitem(last=False)

    def _read(self, keys: list[str]) -> dict[str, CachedObject]:
        rows = self._disk.read(keys)
        out: dict[str, CachedObject] = {}
        bad = 0
        for key, blob in rows.items():
            try:
                import pickle

                obj = pickle.loads(blob)
            except Exception:  # any unpickling problem: a damaged row is a miss
                obj = None
            if isinstance(obj, _CACHED_TYPES):
                out[key] = obj
            else:
                bad += 1
        if bad:
            log.warning("canonical cache %s: ignored %d unreadable entries", self.path, bad)
        return out

    def _write(self, items: Mapping[str, CachedObject]) -> None:
        if not self._disk.ok:
            return
        try:
            rows = [(k, _dumps(obj)) for k, obj in items.items()]
        except Exception as exc:  # an object that can't be pickled stays in memory only
            log.warning("canonical cache %s: cannot store (%s)", self.path, exc)
            return
        if self._disk.write(rows):
            self.stats.writes += len(rows)
