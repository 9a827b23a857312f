"""Column: one table column and its canonical definition text.

Pure data; rendering follows the server's SHOW CREATE TABLE for the flavor.
The type is kept as the server spells it (`int(10) unsigned zerofill`,
`enum('a','b')`, `blob /*M!100301 COMPRESSED*/`) because that text is exactly
what SHOW CREATE prints; structured accessors parse it on demand.
"""

from __future__ import annotations

import re
from dataclasses import field
from enum import StrEnum

from schemad import lazyre
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier, escape_string
from schemad.records import dataclass

_COMPRESSED_MARK = "/*M!100301 COMPRESSED*/"
_BASE_TYPE_RE = lazyre.compile(
    r"^([a-z0-9_ ]+?)(?:\((.*)\))?((?: unsigned| zerofill| signed)*)(?: .*)?$", re.S
)


class Generated(StrEnum):
    VIRTUAL = "VIRTUAL"
    STORED = "STORED"


class RowPeriod(StrEnum):
    """Which end of a system-versioned table's SYSTEM_TIME period a column holds (MariaDB)."""

    START = "START"  # GENERATED ALWAYS AS ROW START
    END = "END"  # GENERATED ALWAYS AS ROW END


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # full type as SHOW CREATE prints it, e.g. "decimal(10,2) unsigned"
    nullable: bool = True
    default: str | None = None  # SQL text of the default ("NULL", "'x'", "current_timestamp()"); None = none
    on_update: str | None = None  # e.g. "current_timestamp(3)"
    auto_increment: bool = False
    generation_expr: str | None = None  # expression of a generated column, without the parentheses
    generated: Generated | None = None
    char_set: str | None = None  # only for textual types
    collation: str | None = None  # only for textual types
    comment: str = ""
    invisible: bool = False
    check_clause: str | None = None  # MariaDB column-level CHECK (...)
    # MariaDB system versioning: an explicit ROW START/END column (the server prints neither its
    # NOT NULL nor a default), and a column whose changes keep no history (WITHOUT SYSTEM VERSIONING).
    row_period: RowPeriod | None = None
    without_versioning: bool = False
    # The file's `/* @renamed from=old */` annotation; never on an introspected column.  Not part of
    # equality: the annotation says how to get here, not what the column is.
    renamed_from: str | None = field(default=None, compare=False)

    @property
    def base_type(self) -> str:
        """The type name without length or attributes: `int`, `varchar`, `enum`."""
        m = _BASE_TYPE_RE.match(self.type)
        return (m[1] if m else self.type).strip()

    @property
    def unsigned(self) -> bool:
        return " unsigned" in self.type

    @property
    def zerofill(self) -> bool:
        return " zerofill" in self.type

    @property
    def compressed(self) -> bool:
        """MariaDB column compression (`COMPRESSED` attribute)."""
        return _COMPRESSED_MARK in self.type

    @property
    def is_virtual(self) -> bool:
        return self.generated is Generated.VIRTUAL

    def definition(self, flavor: Flavor, table_collation: str) -> str:
        """The column's line inside CREATE TABLE (without indentation or comma)."""
        parts = [escape_identifier(self.name), " ", self.type]
        if self.collation is not None and self.collation != table_collation:
            parts += [" CHARACTER SET ", self.char_set or "", " COLLATE ", self.collation]
        if self.generated is not None:
            parts += [" GENERATED ALWAYS AS (", self.generation_expr or "", ") ", self.generated.value]
            if self.invisible:
                parts.append(" INVISIBLE")
        elif self.row_period is not None:
            parts += [" GENERATED ALWAYS AS ROW ", self.row_period.value]
            if self.invisible:
                parts.append(" INVISIBLE")
        else:
            if not self.nullable:
                parts.append(" NOT NULL")
            elif self.base_type == "timestamp":
                # TIMESTAMP columns are NOT NULL unless told otherwise, so NULL is explicit.
                parts.append(" NULL")
            if self.invisible:
                parts.append(" INVISIBLE")
            if self.default is not None:
                parts += [" DEFAULT ", self.default]
            if self.without_versioning:
                parts.append(" WITHOUT SYSTEM VERSIONING")  # MariaDB prints it before ON UPDATE
            if self.on_update is not None:
                parts += [" ON UPDATE ", self.on_update]
            if self.auto_increment:
                parts.append(" AUTO_INCREMENT")
        if self.comment:
            parts += [" COMMENT ", escape_string(self.comment)]
        if self.check_clause is not None:
            parts += [" CHECK (", self.check_clause, ")"]
        return "".join(parts)
