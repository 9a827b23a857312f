"""auto-inc: auto_increment column type outside allow-auto-inc, or next value past 80% of its max."""

from __future__ import annotations

from collections.abc import Iterator

from schemad.lint.options import LintOptions, normalize_type
from schemad.lint.rule import Finding, Rule, for_type
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier as q
from schemad.model.schema import Schema
from schemad.model.table import Table

__all__ = ["AUTO_INC", "int_max"]

_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}


def int_max(base_type: str, unsigned: bool) -> int | None:
    """The largest value of an integer type, or None for a non-integer type."""
    bits = _BITS.get(base_type)
    if bits is None:
        return None
    return (1 << bits) - 1 if unsigned else (1 << (bits - 1)) - 1


def _auto_inc(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    for col in table.columns:
        if not col.auto_increment:
            continue
        if normalize_type(col.type) not in opts.allow_auto_inc:
            allowed = ", ".join(sorted(opts.allow_auto_inc)) or "(none)"
            yield (
                f"auto_increment column {q(col.name)} of table {q(table.name)} has type {col.type};"
                f" allow-auto-inc is {allowed}",
                col.name,
            )
        top = int_max(col.base_type, col.unsigned)
        if top is not None and table.auto_increment is not None and table.auto_increment > top * 0.8:
            pct = table.auto_increment * 100 // top
            yield (
                f"next AUTO_INCREMENT value {table.auto_increment} of table {q(table.name)} is {pct}%"
                f" of the maximum of column {q(col.name)} ({col.type})",
                "AUTO_INCREMENT=",
            )


AUTO_INC = Rule("auto-inc", for_type(Table, _auto_inc), "auto_increment type not allowed or near its max")
