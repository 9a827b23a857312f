"""Trigger: a table trigger, its verbatim server text plus its structured parts.

Design decision.  The two servers print SHOW CREATE TRIGGER differently:

- MariaDB keeps the statement the user wrote (`SQL Original Statement`): it
  prints ``CREATE DEFINER=`u`@`h` `` followed by the user's text from the
  TRIGGER keyword on, whitespace and keyword case untouched, ``IF NOT EXISTS``
  kept, ``OR REPLACE`` dropped, and the ``FOLLOWS|PRECEDES other`` clause cut
  out, e.g. ``CREATE DEFINER=`root`@`%` trigger  tr1 before insert on db.t1 for
  each row set new.a = 1 -- c``.  information_schema.TRIGGERS cannot rebuild
  that text: it only has the parts (ACTION_STATEMENT is the body).
- MySQL 8 regenerates it from the parts: ``CREATE DEFINER=`u`@`h` TRIGGER `t`
  BEFORE INSERT ON `tbl` FOR EACH ROW <body>`` (untested here).

So a :class:`Trigger` holds both: the structured parts from
information_schema.TRIGGERS, which alone decide equality (so re-formatting the
header of a trigger, or writing the table name schema-qualified, is not a
change; the body, timing, event, table, definer, sql_mode and position are),
and ``statement``, the verbatim text, which is excluded from equality.
:meth:`Trigger.create_statement` returns ``statement`` when it is known and
otherwise renders the canonical MySQL form from the parts.  An introspected
MariaDB trigger is marked unsupported when its verbatim text disagrees with its
parts (:meth:`Trigger.statement_agrees`), since then the parts cannot be trusted.

Ordering: the server drops FOLLOWS/PRECEDES from the stored text and keeps the
resulting position as ``action_order`` (1-based among the triggers with the
same table, timing and event); creating triggers in action_order order
reproduces it.  This module will not parse trigger bodies; it does no I/O.
"""

from __future__ import annotations

from dataclasses import field, replace
from enum import StrEnum

from schemad.model.definer import ansi_quotes, definer_clause, quote_identifier, strip_definer_clause
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass

__all__ = ["Trigger", "TriggerEvent", "TriggerTiming"]


class TriggerTiming(StrEnum):
    BEFORE = "BEFORE"
    AFTER = "AFTER"


class TriggerEvent(StrEnum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger; equality uses the structured parts only (not ``statement``/``show_create``)."""

    name: str
    table: str  # the table it is defined on (same schema)
    timing: TriggerTiming
    event: TriggerEvent
    definer: str  # user@host, unquoted; a MariaDB role is the bare name; "" = none given (strip-definer)
    body: str  # ACTION_STATEMENT: the text after FOR EACH ROW [FOLLOWS|PRECEDES x], verbatim
    action_order: int = 1  # 1-based position among triggers with the same table, timing and event
    sql_mode: str = ""  # sql_mode at creation; ANSI_QUOTES changes the quoting
    statement: str = field(default="", compare=False)  # verbatim CREATE text when known (MariaDB)
    show_create: str = field(default="", compare=False, repr=False)  # server's text when introspected
    unsupported: bool = field(default=False, compare=False)  # text disagrees with parts: create/drop only

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(ObjectType.TRIGGER, self.name)

    def definer_prefix(self) -> str:
        """``CREATE DEFINER=<definer> ``: how SHOW CREATE TRIGGER starts (``CREATE `` without definer)."""
        return f"CREATE {definer_clause(self.definer, ansi=ansi_quotes(self.sql_mode))}"

    def canonical_statement(self) -> str:
        """The CREATE rebuilt from the parts (MySQL 8's SHOW CREATE TRIGGER form; valid on MariaDB)."""
        return self.canonical_header() + self.body

    def canonical_header(self) -> str:
        """:meth:`canonical_statement` without the body (ends with ``FOR EACH ROW ``)."""
        ansi = ansi_quotes(self.sql_mode)
        return (
            f"{self.definer_prefix()}TRIGGER {quote_identifier(self.name, ansi=ansi)}"
            f" {self.timing.value} {self.event.value} ON {quote_identifier(self.table, ansi=ansi)}"
            " FOR EACH ROW "
        )

    def create_statement(self, flavor: Flavor) -> str:
        """The verbatim statement when known, else :meth:`canonical_statement`."""
        del flavor  # the verbatim text already is the flavor's; the canonical form is shared
        return self.statement or self.canonical_statement()

    def without_definer(self) -> Trigger:
        """This trigger as a CREATE without DEFINER describes it: any definer (the creating user's)."""
        return replace(
            self,
            definer="",
            statement=strip_definer_clause(self.statement),
            show_create=strip_definer_clause(self.show_create),
        )

    def statement_agrees(self) -> bool:
        """Whether ``statement`` (if any) is consistent with the parts: same definer prefix, same body."""
        if not self.statement:
            return True
        return self.statement.startswith(self.definer_prefix()) and self.statement.endswith(self.body)
