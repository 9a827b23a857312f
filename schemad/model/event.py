"""Event: a scheduled event, rendered exactly like SHOW CREATE EVENT.

The server prints one line (``Event_timed::get_create_event``, same code in
MariaDB and MySQL)::

    CREATE DEFINER=`u`@`h` EVENT `e` ON SCHEDULE EVERY <value> <FIELD>[ STARTS '<ts>'][ ENDS '<ts>']
    CREATE DEFINER=`u`@`h` EVENT `e` ON SCHEDULE AT '<ts>'
      ... ON COMPLETION [NOT ]PRESERVE {ENABLE|DISABLE|DISABLE ON SLAVE}[ COMMENT '<c>'] DO <body>

- The EVERY value is re-printed by the server from its stored count of the
  smallest unit: a single unit prints bare (``EVERY 90 MINUTE``), a compound one
  quoted and normalised (``'1:30' HOUR_MINUTE``, ``'5.5' MINUTE_SECOND`` ->
  ``'5:5'``, ``'10:00:30' HOUR_SECOND`` -> ``'10:0:30'``); the model keeps it
  unquoted, as the server prints it.
- Timestamps are printed ``YYYY-MM-DD HH:MM:SS`` in the *event's* time zone (as
  information_schema.EVENTS shows them); a recurring event without STARTS gets
  its creation time, so STARTS is nearly always printed.
- The comment is quoted like a routine comment (\\n, \\r, \\\\ escaped, ' doubled)
  and left out when empty; the body is verbatim, leading whitespace trimmed.
- Identifiers always use backticks (SHOW CREATE EVENT follows the session
  sql_mode, not the event's).

This module will not evaluate schedules, nor compare STARTS values that the
server filled in; it does no I/O.
"""

from __future__ import annotations

from dataclasses import field, replace
from datetime import datetime
from enum import StrEnum

from schemad.model.definer import definer_clause, strip_definer_clause
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier, escape_string
from schemad.records import dataclass

__all__ = ["Event", "EventStatus", "OnCompletion", "format_event_time"]


class EventStatus(StrEnum):
    """information_schema.EVENTS.STATUS (MySQL 8.4 spells the last one REPLICA_SIDE_DISABLED)."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    SLAVESIDE_DISABLED = "SLAVESIDE_DISABLED"

    @classmethod
    def parse(cls, text: str) -> EventStatus:
        text = text.upper()
        return cls.SLAVESIDE_DISABLED if text == "REPLICA_SIDE_DISABLED" else cls(text)

    @property
    def clause(self) -> str:
        """The DDL keyword(s) SHOW CREATE EVENT prints."""
        return {"ENABLED": "ENABLE", "DISABLED": "DISABLE", "SLAVESIDE_DISABLED": "DISABLE ON SLAVE"}[
            self.value
        ]


_STATUS_CLAUSE = {
    EventStatus.ENABLED: "ENABLE",
    EventStatus.DISABLED: "DISABLE",
    EventStatus.SLAVESIDE_DISABLED: "DISABLE ON SLAVE",
}


class OnCompletion(StrEnum):
    NOT_PRESERVE = "NOT PRESERVE"  # the event is dropped after its last execution (the default)
    PRESERVE = "PRESERVE"


def format_event_time(value: datetime) -> str:
    """``2030-01-01 00:00:00``, as SHOW CREATE EVENT prints STARTS/ENDS/AT (no fraction)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f" {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )


@dataclass(frozen=True, slots=True)
class Event:
    """An event; equality ignores the server text and the unsupported flag.

    Exactly one schedule form is set: ``execute_at`` (ON SCHEDULE AT) or
    ``interval_value`` + ``interval_field`` (ON SCHEDULE EVERY, with optional
    ``starts``/``ends``).
    """

    name: str
    definer: str  # user@host, unquoted; a MariaDB role is the bare name; "" = none given (strip-definer)
    body: str  # the statement after DO, verbatim
    execute_at: datetime | None = None  # one-time events, in the event's time zone
    interval_value: str = ""  # recurring events: "1", "1:30" (unquoted even for compound fields)
    interval_field: str = ""  # recurring events: DAY, HOUR_MINUTE, ... (upper case)
    starts: datetime | None = None  # recurring events, in the event's time zone
    ends: datetime | None = None  # recurring events, in the event's time zone
    on_completion: OnCompletion = OnCompletion.NOT_PRESERVE
    status: EventStatus = EventStatus.ENABLED
    comment: str = ""  # unescaped text
    sql_mode: str = ""  # sql_mode at creation (the body runs with it)
    time_zone: str = "SYSTEM"  # the event's time zone; schedule times are in it
    show_create: str = field(default="", compare=False, repr=False)  # server's text when introspected
    unsupported: bool = field(default=False, compare=False)  # rendering != show_create: create/drop only

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(ObjectType.EVENT, self.name)

    @property
    def recurring(self) -> bool:
        return self.execute_at is None

    def schedule_clause(self) -> str:
        """``EVERY 1 DAY STARTS '...'`` or ``AT '...'`` (without ``ON SCHEDULE``)."""
        if self.execute_at is not None:
            return f"AT '{format_event_time(self.execute_at)}'"
        # Compound fields (YEAR_MONTH, DAY_SECOND, ...) are printed as a quoted string.
        value = f"'{self.interval_value}'" if "_" in self.interval_field else self.interval_value
        text = f"EVERY {value} {self.interval_field}"
        if self.starts is not None:
            text += f" STARTS '{format_event_time(self.starts)}'"
        if self.ends is not None:
            text += f" ENDS '{format_event_time(self.ends)}'"
        return text

    def create_statement(self, flavor: Flavor) -> str:
        """The CREATE EVENT text SHOW CREATE EVENT prints."""
        del flavor  # same code in MariaDB and MySQL 8.0 (MySQL 8.4 is unverified)
        return self.header() + self.body

    def header(self) -> str:
        """Everything before the body, ending with ``DO ``."""
        text = (
            f"CREATE {definer_clause(self.definer)}EVENT {escape_identifier(self.name)}"
            f" ON SCHEDULE {self.schedule_clause()} ON COMPLETION {self.on_completion.value}"
            f" {self.status.clause}"
        )
        if self.comment:
            text += f" COMMENT {escape_string(self.comment)}"
        return text + " DO "

    def without_definer(self) -> Event:
        """This event as a CREATE without DEFINER describes it: any definer (the creating user's)."""
        return replace(self, definer="", show_create=strip_definer_clause(self.show_create))
