"""What `classify` says a statement is: its kind, and for a CREATE its key, qualifier and name span.

A FOLDABLE statement (a standalone ``CREATE INDEX`` or ``ALTER TABLE .. ADD``
of an index or constraint) carries the key, qualifier and name span of the
*table* it applies to.

Its own module so that the classifier's two readings (the sqlglot head walk
in `heads`, the regex fallback in `classify`) share these types without
importing each other.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass

__all__ = ["CREATE_TYPES", "STORED_PROGRAM_TYPES", "UNKNOWN", "Classification", "StatementKind"]


class StatementKind(StrEnum):
    """What a statement of a *.sql file is; the object type of a CREATE lives in its key."""

    CREATE = "create"  #: CREATE TABLE/VIEW/PROCEDURE/FUNCTION/TRIGGER/EVENT with a parsed name
    #: CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX .. ON t, or ALTER TABLE t ADD {INDEX|KEY|UNIQUE|FULLTEXT|
    #: SPATIAL|CONSTRAINT|FOREIGN KEY|PRIMARY KEY|CHECK} ..: folded into t's CREATE (key = the table's)
    FOLDABLE = "foldable"
    #: INSERT/REPLACE: seed data (key = its table when `INSERT [IGNORE] INTO [db.]t` reads; sqltext.inserts)
    INSERT = "insert"
    USE = "use"  #: USE db (client command; ends at a newline or the delimiter)
    DELIMITER = "delimiter"  #: DELIMITER xx (client command; ends at a newline)
    NOOP = "noop"  #: only whitespace and/or comments, or a stray delimiter
    UNKNOWN = "unknown"  #: anything else; the caller warns "Unable to parse statement"


STORED_PROGRAM_TYPES = frozenset(
    {ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER, ObjectType.EVENT}
)

CREATE_TYPES = {
    "TABLE": ObjectType.TABLE,
    "VIEW": ObjectType.VIEW,
    "PROCEDURE": ObjectType.PROCEDURE,
    "FUNCTION": ObjectType.FUNCTION,
    "TRIGGER": ObjectType.TRIGGER,
    "EVENT": ObjectType.EVENT,
}


@dataclass(frozen=True, slots=True)
class Classification:
    """The result of :func:`classify`."""

    kind: StatementKind
    key: ObjectKey | None = None  # only for CREATE, and FOLDABLE and INSERT (their table)
    schema: str | None = None  # CREATE's (FOLDABLE's table's) schema qualifier, or USE's target
    name_span: tuple[int, int] | None = None  # [start, end) of the `[schema.]name` clause in the text
    via: Literal["sqlglot", "regex"] = "sqlglot"  # which path produced it (the regex is the fallback)


UNKNOWN = Classification(StatementKind.UNKNOWN)
