"""A live table's rows as SQL literals, for pull's `update-seed-inserts`.

The server spells each value: binary strings, blobs, BIT and spatial values
come back as HEX() and are written `0x..` (the file stays UTF-8 whatever the
bytes); every other value as CAST(.. AS CHAR), written bare for numeric
columns and as a quoted string otherwise (schemad.model.keys.escape_string:
quotes doubled, backslash, newline, carriage return, NUL and ^Z escaped),
so a row written, pushed and pulled again is written the same.  Rows come
in primary-key order (every column's order when there is none).  Generated
and system-versioning columns are left out: the server fills them.

It reads at most `limit` rows and says so when the table has more (None):
a cut seed would look complete, so the caller leaves such a table's
INSERTs alone.  It writes nothing.
"""

from __future__ import annotations

from schemad.connection.instance import Instance
from schemad.model.keys import escape_identifier, escape_string
from schemad.model.table import Table
from schemad.records import dataclass

__all__ = ["SEED_ROW_LIMIT", "SeedRows", "read_seed_rows"]

SEED_ROW_LIMIT = 10_000  #: rows pull writes as one table's seed data at most

_HEX_TYPES = frozenset(
    {
        "binary",
        "varbinary",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
        "bit",
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
        "geomcollection",
    }
)
_NUMERIC_TYPES = frozenset(
    {
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "integer",
        "bigint",
        "decimal",
        "numeric",
        "float",
        "double",
        "double precision",
        "real",
        "year",
    }
)


@dataclass(frozen=True, slots=True)
class SeedRows:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # each value an SQL literal


def _order(table: Table, columns: tuple[str, ...]) -> str:
    pk = table.primary_key
    names = [p.column for p in pk.parts if p.column is not None] if pk is not None else []
    return ", ".join(escape_identifier(n) for n in (names or columns))


async def read_seed_rows(
    inst: Instance, schema: str, table: Table, limit: int = SEED_ROW_LIMIT
) -> SeedRows | None:
    """`table`'s rows as literals, in primary-key order; None when it has more than `limit` rows."""
    columns = tuple(c.name for c in table.columns if c.generated is None and c.row_period is None)
    kinds = []
    exprs = []
    for i, name in enumerate(columns):
        col = table.column(name)
        assert col is not None
        base = col.base_type.lower()
        kind = "hex" if base in _HEX_TYPES else "num" if base in _NUMERIC_TYPES else "str"
        q = escape_identifier(name)
        exprs.append(f"HEX({q}) AS c{i}" if kind == "hex" else f"CAST({q} AS CHAR) AS c{i}")
        kinds.append(kind)
    query = (
        f"SELECT {', '.join(exprs)} FROM {escape_identifier(schema)}.{escape_identifier(table.name)}"
        f" ORDER BY {_order(table, columns)} LIMIT {limit + 1}"
    )
    found = await inst.query(query)
    if len(found) > limit:
        return None
    rows = tuple(tuple(_literal(r[f"c{i}"], kind) for i, kind in enumerate(kinds)) for r in found)
    return SeedRows(columns, rows)


def _literal(value: object, kind: str) -> str:
    if value is None:
        return "NULL"
    text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if kind == "hex":
        return f"0x{text}" if text else "''"
    if kind == "num":
        return text
    return escape_string(text)
