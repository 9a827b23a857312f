"""stale-rename: a `@renamed from=old` annotation whose new name the live schema already has.

The annotation (sqldef's, see schemad.sqltext.renames) tells the diff to
rename instead of dropping and adding.  Once the rename ran, it has done its
work: left in the file it only confuses (and would rename again should
the live object ever get the old name back).  `pull` rewrites the file
without it; this rule says so before.

A stale annotation is a matter of the live schema, which lint rules never
read.  So this rule runs over the *live* tables with the files' annotations
put on them (`annotate_renames(live, statements)`): an annotation lands on a
live table, column or index only when it already has the annotated name, so
every `renamed_from` the rule sees there is stale.  The workspace's tables
(what every other rule reads) never carry one, so over them it finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from schemad.lint.options import LintOptions
from schemad.lint.rule import Finding, Rule, for_type
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier as q
from schemad.model.schema import Schema
from schemad.model.table import Table

__all__ = ["STALE_RENAME"]


def _stale(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    def note(what: str, old: str) -> str:
        return f"{what} already has this name on the live schema: the `@renamed from={old}` annotation can go"

    if table.renamed_from is not None:
        yield note(f"table {q(table.name)}", table.renamed_from), None
    for col in table.columns:
        if col.renamed_from is not None:
            yield note(f"column {q(col.name)} of table {q(table.name)}", col.renamed_from), col.name
    for idx in table.secondary_indexes:
        if idx.renamed_from is not None:
            yield note(f"index {q(idx.name)} of table {q(table.name)}", idx.renamed_from), idx.name


STALE_RENAME = Rule("stale-rename", for_type(Table, _stale), "@renamed annotation already applied")
