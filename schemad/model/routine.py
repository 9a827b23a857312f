"""Routine: a stored procedure or function, rendered exactly like SHOW CREATE.

The server keeps the parameter list, the return type and the body as the text
the user wrote (MariaDB's ``mysql.proc`` has them verbatim), and prints the
CREATE from them with fixed rules (``show_create_sp`` in both servers)::

    CREATE DEFINER=`u`@`h` [AGGREGATE ]{PROCEDURE|FUNCTION} `name`(<params>)[ RETURNS <type>]\\n
        <data access>\\n        only NO SQL / READS SQL DATA / MODIFIES SQL DATA; CONTAINS SQL is silent
        DETERMINISTIC\\n        only when deterministic
        SQL SECURITY INVOKER\\n only when INVOKER; DEFINER is silent
        COMMENT '<c>'\\n        only when not empty; quoted by keys.escape_string
    <body>

LANGUAGE SQL is never printed.  Names and the definer are quoted with the
*routine's* sql_mode (``"name"`` under ANSI_QUOTES), and under MariaDB's
sql_mode=ORACLE a function prints ``RETURN`` instead of ``RETURNS``.

This module will not parse parameter lists or bodies (they are opaque text) and
does not handle MariaDB packages or MySQL 9 JavaScript routines; it does no I/O.
"""

from __future__ import annotations

from dataclasses import field, replace
from enum import StrEnum

from schemad.model.definer import (
    Security,
    ansi_quotes,
    definer_clause,
    quote_identifier,
    sql_mode_set,
    strip_definer_clause,
)
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_string
from schemad.records import dataclass

__all__ = ["DataAccess", "Routine", "RoutineType"]


class RoutineType(StrEnum):
    PROCEDURE = "PROCEDURE"
    FUNCTION = "FUNCTION"

    @property
    def object_type(self) -> ObjectType:
        return ObjectType.PROCEDURE if self is RoutineType.PROCEDURE else ObjectType.FUNCTION


class DataAccess(StrEnum):
    """The SQL data access characteristic; values are the DDL keywords."""

    CONTAINS_SQL = "CONTAINS SQL"
    NO_SQL = "NO SQL"
    READS_SQL_DATA = "READS SQL DATA"
    MODIFIES_SQL_DATA = "MODIFIES SQL DATA"

    @classmethod
    def parse(cls, text: str) -> DataAccess:
        """Accept information_schema's ``READS SQL DATA`` and mysql.proc's ``READS_SQL_DATA``."""
        return cls(text.replace("_", " ").upper())


@dataclass(frozen=True, slots=True)
class Routine:
    """A stored procedure or function; equality ignores the server text and the unsupported flag."""

    type: RoutineType
    name: str
    definer: str  # user@host, unquoted; a MariaDB role is the bare name; "" = none given (strip-definer)
    params: str  # the parameter list between the parentheses, verbatim ("" when empty)
    returns: str  # functions: return type verbatim incl. CHARSET/COLLATE; "" for procedures
    body: str  # verbatim routine body (everything after the characteristics)
    deterministic: bool = False
    data_access: DataAccess = DataAccess.CONTAINS_SQL
    security: Security = Security.DEFINER
    comment: str = ""  # unescaped text
    aggregate: bool = False  # MariaDB `CREATE AGGREGATE FUNCTION`
    sql_mode: str = ""  # sql_mode at creation; ANSI_QUOTES / ORACLE change the rendering
    db_collation: str = ""  # the schema's default collation at creation time
    show_create: str = field(default="", compare=False, repr=False)  # server's text when introspected
    unsupported: bool = field(default=False, compare=False)  # rendering != show_create: create/drop only

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.type.object_type, self.name)

    def create_statement(self, flavor: Flavor) -> str:
        """The CREATE text SHOW CREATE PROCEDURE/FUNCTION prints (its `Create ...` column)."""
        return self.header(flavor) + self.body

    def header(self, flavor: Flavor) -> str:
        """Everything before the body: the CREATE line and the characteristics, ending with a newline."""
        text = self._opening() + self.params + ")"
        if self.type is RoutineType.FUNCTION:
            text += self._returns_keyword(flavor) + self.returns
        return text + "\n" + self.characteristics()

    def characteristics(self) -> str:
        """The characteristic lines, each indented by four spaces and ending with a newline."""
        lines: list[str] = []
        if self.data_access is not DataAccess.CONTAINS_SQL:
            lines.append(f"    {self.data_access.value}\n")
        if self.deterministic:
            lines.append("    DETERMINISTIC\n")
        if self.security is Security.INVOKER:
            lines.append("    SQL SECURITY INVOKER\n")
        if self.comment:
            lines.append(f"    COMMENT {escape_string(self.comment)}\n")
        return "".join(lines)

    def _opening(self) -> str:
        """``CREATE DEFINER=... [AGGREGATE ]PROCEDURE `name`(``."""
        ansi = ansi_quotes(self.sql_mode)
        aggregate = "AGGREGATE " if self.aggregate else ""
        return (
            f"CREATE {definer_clause(self.definer, ansi=ansi)}{aggregate}{self.type.value}"
            f" {quote_identifier(self.name, ansi=ansi)}("
        )

    def without_definer(self) -> Routine:
        """This routine as a CREATE without DEFINER describes it: any definer (the creating user's)."""
        return replace(self, definer="", show_create=strip_definer_clause(self.show_create))

    def _returns_keyword(self, flavor: Flavor) -> str:
        # MariaDB prints the Oracle spelling when the routine was created under sql_mode=ORACLE.
        oracle = flavor.is_mariadb and "ORACLE" in sql_mode_set(self.sql_mode)
        return " RETURN " if oracle else " RETURNS "

    def with_text_from_show_create(self, show_create: str, flavor: Flavor) -> Routine | None:
        """A copy whose params, returns and body are cut out of a SHOW CREATE text.

        For servers without mysql.proc (MySQL 8): the other fields come from
        information_schema, so the text must start with this routine's opening
        (definer, type, name), and after the parameter list and return type
        continue with exactly this routine's characteristics; None otherwise.
        """
        opening = self._opening()
        if not show_create.startswith(opening):
            return None
        close = _closing_paren(show_create, len(opening))
        if close < 0:
            return None
        params = show_create[len(opening) : close]
        rest = show_create[close + 1 :]
        returns = ""
        if self.type is RoutineType.FUNCTION:
            keyword = self._returns_keyword(flavor)
            end = rest.find("\n")
            if not rest.startswith(keyword) or end < 0:
                return None
            returns, rest = rest[len(keyword) : end], rest[end:]
        head = "\n" + self.characteristics()
        if not rest.startswith(head):
            return None
        return replace(self, params=params, returns=returns, body=rest[len(head) :])


def _closing_paren(text: str, start: int) -> int:
    """Index of the ``)`` closing a list that starts at ``start`` (just after its ``(``), or -1.

    Skips quoted strings and identifiers (quote doubled or backslash-escaped) and
    comments, so ``enum('a)')`` or ``-- (`` inside a parameter list do not count.
    """
    depth = 0
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            i += 1
            while i < n:
                if text[i] == "\\" and ch != "`":
                    i += 2
                    continue
                if text[i] == ch:
                    if i + 1 < n and text[i + 1] == ch:
                        i += 2
                        continue
                    break
                i += 1
        elif ch == "#" or (text.startswith("--", i) and (i + 2 >= n or text[i + 2] in " \t\r\n")):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1
