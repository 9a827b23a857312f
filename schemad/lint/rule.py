"""Rule: a named check over one schema object, and the helpers rules are built with.

A check yields :data:`Finding` pairs ``(message, locator)``; the locator is the
identifier or clause keyword (a column or index name, ``ENGINE``) that
:func:`~schemad.lint.engine.locate` looks for in the statement text, or None for
the statement itself.  Severity and location are the engine's business.  No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from schemad.lint.options import LintOptions
from schemad.model.event import Event
from schemad.model.flavor import Flavor
from schemad.model.routine import Routine
from schemad.model.schema import Schema, SchemaObject
from schemad.model.table import Table
from schemad.model.trigger import Trigger
from schemad.model.view import View
from schemad.records import dataclass

__all__ = ["Check", "Finding", "Rule", "for_type"]

Finding = tuple[str, str | None]
"""(message, locator): what is wrong, and the identifier/keyword to point at (None: the statement)."""

Check = Callable[[Schema, SchemaObject, LintOptions, Flavor], Iterable[Finding]]
"""A rule's check: schema (for cross-object rules), object, options, flavor -> findings."""

T = TypeVar("T", Table, View, Routine, Trigger, Event)


@dataclass(frozen=True, slots=True)
class Rule:
    """One lint rule: its name (the option is ``lint-<name>``) and its check."""

    name: str
    check: Check
    summary: str = ""


def for_type(kind: type[T], fn: Callable[[Schema, T, LintOptions, Flavor], Iterable[Finding]]) -> Check:
    """Make a check out of `fn` that sees only objects of class `kind` (others yield nothing)."""

    def check(schema: Schema, obj: SchemaObject, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
        if isinstance(obj, kind):
            yield from fn(schema, obj, opts, flavor)

    return check
