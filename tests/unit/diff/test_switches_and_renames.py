"""Issue 12 points 1 and 5, pure: generated columns that switch kind, and `@renamed from=` renames.

Models in, exact statements and unsafe reasons out, no server (the
integration tests test_generated_switch.py and test_renames.py check that the
same DDL converges on MariaDB).
"""

from __future__ import annotations

import pytest

from schemad.diff.modifiers import StatementModifiers
from schemad.diff.renames import column_renames, index_renames, stale_renames, table_renames
from schemad.diff.schema_diff import diff_schemas
from schemad.diff.table_diff import diff_tables
from schemad.model.column import Column, Generated
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import MARIADB_10_11, Flavor, Vendor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.schema import Schema
from schemad.model.table import Table

MODS = StatementModifiers(MARIADB_10_11)
MARIADB_10_4 = StatementModifiers(Flavor(Vendor.MARIADB, 10, 4))


def col(name: str, type_: str = "int(11)", **kw: object) -> Column:
    kw.setdefault("default", "NULL")
    return Column(name, type_, **kw)  # type: ignore[arg-type]


def gen(name: str, kind: Generated, expr: str = "`a` * 2") -> Column:
    return Column(name, "int(11)", generation_expr=expr, generated=kind)


def key(name: str, *cols: str, **kw: object) -> Index:
    return Index(name, IndexKind.PLAIN, tuple(IndexPart(c) for c in cols), **kw)  # type: ignore[arg-type]


ID = Column("id", "int(11)", nullable=False)
PK = Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("id"),))
A, C = col("a"), col("c")
VIRTUAL, STORED = gen("b", Generated.VIRTUAL), gen("b", Generated.STORED)


def table(*columns: Column, name: str = "t", **kw: object) -> Table:
    kw.setdefault("primary_key", PK)
    return Table(name, (ID, *columns), **kw)  # type: ignore[arg-type]


def run(before: Table, after: Table, mods: StatementModifiers = MODS) -> tuple[list[str], list[str]]:
    diff = diff_tables(before, after, mods)
    assert diff is not None
    return diff.statements(mods), diff.unsafe_reasons(mods)


# --- 1. generated columns that switch kind ------------------------------------------------

SWITCH_CASES: list[tuple[str, Table, Table, list[str], list[str]]] = [
    (
        "virtual_to_stored_with_indexes_and_checks",
        table(
            A, VIRTUAL, C, secondary_indexes=(key("kb", "b"), key("kc", "c")), checks=(Check("p", "`b` > 0"),)
        ),
        table(
            A, STORED, C, secondary_indexes=(key("kb", "b"), key("kc", "c")), checks=(Check("p", "`b` > 0"),)
        ),
        [
            "ALTER TABLE `t` DROP COLUMN `b`, "
            "ADD COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 2) STORED AFTER `a`, "
            # kc follows kb back: a re-added index goes last, and the order was the file's
            "DROP KEY `kb`, ADD KEY `kb` (`b`), DROP KEY `kc`, ADD KEY `kc` (`c`), "
            "DROP CONSTRAINT `p`, ADD CONSTRAINT `p` CHECK (`b` > 0)"
        ],
        [],
    ),
    (
        "stored_to_virtual_is_safe",
        table(A, STORED, C),
        table(A, VIRTUAL, C),
        [
            "ALTER TABLE `t` DROP COLUMN `b`, "
            "ADD COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 2) VIRTUAL AFTER `a`"
        ],
        [],
    ),
    (
        "first_column_comes_back_first",
        table(STORED, A, primary_key=None),
        table(VIRTUAL, A, primary_key=None),
        [
            "ALTER TABLE `t` DROP COLUMN `b`, "
            "ADD COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 2) VIRTUAL AFTER `id`"
        ],
        [],
    ),
    (
        "last_column_comes_back_last",
        table(A, STORED),
        table(A, VIRTUAL),
        ["ALTER TABLE `t` DROP COLUMN `b`, ADD COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 2) VIRTUAL"],
        [],
    ),
    (
        "regular_to_generated_is_unsafe",
        table(A, col("b"), C),
        table(A, STORED, C),
        [
            "ALTER TABLE `t` DROP COLUMN `b`, "
            "ADD COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 2) STORED AFTER `a`"
        ],
        ["column `b` would be dropped: it becomes a generated column"],
    ),
    (
        "generated_to_regular_is_unsafe",
        table(A, VIRTUAL, C),
        table(A, col("b"), C),
        ["ALTER TABLE `t` DROP COLUMN `b`, ADD COLUMN `b` int(11) DEFAULT NULL AFTER `a`"],
        ["generated column `b` becomes a regular column: its values would not be kept"],
    ),
    (
        "same_kind_expression_change_stays_a_modify",
        table(A, STORED),
        table(A, gen("b", Generated.STORED, "`a` * 3")),
        ["ALTER TABLE `t` MODIFY COLUMN `b` int(11) GENERATED ALWAYS AS (`a` * 3) STORED"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "sql", "unsafe"), [c[1:] for c in SWITCH_CASES], ids=[c[0] for c in SWITCH_CASES]
)
def test_generated_column_switch(before: Table, after: Table, sql: list[str], unsafe: list[str]) -> None:
    assert run(before, after) == (sql, unsafe)


def test_switch_rebuilds_the_primary_key_on_the_column() -> None:
    pk = Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("b"),))
    before = Table("t", (A, col("b", nullable=False, default=None)), primary_key=pk)
    after = Table("t", (A, STORED), primary_key=pk)
    (stmt,), _ = run(before, after)
    assert "DROP PRIMARY KEY, ADD PRIMARY KEY (`b`)" in stmt


