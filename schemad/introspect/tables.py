"""Introspect every table of one schema into model.Table values.

A fixed set of bulk information_schema queries (see queries.py) plus one
SHOW CREATE TABLE per table, all run concurrently over the instance's pool.
The few facts information_schema does not expose (index/FK/check order,
explicit `USING`, `PARTITIONS n` shorthand) are read back from the SHOW
CREATE text, as Skeema does.  Each table is then rendered again; a mismatch
marks it unsupported instead of trusting a model that is known to be wrong.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from schemad import lazyre
from schemad.connection.instance import Instance, Row
from schemad.introspect import queries as q
from schemad.model.column import Column, Generated, RowPeriod
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import Flavor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.keys import escape_identifier
from schemad.model.partition import SYSTEM_TIME, Partition, Partitioning, Subpartition
from schemad.model.table import Table

_IDENT = r"`((?:[^`]|``)+)`"
_INDEX_LINE_RE = lazyre.compile(
    r"^  (?:(PRIMARY) KEY|(?:(UNIQUE|FULLTEXT|SPATIAL) )?KEY " + _IDENT + r")", re.M
)
_FK_LINE_RE = lazyre.compile(r"^  CONSTRAINT " + _IDENT + r" FOREIGN KEY", re.M)
_CHECK_LINE_RE = lazyre.compile(r"^  CONSTRAINT " + _IDENT + r" CHECK", re.M)
_INDEX_OPTS_RE = lazyre.compile(
    r"(?: USING (BTREE|HASH|RTREE))?(?: KEY_BLOCK_SIZE=(\d+))?(?: WITH PARSER " + _IDENT + ")?"
)
_AUTO_INC_RE = lazyre.compile(r"\n\) ENGINE=\S+ AUTO_INCREMENT=(\d+)")
_SYSTEM_TIME_RE = lazyre.compile(r"\n PARTITION BY SYSTEM_TIME (.*)\n")
_DEFAULT_PARTITION_RE = lazyre.compile(r"\n[ (]PARTITION " + _IDENT + r" DEFAULT\b")
_CHARSET_RE = lazyre.compile(r"\n\) ENGINE=[^\n]* DEFAULT CHARSET=(\w+)")
# One `NAME=value` item of the table options line of SHOW CREATE TABLE.
_TABLE_OPT_RE = lazyre.compile(
    r" ((?:`(?:[^`]|``)+`)|[A-Z_]+(?: CHARSET)?)="
    r"('(?:[^'\\]|''|\\.)*'|\((?:[^()`]|`(?:[^`]|``)*`)*\)|[^ ]+)"
)
# Options rendered from dedicated model fields rather than kept verbatim.
_MODELLED_OPTS = frozenset({"ENGINE", "AUTO_INCREMENT", "DEFAULT CHARSET", "COLLATE", "COMMENT"})


def _unq(name: str) -> str:
    return name.replace("``", "`")


def show_create_sql(schema: str, table: str) -> str:
    return f"SHOW CREATE TABLE {escape_identifier(schema)}.{escape_identifier(table)}"


def _by_table(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r["tbl"]].append(r)
    return out


_ORDER_BY_RE = lazyre.compile(r"\bORDER BY\b")


def _restrict(sql: str, column: str, names: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """`sql` limited to the tables `names` (None: all), and the extra arguments that takes."""
    if names is None:
        return sql, ()
    cond = f" AND {column} IN ({', '.join(['%s'] * len(names))}) "
    m = _ORDER_BY_RE.search(sql)
    at = m.start() if m else len(sql)
    return sql[:at] + cond + sql[at:], tuple(names)


async def load_tables(
    inst: Instance, schema: str, flavor: Flavor, only: Collection[str] | None = None
) -> list[Table]:
    """The base tables of `schema` (only those named in `only`, when given), sorted by name.

    The same fixed set of bulk queries runs either way; `only` narrows what the
    server reads and returns, which keeps a diff of a few changed tables cheap.
    """
    names_filter = sorted(only) if only is not None else None
    if names_filter == []:
        return []

    async def query(sql: str, args: tuple[str, ...], column: str = "table_name") -> list[Row]:
        text, extra = _restrict(sql, column, names_filter)
        return await inst.query(text, args + extra)

    table_rows = await query(q.TABLES, (schema,))
    if not table_rows:
        return []
    names = [r["name"] for r in table_rows]
    results = await asyncio.gather(
        query(q.COLUMNS, (schema,)),
        query(q.statistics(flavor), (schema,)),
        query(q.FOREIGN_KEYS, (schema, schema), "rc.table_name"),
        query(q.checks(flavor), (schema,), "table_name" if flavor.is_mariadb else "tc.table_name"),
        query(q.PARTITIONS, (schema,)),
        inst.query_many([show_create_sql(schema, n) for n in names]),
    )
    columns, stats, fks, checks, parts = (_by_table(r) for r in results[:5])
    creates = [str(rows[0]["Create Table"]) for rows in results[5]]
    tables = [
        build_table(
            row,
            columns.get(row["name"], []),
            stats.get(row["name"], []),
            fks.get(row["name"], []),
            checks.get(row["name"], []),
            parts.get(row["name"], []),
            create,
            schema,
            flavor,
        )
        for row, create in zip(table_rows, creates, strict=True)
    ]
    return sorted(tables, key=lambda t: t.name)


_ON_UPDATE_RE = lazyre.compile(r"on update ([^\s,]+)", re.I)
_ROW_PERIODS = {"ROW START": RowPeriod.START, "ROW END": RowPeriod.END}


def _column(r: Row, col_checks: dict[str, str]) -> Column:
    raw_extra = r["extra"]
    extra = raw_extra.lower() if raw_extra else ""
    generated = None
    on_update = None
    row_period = None
    if extra:  # most columns have no EXTRA at all
        if "virtual generated" in extra or extra.strip() == "virtual":
            generated = Generated.VIRTUAL
        elif "stored generated" in extra or "persistent" in extra:
            generated = Generated.STORED
            # MariaDB reports a system-versioned table's ROW START/END column as a STORED
            # GENERATED column whose expression is `ROW START` / `ROW END`.
            row_period = _ROW_PERIODS.get(r["gen_expr"] or "")
            if row_period is not None:
                generated = None
        if "on update" in extra:
            m = _ON_UPDATE_RE.search(raw_extra)
            on_update = m[1] if m else None
    default = r["dflt"]
    return Column(
        name=r["name"],
        type=r["type"],
        nullable=r["nullable"] == "YES",
        default=None if default is None else str(default),
        on_update=on_update,
        auto_increment="auto_increment" in extra,
        generation_expr=r["gen_expr"] if generated else None,
        generated=generated,
        char_set=r["char_set"],
        collation=r["collation"],
        comment=r["comment"] or "",
        invisible="invisible" in extra,
        check_clause=col_checks.get(r["name"]),
        row_period=row_period,
        without_versioning="without system versioning" in extra,
    )


def _indexes(stats: list[Row], create: str) -> tuple[Index | None, list[Index]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for r in stats:
        grouped[r["name"]].append(r)
    built: dict[str, Index] = {}
    for name, rows in grouped.items():
        first = rows[0]
        if name == "PRIMARY":
            kind = IndexKind.PRIMARY
        elif first["index_type"] == "FULLTEXT":
            kind = IndexKind.FULLTEXT
        elif first["index_type"] == "SPATIAL":
            kind = IndexKind.SPATIAL
        elif not int(first["non_unique"]):
            kind = IndexKind.UNIQUE
        else:
            kind = IndexKind.PLAIN
        parts = tuple(
            IndexPart(
                column=r["col"],
                # SPATIAL keys report an internal prefix that SHOW CREATE never prints.
                prefix=int(r["sub_part"]) if r["sub_part"] and kind is not IndexKind.SPATIAL else None,
                descending=r["collation"] == "D",
                expression=r["expr"] or None,
            )
            for r in rows
        )
        built[name] = Index(
            name=name,
            kind=kind,
            parts=parts,
            comment=first["comment"] or "",
            invisible=bool(int(first["invisible"] or 0)),
        )
    # Order and explicit options come from SHOW CREATE (information_schema has neither).
    ordered: list[Index] = []
    for m in _INDEX_LINE_RE.finditer(create):
        name = "PRIMARY" if m[1] else _unq(m[3])
        idx = built.pop(name, None)
        if idx is None:
            continue
        head = idx.head()
        at = m.start() + 2
        if create.startswith(head, at):
            opt = _INDEX_OPTS_RE.match(create, at + len(head))
            if opt and opt.group(0):
                idx = replace(
                    idx,
                    using=opt[1],
                    key_block_size=int(opt[2]) if opt[2] else None,
                    parser=_unq(opt[3]) if opt[3] else None,
                )
        ordered.append(idx)
    ordered += built.values()  # anything the text did not show (rendering will then differ)
    pk = next((i for i in ordered if i.kind is IndexKind.PRIMARY), None)
    return pk, [i for i in ordered if i.kind is not IndexKind.PRIMARY]


def _foreign_keys(rows: list[Row], create: str, schema: str) -> list[ForeignKey]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        grouped[r["name"]].append(r)
    built = {
        name: ForeignKey(
            name=name,
            columns=tuple(r["col"] for r in rs),
            referenced_schema="" if rs[0]["ref_schema"] == schema else rs[0]["ref_schema"],
            referenced_table=rs[0]["ref_table"],
            referenced_columns=tuple(r["ref_col"] for r in rs),
            on_delete=rs[0]["on_delete"],
            on_update=rs[0]["on_update"],
        )
        for name, rs in grouped.items()
    }
    order = [_unq(m[1]) for m in _FK_LINE_RE.finditer(create)]
    out = [built.pop(n) for n in order if n in built]
    return out + list(built.values())


def _checks(rows: list[Row], create: str) -> tuple[list[Check], dict[str, str]]:
    table_level = {
        r["name"]: Check(name=r["name"], clause=r["clause"], enforced=r["enforced"] == "YES")
        for r in rows
        if r["level"] != "Column"
    }
    col_level = {r["name"]: r["clause"] for r in rows if r["level"] == "Column"}
    order = [_unq(m[1]) for m in _CHECK_LINE_RE.finditer(create)]
    out = [table_level.pop(n) for n in order if n in table_level]
    return out + list(table_level.values()), col_level


def _partitioning(rows: list[Row], create: str, engine: str) -> Partitioning | None:
    if not rows:
        return None
    first = rows[0]
    parts: dict[str, Partition] = {}
    subs: dict[str, list[Subpartition]] = defaultdict(list)
    for r in rows:
        if r["name"] not in parts:
            parts[r["name"]] = Partition(
                name=r["name"], values=r["descr"], comment=r["comment"] or "", engine=engine
            )
        if r["sub_name"]:
            subs[r["name"]].append(Subpartition(r["sub_name"], r["comment"] or ""))
    tail = create[create.rfind("\n) ") :]
    # information_schema reports a LIST table's DEFAULT partition as `0` on MariaDB 10.11 (as
    # MAXVALUE elsewhere), which a real `VALUES IN (0)` also is: SHOW CREATE tells them apart.
    for m in _DEFAULT_PARTITION_RE.finditer(tail):
        if (name := _unq(m[1])) in parts and first["method"].startswith("LIST"):
            parts[name] = replace(parts[name], values="DEFAULT")
    default_subs = "\nSUBPARTITIONS " in tail
    # Declared with neither a list nor a count, the server prints neither (one (sub)partition each).
    implicit_subs = bool(first["sub_method"]) and not default_subs and "(SUBPARTITION " not in tail
    if first["sub_method"] and not default_subs and not implicit_subs:
        parts = {n: replace(p, comment="", subpartitions=tuple(subs[n])) for n, p in parts.items()}
    expression = first["expr"] or ""
    if first["method"] == SYSTEM_TIME:
        # information_schema has `unix_timestamp(row_end)`; SHOW CREATE prints LIMIT/INTERVAL instead.
        head = _SYSTEM_TIME_RE.search(tail)
        expression = head[1] if head else expression
    return Partitioning(
        method=first["method"],
        expression=expression,
        partitions=tuple(parts.values()),
        sub_method=first["sub_method"],
        sub_expression=first["sub_expr"],
        sub_count=len(subs[first["name"]]) if first["sub_method"] else 0,
        default_partitions="\nPARTITIONS " in tail,
        default_subpartitions=default_subs,
        implicit_partitions="\nPARTITIONS " not in tail and "(PARTITION " not in tail,
        implicit_subpartitions=implicit_subs,
    )


def _create_options(create: str) -> tuple[str, ...]:
    """The table options of SHOW CREATE that have no model field, in server order.

    information_schema.TABLES.CREATE_OPTIONS is not faithful (Aria reports
    `transactional=1` where SHOW CREATE prints `PAGE_CHECKSUM=1`; MERGE tables
    report nothing), so the options line itself is read.
    """
    tail = create[create.rfind("\n) ") + 2 :].split("\n", 1)[0]
    return tuple(f"{m[1]}={m[2]}" for m in _TABLE_OPT_RE.finditer(tail) if m[1] not in _MODELLED_OPTS)


def build_table(
    row: Row,
    columns: list[Row],
    stats: list[Row],
    fks: list[Row],
    checks: list[Row],
    parts: list[Row],
    create: str,
    schema: str,
    flavor: Flavor,
) -> Table:
    table_checks, col_checks = _checks(checks, create)
    pk, secondary = _indexes(stats, create)
    engine = row["engine"] or ""
    # SHOW CREATE, not information_schema, is authoritative: MyISAM keeps a
    # table-level AUTO_INCREMENT even without an auto_increment column.
    m = _AUTO_INC_RE.search(create)
    auto_inc: Any = m[1] if m else None
    m = _CHARSET_RE.search(create)
    table = Table(
        name=row["name"],
        columns=tuple(_column(c, col_checks) for c in columns),
        engine=engine,
        char_set=m[1] if m else "",
        collation=row["collation"] or "",
        primary_key=pk,
        secondary_indexes=tuple(secondary),
        foreign_keys=tuple(_foreign_keys(fks, create, schema)),
        checks=tuple(table_checks),
        create_options=_create_options(create),
        comment=row["comment"] or "",
        auto_increment=int(auto_inc) if auto_inc is not None else None,
        partitioning=_partitioning(parts, create, engine),
        system_versioned=row["type"] == "SYSTEM VERSIONED",
        show_create=create,
    )
    if table.create_statement(flavor) != create:
        table = replace(table, unsupported=True)
    return table
