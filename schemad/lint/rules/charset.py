"""charset: table default or column character set outside allow-charset (utf8 = utf8mb3)."""

from __future__ import annotations

from collections.abc import Iterator

from schemad.lint.options import LintOptions, normalize_charset
from schemad.lint.rule import Finding, Rule, for_type
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier as q
from schemad.model.schema import Schema
from schemad.model.table import Table

__all__ = ["CHARSET"]


def _allowed_text(opts: LintOptions) -> str:
    return ", ".join(sorted(opts.allow_charset))


def _charset(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    if normalize_charset(table.char_set) not in opts.allow_charset:
        yield (
            f"table {q(table.name)} has default character set {table.char_set};"
            f" allow-charset is {_allowed_text(opts)}",
            "CHARSET",
        )
    for col in table.columns:
        if col.char_set and normalize_charset(col.char_set) not in opts.allow_charset:
            yield (
                f"column {q(col.name)} of table {q(table.name)} has character set {col.char_set};"
                f" allow-charset is {_allowed_text(opts)}",
                col.name,
            )


CHARSET = Rule("charset", for_type(Table, _charset), "character set not allowed")
