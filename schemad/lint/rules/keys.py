"""Key rules: pk, pk-type, dupe-index, fk-parent, has-fk.

dupe-index does not flag MySQL SPATIAL indexes on columns without an SRID
(Skeema does): the model does not carry column SRIDs.
"""

from __future__ import annotations

from collections.abc import Iterator

from schemad.lint.options import LintOptions, normalize_type
from schemad.lint.rule import Rule, for_type
from schemad.model.flavor import Flavor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.keys import escape_identifier as q
from schemad.model.schema import Schema
from schemad.model.table import Table

__all__ = ["DUPE_INDEX", "FK_PARENT", "HAS_FK", "PK", "PK_TYPE"]


def _pk(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[tuple[str, None]]:
    if table.primary_key is None:
        yield f"table {q(table.name)} has no primary key", None


def _pk_type(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[tuple[str, str]]:
    if table.primary_key is None:
        return
    for part in table.primary_key.parts:
        col = table.column(part.column) if part.column else None
        if col is not None and normalize_type(col.type) not in opts.allow_pk_type:
            allowed = ", ".join(sorted(opts.allow_pk_type)) or "(none)"
            yield (
                f"primary key column {q(col.name)} of table {q(table.name)} has type {col.type};"
                f" allow-pk-type is {allowed}",
                col.name,
            )


def _part_key(part: IndexPart) -> tuple[str, str]:
    return ((part.column or "").lower(), part.expression or "")


def _covers(part: IndexPart, other: IndexPart) -> bool:
    """Whether `other` (a part of the covering index) serves every lookup `part` serves."""
    if _part_key(part) != _part_key(other) or part.descending != other.descending:
        return False
    if other.prefix is None:
        return True
    return part.prefix is not None and part.prefix <= other.prefix


def _redundant_to(idx: Index, other: Index, idx_first: bool) -> bool:
    """Whether secondary index `idx` adds nothing over `other` (`idx_first`: idx is listed first)."""
    if other.invisible:
        return False
    special = (IndexKind.FULLTEXT, IndexKind.SPATIAL)
    if idx.kind in special or other.kind in special:
        # Only an identical index of the same special kind makes one redundant.
        same = idx.kind is other.kind and [_part_key(p) for p in idx.parts] == [
            _part_key(p) for p in other.parts
        ]
        return same and not idx_first
    if len(idx.parts) > len(other.parts):
        return False
    if not all(_covers(p, o) for p, o in zip(idx.parts, other.parts, strict=False)):
        return False
    same_parts = len(idx.parts) == len(other.parts) and all(
        p.prefix == o.prefix for p, o in zip(idx.parts, other.parts, strict=True)
    )
    if idx.is_unique:
        # A unique index only duplicates another unique index on exactly the same parts.
        if not (other.is_unique and same_parts):
            return False
        return other.kind is IndexKind.PRIMARY or not idx_first
    if same_parts and not other.is_unique:
        return not idx_first  # two identical plain indexes: flag the later one
    return True


def _dupe_index(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[tuple[str, str]]:
    indexes = table.indexes
    for pos, idx in enumerate(indexes):
        if idx.kind is IndexKind.PRIMARY or idx.invisible:
            continue
        for other_pos, other in enumerate(indexes):
            if other_pos != pos and _redundant_to(idx, other, pos < other_pos):
                what = "the primary key" if other.kind is IndexKind.PRIMARY else f"index {q(other.name)}"
                yield f"index {q(idx.name)} of table {q(table.name)} is redundant to {what}", idx.name
                break


def _has_unique_on(table: Table, columns: tuple[str, ...]) -> bool:
    want = [c.lower() for c in columns]
    return any(
        idx.is_unique
        and [(p.column or "").lower() for p in idx.parts] == want
        and all(p.prefix is None for p in idx.parts)
        for idx in table.indexes
    )


def _fk_parent(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[tuple[str, str]]:
    for fk in table.foreign_keys:
        if fk.referenced_schema and fk.referenced_schema != schema.name:
            continue  # another schema's tables are not known here
        parent = schema.table(fk.referenced_table)
        if parent is None:
            yield (
                f"foreign key {q(fk.name)} of table {q(table.name)} references missing table"
                f" {q(fk.referenced_table)}",
                fk.name,
            )
        elif not _has_unique_on(parent, fk.referenced_columns):
            cols = ", ".join(q(c) for c in fk.referenced_columns)
            yield (
                f"foreign key {q(fk.name)} of table {q(table.name)} references ({cols}) of"
                f" {q(parent.name)}, which has no primary key or unique index on exactly those columns",
                fk.name,
            )


def _has_fk(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[tuple[str, str]]:
    for fk in table.foreign_keys:
        yield f"table {q(table.name)} has foreign key {q(fk.name)}", fk.name


PK = Rule("pk", for_type(Table, _pk), "table without PRIMARY KEY")
PK_TYPE = Rule("pk-type", for_type(Table, _pk_type), "primary key column type not allowed")
DUPE_INDEX = Rule("dupe-index", for_type(Table, _dupe_index), "redundant index")
FK_PARENT = Rule(
    "fk-parent", for_type(Table, _fk_parent), "foreign key parent missing or without unique index"
)
HAS_FK = Rule("has-fk", for_type(Table, _has_fk), "any foreign key")
