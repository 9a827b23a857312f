"""definer: routines, views, triggers and events whose DEFINER matches no allow-definer pattern.

Patterns are ``user@host`` with SQL LIKE wildcards (``%`` any run, ``_`` one
character); quotes and backticks around either part are ignored, and so is case.
An object whose file gives no DEFINER under strip-definer (model definer "")
has no definer to judge: the server will pick the connecting user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from schemad.lint.options import LintOptions
from schemad.lint.rule import Finding, Rule
from schemad.model.definer import normalize_definer
from schemad.model.event import Event
from schemad.model.flavor import Flavor
from schemad.model.routine import Routine
from schemad.model.schema import Schema, SchemaObject
from schemad.model.trigger import Trigger
from schemad.model.view import View

__all__ = ["DEFINER", "definer_allowed"]


@lru_cache(maxsize=64)
def _pattern(text: str) -> re.Pattern[str]:
    cleaned = re.sub(r"[`'\"]", "", text.strip())
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in cleaned)
    return re.compile(body, re.I | re.S)


def definer_allowed(definer: str, patterns: Iterable[str]) -> bool:
    """Whether `definer` (``user@host``, unquoted) matches one of the LIKE-style patterns."""
    value = normalize_definer(definer)
    return any(_pattern(p).fullmatch(value) for p in patterns)


def _definer(schema: Schema, obj: SchemaObject, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    if not isinstance(obj, Routine | View | Trigger | Event) or not obj.definer:
        return
    if not definer_allowed(obj.definer, opts.allow_definer):
        allowed = ", ".join(opts.allow_definer) or "(none)"
        yield f"{obj.key} has definer {obj.definer}; allow-definer is {allowed}", "DEFINER"


DEFINER = Rule("definer", _definer, "DEFINER not allowed")
