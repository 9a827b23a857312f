"""Index: primary, unique, plain, fulltext and spatial keys.

Pure data.  Parts are either a column (optionally with a prefix length and a
direction) or, on MySQL 8, a functional expression.
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum

from schemad.model.keys import escape_identifier, escape_string
from schemad.records import dataclass


class IndexKind(StrEnum):
    PRIMARY = "PRIMARY"
    UNIQUE = "UNIQUE"
    PLAIN = "KEY"
    FULLTEXT = "FULLTEXT"
    SPATIAL = "SPATIAL"


@dataclass(frozen=True, slots=True)
class IndexPart:
    column: str | None  # None for a functional part
    prefix: int | None = None  # prefix length in characters, as SHOW CREATE prints it
    descending: bool = False
    expression: str | None = None  # functional key part (MySQL 8.0.13+)

    def definition(self) -> str:
        if self.expression is not None:
            text = f"({self.expression})"
        else:
            assert self.column is not None
            text = escape_identifier(self.column)
            if self.prefix:
                text += f"({self.prefix})"
        return text + (" DESC" if self.descending else "")


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    kind: IndexKind
    parts: tuple[IndexPart, ...]
    comment: str = ""
    using: str | None = None  # explicit `USING BTREE|HASH|RTREE` as the server prints it
    key_block_size: int | None = None  # index-level KEY_BLOCK_SIZE (MyISAM/Aria)
    parser: str | None = None  # FULLTEXT `WITH PARSER`
    invisible: bool = False  # MySQL INVISIBLE / MariaDB IGNORED
    renamed_from: str | None = field(default=None, compare=False)  # the file's `@renamed from=` annotation

    @property
    def is_unique(self) -> bool:
        return self.kind in (IndexKind.PRIMARY, IndexKind.UNIQUE)

    def head(self) -> str:
        """The index line up to the end of its part list."""
        cols = ",".join(p.definition() for p in self.parts)
        if self.kind is IndexKind.PRIMARY:
            return f"PRIMARY KEY ({cols})"
        if self.kind is IndexKind.PLAIN:
            return f"KEY {escape_identifier(self.name)} ({cols})"
        return f"{self.kind.value} KEY {escape_identifier(self.name)} ({cols})"

    def definition(self, is_mariadb: bool = True) -> str:
        """The index line inside CREATE TABLE (without indentation or comma)."""
        out = [self.head()]
        if self.using:
            out.append(f" USING {self.using}")
        if self.key_block_size:
            out.append(f" KEY_BLOCK_SIZE={self.key_block_size}")
        if self.parser:
            out.append(f" WITH PARSER {escape_identifier(self.parser)}")
        if self.comment:
            out.append(f" COMMENT {escape_string(self.comment)}")
        if self.invisible:
            out.append(" IGNORED" if is_mariadb else " /*!80000 INVISIBLE */")
        return "".join(out)
