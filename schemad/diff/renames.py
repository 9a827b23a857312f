"""Renames a file asks for with a `@renamed from=old` annotation: which apply, and what follows from them.

The annotation is a comment, so the server drops it; whoever reads the files
(schemad.sqltext.renames) carries it into the desired model as the
`renamed_from` field of a Table, Column or Index.  Here, with the live side
at hand, an annotation *applies* when the live side has the old name and not
the new one, and the desired side no longer has the old name; otherwise it is
ignored (nothing changes: without an annotation that applies, a rename stays a
drop plus an add, as in Skeema).  An annotation whose new name the live side
already has is *stale*: it was pushed before and can go (`lint-stale-rename`
says so; `pull` rewrites the file without it).

A renamed column keeps its place in every index, foreign key, CHECK and
generation expression: the server rewrites those references itself (MariaDB
10.11, MySQL 8.0; a renamed table is followed by the foreign keys that name
it).  `renamed_references` and `renamed_parents` predict that rewriting on the
live model, so the differ compares like with like and emits no rebuild for
it.  Pure code: no I/O.  Names are never guessed from similarity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from schemad import lazyre
from schemad.model.constraint import Check, ForeignKey
from schemad.model.index import Index
from schemad.model.keys import escape_identifier
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.records import dataclass

__all__ = [
    "StaleRename",
    "column_renames",
    "index_renames",
    "mentions",
    "renamed_parents",
    "renamed_references",
    "stale_renames",
    "table_renames",
]


def table_renames(before: Schema, after: Schema) -> dict[str, str]:
    """Live table name -> desired name, for each desired table whose annotation applies."""
    old_names = {t.name for t in before.tables}
    new_names = {t.name for t in after.tables}
    out: dict[str, str] = {}
    for t in after.tables:
        old = t.renamed_from
        if old is None or old not in old_names or t.name in old_names or old in new_names or old in out:
            continue
        out[old] = t.name
    return out


def column_renames(before: Table, after: Table) -> dict[str, str]:
    """Live column name (lower case) -> desired name, for each desired column whose annotation applies.

    Column names are case-insensitive on both vendors.
    """
    out: dict[str, str] = {}
    for col in after.columns:
        if col.renamed_from is None:
            continue
        old = before.column(col.renamed_from)
        if old is None or before.column(col.name) is not None or after.column(col.renamed_from) is not None:
            continue
        if old.name.lower() not in out:
            out[old.name.lower()] = col.name
    return out


def index_renames(before: Iterable[Index], after: Iterable[Index]) -> dict[str, str]:
    """Desired index name -> live index name, for each desired secondary index whose annotation applies."""
    old_names = {i.name.lower(): i.name for i in before}
    new_names = {i.name.lower() for i in after}
    out: dict[str, str] = {}
    claimed: set[str] = set()
    for idx in after:
        src = idx.renamed_from
        if src is None or src.lower() not in old_names or idx.name.lower() in old_names:
            continue
        if src.lower() in new_names or src.lower() in claimed or src.lower() == "primary":
            continue
        claimed.add(src.lower())
        out[idx.name] = old_names[src.lower()]
    return out


###### what the server rewrites by itself ######

# A single-quoted string (skipped) or a backticked name, as the server prints expressions.
_QUOTED_OR_NAME = lazyre.compile(r"'(?:[^'\\]|\\.|'')*'|`((?:[^`]|``)*)`", re.S)


def _renamed_in_expression(expr: str, columns: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m[1] is None:
            return m[0]
        new = columns.get(m[1].replace("``", "`").lower())
        return escape_identifier(new) if new is not None else m[0]

    return _QUOTED_OR_NAME.sub(sub, expr) if "`" in expr else expr


def mentions(expr: str, columns: Iterable[str]) -> bool:
    """Whether `expr` (as the server prints it) names one of `columns` (lower case), outside strings."""
    wanted = set(columns)
    if not wanted or "`" not in expr:
        return False
    return any(
        m[1] is not None and m[1].replace("``", "`").lower() in wanted for m in _QUOTED_OR_NAME.finditer(expr)
    )


def _renamed_parts(idx: Index, columns: Mapping[str, str]) -> Index:
    parts = tuple(
        replace(p, column=columns[p.column.lower()])
        if p.column is not None and p.column.lower() in columns
        else replace(p, expression=_renamed_in_expression(p.expression, columns))
        if p.expression is not None
        else p
        for p in idx.parts
    )
    return idx if parts == idx.parts else replace(idx, parts=parts)


def renamed_references(table: Table, columns: Mapping[str, str]) -> Table:
    """`table` (live) as the server shows it once `columns` (lower-case old name -> new) are renamed.

    Only the references move: index parts, foreign key columns, CHECK clauses
    and generation expressions.  The columns themselves keep their names, so
    the differ can still pair each old column with its new self.
    """
    if not columns:
        return table
    cols = tuple(
        replace(
            c,
            generation_expr=_renamed_in_expression(c.generation_expr, columns)
            if c.generation_expr is not None
            else None,
            check_clause=_renamed_in_expression(c.check_clause, columns)
            if c.check_clause is not None
            else None,
        )
        for c in table.columns
    )
    fks = tuple(
        replace(fk, columns=tuple(columns.get(c.lower(), c) for c in fk.columns)) for fk in table.foreign_keys
    )
    checks = tuple(
        Check(ck.name, _renamed_in_expression(ck.clause, columns), ck.enforced) for ck in table.checks
    )
    return replace(
        table,
        columns=cols,
        primary_key=_renamed_parts(table.primary_key, columns) if table.primary_key is not None else None,
        secondary_indexes=tuple(_renamed_parts(i, columns) for i in table.secondary_indexes),
        foreign_keys=fks,
        checks=checks,
    )


def renamed_parents(
    table: Table, tables: Mapping[str, str], columns: Mapping[str, Mapping[str, str]]
) -> Table:
    """`table` (live) with its foreign keys following renamed parent tables and columns.

    `tables` maps live table names to desired ones; `columns` maps a live
    table name to that table's column renames (lower-case old -> new).  Only
    parents in the table's own schema move (the renames are of one schema).
    """

    def moved(fk: ForeignKey) -> ForeignKey:
        if fk.referenced_schema:
            return fk
        renamed = columns.get(fk.referenced_table, {})
        return replace(
            fk,
            referenced_table=tables.get(fk.referenced_table, fk.referenced_table),
            referenced_columns=tuple(renamed.get(c.lower(), c) for c in fk.referenced_columns),
        )

    fks = tuple(moved(fk) for fk in table.foreign_keys)
    return table if fks == table.foreign_keys else replace(table, foreign_keys=fks)


###### stale annotations ######


@dataclass(frozen=True, slots=True)
class StaleRename:
    """An annotation whose new name the live side already has: it did its work and can go."""

    table: str  # the desired table's name
    kind: str  # "table", "column" or "index"
    name: str  # the annotated (desired) name
    renamed_from: str

    def __str__(self) -> str:
        what = f"{self.kind} {escape_identifier(self.name)}"
        if self.kind != "table":
            what += f" of table {escape_identifier(self.table)}"
        return f"{what}: the live schema already has this name; `@renamed from={self.renamed_from}` can go"


def stale_renames(live: Table | None, desired: Table) -> list[StaleRename]:
    """The annotations of `desired` whose new name `live` (the live table of that name) already has."""
    if live is None:
        return []
    out: list[StaleRename] = []
    if desired.renamed_from is not None:
        out.append(StaleRename(desired.name, "table", desired.name, desired.renamed_from))
    for col in desired.columns:
        if col.renamed_from is not None and live.column(col.name) is not None:
            out.append(StaleRename(desired.name, "column", col.name, col.renamed_from))
    live_indexes = {i.name.lower() for i in live.secondary_indexes}
    for idx in desired.secondary_indexes:
        if idx.renamed_from is not None and idx.name.lower() in live_indexes:
            out.append(StaleRename(desired.name, "index", idx.name, idx.renamed_from))
    return out
