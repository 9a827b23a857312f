"""DiffKind: what a statement of a diff does to its object.

Its own module so that code that only names kinds (plans, printers,
executors) does not load the table differ and its clause types.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DiffKind"]


class DiffKind(StrEnum):
    CREATE = "CREATE"
    ALTER = "ALTER"
    DROP = "DROP"
    INSERT = "INSERT"  # seed data: a file's INSERT, run on a table that is new or empty (plan.seeds)
