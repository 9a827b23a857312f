"""Skeema's ignore-table / -proc / -func / -view / -trigger / -event filters as one value.  Pure.

As in Skeema, ignore-table also leaves out views (tables and views share one
namespace) and the triggers of the tables it matches; the other patterns
match only their own kind.  Matching is `re.search`, case-sensitive unless
the pattern says `(?i)`.
"""

from __future__ import annotations

import re

from schemad.model.keys import ObjectType
from schemad.records import dataclass


def _hit(pattern: re.Pattern[str] | None, name: str | None) -> bool:
    return pattern is not None and name is not None and pattern.search(name) is not None


@dataclass(frozen=True, slots=True)
class Filters:
    """Name patterns of objects to leave out (Skeema's ignore-* options)."""

    table: re.Pattern[str] | None = None  # tables, views, and the triggers of matching tables
    proc: re.Pattern[str] | None = None
    func: re.Pattern[str] | None = None
    view: re.Pattern[str] | None = None
    trigger: re.Pattern[str] | None = None
    event: re.Pattern[str] | None = None

    def ignores(self, type_: ObjectType, name: str, *, on_table: str | None = None) -> bool:
        """Whether an object of `type_` called `name` is left out; `on_table`: a trigger's table."""
        if type_ is ObjectType.TABLE:
            return _hit(self.table, name)
        if type_ is ObjectType.VIEW:
            return _hit(self.table, name) or _hit(self.view, name)
        if type_ is ObjectType.TRIGGER:
            return _hit(self.trigger, name) or _hit(self.table, on_table)
        pattern = {
            ObjectType.PROCEDURE: self.proc,
            ObjectType.FUNCTION: self.func,
            ObjectType.EVENT: self.event,
        }.get(type_)
        return _hit(pattern, name)
