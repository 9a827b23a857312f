"""Lint: Skeema's lint rules, run as pure code over the model.

:func:`~schemad.lint.engine.lint_schema` runs every rule that is not ignored
(:class:`~schemad.lint.options.LintOptions`) over a :class:`~schemad.model.schema.Schema`
and returns :class:`~schemad.lint.engine.Note` values; :func:`~schemad.lint.engine.locate`
then points a note at the line and column of its statement's text.

What it will not do: read config or files, talk to a server, or report SQL errors
from a workspace (the caller adds those, always as errors).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemad.lint.engine import Note, Source, lint_located, lint_schema, locate
    from schemad.lint.options import LintOptions, Severity
    from schemad.lint.rule import Finding, Rule

# Loaded on first use: a plan that only needs LintOptions (a no-change diff)
# should not import every rule (~8 ms of a small repo's start-up).
_HOME = {
    "Note": "engine",
    "Source": "engine",
    "lint_located": "engine",
    "lint_schema": "engine",
    "locate": "engine",
    "LintOptions": "options",
    "Severity": "options",
    "Finding": "rule",
    "Rule": "rule",
}


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "Finding",
    "LintOptions",
    "Note",
    "Rule",
    "Severity",
    "Source",
    "lint_located",
    "lint_schema",
    "locate",
]
