"""Column rules: zero-date, display-width, has-enum, has-float, has-time, ids, nullable."""

from __future__ import annotations

from collections.abc import Iterator

from schemad import lazyre
from schemad.lint.options import LintOptions, normalize_type
from schemad.lint.rule import Finding, Rule, for_type
from schemad.model.column import Column
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier as q
from schemad.model.schema import Schema
from schemad.model.table import Table

__all__ = ["DISPLAY_WIDTH", "HAS_ENUM", "HAS_FLOAT", "HAS_TIME", "IDS", "NULLABLE", "ZERO_DATE"]

_DATE_RE = lazyre.compile(r"^'?(\d{4})-(\d{2})-(\d{2})")
_WIDTH_RE = lazyre.compile(r"^[a-z]*int\((\d+)\)")
# The display width the server gives each int type when none is written: (signed, unsigned).
_DEFAULT_WIDTH = {
    "tinyint": (4, 3),
    "smallint": (6, 5),
    "mediumint": (9, 8),
    "int": (11, 10),
    "bigint": (20, 20),
}


def _where(col: Column, table: Table) -> str:
    return f"column {q(col.name)} of table {q(table.name)}"


def has_zero_date(default: str) -> bool:
    """Whether a date default literal has a zero year, month or day (``'0000-00-00'``, ``'2020-00-01'``)."""
    m = _DATE_RE.match(default.strip())
    return m is not None and (m[1] == "0000" or m[2] == "00" or m[3] == "00")


def _zero_date(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    for col in table.columns:
        if col.base_type in ("date", "datetime", "timestamp") and col.default and has_zero_date(col.default):
            yield f"{_where(col, table)} has zero date default {col.default}", col.name


def _display_width(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    for col in table.columns:
        defaults = _DEFAULT_WIDTH.get(col.base_type)
        m = _WIDTH_RE.match(col.type)
        if defaults is None or m is None or col.zerofill:
            continue
        width = int(m[1])
        if col.base_type == "tinyint" and width == 1:
            continue  # tinyint(1): the conventional boolean
        if width != defaults[1 if col.unsigned else 0]:
            yield f"{_where(col, table)} has non-default display width: {col.type}", col.name


def _type_rule(name: str, types: frozenset[str], label: str, summary: str) -> Rule:
    def check(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
        for col in table.columns:
            if col.base_type in types:
                yield f"{_where(col, table)} is a {label} column ({col.type})", col.name

    return Rule(name, for_type(Table, check), summary)


def _ids(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    for col in table.columns:
        low = col.name.lower()
        if (low == "id" or low.endswith("_id")) and normalize_type(col.type) != "bigint unsigned":
            yield f"{_where(col, table)} has type {col.type}, not bigint unsigned", col.name


def _nullable(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    for col in table.columns:
        if col.nullable:
            yield f"{_where(col, table)} is nullable", col.name


ZERO_DATE = Rule("zero-date", for_type(Table, _zero_date), "zero date default")
DISPLAY_WIDTH = Rule("display-width", for_type(Table, _display_width), "non-default int display width")
HAS_ENUM = _type_rule("has-enum", frozenset({"enum", "set"}), "ENUM/SET", "ENUM/SET columns")
HAS_FLOAT = _type_rule(
    "has-float", frozenset({"float", "double", "real"}), "FLOAT/DOUBLE", "FLOAT/DOUBLE columns"
)
HAS_TIME = _type_rule(
    "has-time", frozenset({"timestamp", "datetime", "time"}), "TIMESTAMP/DATETIME/TIME", "time columns"
)
IDS = Rule("ids", for_type(Table, _ids), "id columns not bigint unsigned")
NULLABLE = Rule("nullable", for_type(Table, _nullable), "nullable columns")
