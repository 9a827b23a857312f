"""The live side of one target: its schema as last polled, and the pooled connections that read it.

A `LiveState` is kept per target (server x schema) of an environment: the
live schema, the per-object fingerprints it was read with, each table's size
and row count, and when.  `poll_target` refreshes it: the six fingerprint
queries when nothing changed (the sizes come from the same scan of
information_schema.TABLES, never hashed: they move without DDL), and a
re-introspection of only the objects whose fingerprint moved.
`InstancePool` holds one pooled `Instance` per server, replaced when the
server's connection settings change and dropped after a failed poll.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.introspect.filters import Filters
from schemad.introspect.fingerprint import changed, fingerprints
from schemad.introspect.introspector import introspect_schema
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.schema import Schema
from schemad.plan.planner import TableSize

__all__ = ["InstancePool", "LiveState", "poll_target"]


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


async def poll_target(
    live: LiveState, inst: Instance, schema: str, filters: Filters, clock: Callable[[], float]
) -> bool:
    """Refresh one target's live side from `inst`; True if its schema changed (sizes are just replaced)."""
    lengths: dict[str, tuple[int, int]] = {}
    fp = await fingerprints(inst, schema, lengths)  # the sizes come from its TABLES scan
    sizes = {name: TableSize(length, rows) for name, (length, rows) in lengths.items()}
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
    if live.schema is None:
        live.schema = await introspect_schema(inst, schema, filters)
    else:
        moved = changed(live.fingerprints, fp)
        if not moved:
            live.snapshot_at, live.sizes = now, sizes
            return False
        tables = {k.name for k in moved if k.type is ObjectType.TABLE}
        part = await introspect_schema(inst, schema, filters, only_tables=tables)
        kept = [tb for tb in live.schema.tables if tb.name not in tables]
        merged = sorted([*kept, *part.tables], key=lambda tb: tb.name)
        live.schema = replace(part, tables=tuple(merged), _objects={})
    live.exists, live.fingerprints, live.snapshot_at, live.sizes = True, fp, now, sizes
    return True
