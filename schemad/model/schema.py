"""Schema: a database's default charset/collation and every object it holds.

Pure data.  `objects()` gives a uniform map of ObjectKey -> object for diffing
and for writing files; every object renders its own canonical CREATE.
"""

from __future__ import annotations

from dataclasses import field
from typing import Protocol

from schemad.model.event import Event
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, escape_identifier
from schemad.model.routine import Routine
from schemad.model.table import Table
from schemad.model.trigger import Trigger
from schemad.model.view import View
from schemad.records import dataclass


class SchemaObject(Protocol):
    @property
    def key(self) -> ObjectKey: ...

    @property
    def name(self) -> str: ...

    @property
    def unsupported(self) -> bool: ...

    def create_statement(self, flavor: Flavor) -> str: ...


@dataclass(frozen=True, slots=True)
class Schema:
    name: str
    char_set: str
    collation: str
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    routines: tuple[Routine, ...] = ()  # procedures and functions
    triggers: tuple[Trigger, ...] = ()
    events: tuple[Event, ...] = ()
    _objects: dict[ObjectKey, SchemaObject] = field(default_factory=dict, compare=False, repr=False)

    def objects(self) -> dict[ObjectKey, SchemaObject]:
        """Every object keyed by (type, name); computed once."""
        if not self._objects:
            for group in (self.tables, self.views, self.routines, self.triggers, self.events):
                for obj in group:
                    self._objects[obj.key] = obj
        return self._objects

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def create_statement(self, flavor: Flavor) -> str:
        """SHOW CREATE DATABASE's text."""
        return (
            f"CREATE DATABASE {escape_identifier(self.name)} "
            f"/*!40100 DEFAULT CHARACTER SET {self.char_set} COLLATE {self.collation} */"
        )
