"""The live side of one target: its schema as last polled, and the pooled connections that read it.

A `LiveState` is kept per target (server x schema) of an environment: the
live schema, the per-object fingerprints it was read with, each table's size
and row count, and when.  `poll_target` refreshes it: the six fingerprint
queries when nothing changed (the sizes come from the same scan of
information_schema.TABLES, never hashed: they move without DDL; a fleet's
poll reads them once for all the shards of a server), and a
re-introspection of only the objects whose fingerprint moved.
`InstancePool` holds one pooled `Instance` per server, replaced when the
server's connection settings change and dropped after a failed poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import field, replace

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import SchemadError
from schemad.introspect.filters import Filters
from schemad.introspect.fingerprint import Prints, changed, fingerprints_of
from schemad.introspect.introspector import introspect_schema
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.schema import Schema
from schemad.plan.planner import TableSize
from schemad.records import dataclass
from schemad.service.fleet import group_fingerprint

__all__ = ["InstancePool", "LiveState", "SharedSchemas", "poll_target"]


@dataclass(slots=True)
class LiveState:
    """The live side of one target, as of the last successful poll."""

    schema: Schema | None = None  # None: the schema does not exist (or never polled)
    exists: bool = False
    fingerprints: dict[ObjectKey, str] = field(default_factory=dict)
    sizes: dict[str, TableSize] = field(default_factory=dict)  # by table name, as of the last poll
    snapshot_at: float | None = None  # when `schema` was last confirmed current
    flavor: Flavor | None = None
    server_charset: tuple[str, str] = ("", "")  # character_set_server, collation_server
    error: str | None = None  # the last poll's error for this target; None after a success

    @property
    def table_sizes(self) -> dict[str, int]:
        """Skeema's size of each table (0 when it has no rows, by the server's row count), for the plan."""
        return {name: s.size for name, s in self.sizes.items()}

    @property
    def empty_tables(self) -> set[str]:
        """Tables the server's row count says are empty (an estimate for InnoDB: never pushed on)."""
        return {name for name, s in self.sizes.items() if s.rows == 0}


class InstancePool:
    """One pooled `Instance` per server address, opened on first use."""

    def __init__(self) -> None:
        self._instances: dict[str, Instance] = {}

    def __iter__(self) -> Iterator[Instance]:
        return iter(self._instances.values())

    def get(self, params: ConnParams) -> Instance:
        """The server's instance; a new one when `params` changed since it was opened."""
        inst = self._instances.get(params.address)
        if inst is None or inst.params != params:
            inst = Instance(params, pool_size=6, connect_timeout=5.0)
            self._instances[params.address] = inst
        return inst

    async def drop(self, params: ConnParams) -> None:
        """Close the server's instance (after an error): the next use connects afresh."""
        inst = self._instances.pop(params.address, None)
        if inst is not None:
            with contextlib.suppress(Exception):
                await inst.close()

    async def close(self) -> None:
        for inst in self._instances.values():
            await inst.close()
        self._instances.clear()


#: Introspected schemas of one poll, shared by the shards whose fingerprints match (see `poll_target`).
SharedSchemas = dict[tuple[str, str, str], "asyncio.Future[Schema]"]


async def poll_target(
    live: LiveState,
    inst: Instance,
    schema: str,
    filters: Filters,
    clock: Callable[[], float],
    shared: SharedSchemas | None = None,
    scope: str = "",
    prints: Prints | None = None,
) -> bool:
    """Refresh one target's live side from `inst`; True if its schema changed (sizes are just replaced).

    With `shared` (one dict per poll of a fleet), a shard that must be
    introspected first looks for a shard of the same `scope` (its dir: same
    filters), flavor and group fingerprint that was introspected in this
    poll, and takes a copy of that model under its own name: N shards with a
    new schema cost one introspection, not N.  `prints` are the target's
    fingerprints when the caller read them already (a fleet reads all the
    shards of a server at once: `fingerprints_of`).
    """
    if prints is None:
        prints = (await fingerprints_of(inst, [schema]))[schema]
    fp = prints.fingerprints  # the sizes come from its TABLES scan
    sizes = {name: TableSize(length, rows) for name, (length, rows) in prints.sizes.items()}
    now = clock()
    if live.flavor is None:
        live.flavor = await inst.flavor()
        v = await inst.variables()
        live.server_charset = (v["character_set_server"], v["collation_server"])
    exists = ObjectKey(ObjectType.DATABASE, schema) in fp
    if not exists:
        was = live.exists or live.snapshot_at is None
        live.schema, live.exists, live.fingerprints, live.snapshot_at = None, False, fp, now
        live.sizes = sizes
        return was
    if live.schema is not None and not changed(live.fingerprints, fp):
        live.snapshot_at, live.sizes = now, sizes
        return False
    future: asyncio.Future[Schema] | None = None
    if shared is not None:
        key = (scope, str(live.flavor), group_fingerprint(fp))
        other = shared.get(key)
        if other is not None:
            with contextlib.suppress(Exception):  # that shard failed: read this one itself
                model = await asyncio.shield(other)
                live.schema = replace(model, name=schema, _objects={})
                live.exists, live.fingerprints, live.snapshot_at, live.sizes = True, fp, now, sizes
                return True
        else:
            future = shared[key] = asyncio.get_running_loop().create_future()
    try:
        live.schema = await _introspect(live, inst, schema, filters, fp)
    except BaseException as exc:
        if future is not None:
            future.set_exception(exc if isinstance(exc, Exception) else SchemadError("poll cancelled"))
            future.exception()  # retrieved: a shard nobody waits on is not an unhandled error
        raise
    if future is not None:
        future.set_result(live.schema)
    live.exists, live.fingerprints, live.snapshot_at, live.sizes = True, fp, now, sizes
    return True


async def _introspect(
    live: LiveState, inst: Instance, schema: str, filters: Filters, fp: dict[ObjectKey, str]
) -> Schema:
    """The whole schema the first time; after that only the tables whose fingerprint moved."""
    if live.schema is None:
        return await introspect_schema(inst, schema, filters)
    moved = changed(live.fingerprints, fp)
    tables = {k.name for k in moved if k.type is ObjectType.TABLE}
    part = await introspect_schema(inst, schema, filters, only_tables=tables)
    kept = [tb for tb in live.schema.tables if tb.name not in tables]
    merged = sorted([*kept, *part.tables], key=lambda tb: tb.name)
    return replace(part, tables=tuple(merged), _objects={})
