"""Name rules: reserved-word (table, column and routine names) and name-case (table names)."""

from __future__ import annotations

from collections.abc import Iterator

from schemad.lint.options import LintOptions
from schemad.lint.rule import Finding, Rule, for_type
from schemad.lint.rules.reserved_words import reserved_words
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier as q
from schemad.model.routine import Routine
from schemad.model.schema import Schema, SchemaObject
from schemad.model.table import Table

__all__ = ["NAME_CASE", "RESERVED_WORD"]


def _reserved_word(schema: Schema, obj: SchemaObject, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    words = reserved_words(flavor)
    if isinstance(obj, Table | Routine) and obj.name.lower() in words:
        yield f"{obj.key}: name is a reserved word in {flavor.vendor.value}", None
    if isinstance(obj, Table):
        for col in obj.columns:
            if col.name.lower() in words:
                yield (
                    f"column {q(col.name)} of table {q(obj.name)}: name is a reserved word in"
                    f" {flavor.vendor.value}",
                    col.name,
                )


def _name_case(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    if table.name != table.name.lower():
        yield f"table {q(table.name)} has uppercase letters in its name", None


RESERVED_WORD = Rule("reserved-word", _reserved_word, "reserved word as a name")
NAME_CASE = Rule("name-case", for_type(Table, _name_case), "table name with uppercase letters")
