"""Object identity: what kind of object, and its name.

Pure values used everywhere as dictionary keys; no I/O.
"""

from __future__ import annotations

from enum import StrEnum

from schemad.records import dataclass


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


_STRING_ESCAPES = str.maketrans(
    {"\\": "\\\\", "'": "''", "\n": "\\n", "\r": "\\r", "\0": "\\0", "\x1a": "\\Z"}
)


def escape_string(value: str) -> str:
    """Quote a string literal the way SHOW CREATE prints comments and defaults.

    The server doubles single quotes and backslash-escapes backslash, newline,
    carriage return and NUL (append_unescaped()); everything else, tabs
    included, is printed as is.
    """
    return "'" + value.translate(_STRING_ESCAPES) + "'"


_BACKSLASH_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


def escape_string_backslash(value: str) -> str:
    """Quote a string literal with backslash escapes (partition comments are printed this way)."""
    return "'" + value.translate(_BACKSLASH_ESCAPES) + "'"
