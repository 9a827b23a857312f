"""Presence rules: has-routine, has-view, has-trigger, has-event (the object exists at all)."""

from __future__ import annotations

from collections.abc import Iterator

from schemad.lint.options import LintOptions
from schemad.lint.rule import Finding, Rule
from schemad.model.event import Event
from schemad.model.flavor import Flavor
from schemad.model.routine import Routine
from schemad.model.schema import Schema, SchemaObject
from schemad.model.trigger import Trigger
from schemad.model.view import View

__all__ = ["HAS_EVENT", "HAS_ROUTINE", "HAS_TRIGGER", "HAS_VIEW"]


def _presence(name: str, kind: type[object], summary: str) -> Rule:
    def check(schema: Schema, obj: SchemaObject, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
        if isinstance(obj, kind):
            yield f"{obj.key} exists; {summary} are not allowed (lint-{name})", None

    return Rule(name, check, summary)


HAS_ROUTINE = _presence("has-routine", Routine, "procedures and functions")
HAS_VIEW = _presence("has-view", View, "views")
HAS_TRIGGER = _presence("has-trigger", Trigger, "triggers")
HAS_EVENT = _presence("has-event", Event, "events")
