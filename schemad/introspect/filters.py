"""Skeema's ignore-table / ignore-proc / ignore-func filters as one value.  Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemad.model.keys import ObjectType


@dataclass(frozen=True, slots=True)
class Filters:
    """Name patterns of objects to leave out (Skeema's ignore-* options)."""

    table: re.Pattern[str] | None = None
    proc: re.Pattern[str] | None = None
    func: re.Pattern[str] | None = None

    def ignores(self, type_: ObjectType, name: str) -> bool:
        pattern = {
            ObjectType.TABLE: self.table,
            ObjectType.PROCEDURE: self.proc,
            ObjectType.FUNCTION: self.func,
        }.get(type_)
        return bool(pattern and pattern.search(name))
