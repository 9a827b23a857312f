"""View: a stored SELECT, rendered exactly like SHOW CREATE VIEW.

The server does not keep the text the user wrote for a view: it stores its own
re-printed SELECT (names backticked and qualified, `AS` aliases added, one
line).  information_schema.VIEWS.VIEW_DEFINITION prints every name with its
schema (`` `db`.`t`.`c` ``) while SHOW CREATE VIEW leaves out the view's own
schema, so the definition is taken from the SHOW CREATE text (see
:func:`definition_from_show_create`; the same "fixup" Skeema does) and the
other attributes from information_schema.

Identifiers are quoted with backticks: SHOW CREATE VIEW follows the *session*
sql_mode, and schemad's sessions never enable ANSI_QUOTES.  This module will not
parse or normalise the SELECT itself; it does no I/O.
"""

from __future__ import annotations

from dataclasses import field, replace
from enum import StrEnum

from schemad.model.definer import Security, definer_clause, strip_definer_clause
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.records import dataclass

__all__ = ["CheckOption", "View", "ViewAlgorithm", "definition_from_show_create"]


class ViewAlgorithm(StrEnum):
    UNDEFINED = "UNDEFINED"
    MERGE = "MERGE"
    TEMPTABLE = "TEMPTABLE"


class CheckOption(StrEnum):
    """`WITH [CASCADED | LOCAL] CHECK OPTION`; plain WITH CHECK OPTION is stored as CASCADED."""

    NONE = "NONE"
    CASCADED = "CASCADED"
    LOCAL = "LOCAL"


@dataclass(frozen=True, slots=True)
class View:
    """A view; equality ignores the server text and the unsupported flag."""

    name: str
    definer: str  # user@host, unquoted; a MariaDB role is the bare name; "" = none given (strip-definer)
    algorithm: ViewAlgorithm
    security: Security
    check_option: CheckOption
    definition: str  # the SELECT as SHOW CREATE VIEW prints it (own schema stripped)
    show_create: str = field(default="", compare=False, repr=False)  # server's text when introspected
    unsupported: bool = field(default=False, compare=False)  # rendering != show_create: create/drop only

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(ObjectType.VIEW, self.name)

    def create_statement(self, flavor: Flavor) -> str:
        """The CREATE VIEW text SHOW CREATE VIEW prints (same on MariaDB and MySQL)."""
        del flavor  # no vendor difference known for views
        text = (
            f"CREATE ALGORITHM={self.algorithm.value} {definer_clause(self.definer)}"
            f"SQL SECURITY {self.security.value} VIEW {escape_identifier(self.name)} AS {self.definition}"
        )
        if self.check_option is not CheckOption.NONE:
            text += f" WITH {self.check_option.value} CHECK OPTION"
        return text

    def without_definer(self) -> View:
        """This view as a CREATE without DEFINER describes it: any definer (the creating user's)."""
        return replace(self, definer="", show_create=strip_definer_clause(self.show_create))


def definition_from_show_create(show_create: str, name: str, check_option: CheckOption) -> str | None:
    """The SELECT part of a SHOW CREATE VIEW text, or None when the text has an unexpected shape.

    It is everything after the first `` VIEW `name` AS `` (the header before it holds
    no free text: algorithm, definer and security are keywords and quoted names),
    minus the trailing `` WITH CASCADED|LOCAL CHECK OPTION`` when the view has one.
    """
    marker = f" VIEW {escape_identifier(name)} AS "
    pos = show_create.find(marker)
    if pos < 0:
        return None
    definition = show_create[pos + len(marker) :]
    if check_option is not CheckOption.NONE:
        suffix = f" WITH {check_option.value} CHECK OPTION"
        if not definition.endswith(suffix):
            return None
        definition = definition[: -len(suffix)]
    return definition
