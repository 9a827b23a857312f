"""Edits of SHOW CREATE TABLE text that need no model: what init, pull and the planner apply to it.

Apart from schemad.model.table so that a command that only moves text (init
writes what SHOW CREATE printed) does not load the table model.
"""

from __future__ import annotations

import re

from schemad import lazyre

__all__ = ["strip_auto_increment", "strip_partitioning"]

_AUTO_INC_RE = lazyre.compile(r" AUTO_INCREMENT=\d+(?= |$)", re.M)
# MariaDB prints the clause on its own line; MySQL inside a versioned comment.
_PARTITION_CLAUSE_RE = lazyre.compile(r"\n(?: |/\*!\d+ )PARTITION BY ")


def strip_auto_increment(create: str) -> str:
    """Remove the `AUTO_INCREMENT=n` table option from CREATE TABLE text (Skeema's default)."""
    head, sep, tail = create.rpartition("\n) ")
    if not sep:
        return create
    return head + sep + _AUTO_INC_RE.sub("", tail, count=1)


def strip_partitioning(create: str) -> str:
    """Remove the partition clause (the last thing SHOW CREATE TABLE prints) from CREATE TABLE text."""
    start = create.rfind("\n) ")
    m = _PARTITION_CLAUSE_RE.search(create, start) if start >= 0 else None
    return create[: m.start()] if m else create
