"""Read only the SHOW CREATE text of every object of a schema.

`init` and `pull` write the server's canonical text and need nothing else, so
they skip building the structured model: one query lists the objects of each
kind, then SHOW CREATE runs per object in batches.  System-versioned tables
(MariaDB) are the exception: they are also introspected in full, so that the
ones the model cannot reproduce are flagged `unsupported`.  Diff and push use the
full introspection (introspector.py), which also checks the model renders
each object exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import field, replace

from schemad.connection.instance import Instance
from schemad.errors import SchemadError
from schemad.introspect import queries as q
from schemad.introspect import queries_objects as qo
from schemad.introspect.filters import Filters
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.records import dataclass

# The SHOW CREATE result column holding the text, per object type.
_TEXT_COLUMN = {ObjectType.TABLE: "Create Table"} | {
    ObjectType(kind.lower()): column for kind, column in qo.SHOW_CREATE_COLUMN.items()
}

# MariaDB lists a table WITH SYSTEM VERSIONING as 'SYSTEM VERSIONED', not 'BASE TABLE'.
_NAMES = """
SELECT table_name AS name, IF(table_type = 'VIEW', 'view', 'table') AS type,
       table_type = 'SYSTEM VERSIONED' AS versioned, NULL AS on_table
  FROM information_schema.tables
 WHERE table_schema = %s AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')
UNION ALL
SELECT routine_name, LOWER(routine_type), 0, NULL FROM information_schema.routines WHERE routine_schema = %s
UNION ALL
SELECT trigger_name, 'trigger', 0, event_object_table
  FROM information_schema.triggers WHERE trigger_schema = %s
UNION ALL
SELECT event_name, 'event', 0, NULL FROM information_schema.events WHERE event_schema = %s
"""


@dataclass(frozen=True, slots=True)
class CreateText:
    """An object known only by its canonical CREATE text."""

    key: ObjectKey
    show_create: str
    unsupported: bool = field(default=False, compare=False)

    @property
    def name(self) -> str:
        return self.key.name

    def create_statement(self, flavor: Flavor) -> str:
        return self.show_create


@dataclass(frozen=True, slots=True)
class SchemaTexts:
    name: str
    char_set: str
    collation: str
    texts: dict[ObjectKey, CreateText]

    def objects(self) -> dict[ObjectKey, CreateText]:
        return self.texts


async def load_texts(inst: Instance, schema: str, filters: Filters | None = None) -> SchemaTexts:
    head, rows = await asyncio.gather(
        inst.query(q.SCHEMA, (schema,)), inst.query(_NAMES, (schema, schema, schema, schema))
    )
    if not head:
        raise SchemadError(f"{inst.params.address}: schema {schema} does not exist")
    f = filters or Filters()
    keys = sorted(
        ObjectKey(ObjectType(r["type"]), r["name"])
        for r in rows
        if not f.ignores(ObjectType(r["type"]), r["name"], on_table=r["on_table"])
    )
    qs = escape_identifier(schema)
    views = [k for k in keys if k.type is ObjectType.VIEW]
    others = [k for k in keys if k.type is not ObjectType.VIEW]

    def sql(k: ObjectKey) -> str:
        return f"SHOW CREATE {k.type.sql} {qs}.{escape_identifier(k.name)}"

    # SHOW CREATE VIEW leaves the view's schema out only when it is the current database.
    other_rows, view_rows = await asyncio.gather(
        inst.query_many([sql(k) for k in others]),
        inst.query_many([sql(k) for k in views], prefix=f"USE {qs}"),
    )
    texts = {
        k: CreateText(k, str(r[0][_TEXT_COLUMN[k.type]]))
        for k, r in zip([*others, *views], [*other_rows, *view_rows], strict=True)
    }
    versioned = [r["name"] for r in rows if r["versioned"] and r["type"] == "table"]
    versioned = [n for n in versioned if ObjectKey(ObjectType.TABLE, n) in texts]  # not ignored
    if versioned:
        # System-versioned tables (MariaDB) are rare and have the most ways to escape the model:
        # they are read in full, so that init and pull can say which of them schemad cannot alter.
        from schemad.introspect.tables import load_tables  # the table model: only for these

        for table in await load_tables(inst, schema, await inst.flavor(), versioned):
            if table.unsupported and table.key in texts:
                texts[table.key] = replace(texts[table.key], unsupported=True)
    return SchemaTexts(schema, head[0]["char_set"], head[0]["collation"], texts)