# --- 5. renames -----------------------------------------------------------------------------

RENAME_CASES: list[tuple[str, Table, Table, StatementModifiers, list[str], list[str]]] = [
    (
        "column_rename_alone",
        table(A, col("b"), C, secondary_indexes=(key("kb", "b"),), checks=(Check("p", "`b` > 0"),)),
        table(
            A,
            col("b2", renamed_from="b"),
            C,
            secondary_indexes=(key("kb", "b2"),),
            checks=(Check("p", "`b2` > 0"),),
        ),
        MODS,
        ["ALTER TABLE `t` RENAME COLUMN `b` TO `b2`"],  # index and check follow on the server
        [],
    ),
    (
        "column_rename_in_a_generated_expression",
        table(A, gen("v", Generated.VIRTUAL)),
        table(col("a2", renamed_from="a"), gen("v", Generated.VIRTUAL, "`a2` * 2")),
        MODS,
        ["ALTER TABLE `t` RENAME COLUMN `a` TO `a2`"],
        [],
    ),
    (
        "annotation_names_the_old_column_in_another_case",
        table(col("B")),
        table(col("b2", renamed_from="b")),
        MODS,
        ["ALTER TABLE `t` RENAME COLUMN `B` TO `b2`"],
        [],
    ),
    (
        "widening_rename_is_a_safe_change_column",
        table(A, col("b"), C),
        table(A, col("b2", "bigint(20)", renamed_from="b"), C),
        MODS,
        ["ALTER TABLE `t` CHANGE COLUMN `b` `b2` bigint(20) DEFAULT NULL"],
        [],
    ),
    (
        "narrowing_rename_is_unsafe",
        table(A, col("b"), C),
        table(A, col("b2", "tinyint(4)", renamed_from="b"), C),
        MODS,
        ["ALTER TABLE `t` CHANGE COLUMN `b` `b2` tinyint(4) DEFAULT NULL"],
        ["modification to column `b` may require lossy data conversion"],
    ),
    (
        "old_server_has_no_rename_column",
        table(A, col("b")),
        table(A, col("b2", renamed_from="b")),
        MARIADB_10_4,
        ["ALTER TABLE `t` CHANGE COLUMN `b` `b2` int(11) DEFAULT NULL"],
        [],
    ),
    (
        "renamed_and_moved",
        table(A, col("b"), C),
        table(col("b2", renamed_from="b"), A, C),
        MODS,
        ["ALTER TABLE `t` CHANGE COLUMN `b` `b2` int(11) DEFAULT NULL AFTER `id`"],
        [],
    ),
    (
        "without_annotation_still_a_drop_and_add",
        table(A, col("b"), C),
        table(A, col("b2"), C),
        MODS,
        ["ALTER TABLE `t` DROP COLUMN `b`, ADD COLUMN `b2` int(11) DEFAULT NULL AFTER `a`"],
        ["column `b` would be dropped"],
    ),
    (
        "annotation_whose_old_column_stays_is_ignored",
        table(A, col("b")),
        table(A, col("b"), col("b2", renamed_from="b")),
        MODS,
        ["ALTER TABLE `t` ADD COLUMN `b2` int(11) DEFAULT NULL"],
        [],
    ),
    (
        "index_rename",
        table(A, secondary_indexes=(key("ka", "a"),)),
        table(A, secondary_indexes=(key("ka2", "a", renamed_from="ka"),)),
        MODS,
        ["ALTER TABLE `t` RENAME KEY `ka` TO `ka2`"],
        [],
    ),
    (
        "index_rename_with_a_new_definition_rebuilds",
        table(A, C, secondary_indexes=(key("ka", "a"),)),
        table(A, C, secondary_indexes=(key("ka2", "a", "c", renamed_from="ka"),)),
        MODS,
        ["ALTER TABLE `t` DROP KEY `ka`, ADD KEY `ka2` (`a`,`c`)"],
        [],
    ),
    (
        "index_rename_wins_over_an_equivalent_guess",
        table(A, secondary_indexes=(key("ka", "a"), key("kx", "a"))),
        table(A, secondary_indexes=(key("k1", "a"), key("k2", "a", renamed_from="kx"))),
        MODS,
        ["ALTER TABLE `t` RENAME KEY `ka` TO `k1`, RENAME KEY `kx` TO `k2`"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "mods", "sql", "unsafe"),
    [c[1:] for c in RENAME_CASES],
    ids=[c[0] for c in RENAME_CASES],
)
def test_rename(
    before: Table, after: Table, mods: StatementModifiers, sql: list[str], unsafe: list[str]
) -> None:
    assert run(before, after, mods) == (sql, unsafe)


def test_stale_annotation_changes_nothing() -> None:
    live = table(A, col("b2"), secondary_indexes=(key("k2", "a"),))
    desired = table(A, col("b2", renamed_from="b"), secondary_indexes=(key("k2", "a", renamed_from="k"),))
    assert live == desired  # the annotation is not part of what the table is
    assert diff_tables(live, desired, MODS) is None
    assert [str(s) for s in stale_renames(live, desired)] == [
        "column `b2` of table `t`: the live schema already has this name; `@renamed from=b` can go",
        "index `k2` of table `t`: the live schema already has this name; `@renamed from=k` can go",
    ]
    assert stale_renames(None, desired) == []


def test_which_annotations_apply() -> None:
    before = table(A, col("b"), secondary_indexes=(key("ka", "a"),))
    after = table(
        col("a2", renamed_from="a"),
        col("b"),
        col("c", renamed_from="nope"),
        secondary_indexes=(key("k", "a2", renamed_from="KA"), key("k3", "b", renamed_from="PRIMARY")),
    )
    assert column_renames(before, after) == {"a": "a2"}
    assert index_renames(before.secondary_indexes, after.secondary_indexes) == {"k": "ka"}


def _schema(*tables: Table) -> Schema:
    return Schema("s", "utf8mb4", "utf8mb4_general_ci", tables=tables)


def _fk(name: str, parent: str, column: str = "id") -> ForeignKey:
    return ForeignKey(name, ("a",), "", parent, (column,))


def test_table_rename_comes_after_its_alters_and_before_its_new_foreign_keys() -> None:
    live = _schema(table(A, name="old"), table(A, name="child", foreign_keys=(_fk("fk", "old"),)))
    desired = _schema(
        table(A, col("x"), name="new", renamed_from="old", foreign_keys=(_fk("self", "new"),)),
        table(A, name="child", foreign_keys=(_fk("fk", "new"),)),  # follows the rename by itself
    )
    steps = diff_schemas(live, desired, MODS).steps
    assert [(s.key.name, s.sql, s.unsafe) for s in steps] == [
        ("old", "ALTER TABLE `old` ADD COLUMN `x` int(11) DEFAULT NULL", None),
        ("old", "ALTER TABLE `old` RENAME TO `new`", None),
        ("old", "ALTER TABLE `new` ADD CONSTRAINT `self` FOREIGN KEY (`a`) REFERENCES `new` (`id`)", None),
    ]


def test_table_rename_alone_and_its_parent_columns() -> None:
    parent = table(col("code"), name="p", secondary_indexes=(key("kc", "code"),))
    live = _schema(parent, table(A, name="c", foreign_keys=(_fk("fk", "p", "code"),)))
    desired = _schema(
        table(
            col("code2", renamed_from="code"),
            name="p2",
            renamed_from="p",
            secondary_indexes=(key("kc", "code2"),),
        ),
        table(A, name="c", foreign_keys=(_fk("fk", "p2", "code2"),)),
    )
    assert table_renames(live, desired) == {"p": "p2"}
    assert [s.sql for s in diff_schemas(live, desired, MODS).steps] == [
        "ALTER TABLE `p` RENAME COLUMN `code` TO `code2`",
        "ALTER TABLE `p` RENAME TO `p2`",
    ]


def test_table_annotations_that_do_not_apply() -> None:
    live = _schema(table(A, name="a"), table(A, name="b"))
    # b exists live (stale, or a second table of that name): a is dropped, b left alone
    desired = _schema(table(A, name="b", renamed_from="a"))
    assert table_renames(live, desired) == {}
    assert [(s.sql, s.unsafe) for s in diff_schemas(live, desired, MODS).steps] == [
        ("DROP TABLE `a`", "table `a` would be dropped")
    ]
    # without an annotation a new name is a drop and a create
    desired = _schema(table(A, name="b"), table(A, name="c"))
    assert [s.sql.split(" (")[0] for s in diff_schemas(live, desired, MODS).steps] == [
        "DROP TABLE `a`",
        "CREATE TABLE `c`",
    ]


def test_unsupported_table_can_still_be_renamed_by_its_text() -> None:
    text = "CREATE TABLE `{}` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB"
    live = Table("old", (ID,), show_create=text.format("old"), unsupported=True)
    desired = Table("new", (ID,), show_create=text.format("new"), unsupported=True, renamed_from="old")
    steps = diff_schemas(_schema(live), _schema(desired), MODS)
    assert [s.sql for s in steps.steps] == ["ALTER TABLE `old` RENAME TO `new`"] and not steps.unsupported


def test_a_column_rename_never_copies() -> None:
    """MariaDB refuses ALGORITHM=COPY with a renamed foreign-key column (1846); verify always copies."""
    before, after = table(A, col("b")), table(A, col("b2", renamed_from="b"))
    copy = MODS.with_changes(alter_algorithm="copy", alter_lock="shared")
    assert run(before, after, copy)[0] == ["ALTER TABLE `t` LOCK=SHARED, RENAME COLUMN `b` TO `b2`"]
    instant = MODS.with_changes(alter_algorithm="instant")
    assert run(before, after, instant)[0] == ["ALTER TABLE `t` ALGORITHM=INSTANT, RENAME COLUMN `b` TO `b2`"]
    assert run(table(A, col("b")), table(A, col("b", "bigint(20)")), copy)[0] == [
        "ALTER TABLE `t` ALGORITHM=COPY, LOCK=SHARED, MODIFY COLUMN `b` bigint(20) DEFAULT NULL"
    ]
