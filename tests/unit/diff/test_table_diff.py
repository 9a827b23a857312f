"""Table diff engine, pure: models in, exact statements and unsafe reasons out.

Tables are built directly from the model (no server); the integration suite
(test_table_diff_converges.py) checks that the same kind of DDL converges on a
real server.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemad.diff.clauses import (
    AddForeignKey,
    ChangeCreateOptions,
    ColumnType,
    ModifyColumn,
    charset_max_bytes,
)
from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.diff.table_diff import (
    TableDiff,
    _longest_increasing_subsequence,
    diff_tables,
    pre_drop_alters,
)
from schemad.model.column import Column, Generated
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import MARIADB_10_11, Flavor, Vendor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.partition import Partition, Partitioning
from schemad.model.table import Table

F = MARIADB_10_11
MYSQL8 = Flavor(Vendor.MYSQL, 8, 0, 36)
MARIADB_10_4 = Flavor(Vendor.MARIADB, 10, 4)
MODS = StatementModifiers(F)


def col(name: str, type_: str = "int(11)", **kw: object) -> Column:
    if type_.startswith(("varchar", "char", "text", "enum", "set")) and "collation" not in kw:
        kw.setdefault("char_set", "utf8mb4")
        kw["collation"] = "utf8mb4_general_ci"
    kw.setdefault("default", "NULL" if kw.get("nullable", True) else None)
    return Column(name, type_, **kw)  # type: ignore[arg-type]


def key(name: str, *cols: str, kind: IndexKind = IndexKind.PLAIN, **kw: object) -> Index:
    return Index(name, kind, tuple(IndexPart(c) for c in cols), **kw)  # type: ignore[arg-type]


PK = key("PRIMARY", "id", kind=IndexKind.PRIMARY)
ID = col("id", nullable=False)


def table(*columns: Column, **kw: object) -> Table:
    kw.setdefault("primary_key", PK)
    return Table("t", (ID, *columns), **kw)  # type: ignore[arg-type]


def stmts(before: Table | None, after: Table | None, mods: StatementModifiers = MODS) -> list[str]:
    diff = diff_tables(before, after, mods)
    return [] if diff is None else diff.statements(mods)


A, B, C, D = col("a"), col("b"), col("c"), col("d")


# --- statements: one row per case ---------------------------------------------------------

CASES: list[tuple[str, Table, Table, StatementModifiers, list[str]]] = [
    ("identical", table(A), table(A), MODS, []),
    ("add_at_end", table(A), table(A, B), MODS, ["ALTER TABLE `t` ADD COLUMN `b` int(11) DEFAULT NULL"]),
    (
        "add_first",
        Table("t", (A, B)),
        Table("t", (C, A, B)),
        MODS,
        ["ALTER TABLE `t` ADD COLUMN `c` int(11) DEFAULT NULL FIRST"],
    ),
    (
        "add_after",
        table(A, B),
        table(A, C, B),
        MODS,
        ["ALTER TABLE `t` ADD COLUMN `c` int(11) DEFAULT NULL AFTER `a`"],
    ),
    ("drop", table(A, B), table(B), MODS, ["ALTER TABLE `t` DROP COLUMN `a`"]),
    (
        "move_one_minimal",
        table(A, B, C, D),
        table(A, C, D, B),
        MODS,
        ["ALTER TABLE `t` MODIFY COLUMN `b` int(11) DEFAULT NULL AFTER `d`"],
    ),
    ("move_lax_column_order", table(A, B, C), table(A, C, B), MODS.with_changes(lax_column_order=True), []),
    (
        "move_and_change_lax_column_order",
        table(A, B, C),
        table(A, C, replace(B, type="bigint(20)")),
        MODS.with_changes(lax_column_order=True),
        ["ALTER TABLE `t` MODIFY COLUMN `b` bigint(20) DEFAULT NULL"],
    ),
    (
        "column_name_case_insensitive",
        table(col("Foo")),
        table(col("foo")),
        MODS,
        ["ALTER TABLE `t` MODIFY COLUMN `foo` int(11) DEFAULT NULL"],
    ),
    (
        "column_comment_lax",
        table(A),
        table(replace(A, comment="x")),
        MODS.with_changes(lax_comments=True),
        [],
    ),
    (
        "column_comment_and_type_lax",
        table(A),
        table(replace(A, comment="x", type="bigint(20)")),
        MODS.with_changes(lax_comments=True),
        ["ALTER TABLE `t` MODIFY COLUMN `a` bigint(20) DEFAULT NULL COMMENT 'x'"],
    ),
    ("table_comment_lax", table(A), table(A, comment="hi"), MODS.with_changes(lax_comments=True), []),
    (
        "table_comment_with_other_change_lax",
        table(A),
        table(A, B, comment="hi"),
        MODS.with_changes(lax_comments=True),
        ["ALTER TABLE `t` ADD COLUMN `b` int(11) DEFAULT NULL, COMMENT 'hi'"],
    ),
    (
        "table_comment_escaped",
        table(A, comment="x"),
        table(A, comment="it's\nnew"),
        MODS,
        ["ALTER TABLE `t` COMMENT 'it''s\\nnew'"],
    ),
    (
        "index_comment_lax",
        table(A, secondary_indexes=(key("k", "a", comment="x"),)),
        table(A, secondary_indexes=(key("k", "a", comment="y"),)),
        MODS.with_changes(lax_comments=True),
        [],
    ),
    (
        "index_reorder_ignored",
        table(A, B, secondary_indexes=(key("ka", "a"), key("kb", "b"))),
        table(A, B, secondary_indexes=(key("kb", "b"), key("ka", "a"))),
        MODS,
        [],
    ),
    (
        "index_reorder_exact_match",
        table(A, B, secondary_indexes=(key("ka", "a"), key("kb", "b"))),
        table(A, B, secondary_indexes=(key("kb", "b"), key("ka", "a"))),
        MODS.with_changes(exact_match=True),
        ["ALTER TABLE `t` DROP KEY `ka`, ADD KEY `ka` (`a`)"],
    ),
    (
        "index_changed_then_later_moves_only_with_strict_order",
        table(A, B, secondary_indexes=(key("ka", "a"), key("kb", "b"))),
        table(A, B, secondary_indexes=(key("ka", "a", "b"), key("kb", "b"))),
        MODS,
        ["ALTER TABLE `t` DROP KEY `ka`, ADD KEY `ka` (`a`,`b`)"],
    ),
    (
        "index_changed_then_later_moves_strict",
        table(A, B, secondary_indexes=(key("ka", "a"), key("kb", "b"))),
        table(A, B, secondary_indexes=(key("ka", "a", "b"), key("kb", "b"))),
        MODS.with_changes(strict_index_order=True),
        ["ALTER TABLE `t` DROP KEY `ka`, ADD KEY `ka` (`a`,`b`), DROP KEY `kb`, ADD KEY `kb` (`b`)"],
    ),
    (
        "index_rename",
        table(A, secondary_indexes=(key("old", "a"),)),
        table(A, secondary_indexes=(key("new", "a"),)),
        MODS,
        ["ALTER TABLE `t` RENAME KEY `old` TO `new`"],
    ),
    (
        "index_rename_old_mariadb_rebuilds",
        table(A, secondary_indexes=(key("old", "a"),)),
        table(A, secondary_indexes=(key("new", "a"),)),
        StatementModifiers(MARIADB_10_4),
        ["ALTER TABLE `t` DROP KEY `old`, ADD KEY `new` (`a`)"],
    ),
    (
        "index_rename_and_ignore",
        table(A, secondary_indexes=(key("old", "a"),)),
        table(A, secondary_indexes=(key("new", "a", invisible=True),)),
        MODS,
        ["ALTER TABLE `t` RENAME KEY `old` TO `new`", "ALTER TABLE `t` ALTER INDEX `new` IGNORED"],
    ),
    (
        "index_rename_and_ignore_old_mariadb",
        table(A, secondary_indexes=(key("old", "a"),)),
        table(A, secondary_indexes=(key("new", "a", invisible=True),)),
        StatementModifiers(MARIADB_10_4),
        ["ALTER TABLE `t` DROP KEY `old`, ADD KEY `new` (`a`) IGNORED"],
    ),
    (
        "index_visibility_mysql",
        table(A, secondary_indexes=(key("k", "a", invisible=True),)),
        table(A, secondary_indexes=(key("k", "a"),)),
        StatementModifiers(MYSQL8),
        ["ALTER TABLE `t` ALTER INDEX `k` VISIBLE"],
    ),
    (
        "pk_change",
        table(A),
        table(A, primary_key=key("PRIMARY", "id", "a", kind=IndexKind.PRIMARY)),
        MODS,
        ["ALTER TABLE `t` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`,`a`)"],
    ),
    (
        "second_fulltext_split",
        table(col("x", "text"), col("y", "text")),
        table(
            col("x", "text"),
            col("y", "text"),
            secondary_indexes=(
                key("fx", "x", kind=IndexKind.FULLTEXT),
                key("fy", "y", kind=IndexKind.FULLTEXT),
            ),
        ),
        MODS,
        ["ALTER TABLE `t` ADD FULLTEXT KEY `fx` (`x`)", "ALTER TABLE `t` ADD FULLTEXT KEY `fy` (`y`)"],
    ),
    (
        "algorithm_lock",
        table(A),
        table(A, B),
        MODS.with_changes(alter_algorithm="INPLACE", alter_lock="none"),
        ["ALTER TABLE `t` ALGORITHM=INPLACE, LOCK=NONE, ADD COLUMN `b` int(11) DEFAULT NULL"],
    ),
    (
        "with_validation_mysql",
        Table("t", (A,)),
        Table("t", (A, col("v", generation_expr="`a` + 1", generated=Generated.VIRTUAL))),
        StatementModifiers(MYSQL8, virtual_validation=True),
        ["ALTER TABLE `t` ADD COLUMN `v` int(11) GENERATED ALWAYS AS (`a` + 1) VIRTUAL, WITH VALIDATION"],
    ),
    (
        "with_validation_never_on_mariadb",
        Table("t", (A,)),
        Table("t", (A, col("v", generation_expr="`a` + 1", generated=Generated.VIRTUAL))),
        MODS.with_changes(virtual_validation=True),
        ["ALTER TABLE `t` ADD COLUMN `v` int(11) GENERATED ALWAYS AS (`a` + 1) VIRTUAL"],
    ),
    (
        "mysql8_display_width_is_cosmetic",
        table(col("n", "int(11)")),
        table(col("n", "int")),
        StatementModifiers(MYSQL8),
        [],
    ),
    (
        "mysql8_display_width_exact_match",
        table(col("n", "int(11)")),
        table(col("n", "int")),
        StatementModifiers(MYSQL8, exact_match=True),
        ["ALTER TABLE `t` MODIFY COLUMN `n` int DEFAULT NULL"],
    ),
    (
        "table_charset",
        table(A, char_set="latin1", collation="latin1_swedish_ci"),
        table(A),
        MODS,
        ["ALTER TABLE `t` DEFAULT CHARACTER SET = utf8mb4 COLLATE = utf8mb4_general_ci"],
    ),
    (
        "engine",
        table(A),
        table(A, engine="Aria", create_options=("PAGE_CHECKSUM=1",)),
        MODS,
        ["ALTER TABLE `t` ENGINE=Aria, PAGE_CHECKSUM=1"],
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "mods", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_statements(before: Table, after: Table, mods: StatementModifiers, expected: list[str]) -> None:
    assert stmts(before, after, mods) == expected


# --- foreign keys and checks ----------------------------------------------------------------

FK = ForeignKey("fk", ("a",), "", "p", ("id",))


@pytest.mark.parametrize(
    ("old", "new", "mods", "expected"),
    [
        (FK, replace(FK, name="fk2"), MODS, []),
        (
            FK,
            replace(FK, name="fk2"),
            MODS.with_changes(strict_fk_order=True),
            [
                "ALTER TABLE `t` DROP FOREIGN KEY `fk`",
                "ALTER TABLE `t` ADD CONSTRAINT `fk2` FOREIGN KEY (`a`) REFERENCES `p` (`id`)",
            ],
        ),
        (FK, replace(FK, on_delete="NO ACTION"), MODS, []),
        (
            FK,
            replace(FK, on_delete="CASCADE"),
            MODS,
            [
                "ALTER TABLE `t` DROP FOREIGN KEY `fk`",
                "ALTER TABLE `t` ADD CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `p` (`id`) "
                "ON DELETE CASCADE",
            ],
        ),
        (None, FK, MODS, ["ALTER TABLE `t` ADD CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `p` (`id`)"]),
        (FK, None, MODS, ["ALTER TABLE `t` DROP FOREIGN KEY `fk`"]),
    ],
    ids=["rename", "rename_strict", "restrict_no_action", "actions", "add", "drop"],
)
def test_foreign_keys(
    old: ForeignKey | None, new: ForeignKey | None, mods: StatementModifiers, expected: list[str]
) -> None:
    before = table(A, foreign_keys=(old,) if old else ())
    after = table(A, foreign_keys=(new,) if new else ())
    assert stmts(before, after, mods) == expected


def test_split_foreign_key_adds() -> None:
    before = table(A, foreign_keys=(FK,))
    after = table(A, B, foreign_keys=(replace(FK, on_delete="CASCADE"),))
    diff = diff_tables(before, after, MODS)
    assert diff is not None
    main, fks = diff.split_foreign_key_adds()
    assert main is not None and fks is not None
    assert not any(isinstance(c, AddForeignKey) for c in main.clauses)
    assert all(isinstance(c, AddForeignKey) for c in fks.clauses)
    assert main.statements(MODS) == [
        "ALTER TABLE `t` ADD COLUMN `b` int(11) DEFAULT NULL, DROP FOREIGN KEY `fk`"
    ]
    only_add = diff_tables(table(A), table(A, foreign_keys=(FK,)), MODS)
    assert only_add is not None and only_add.split_foreign_key_adds() == (None, only_add)
    no_add = diff_tables(table(A), table(A, B), MODS)
    assert no_add is not None and no_add.split_foreign_key_adds() == (no_add, None)


def test_alter_parts_are_the_statements_with_their_clauses() -> None:
    before = table(A, foreign_keys=(FK,))
    after = table(
        A,
        B,
        col("x", "text"),
        col("y", "text"),
        secondary_indexes=(key("fx", "x", kind=IndexKind.FULLTEXT), key("fy", "y", kind=IndexKind.FULLTEXT)),
        foreign_keys=(replace(FK, on_delete="CASCADE"),),
    )
    diff = diff_tables(before, after, MODS)
    assert diff is not None
    parts = diff.alter_parts(MODS)
    assert [p.statement for p in parts] == diff.statements(MODS) and len(parts) == 3
    assert not any(isinstance(c, AddForeignKey) for p in parts[:2] for c in p.clauses)
    assert all(isinstance(c, AddForeignKey) for c in parts[2].clauses)  # FK adds run last
    assert all(p.mods == MODS for p in parts)
    create = diff_tables(None, after, MODS)
    assert create is not None and create.alter_parts(MODS) == []


def test_alter_parts_carry_strict_index_order_on_a_table_without_a_pk() -> None:
    u = key("u", "id", kind=IndexKind.UNIQUE)
    before = table(A, primary_key=None, secondary_indexes=(u,))
    diff = diff_tables(before, table(A, B, primary_key=None, secondary_indexes=(u,)), MODS)
    assert diff is not None
    (part,) = diff.alter_parts(MODS)
    assert part.mods.index_order_counts and not MODS.index_order_counts


C1, C2 = Check("c1", "`a` > 0"), Check("c2", "`a` < 9")


@pytest.mark.parametrize(
    ("old", "new", "mods", "expected"),
    [
        ((C1,), (C1, C2), MODS, ["ALTER TABLE `t` ADD CONSTRAINT `c2` CHECK (`a` < 9)"]),
        ((C1, C2), (C1,), MODS, ["ALTER TABLE `t` DROP CONSTRAINT `c2`"]),
        ((C1,), (C1,), StatementModifiers(MYSQL8), []),
        (
            (C1,),
            (replace(C1, clause="`a` > 1"),),
            MODS,
            ["ALTER TABLE `t` DROP CONSTRAINT `c1`, ADD CONSTRAINT `c1` CHECK (`a` > 1)"],
        ),
        (
            (C1,),
            (replace(C1, clause="`a` > 1"),),
            StatementModifiers(MYSQL8),
            ["ALTER TABLE `t` DROP CHECK `c1`, ADD CONSTRAINT `c1` CHECK (`a` > 1)"],
        ),
        ((C1,), (replace(C1, name="renamed"),), MODS, []),
        (
            (C1,),
            (replace(C1, name="renamed"),),
            MODS.with_changes(strict_check_order=True),
            ["ALTER TABLE `t` DROP CONSTRAINT `c1`, ADD CONSTRAINT `renamed` CHECK (`a` > 0)"],
        ),
        ((C1, C2), (C2, C1), MODS, []),
        (
            (C1, C2),
            (C2, C1),
            MODS.with_changes(strict_check_order=True),
            ["ALTER TABLE `t` DROP CONSTRAINT `c1`, ADD CONSTRAINT `c1` CHECK (`a` > 0)"],
        ),
        ((C1, C2), (C2, C1), StatementModifiers(MYSQL8, strict_check_order=True), []),
        (
            (C1,),
            (replace(C1, enforced=False),),
            StatementModifiers(MYSQL8),
            ["ALTER TABLE `t` ALTER CHECK `c1` NOT ENFORCED"],
        ),
    ],
    ids=[
        "add",
        "drop",
        "same",
        "change",
        "change_mysql",
        "rename",
        "rename_strict",
        "reorder",
        "reorder_strict",
        "reorder_mysql_invisible",
        "enforcement",
    ],
)
def test_checks(
    old: tuple[Check, ...], new: tuple[Check, ...], mods: StatementModifiers, expected: list[str]
) -> None:
    assert stmts(table(A, checks=old), table(A, checks=new), mods) == expected


# --- safety --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "unsafe"),
    [
        ("varchar(20)", "varchar(21)", False),
        ("varchar(20)", "varchar(19)", True),
        ("varchar(100)", "text", False),
        ("varchar(20000)", "text", True),  # 80000 bytes in utf8mb4
        ("text", "varchar(100)", True),
        ("char(10)", "varchar(10)", False),
        ("tinytext", "mediumtext", False),
        ("longtext", "text", True),
        ("int(11)", "bigint(20)", False),
        ("int(11)", "int(10)", False),  # display width only
        ("bigint(20)", "int(11)", True),
        ("int(11)", "int(10) unsigned", True),
        ("int(10) unsigned", "int(11)", True),
        ("int(10) unsigned", "bigint(20)", False),
        ("tinyint(3) unsigned", "smallint(6)", False),
        ("smallint(5) unsigned", "mediumint(8) unsigned", False),
        ("decimal(10,2)", "decimal(12,2)", False),
        ("decimal(10,2)", "decimal(9,2)", True),
        ("decimal(10,2)", "decimal(10,1)", True),
        ("decimal(10,2)", "decimal(10,2) unsigned", True),
        ("decimal(10,2) unsigned", "decimal(10,2)", False),
        ("float", "double", False),
        ("double", "float", True),
        ("float(7,2)", "float", False),
        ("float", "float(7,2)", True),
        ("double(10,2)", "double(12,4)", False),
        ("double(10,2)", "double(10,1)", True),
        ("float", "float unsigned", True),
        ("enum('a','b')", "enum('a','b','c')", False),
        ("enum('a','b')", "enum('a','bc')", True),
        ("enum('a','b')", "enum('b','a')", True),
        ("set('a','b')", "set('a')", True),
        ("bit(8)", "bit(16)", False),
        ("bit(8)", "bit(1)", True),
        ("time", "time(3)", False),
        ("timestamp(6)", "timestamp", True),
        ("datetime(3)", "datetime(6)", False),
        ("varbinary(10)", "varbinary(20)", False),
        ("varbinary(20)", "varbinary(10)", True),
        ("blob", "tinyblob", True),
        ("varbinary(100)", "mediumblob", False),
        ("binary(4)", "binary(8)", True),
        ("binary(8)", "varbinary(8)", True),
        ("varbinary(8)", "binary(8)", True),
        ("binary(16)", "inet6", False),
        ("inet6", "binary(16)", False),
        ("varchar(39)", "inet6", False),
        ("char(15)", "inet4", False),
        ("uuid", "char(36)", False),
        ("char(32)", "uuid", False),
        ("uuid", "char(35)", True),
        ("inet4", "inet6", True),  # only safe from MariaDB 11.3
        ("inet6", "inet4", True),
        ("int(11)", "varchar(20)", True),
        ("varchar(20)", "int(11)", True),
        ("date", "datetime", True),
        ("blob /*M!100301 COMPRESSED*/", "blob", False),
        ("year(4)", "year(4)", False),
    ],
)
def test_modify_column_unsafe(old: str, new: str, unsafe: bool) -> None:
    clause = ModifyColumn(col("c", old), col("c", new), "utf8mb4_general_ci")
    assert (clause.unsafe(MODS) is not None) is unsafe


def test_modify_column_unsafe_special_cases() -> None:
    mc = ModifyColumn(col("c", "inet4"), col("c", "inet6"), "")
    assert mc.unsafe(StatementModifiers(Flavor(Vendor.MARIADB, 11, 3))) is None
    assert mc.unsafe(StatementModifiers(Flavor(Vendor.MARIADB, 11, 2))) is not None
    latin = col("s", "varchar(20)", char_set="latin1", collation="latin1_swedish_ci")
    utf8 = col("s", "varchar(20)", char_set="utf8mb4", collation="utf8mb4_general_ci")
    assert (
        ModifyColumn(latin, utf8, "").unsafe(MODS)
        == "modification to column `s` may require lossy data conversion"
    )
    old3 = col("s", "varchar(20)", char_set="utf8", collation="utf8_general_ci")
    new3 = col("s", "varchar(20)", char_set="utf8mb3", collation="utf8mb3_general_ci")
    assert ModifyColumn(old3, new3, "", in_unique_index=True).unsafe(MODS) is None
    binc = replace(utf8, collation="utf8mb4_bin")
    assert ModifyColumn(utf8, binc, "").unsafe(MODS) is None
    assert ModifyColumn(utf8, binc, "", in_unique_index=True).unsafe(MODS) == (
        "collation change for column `s` affects equality comparisons in unique index"
    )
    virtual = col("v", "bigint(20)", generation_expr="`a`", generated=Generated.VIRTUAL)
    assert ModifyColumn(virtual, replace(virtual, type="int(11)"), "").unsafe(MODS) is None
    stored = replace(virtual, generated=Generated.STORED)
    assert ModifyColumn(stored, replace(stored, type="int(11)"), "").unsafe(MODS) is not None


def test_unsafe_reasons_and_messages() -> None:
    diff = diff_tables(table(A, B, col("v", generation_expr="1", generated=Generated.VIRTUAL)), table(), MODS)
    assert diff is not None
    assert diff.unsafe_reasons(MODS) == ["column `a` would be dropped", "column `b` would be dropped"]
    assert diff.unsafe_message(MODS) == (
        "Desired alteration for table `t` is not safe: "
        "column `a` would be dropped; column `b` would be dropped."
    )
    assert diff.blocked(MODS) and not diff.blocked(MODS.with_changes(allow_unsafe=True))
    # Reasons are a classification: allow-unsafe does not hide them.
    assert diff.unsafe_reasons(MODS.with_changes(allow_unsafe=True)) == diff.unsafe_reasons(MODS)
    drop = diff_tables(table(A), None, MODS)
    assert drop is not None and drop.kind is DiffKind.DROP
    assert drop.statements(MODS) == ["DROP TABLE `t`"]
    assert drop.unsafe_reasons(MODS) == ["table `t` would be dropped"]
    assert drop.unsafe_message(MODS) == "Desired drop of table `t` would cause all of its data to be lost."
    engine = diff_tables(table(A), table(A, engine="MyISAM"), MODS)
    assert engine is not None
    assert engine.unsafe_reasons(MODS) == ["storage engine changes have significant operational implications"]
    safe = diff_tables(table(A), table(A, B), MODS)
    assert safe is not None and safe.unsafe_reasons(MODS) == [] and safe.unsafe_message(MODS) is None


# --- create, unsupported, auto-increment, options, partitioning -----------------------------


def test_create() -> None:
    t = table(A, auto_increment=50)
    diff = diff_tables(None, t, MODS)
    assert diff is not None and diff.kind is DiffKind.CREATE and diff.unsafe_reasons(MODS) == []
    assert diff.statements(MODS) == [t.create_statement(F)]
    assert "AUTO_INCREMENT=50" in diff.statements(MODS)[0]
    assert "AUTO_INCREMENT" not in diff.statements(MODS.with_changes(ignore_auto_inc=True))[0]
    assert diff_tables(None, None, MODS) is None


def test_unsupported() -> None:
    before = replace(table(A), unsupported=True, show_create="CREATE TABLE `t` (odd)")
    diff = diff_tables(before, table(A, B), MODS)
    assert diff is not None and not diff.supported and diff.clauses == ()
    assert diff.statements(MODS) == []
    same_text = replace(table(A, B), show_create="CREATE TABLE `t` (odd)")
    assert diff_tables(before, same_text, MODS) is None


AI = col("id", nullable=False, auto_increment=True)


@pytest.mark.parametrize(
    ("old", "new", "mods", "expected"),
    [
        (None, 100, MODS, ["ALTER TABLE `t` AUTO_INCREMENT = 100"]),
        (100, 200, MODS, ["ALTER TABLE `t` AUTO_INCREMENT = 200"]),
        (200, 100, MODS, []),
        (200, None, MODS, []),
        (200, 100, MODS.with_changes(skip_auto_inc_lower=False), ["ALTER TABLE `t` AUTO_INCREMENT = 100"]),
        (100, 200, MODS.with_changes(ignore_auto_inc=True), []),
    ],
)
def test_auto_increment(
    old: int | None, new: int | None, mods: StatementModifiers, expected: list[str]
) -> None:
    before = Table("t", (AI,), primary_key=PK, auto_increment=old)
    after = Table("t", (AI,), primary_key=PK, auto_increment=new)
    assert stmts(before, after, mods) == expected


def test_auto_increment_needs_an_auto_increment_column() -> None:
    assert stmts(table(A, auto_increment=5), table(A, auto_increment=9)) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (("ROW_FORMAT=DYNAMIC",), ("ROW_FORMAT=COMPRESSED",), "ROW_FORMAT=COMPRESSED"),
        (("ROW_FORMAT=DYNAMIC", "STATS_PERSISTENT=1"), (), "ROW_FORMAT=DEFAULT STATS_PERSISTENT=DEFAULT"),
        (("KEY_BLOCK_SIZE=8", "MAX_ROWS=10", "CHECKSUM=1"), (), "KEY_BLOCK_SIZE=0 MAX_ROWS=0 CHECKSUM=0"),
        (("`PAGE_COMPRESSED`='1'",), (), "`PAGE_COMPRESSED`=DEFAULT"),
        (
            (),
            ("`PAGE_COMPRESSED`='1'", "`PAGE_COMPRESSION_LEVEL`='3'"),
            "`PAGE_COMPRESSED`='1' `PAGE_COMPRESSION_LEVEL`='3'",
        ),
        (("TRANSACTIONAL=1",), ("TRANSACTIONAL=0",), "TRANSACTIONAL=0"),
        (("COMPRESSION='zlib'",), (), "COMPRESSION=''"),
    ],
)
def test_create_options(old: tuple[str, ...], new: tuple[str, ...], expected: str) -> None:
    assert ChangeCreateOptions(old, new).clause(MODS) == expected


def test_key_block_size_change_rebuilds_indexes() -> None:
    ka = key("ka", "a")
    before = table(A, secondary_indexes=(ka,), create_options=("KEY_BLOCK_SIZE=8",))
    after = table(A, secondary_indexes=(ka,))
    assert stmts(before, after) == [
        "ALTER TABLE `t` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`), DROP KEY `ka`, ADD KEY `ka` (`a`), "
        "KEY_BLOCK_SIZE=0"
    ]
    # Adding one pins nothing.
    assert stmts(after, before) == ["ALTER TABLE `t` KEY_BLOCK_SIZE=8"]


HASH4 = Partitioning(
    "HASH", "`id`", tuple(Partition(f"p{n}", None) for n in range(4)), default_partitions=True
)
RANGE = Partitioning("RANGE", "`id`", (Partition("p0", "10"), Partition("p1", "MAXVALUE")))
HASH_TEXT = "PARTITION BY HASH (`id`)\nPARTITIONS 4"


@pytest.mark.parametrize(
    ("old", "new", "mode", "expected"),
    [
        (None, HASH4, "keep", [f"ALTER TABLE `t` {HASH_TEXT}"]),
        (None, HASH4, "modify", [f"ALTER TABLE `t` {HASH_TEXT}"]),
        (None, HASH4, "remove", []),
        (HASH4, None, "keep", []),
        (HASH4, None, "modify", ["ALTER TABLE `t` REMOVE PARTITIONING"]),
        (HASH4, None, "remove", ["ALTER TABLE `t` REMOVE PARTITIONING"]),
        (HASH4, HASH4, "remove", ["ALTER TABLE `t` REMOVE PARTITIONING"]),
        (RANGE, HASH4, "keep", []),
        (RANGE, HASH4, "modify", [f"ALTER TABLE `t` {HASH_TEXT}"]),
        (RANGE, replace(RANGE, partitions=RANGE.partitions[:1]), "modify", []),  # list changes are ignored
    ],
)
def test_partitioning(
    old: Partitioning | None, new: Partitioning | None, mode: str, expected: list[str]
) -> None:
    mods = MODS.with_changes(partitioning=mode)
    assert mods.partitioning is PartitioningMode(mode)
    assert stmts(table(A, partitioning=old), table(A, partitioning=new), mods) == expected


def test_partition_clause_is_last_without_comma() -> None:
    mods = MODS.with_changes(partitioning="modify", alter_lock="shared")
    assert stmts(table(A), table(A, B, partitioning=HASH4), mods) == [
        f"ALTER TABLE `t` LOCK=SHARED, ADD COLUMN `b` int(11) DEFAULT NULL {HASH_TEXT}"
    ]


def test_hash_partition_count_change_is_unsupported() -> None:
    three = replace(HASH4, partitions=HASH4.partitions[:3])
    diff = diff_tables(table(A, partitioning=HASH4), table(A, partitioning=three), MODS)
    assert diff is not None and not diff.supported and diff.statements(MODS) == []


def test_create_without_partitioning_under_remove() -> None:
    mods = MODS.with_changes(partitioning=PartitioningMode.REMOVE)
    [create] = stmts(None, table(A, partitioning=HASH4), mods)
    assert "PARTITION" not in create


def test_pre_drop_alters() -> None:
    three = Partitioning("RANGE", "`id`", tuple(Partition(f"p{n}", str(n)) for n in range(3)))
    diffs = pre_drop_alters(table(A, partitioning=three))
    assert [d.statements(MODS) for d in diffs] == [
        ["ALTER TABLE `t` DROP PARTITION `p0`"],
        ["ALTER TABLE `t` DROP PARTITION `p1`"],
    ]
    assert diffs[0].unsafe_reasons(MODS) == ["a partition would be dropped"]
    # ALGORITHM/LOCK may not accompany a partition operation.
    assert diffs[0].statements(MODS.with_changes(alter_lock="none")) == [
        "ALTER TABLE `t` DROP PARTITION `p0`"
    ]
    assert diffs[0].statements(MODS.with_changes(skip_pre_drop_alters=True)) == []
    assert pre_drop_alters(table(A, partitioning=HASH4)) == []


# --- details --------------------------------------------------------------------------------


def test_clustered_unique_key_forces_strict_index_order() -> None:
    # No PK: InnoDB clusters on the first unique NOT NULL key, so index order is functional.
    x, y = col("x", nullable=False), col("y", nullable=False)
    ux, uy = key("ux", "x", kind=IndexKind.UNIQUE), key("uy", "y", kind=IndexKind.UNIQUE)
    before = Table("t", (x, y), secondary_indexes=(ux, uy))
    after = Table("t", (x, y), secondary_indexes=(uy, ux))
    assert stmts(before, after) == ["ALTER TABLE `t` DROP KEY `ux`, ADD UNIQUE KEY `ux` (`x`)"]
    heap = Table("t", (x, y), secondary_indexes=(uy, ux), engine="MyISAM")
    assert stmts(replace(before, engine="MyISAM"), heap) == []


def test_longest_increasing_subsequence() -> None:
    assert _longest_increasing_subsequence([]) == set()
    assert _longest_increasing_subsequence([0, 1, 2]) == {0, 1, 2}
    assert len(_longest_increasing_subsequence([3, 2, 1, 0])) == 1
    assert _longest_increasing_subsequence([0, 2, 3, 1]) == {0, 1, 2}


def test_column_type_parse() -> None:
    assert ColumnType.parse("decimal(10,2) unsigned zerofill")[:5] == ("decimal", 10, 2, True, True)
    assert ColumnType.parse("enum('a','b,c')").values == "'a','b,c'"
    assert ColumnType.parse("blob /*M!100301 COMPRESSED*/").base == "blob"
    assert ColumnType.parse("int(10) unsigned").int_range == (0, 2**32 - 1)
    assert charset_max_bytes("utf8mb4") == 4 and charset_max_bytes("latin1") == 1


def test_modifiers_validate() -> None:
    with pytest.raises(ValueError):
        StatementModifiers(F, partitioning="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        StatementModifiers(F, alter_lock="forever")
    assert StatementModifiers(F, alter_algorithm="INSTANT").alter_algorithm == "instant"


def test_table_diff_name() -> None:
    assert TableDiff(DiffKind.CREATE, None, table()).name == "t"
    assert TableDiff(DiffKind.DROP, table(), None).name == "t"


def test_many_index_changes_stay_cheap() -> None:
    # Each index change only looks back at the previous one, so a long chain is linear per index.
    cols = tuple(col(f"c{n}") for n in range(64))
    before = table(*cols, secondary_indexes=tuple(key(f"k{n}", f"c{n}") for n in range(64)))
    after = table(*cols, secondary_indexes=tuple(key(f"r{n}", f"c{n}") for n in range(64)))
    mods = MODS.with_changes(strict_index_order=True)
    [statement] = stmts(before, after, mods)
    assert statement.count("RENAME KEY") == 64
