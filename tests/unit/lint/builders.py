"""Builders of small model objects for the lint tests."""

from __future__ import annotations

from schemad.model.column import Column
from schemad.model.definer import Security
from schemad.model.event import Event
from schemad.model.flavor import Flavor, Vendor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.routine import Routine, RoutineType
from schemad.model.schema import Schema, SchemaObject
from schemad.model.table import Table
from schemad.model.trigger import Trigger, TriggerEvent, TriggerTiming
from schemad.model.view import CheckOption, View, ViewAlgorithm

MYSQL8 = Flavor(Vendor.MYSQL, 8, 0, 36)
MARIADB = Flavor(Vendor.MARIADB, 10, 11)
ID = Column("id", "bigint unsigned", nullable=False)


def pk(*cols: str) -> Index:
    return Index("PRIMARY", IndexKind.PRIMARY, tuple(IndexPart(c) for c in cols))


def idx(name: str, *cols: str, kind: IndexKind = IndexKind.PLAIN) -> Index:
    return Index(name, kind, tuple(IndexPart(c) for c in cols))


def table(name: str = "t", *cols: Column, **kw: object) -> Table:
    """A table with the given columns (just a bigint unsigned `id` PK when none)."""
    if not cols:
        cols = (ID,)
        kw.setdefault("primary_key", pk("id"))
    return Table(name, tuple(cols), **kw)  # type: ignore[arg-type]


def routine(name: str = "p", definer: str = "root@localhost") -> Routine:
    return Routine(RoutineType.PROCEDURE, name, definer, "", "", "BEGIN END")


def view(name: str = "v", definer: str = "root@localhost") -> View:
    return View(name, definer, ViewAlgorithm.UNDEFINED, Security.DEFINER, CheckOption.NONE, "select 1 AS `1`")


def trigger(name: str = "tr", definer: str = "root@localhost") -> Trigger:
    return Trigger(name, "t", TriggerTiming.BEFORE, TriggerEvent.INSERT, definer, "SET @x = 1")


def event(name: str = "e", definer: str = "root@localhost") -> Event:
    return Event(name, definer, "DO 1", interval_value="1", interval_field="DAY")


def schema(*objs: SchemaObject) -> Schema:
    return Schema(
        "db",
        "utf8mb4",
        "utf8mb4_general_ci",
        tables=tuple(o for o in objs if isinstance(o, Table)),
        views=tuple(o for o in objs if isinstance(o, View)),
        routines=tuple(o for o in objs if isinstance(o, Routine)),
        triggers=tuple(o for o in objs if isinstance(o, Trigger)),
        events=tuple(o for o in objs if isinstance(o, Event)),
    )
