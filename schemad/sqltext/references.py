"""What a CREATE statement reads: the tables and views a view selects from, a trigger's table, FK parents.

Small and conservative: each answer may name too much, never too little,
and None means "cannot tell" (the caller must then assume the statement
reads everything).  `view_references` parses the view's SELECT with sqlglot
(imported on first use); the others are regexes over the masked text.  The
workspace uses them to know what a statement needs and what its cached
canonical form depends on; the planner to know which tables a view or
trigger of the files needs in the workspace.
"""

from __future__ import annotations

import functools
import re

from schemad.sqltext.classify import MASKED_IDENT, mask

__all__ = ["foreign_key_parents", "trigger_table", "view_references"]

_M_IDENT = MASKED_IDENT
_M_NAME = rf"({_M_IDENT})(?:\s*\.\s*({_M_IDENT}))?"
_VIEW_HEAD_RE = re.compile(rf"\bview\s+{_M_IDENT}(?:\s*\.\s*{_M_IDENT})?\s*(?:\([^()]*\)\s*)?as\b", re.I)
_CHECK_OPTION_RE = re.compile(r"\s+with\s+(?:cascaded\s+|local\s+)?check\s+option\s*$", re.I)
_TRIGGER_HEAD_RE = re.compile(
    rf"\btrigger\s+(?:if\s+not\s+exists\s+)?{_M_IDENT}(?:\s*\.\s*{_M_IDENT})?"
    rf"\s+(?:before|after)\s+(?:insert|update|delete)\s+on\s+{_M_NAME}",
    re.I,
)
_REFERENCES_RE = re.compile(rf"\breferences\s+{_M_NAME}", re.I)
_REFERENCES_WORD_RE = re.compile(r"\breferences\b", re.I)


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


@functools.lru_cache(maxsize=8192)
def view_references(body: str) -> frozenset[tuple[str, str]] | None:
    """(schema, name) of every table or view a CREATE VIEW's SELECT names; schema "" when unqualified.

    None when the SELECT cannot be found or sqlglot cannot parse it: the caller
    must then assume the view reads everything.  CTE names and aliases may show
    up as names; that only ever adds dependencies.
    """
    masked = mask(body)
    head = _VIEW_HEAD_RE.search(masked)
    if head is None:
        return None
    end = len(body)
    tail = _CHECK_OPTION_RE.search(masked, head.end())
    if tail is not None:
        end = tail.start()
    select = body[head.end() : end]
    import sqlglot  # ~0.1 s to import: only when a view is actually analysed
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(select, read="mysql")
    except Exception:  # sqlglot raises several error types (and worse) on odd input
        return None
    if not isinstance(tree, exp.Query):
        return None
    return frozenset((t.db or "", t.name) for t in tree.find_all(exp.Table) if t.name)


@functools.lru_cache(maxsize=1 << 16)
def trigger_table(body: str) -> tuple[str, str] | None:
    """(schema, name) of the table a CREATE TRIGGER is defined on, or None when not found."""
    m = _TRIGGER_HEAD_RE.search(mask(body))
    return None if m is None else _qualified(body, m, 1)


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
