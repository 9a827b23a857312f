"""Introspect a schema's views, routines, triggers and events into the model.

Each loader runs ONE bulk query for the whole schema (information_schema, or
mysql.proc for MariaDB routines), then one SHOW CREATE per object: sent 50 per
round trip for routines, triggers and events (Instance.query_many), and over a
pool of sessions for views (which need their schema as the current database),
so the number of round trips grows slowly with the object count and the event
loop never waits on one object at a time.  Every model is rendered
again and compared with its SHOW CREATE text; on any difference it is marked
``unsupported`` (it may be created or dropped, never altered), as Skeema does
for tables.

SHOW CREATE VIEW leaves out the view's own schema only when that schema is the
connection's current database, so views are read by up to ``pool_size``
workers that each select the schema once (``USE``) on a held connection, and
afterwards select the Instance's configured default database again, or
``information_schema`` when it has none (a harmless read-only current database
that makes a stray unqualified statement fail instead of touching this schema).

Flavor differences: MariaDB routines come verbatim from mysql.proc; MySQL 8 has
no mysql.proc, so there the characteristics come from information_schema.ROUTINES
and the parameter list, return type and body are cut out of the SHOW CREATE
text (Skeema's fixup).  MySQL 8 lacks information_schema.VIEWS.ALGORITHM, which
is then read from the SHOW CREATE VIEW text.  The MySQL paths are written from
the server source and documentation and are untested here.

It will not retry: an object dropped between the bulk query and its SHOW
CREATE makes the load fail with the server's DatabaseError; the caller retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from schemad import lazyre
from schemad.connection.instance import Instance, Row, Session
from schemad.errors import UnsupportedError
from schemad.introspect import queries_objects as q
from schemad.model.definer import Security, normalize_definer
from schemad.model.event import Event, EventStatus, OnCompletion
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.model.routine import DataAccess, Routine, RoutineType
from schemad.model.trigger import Trigger, TriggerEvent, TriggerTiming
from schemad.model.view import CheckOption, View, ViewAlgorithm, definition_from_show_create

__all__ = ["load_events", "load_routines", "load_triggers", "load_views"]

_E = TypeVar("_E", bound=StrEnum)

_ALGORITHM_RE = lazyre.compile(r"^CREATE ALGORITHM=(\w+) ")


def _text(value: Any) -> str:
    """A column value as text ("" for NULL)."""
    return "" if value is None else str(value)


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _enum(cls: type[_E], value: Any, schema: str, key: ObjectKey, what: str) -> _E:
    try:
        return cls(_text(value).upper())
    except ValueError:
        raise UnsupportedError(f"{escape_identifier(schema)}: {key}: unknown {what} {value!r}") from None


def _show_create_sql(kind: str, schema: str, name: str) -> str:
    return q.SHOW_CREATE.format(kind=kind, schema=escape_identifier(schema), name=escape_identifier(name))


def _create_text(kind: str, rows: list[Row]) -> str:
    value = rows[0].get(q.SHOW_CREATE_COLUMN[kind]) if rows else None
    return _text(value)


async def _show_create_all(inst: Instance, schema: str, objects: Sequence[tuple[str, str]]) -> list[str]:
    """SHOW CREATE <kind> for every (kind, name), batched per round trip; results in input order."""
    rows = await inst.query_many([_show_create_sql(kind, schema, name) for kind, name in objects])
    return [_create_text(kind, r) for (kind, _), r in zip(objects, rows, strict=True)]


async def _show_create_views(inst: Instance, schema: str, names: Sequence[str]) -> list[str]:
    """SHOW CREATE VIEW for every name, on connections whose current database is ``schema``."""
    results = [""] * len(names)
    pending = iter(range(len(names)))  # shared by the workers; next() never awaits
    restore = escape_identifier(inst.params.database or "information_schema")

    async def worker(session: Session) -> None:
        for i in pending:
            rows = await session.query(_show_create_sql("VIEW", schema, names[i]))
            results[i] = _create_text("VIEW", rows)

    async def held() -> None:
        async with inst.session() as session:
            await session.execute(q.USE_SCHEMA.format(schema=escape_identifier(schema)))
            try:
                await worker(session)
            finally:
                await session.execute(q.USE_SCHEMA.format(schema=restore))

    await asyncio.gather(*(held() for _ in range(min(inst.pool_size, len(names)))))
    return results


_NON_BMP_RE = lazyre.compile("[\U00010000-\U0010ffff]")


def _body_fixup(info_body: str, show_create_body: str) -> str:
    """The body to keep: SHOW CREATE's when information_schema's is the same text mangled.

    information_schema.TRIGGERS.ACTION_STATEMENT and EVENTS.EVENT_DEFINITION are
    utf8mb3 columns: a 4-byte character (an emoji) reads back as ``?``.  The SHOW
    CREATE text has it intact, so when both agree up to that loss the SHOW CREATE
    part wins; otherwise information_schema's body stays and the object ends up
    unsupported.
    """
    if show_create_body and _NON_BMP_RE.sub("?", show_create_body) == info_body:
        return show_create_body
    return info_body


# --- views -------------------------------------------------------------------


async def load_views(inst: Instance, schema: str, flavor: Flavor) -> list[View]:
    """Every view of ``schema``, sorted by name."""
    rows = await inst.query(q.VIEWS_MARIADB if flavor.is_mariadb else q.VIEWS_MYSQL, (schema,))
    rows.sort(key=lambda r: _text(r["name"]))
    names = [_text(r["name"]) for r in rows]
    texts = await _show_create_views(inst, schema, names)
    views = []
    for row, name, text in zip(rows, names, texts, strict=True):
        key = ObjectKey(ObjectType.VIEW, name)
        check = _enum(CheckOption, row["check_option"], schema, key, "check option")
        algorithm_text = row.get("algorithm")
        if algorithm_text is None:  # MySQL: only in the SHOW CREATE text
            m = _ALGORITHM_RE.match(text)
            algorithm_text = m[1] if m else "UNDEFINED"
        definition = definition_from_show_create(text, name, check)
        view = View(
            name=name,
            definer=normalize_definer(_text(row["definer"])),
            algorithm=_enum(ViewAlgorithm, algorithm_text, schema, key, "algorithm"),
            security=_enum(Security, row["security"], schema, key, "security type"),
            check_option=check,
            definition=definition or "",
            show_create=text,
        )
        unsupported = definition is None or view.create_statement(flavor) != text
        views.append(replace(view, unsupported=unsupported))
    return views


# --- routines ----------------------------------------------------------------


def _routine_from_row(row: Row, schema: str, *, verbatim: bool) -> Routine:
    name = _text(row["name"])
    rtype = _enum(RoutineType, row["type"], schema, ObjectKey(ObjectType.PROCEDURE, name), "routine type")
    key = ObjectKey(rtype.object_type, name)
    try:
        access = DataAccess.parse(_text(row["sql_data_access"]))
    except ValueError:
        raise UnsupportedError(
            f"{escape_identifier(schema)}: {key}: unknown SQL data access {row['sql_data_access']!r}"
        ) from None
    return Routine(
        type=rtype,
        name=name,
        definer=normalize_definer(_text(row["definer"])),
        params=_text(row["param_list"]) if verbatim else "",
        returns=_text(row["returns_"]) if verbatim else "",
        body=_text(row["body"]),
        deterministic=_text(row["is_deterministic"]).upper() == "YES",
        data_access=access,
        security=_enum(Security, row["security_type"], schema, key, "security type"),
        comment=_text(row["comment_"]),
        aggregate=verbatim and _text(row["aggregate_"]).upper() == "GROUP",
        sql_mode=_text(row["sql_mode"]),
        db_collation=_text(row["db_collation"]),
    )


async def load_routines(inst: Instance, schema: str, flavor: Flavor) -> list[Routine]:
    """Every stored procedure and function of ``schema``, sorted by (type, name)."""
    verbatim = flavor.is_mariadb  # mysql.proc has the verbatim text
    rows = await inst.query(q.ROUTINES_MARIADB if verbatim else q.ROUTINES_MYSQL, (schema,))
    partial = sorted(
        (_routine_from_row(r, schema, verbatim=verbatim) for r in rows), key=lambda r: (r.type, r.name)
    )
    texts = await _show_create_all(inst, schema, [(r.type.value, r.name) for r in partial])
    routines = []
    for routine, text in zip(partial, texts, strict=True):
        complete: Routine | None = routine
        if not verbatim:
            complete = routine.with_text_from_show_create(text, flavor)
        final = replace(complete or routine, show_create=text)
        unsupported = complete is None or final.create_statement(flavor) != text
        routines.append(replace(final, unsupported=unsupported))
    return routines


# --- triggers ----------------------------------------------------------------


async def load_triggers(inst: Instance, schema: str, flavor: Flavor) -> list[Trigger]:
    """Every trigger of ``schema``, sorted by (table, timing, event, action_order)."""
    rows = await inst.query(q.TRIGGERS, (schema,))
    parts = []
    for row in rows:
        name = _text(row["name"])
        key = ObjectKey(ObjectType.TRIGGER, name)
        parts.append(
            Trigger(
                name=name,
                table=_text(row["table_name"]),
                timing=_enum(TriggerTiming, row["timing"], schema, key, "timing"),
                event=_enum(TriggerEvent, row["event"], schema, key, "event"),
                definer=normalize_definer(_text(row["definer"])),
                body=_text(row["body"]),
                action_order=int(row["action_order"] or 1),
                sql_mode=_text(row["sql_mode"]),
            )
        )
    parts.sort(key=lambda t: (t.table, t.timing, t.event, t.action_order, t.name))
    texts = await _show_create_all(inst, schema, [("TRIGGER", t.name) for t in parts])
    triggers = []
    for trigger, text in zip(parts, texts, strict=True):
        # MariaDB's text is the user's own statement: keep it verbatim; its body is
        # the statement's tail.  MySQL 8 regenerates the text from the parts, so there
        # the body follows the canonical header and the canonical rendering is checked.
        if flavor.is_mariadb:
            tail = text[len(text) - len(trigger.body) :] if len(trigger.body) <= len(text) else ""
        else:
            header = trigger.canonical_header()
            tail = text[len(header) :] if text.startswith(header) else ""
        body = _body_fixup(trigger.body, tail)
        final = replace(trigger, body=body, statement=text if flavor.is_mariadb else "", show_create=text)
        unsupported = final.create_statement(flavor) != text or not final.statement_agrees()
        triggers.append(replace(final, unsupported=unsupported))
    return triggers


# --- events ------------------------------------------------------------------


def _unquote(value: str) -> str:
    """information_schema.EVENTS.INTERVAL_VALUE quotes compound values (`'1:30'`); the model does not."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


