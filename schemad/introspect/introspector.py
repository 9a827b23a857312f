"""Introspect whole schemas: tables, views, routines, triggers and events.

Schemas are read concurrently, and within a schema every kind of object is
read concurrently; each loader issues a fixed number of bulk queries plus
one SHOW CREATE per object, so the query count grows with objects only
through SHOW CREATE.  Ignore filters are applied after reading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from schemad.connection.instance import Instance
from schemad.errors import SchemadError
from schemad.introspect import queries as q
from schemad.introspect.filters import Filters
from schemad.introspect.objects import load_events, load_routines, load_triggers, load_views
from schemad.introspect.tables import load_tables
from schemad.model.keys import ObjectType
from schemad.model.schema import Schema


async def introspect_schema(
    inst: Instance,
    name: str,
    filters: Filters | None = None,
    *,
    only_tables: Collection[str] | None = None,
    kinds: Collection[ObjectType] | None = None,
) -> Schema:
    """A whole schema; with `only_tables`, just those tables (and every other kind of object).

    `kinds` (default: all) names the other kinds worth reading, for a caller
    that knows which the schema holds: each loader left out is a query saved.
    """
    flavor = await inst.flavor()

    async def none() -> list[Any]:
        return []

    def wanted(*types: ObjectType) -> bool:
        return kinds is None or any(t in kinds for t in types)

    head, tables, views, routines, triggers, events = await asyncio.gather(
        inst.query(q.SCHEMA, (name,)),
        load_tables(inst, name, flavor, only_tables),
        load_views(inst, name, flavor) if wanted(ObjectType.VIEW) else none(),
        load_routines(inst, name, flavor) if wanted(ObjectType.PROCEDURE, ObjectType.FUNCTION) else none(),
        load_triggers(inst, name, flavor) if wanted(ObjectType.TRIGGER) else none(),
        load_events(inst, name, flavor) if wanted(ObjectType.EVENT) else none(),
    )
    if not head:
        raise SchemadError(f"{inst.params.address}: schema {name} does not exist")
    f = filters or Filters()
    return Schema(
        name=name,
        char_set=head[0]["char_set"],
        collation=head[0]["collation"],
        tables=tuple(t for t in tables if not f.ignores(t.key.type, t.name)),
        views=tuple(v for v in views if not f.ignores(v.key.type, v.name)),
        routines=tuple(r for r in routines if not f.ignores(r.key.type, r.name)),
        triggers=tuple(t for t in triggers if not f.ignores(t.key.type, t.name, on_table=t.table)),
        events=tuple(e for e in events if not f.ignores(e.key.type, e.name)),
    )


async def introspect(inst: Instance, names: list[str], filters: Filters | None = None) -> list[Schema]:
    """Several schemas, concurrently, in the order given."""
    return list(await asyncio.gather(*(introspect_schema(inst, n, filters) for n in names)))
