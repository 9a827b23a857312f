"""Object identity: what kind of object, and its name.

Pure values used everywhere as dictionary keys; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ObjectType(StrEnum):
    DATABASE = "database"
    TABLE = "table"
    VIEW = "view"
    PROCEDURE = "procedure"
    FUNCTION = "function"
    TRIGGER = "trigger"
    EVENT = "event"

    @property
    def sql(self) -> str:
        """The keyword used in DDL (`CREATE <sql> ...`)."""
        return self.value.upper()


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    type: ObjectType
    name: str

    def __str__(self) -> str:
        return f"{self.type.value} {escape_identifier(self.name)}"


def escape_identifier(name: str) -> str:
    """Quote an identifier with backticks the way the server's SHOW CREATE does."""
    return "`" + name.replace("`", "``") + "`"


def escape_string(value: str) -> str:
    """Quote a string literal the way SHOW CREATE does (single quotes doubled, backslashes doubled)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
