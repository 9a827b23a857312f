"""lint-stale-rename over the live tables annotated by the files: an annotation that lands there is stale."""

from __future__ import annotations

from schemad.fs.logical import LogicalSchema
from schemad.lint.engine import lint_located, lint_schema
from schemad.lint.options import LintOptions, Severity
from schemad.lint.rules.renames import STALE_RENAME
from schemad.model.column import Column
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.table import Table
from schemad.sqltext.renames import annotate_renames
from tests.unit.lint.builders import ID, MARIADB, idx, pk, schema, table

FILES = {
    "t.sql": "CREATE TABLE t (\n  id bigint unsigned NOT NULL,\n  b2 int, -- @renamed from=b\n"
    "  c2 int, -- @renamed from=c\n  PRIMARY KEY (id),\n  KEY k2 (b2) -- @renamed from=k\n);\n",
    "u.sql": "CREATE TABLE u /* @renamed from=old_u */ (\n  id bigint unsigned NOT NULL\n);\n",
}


def test_annotations_whose_new_name_is_live_are_reported_where_they_stand() -> None:
    logical = LogicalSchema.from_texts(FILES)
    # Live: t already has b2 and k2 (pushed), c2 is still c (pending); u is still old_u (pending).
    live_t = Table(
        "t",
        (ID, Column("b2", "int(11)"), Column("c", "int(11)")),
        primary_key=pk("id"),
        secondary_indexes=(idx("k2", "b2"),),
    )
    live = schema(live_t, table("old_u"))
    annotated = annotate_renames(live, logical.creates.values())
    notes = lint_located(annotated, MARIADB, LintOptions(), logical.creates)
    stale = [(n.rule, n.severity, n.line, n.message) for n in notes if n.rule == "stale-rename"]
    assert stale == [
        (
            "stale-rename",
            Severity.WARNING,
            3,
            "column `b2` of table `t` already has this name on the live schema: "
            "the `@renamed from=b` annotation can go",
        ),
        (
            "stale-rename",
            Severity.WARNING,
            6,
            "index `k2` of table `t` already has this name on the live schema: "
            "the `@renamed from=k` annotation can go",
        ),
    ]


def test_table_annotation_and_the_workspace_model() -> None:
    logical = LogicalSchema.from_texts(FILES)
    live = schema(table("u"))
    notes = lint_schema(
        annotate_renames(live, logical.creates.values()), MARIADB, LintOptions(), rules=(STALE_RENAME,)
    )
    assert [(n.key, n.message) for n in notes] == [
        (
            ObjectKey(ObjectType.TABLE, "u"),
            "table `u` already has this name on the live schema: the `@renamed from=old_u` annotation can go",
        )
    ]
    # The workspace's model never carries an annotation: nothing there, whatever the files say.
    assert lint_schema(live, MARIADB, LintOptions(), rules=(STALE_RENAME,)) == []
