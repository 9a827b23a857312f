"""What a CREATE statement reads: the tables and views a view selects from, a trigger's table, FK parents.

Small and conservative: each answer may name too much, never too little,
and None means "cannot tell" (the caller must then assume the statement
reads everything).  `view_references` parses the view's SELECT with sqlglot
(imported on first use); the others are regexes over the masked text.  The
workspace uses them to know what a statement needs and what its cached
canonical form depends on; the planner to know which tables a view or
trigger of the files needs in the workspace.

`schema_qualifiers` gives the places (offsets into the statement) where a
view's SELECT qualifies a name with given schemas, for the workspace guard to
splice the qualifiers out of the original text.  sqlglot only finds the names
and their positions here; it never renders SQL.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import TYPE_CHECKING

from schemad import lazyre
from schemad.sqltext.classify import MASKED_IDENT, mask, unwrap_versioned

__all__ = [
    "foreign_key_parents",
    "parent_qualifiers",
    "schema_qualifiers",
    "trigger_table",
    "view_references",
]

_M_IDENT = MASKED_IDENT
_M_NAME = rf"({_M_IDENT})(?:\s*\.\s*({_M_IDENT}))?"
_VIEW_HEAD_RE = lazyre.compile(rf"\bview\s+{_M_IDENT}(?:\s*\.\s*{_M_IDENT})?\s*(?:\([^()]*\)\s*)?as\b", re.I)
_CHECK_OPTION_RE = lazyre.compile(r"\s+with\s+(?:cascaded\s+|local\s+)?check\s+option\s*$", re.I)
_TRIGGER_HEAD_RE = lazyre.compile(
    rf"\btrigger\s+(?:if\s+not\s+exists\s+)?{_M_IDENT}(?:\s*\.\s*{_M_IDENT})?"
    rf"\s+(?:before|after)\s+(?:insert|update|delete)\s+on\s+{_M_NAME}",
    re.I,
)
_REFERENCES_RE = lazyre.compile(rf"\breferences\s+{_M_NAME}", re.I)
_REFERENCES_WORD_RE = lazyre.compile(r"\breferences\b", re.I)


def _name_at(body: str, m: re.Match[str], group: int) -> str:
    raw = body[m.start(group) : m.end(group)]
    if raw.startswith("`"):
        return raw[1:-1].replace("``", "`")
    return raw


def _qualified(body: str, m: re.Match[str], first: int) -> tuple[str, str]:
    """(schema, name) from a `[schema.]name` match whose groups are `first` and `first + 1`."""
    if m.group(first + 1) is None:
        return ("", _name_at(body, m, first))
    return (_name_at(body, m, first), _name_at(body, m, first + 1))


if TYPE_CHECKING:
    from sqlglot import exp


def _view_select(body: str) -> tuple[int, exp.Query] | None:
    """(offset of the SELECT in `body`, its sqlglot tree); None when not found or not parsed.

    The SELECT is parsed out of the text with its version-gated comment
    wrappers blanked (mysqldump writes `/*!50001 VIEW v AS select ... */`),
    which keeps every offset valid in `body`.
    """
    masked = mask(body)
    head = _VIEW_HEAD_RE.search(masked)
    if head is None:
        return None
    end = len(body)
    tail = _CHECK_OPTION_RE.search(masked, head.end())
    if tail is not None:
        end = tail.start()
    select = unwrap_versioned(body)[head.end() : end]
    import sqlglot  # ~0.1 s to import: only when a view is actually analysed
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(select, read="mysql")
    except Exception:  # sqlglot raises several error types (and worse) on odd input
        return None
    if not isinstance(tree, exp.Query):
        return None
    return head.end(), tree


@functools.lru_cache(maxsize=8192)
def view_references(body: str) -> frozenset[tuple[str, str]] | None:
    """(schema, name) of every table or view a CREATE VIEW's SELECT names; schema "" when unqualified.

    None when the SELECT cannot be found or sqlglot cannot parse it: the caller
    must then assume the view reads everything.  CTE names and aliases may show
    up as names; that only ever adds dependencies.
    """
    found = _view_select(body)
    if found is None:
        return None
    from sqlglot import exp

    return frozenset((t.db or "", t.name) for t in found[1].find_all(exp.Table) if t.name)


_QUALIFIER_DOT_RE = lazyre.compile(r"\s*\.\s*")


@functools.lru_cache(maxsize=8192)
def schema_qualifiers(body: str, schemas: frozenset[str]) -> tuple[tuple[int, int], ...] | None:
    """Where a CREATE VIEW's SELECT qualifies a name with one of `schemas`: (start, end) offsets.

    Each span runs from the schema name (quotes included) through the dot and
    any blanks after it, so cutting it out of `body` leaves the bare name:
    tables and views (`app.users`), columns (`app.users.id`) and stored
    functions (`app.f(x)`).  Schema names are compared exactly, as the guard
    compares an object's own qualifier.  Sorted, not overlapping; () when
    there is none; None when the SELECT cannot be read or a position found
    does not hold what sqlglot says it does (the caller must not guess then).
    """
    found = _view_select(body)
    if found is None:
        return None
    from sqlglot import exp

    offset, tree = found
    masked = mask(body)
    qualifiers: list[exp.Identifier] = []
    for node in tree.find_all(exp.Table, exp.Column, exp.Dot):
        if isinstance(node, exp.Dot):
            # `app.f(x)`: a stored function of schema `app` (the one form of Dot MySQL has)
            if isinstance(node.this, exp.Identifier) and isinstance(node.expression, exp.Func):
                qualifiers.append(node.this)
            continue
        if node.args.get("catalog") is not None:
            return None  # `a.b.c` as a table: not MySQL, don't guess
        db = node.args.get("db")
        if isinstance(db, exp.Identifier):
            qualifiers.append(db)
    spans: list[tuple[int, int]] = []
    for ident in qualifiers:
        if ident.name not in schemas:
            continue
        start, last = ident.meta.get("start"), ident.meta.get("end")
        if not isinstance(start, int) or not isinstance(last, int):
            return None
        start, last = start + offset, last + offset
        raw = body[start : last + 1]
        name = raw[1:-1].replace("``", "`") if raw.startswith("`") else raw
        dot = _QUALIFIER_DOT_RE.match(masked, last + 1)
        if name != ident.name or dot is None or "." not in dot[0]:
            return None
        spans.append((start, dot.end()))
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        return None
    return tuple(spans)


@functools.lru_cache(maxsize=1 << 16)
def trigger_table(body: str) -> tuple[str, str] | None:
    """(schema, name) of the table a CREATE TRIGGER is defined on, or None when not found."""
    m = _TRIGGER_HEAD_RE.search(mask(body))
    return None if m is None else _qualified(body, m, 1)


def parent_qualifiers(body: str, schemas: frozenset[str]) -> tuple[tuple[int, int], ...] | None:
    """Where a statement's foreign keys qualify their parent with one of `schemas`: (start, end) offsets.

    Each span runs from the schema name (quotes included) through the dot and
    any blanks after it, so cutting it out of `body` leaves `REFERENCES parent`.
    Schema names are compared exactly.  () when there is none; None when a
    REFERENCES cannot be read (e.g. an ANSI_QUOTES "name"): the caller must
    not guess then.
    """
    if "references" not in body.lower():
        return ()
    masked = mask(body)
    words = len(_REFERENCES_WORD_RE.findall(masked))
    found = list(_REFERENCES_RE.finditer(masked))
    if len(found) != words:
        return None
    return tuple(
        (m.start(1), m.start(2)) for m in found if m.group(2) is not None and _name_at(body, m, 1) in schemas
    )


@functools.lru_cache(maxsize=1 << 16)
def foreign_key_parents(body: str) -> frozenset[tuple[str, str]] | None:
    """(schema, name) of every table a CREATE TABLE's foreign keys reference; None when unreadable."""
    if "references" not in body.lower():
        return frozenset()
    masked = mask(body)
    words = len(_REFERENCES_WORD_RE.findall(masked))
    found = [_qualified(body, m, 1) for m in _REFERENCES_RE.finditer(masked)]
    if len(found) != words:
        return None  # e.g. an ANSI_QUOTES "name": don't guess
    return frozenset(found)