async def load_events(inst: Instance, schema: str, flavor: Flavor) -> list[Event]:
    """Every event of ``schema``, sorted by name."""
    rows = await inst.query(q.EVENTS, (schema,))
    parts = []
    for row in rows:
        name = _text(row["name"])
        key = ObjectKey(ObjectType.EVENT, name)
        try:
            status = EventStatus.parse(_text(row["status"]))
        except ValueError:
            raise UnsupportedError(
                f"{escape_identifier(schema)}: {key}: unknown event status {row['status']!r}"
            ) from None
        parts.append(
            Event(
                name=name,
                definer=normalize_definer(_text(row["definer"])),
                body=_text(row["body"]),
                execute_at=_time(row["execute_at"]),
                interval_value=_unquote(_text(row["interval_value"])),
                interval_field=_text(row["interval_field"]).upper(),
                starts=_time(row["starts"]),
                ends=_time(row["ends"]),
                on_completion=_enum(OnCompletion, row["on_completion"], schema, key, "on completion"),
                status=status,
                comment=_text(row["comment_"]),
                sql_mode=_text(row["sql_mode"]),
                time_zone=_text(row["time_zone"]),
            )
        )
    parts.sort(key=lambda e: e.name)
    texts = await _show_create_all(inst, schema, [("EVENT", e.name) for e in parts])
    events = []
    for event, text in zip(parts, texts, strict=True):
        header = event.header()
        body = _body_fixup(event.body, text[len(header) :] if text.startswith(header) else "")
        final = replace(event, body=body, show_create=text)
        events.append(replace(final, unsupported=final.create_statement(flavor) != text))
    return events
