"""ALTER algorithm prediction, pure: models in, predicted algorithm, lock and deciding row out.

The MariaDB rows are proven on the server by tests/integration/test_alter_algorithms.py;
here: the rule table's shape, that every MariaDB row has a server case there, the
MySQL rows (which no server here can check), the statement splitting, and what
alter-algorithm / alter-lock values do.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemad.diff.modifiers import StatementModifiers
from schemad.diff.table_diff import diff_tables, pre_drop_alters
from schemad.model.column import Column, Generated
from schemad.model.constraint import ForeignKey
from schemad.model.flavor import MARIADB_10_11, Flavor, Vendor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.partition import Partition, Partitioning
from schemad.model.table import Table
from schemad.plan.risk import (
    NO_RULE,
    RULES,
    Algorithm,
    ClauseKind,
    Lock,
    Prediction,
    check_forced,
    predict_alter,
)
from tests.integration.test_alter_algorithms import CASES as SERVER_CASES

MARIADB = MARIADB_10_11
MYSQL_8_0_28 = Flavor(Vendor.MYSQL, 8, 0, 28)
MYSQL_8_0_29 = Flavor(Vendor.MYSQL, 8, 0, 29)
MYSQL_8_4 = Flavor(Vendor.MYSQL, 8, 4, 3)
MYSQL_5_7 = Flavor(Vendor.MYSQL, 5, 7, 44)


def col(name: str, type_: str = "int(11)", **kw: object) -> Column:
    if type_.startswith(("varchar", "char", "text", "enum", "set")):
        kw.setdefault("char_set", "utf8mb4")
        kw.setdefault("collation", "utf8mb4_general_ci")
    kw.setdefault("default", "NULL" if kw.get("nullable", True) else None)
    return Column(name, type_, **kw)  # type: ignore[arg-type]


def key(name: str, *cols: str, kind: IndexKind = IndexKind.PLAIN, **kw: object) -> Index:
    return Index(name, kind, tuple(IndexPart(c) for c in cols), **kw)  # type: ignore[arg-type]


PK = key("PRIMARY", "id", kind=IndexKind.PRIMARY)
ID = col("id", nullable=False)
A, B, C = col("a"), col("b", "varchar(20)"), col("c", "varchar(30)")


def table(*columns: Column, **kw: object) -> Table:
    kw.setdefault("primary_key", PK)
    return Table("t", (ID, *columns), **kw)  # type: ignore[arg-type]


def predict(
    before: Table, after: Table, flavor: Flavor = MARIADB, *, fk_checks: bool = False, **mods: object
) -> list[Prediction]:
    m = StatementModifiers(flavor, allow_unsafe=True, **mods)  # type: ignore[arg-type]
    diff = diff_tables(before, after, m)
    assert diff is not None
    out = predict_alter(diff, m, foreign_key_checks=fk_checks)
    assert [p.statement for p in out] == diff.statements(m)
    return out


def decided(predictions: list[Prediction]) -> list[tuple[str, Algorithm, Lock]]:
    return [(p.rule.id, p.algorithm, p.lock) for p in predictions]


# --- the table itself ------------------------------------------------------------------------


def test_rule_ids_unique_and_named_after_their_vendor() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.id.startswith(rule.flavors.vendor.value + "."), rule.id
        assert rule.source, rule.id
        assert rule.kinds and all(isinstance(k, ClauseKind) for k in rule.kinds), rule.id
        # Statement rows judge the whole ALTER and nothing else.
        assert (ClauseKind.STATEMENT in rule.kinds) == (rule.kinds == (ClauseKind.STATEMENT,)), rule.id


def test_sources_cite_the_vendor_manual() -> None:
    for rule in RULES:
        if rule.flavors.vendor is Vendor.MARIADB:
            assert rule.source.startswith("MariaDB KB"), rule.id
        else:
            assert rule.source.startswith("MySQL 8.0/8.4 Reference Manual 17.12"), rule.id


def test_flavor_ranges() -> None:
    last_only = next(r for r in RULES if r.id == "mysql.add_column.instant_last").flavors
    assert str(last_only) == "mysql 8.0.12 to <8.0.29"
    assert last_only.contains(MYSQL_8_0_28) and not last_only.contains(MYSQL_8_0_29)
    assert not last_only.contains(Flavor(Vendor.MARIADB, 10, 11))
    mariadb = next(r for r in RULES if r.id == "mariadb.add_column.instant").flavors
    assert str(mariadb) == "mariadb 10.6.0+"
    assert mariadb.contains(MARIADB) and not mariadb.contains(Flavor(Vendor.MARIADB, 10, 5, 20))
    # Percona Server follows MySQL's rows.
    assert last_only.contains(Flavor(Vendor.PERCONA, 8, 0, 20))


def test_copy_never_runs_without_a_lock() -> None:
    # COPY blocks writes: LOCK=NONE is refused (MariaDB < 11.2, MySQL).
    assert all(r.lock >= Lock.SHARED for r in RULES if r.algorithm is Algorithm.COPY)
    assert NO_RULE.algorithm is Algorithm.COPY and NO_RULE.lock is Lock.SHARED


def test_every_mariadb_row_is_checked_on_the_server() -> None:
    mariadb = {r.id for r in RULES if r.flavors.vendor is Vendor.MARIADB}
    covered = {c.rule for c in SERVER_CASES} | {c.lock_rule for c in SERVER_CASES if c.lock_rule}
    assert mariadb - covered == set(), "MariaDB rows without a server case"
    assert covered - mariadb == set(), "server cases naming no MariaDB row"


def test_mysql_rows_are_not_checked_on_a_server() -> None:
    # Said plainly: the suite has no MySQL server, so no MySQL row appears in the server cases.
    assert not any(c.rule.startswith("mysql.") for c in SERVER_CASES)
    assert any(r.flavors.vendor is Vendor.MYSQL for r in RULES)


# --- MariaDB, from models ------------------------------------------------------------------------

MARIADB_CASES: list[tuple[str, Table, Table, list[tuple[str, Algorithm, Lock]]]] = [
    ("add_column", table(A), table(A, B), [("mariadb.add_column.instant", Algorithm.INSTANT, Lock.NONE)]),
    (
        "add_column_and_index",
        table(A),
        table(A, B, secondary_indexes=(key("ka", "a"),)),
        [("mariadb.statement.instant_column_with_index", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "add_virtual_column_and_index",
        table(A),
        table(
            A,
            col("v", generated=Generated.VIRTUAL, generation_expr="`a` * 2"),
            secondary_indexes=(key("ka", "a"),),
        ),
        [("mariadb.add_index.secondary", Algorithm.NOCOPY, Lock.NONE)],
    ),
    (
        "two_fulltext_indexes_split",
        table(B, C),
        table(
            B,
            C,
            secondary_indexes=(
                key("fb", "b", kind=IndexKind.FULLTEXT),
                key("fc", "c", kind=IndexKind.FULLTEXT),
            ),
        ),
        [
            ("mariadb.add_index.fulltext_first", Algorithm.INPLACE, Lock.SHARED),
            ("mariadb.add_index.fulltext", Algorithm.NOCOPY, Lock.SHARED),
        ],
    ),
    (
        "foreign_key_split_after_its_column",
        table(A),
        table(
            A,
            col("pid"),
            secondary_indexes=(key("pid", "pid"),),
            foreign_keys=(ForeignKey("fk", ("pid",), "", "p", ("id",)),),
        ),
        [
            ("mariadb.statement.instant_column_with_index", Algorithm.INPLACE, Lock.NONE),
            ("mariadb.add_foreign_key", Algorithm.INSTANT, Lock.NONE),
        ],
    ),
    (
        "varchar_boundary_128_bytes",
        table(col("e", "varchar(32)")),
        table(col("e", "varchar(64)")),
        [("mariadb.column_type.other", Algorithm.COPY, Lock.SHARED)],
    ),
    (
        "varchar_boundary_127_bytes",
        table(col("e", "varchar(127)", char_set="latin1", collation="latin1_swedish_ci")),
        table(col("e", "varchar(300)", char_set="latin1", collation="latin1_swedish_ci")),
        [("mariadb.column_type.varchar_extend", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "enum_append_crossing_255_members",
        table(col("e", "enum(" + ",".join(f"'v{i}'" for i in range(255)) + ")")),
        table(col("e", "enum(" + ",".join(f"'v{i}'" for i in range(256)) + ")")),
        [("mariadb.column_type.other", Algorithm.COPY, Lock.SHARED)],
    ),
    (
        "index_comment_only",
        table(A, secondary_indexes=(key("ka", "a"),)),
        table(A, secondary_indexes=(key("ka", "a", comment="x"),)),
        [("mariadb.rebuild_same_index", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "index_columns_changed",
        table(A, B, secondary_indexes=(key("ka", "a"),)),
        table(A, B, secondary_indexes=(key("ka", "a", "b"),)),
        [("mariadb.drop_index.secondary", Algorithm.NOCOPY, Lock.NONE)],
    ),
    (
        "engine_change_decides_over_everything",
        table(A),
        table(A, B, engine="MyISAM", secondary_indexes=(key("ka", "a"),)),
        [("mariadb.engine_change", Algorithm.COPY, Lock.SHARED)],
    ),
    (
        "not_null_on_fulltext_table_needs_shared_lock",
        table(A, B, secondary_indexes=(key("fb", "b", kind=IndexKind.FULLTEXT),)),
        table(
            replace(A, nullable=False, default=None),
            B,
            secondary_indexes=(key("fb", "b", kind=IndexKind.FULLTEXT),),
        ),
        [("mariadb.column_not_null", Algorithm.INPLACE, Lock.SHARED)],
    ),
    (
        "row_format_from_key_block_size",
        table(A, create_options=("KEY_BLOCK_SIZE=8",)),
        table(A, B, create_options=("KEY_BLOCK_SIZE=8",)),
        [("mariadb.add_column.compressed", Algorithm.INPLACE, Lock.NONE)],
    ),
]


@pytest.mark.parametrize(
    ("name", "before", "after", "expected"), MARIADB_CASES, ids=[c[0] for c in MARIADB_CASES]
)
def test_mariadb_predictions(
    name: str, before: Table, after: Table, expected: list[tuple[str, Algorithm, Lock]]
) -> None:
    assert decided(predict(before, after)) == expected


def test_lock_decided_by_a_statement_row_is_named() -> None:
    before = table(A, B, secondary_indexes=(key("fb", "b", kind=IndexKind.FULLTEXT),))
    after = replace(before, columns=(ID, replace(A, nullable=False, default=None), B))
    (p,) = predict(before, after)
    assert p.rule.id == "mariadb.column_not_null"
    assert p.lock_rule.id == "mariadb.statement.rebuild_with_fulltext"


def test_reason_names_the_deciding_clause_and_row() -> None:
    (p,) = predict(table(A), table(A, B, secondary_indexes=(key("kb", "b"),)))
    assert p.reason.startswith("INPLACE with table rebuild: ")
    assert "ADD COLUMN `b`" in p.clause and "ADD KEY `kb`" in p.clause
    assert p.reason.endswith("[mariadb.statement.instant_column_with_index]")
    (q,) = predict(table(A), table(replace(A, type="bigint(20)")))
    assert q.clause == "MODIFY COLUMN `a` bigint(20) DEFAULT NULL"
    assert q.reason == (
        "COPY: MODIFY COLUMN `a` bigint(20) DEFAULT NULL -- changing the data type or charset "
        "[mariadb.column_type.other]"
    )


def test_modify_column_is_judged_per_aspect() -> None:
    # Moving a column is instant, making it NOT NULL rebuilds: the statement rebuilds.
    before = table(A, B, C)
    after = table(C, replace(A, nullable=False, default=None), B)
    (p,) = predict(before, after)
    kinds = [d.op.kind for d in p.decisions]
    assert ClauseKind.MOVE_COLUMN in kinds and ClauseKind.COLUMN_NOT_NULL in kinds
    assert (p.rule.id, p.algorithm) == ("mariadb.column_not_null", Algorithm.INPLACE)


def test_not_an_alter() -> None:
    m = StatementModifiers(MARIADB)
    create = diff_tables(None, table(A), m)
    assert create is not None and predict_alter(create, m) == []


# --- MySQL 8.0 / 8.4 (not checkable on this suite's server) -------------------------------

MIDDLE = table(A, col("x"), B)

MYSQL_CASES: list[tuple[str, Flavor, Table, Table, list[tuple[str, Algorithm, Lock]]]] = [
    (
        "add_last_8_0_28",
        MYSQL_8_0_28,
        table(A),
        table(A, B),
        [("mysql.add_column.instant_last", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "add_middle_8_0_28",
        MYSQL_8_0_28,
        table(A, B),
        MIDDLE,
        [("mysql.add_column.inplace", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "add_middle_8_0_29",
        MYSQL_8_0_29,
        table(A, B),
        MIDDLE,
        [("mysql.add_column.instant", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "drop_8_0_28",
        MYSQL_8_0_28,
        table(A, B),
        table(A),
        [("mysql.drop_column.inplace", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "drop_8_4",
        MYSQL_8_4,
        table(A, B),
        table(A),
        [("mysql.drop_column.instant", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "add_on_fulltext_table",
        MYSQL_8_4,
        table(B, secondary_indexes=(key("fb", "b", kind=IndexKind.FULLTEXT),)),
        table(B, A, secondary_indexes=(key("fb", "b", kind=IndexKind.FULLTEXT),)),
        [("mysql.add_column.not_instant", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "add_expression_default",
        MYSQL_8_4,
        table(A),
        table(A, col("r", "double", default="(rand())")),
        [("mysql.add_column.not_instant", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "instant_add_with_an_index_is_a_rebuild",
        MYSQL_8_4,
        table(A),
        table(A, B, secondary_indexes=(key("ka", "a"),)),
        [("mysql.statement.instant_column_mixed", Algorithm.INPLACE, Lock.NONE)],
    ),
    ("reorder", MYSQL_8_4, table(A, B), table(B, A), [("mysql.move_column", Algorithm.INPLACE, Lock.NONE)]),
    (
        "varchar_within_one_length_byte",
        MYSQL_8_4,
        table(col("e", "varchar(20)")),
        table(col("e", "varchar(60)")),
        [("mysql.column_type.varchar_extend", Algorithm.NOCOPY, Lock.NONE)],
    ),
    (
        "varchar_across_255_bytes",
        MYSQL_8_4,
        table(col("e", "varchar(60)")),
        table(col("e", "varchar(64)")),
        [("mysql.column_type.other", Algorithm.COPY, Lock.SHARED)],
    ),
    (
        "collation",
        MYSQL_8_4,
        table(B),
        table(replace(B, collation="utf8mb4_bin")),
        [("mysql.column_collation", Algorithm.COPY, Lock.SHARED)],
    ),
    (
        "enum_append",
        MYSQL_8_4,
        table(col("e", "enum('x')")),
        table(col("e", "enum('x','y')")),
        [("mysql.column_type.enum_append", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "default",
        MYSQL_8_4,
        table(A),
        table(replace(A, default="5")),
        [("mysql.column_default", Algorithm.INSTANT, Lock.NONE)],
    ),
    (
        "comment",
        MYSQL_8_4,
        table(A),
        table(replace(A, comment="x")),
        [("mysql.column_attribute", Algorithm.NOCOPY, Lock.NONE)],
    ),
    (
        "null",
        MYSQL_8_4,
        table(replace(A, nullable=False, default=None)),
        table(A),
        [("mysql.column_null", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "add_index",
        MYSQL_8_4,
        table(A),
        table(A, secondary_indexes=(key("ka", "a"),)),
        [("mysql.add_index.secondary", Algorithm.NOCOPY, Lock.NONE)],
    ),
    (
        "rename_index",
        MYSQL_8_4,
        table(A, secondary_indexes=(key("ka", "a"),)),
        table(A, secondary_indexes=(key("kz", "a"),)),
        [("mysql.rename_index", Algorithm.NOCOPY, Lock.NONE)],
    ),
    (
        "drop_primary_key",
        MYSQL_8_4,
        table(A),
        table(A, primary_key=None),
        [("mysql.drop_index.primary_alone", Algorithm.COPY, Lock.SHARED)],
    ),
    (
        "table_charset",
        MYSQL_8_4,
        table(A),
        table(A, char_set="latin1", collation="latin1_swedish_ci"),
        [("mysql.table_charset.rebuild", Algorithm.INPLACE, Lock.NONE)],
    ),
    (
        "row_format",
        MYSQL_8_4,
        table(A),
        table(A, create_options=("ROW_FORMAT=COMPACT",)),
        [("mysql.table_option.rebuild", Algorithm.INPLACE, Lock.NONE)],
    ),
    ("mysql_5_7_has_no_rows", MYSQL_5_7, table(A), table(A, B), [("none", Algorithm.COPY, Lock.SHARED)]),
]


@pytest.mark.parametrize(
    ("name", "flavor", "before", "after", "expected"), MYSQL_CASES, ids=[c[0] for c in MYSQL_CASES]
)
def test_mysql_predictions(
    name: str, flavor: Flavor, before: Table, after: Table, expected: list[tuple[str, Algorithm, Lock]]
) -> None:
    assert decided(predict(before, after, flavor)) == expected


def test_mysql_foreign_key_needs_checks_off_for_inplace() -> None:
    parent_fk = ForeignKey("fk", ("a",), "", "p", ("id",))
    before = table(A, secondary_indexes=(key("a", "a"),))
    after = replace(before, foreign_keys=(parent_fk,))
    assert decided(predict(before, after, MYSQL_8_4)) == [
        ("mysql.add_foreign_key", Algorithm.NOCOPY, Lock.NONE)
    ]
    assert decided(predict(before, after, MYSQL_8_4, fk_checks=True)) == [
        ("mysql.add_foreign_key.checks_on", Algorithm.COPY, Lock.SHARED)
    ]


# --- alter-algorithm / alter-lock ------------------------------------------------------------

ADD_COLUMN = (table(A), table(A, B))
ADD_INDEX = (table(A), table(A, secondary_indexes=(key("ka", "a"),)))
NOT_NULL = (table(A), table(replace(A, nullable=False, default=None)))
TYPE_CHANGE = (table(A), table(replace(A, type="bigint(20)")))
ENGINE = (table(A), table(A, engine="MyISAM"))
FULLTEXT = (table(B), table(B, secondary_indexes=(key("fb", "b", kind=IndexKind.FULLTEXT),)))

FORCED: list[tuple[str, Flavor, tuple[Table, Table], str, str, bool, str]] = [
    # name, flavor, change, alter-algorithm, alter-lock, refused, a word of the reason
    ("mariadb_instant_ok", MARIADB, ADD_COLUMN, "instant", "none", False, ""),
    ("mariadb_inplace_takes_instant", MARIADB, ADD_COLUMN, "inplace", "", False, ""),
    ("mariadb_instant_refused_for_index", MARIADB, ADD_INDEX, "instant", "", True, "ADD KEY"),
    ("mariadb_nocopy_ok_for_index", MARIADB, ADD_INDEX, "nocopy", "none", False, ""),
    ("mariadb_nocopy_refused_for_rebuild", MARIADB, NOT_NULL, "nocopy", "", True, "NOT NULL"),
    ("mariadb_inplace_refused_for_copy", MARIADB, TYPE_CHANGE, "inplace", "", True, "bigint"),
    ("mariadb_copy_always_runs", MARIADB, ADD_COLUMN, "copy", "", False, "forces a table copy"),
    ("mariadb_copy_with_lock_none", MARIADB, ADD_COLUMN, "copy", "none", True, "LOCK=NONE"),
    ("mariadb_engine_instant_ignored", MARIADB, ENGINE, "instant", "", False, "ignored"),
    ("mariadb_engine_inplace_refused", MARIADB, ENGINE, "inplace", "", True, "engine"),
    ("mariadb_fulltext_lock_none", MARIADB, FULLTEXT, "", "none", True, "LOCK=SHARED"),
    ("mariadb_fulltext_lock_shared", MARIADB, FULLTEXT, "inplace", "shared", False, ""),
    ("defaults_are_no_constraint", MARIADB, TYPE_CHANGE, "default", "default", False, ""),
    ("mysql_has_no_nocopy", MYSQL_8_4, ADD_INDEX, "nocopy", "", True, "syntax"),
    ("mysql_inplace_covers_rebuild", MYSQL_8_4, NOT_NULL, "inplace", "none", False, ""),
    ("mysql_instant_refused_for_index", MYSQL_8_4, ADD_INDEX, "instant", "", True, "ADD KEY"),
    ("mysql_inplace_on_instant_change", MYSQL_8_4, ADD_COLUMN, "inplace", "", False, "instead of INSTANT"),
    ("mysql_instant_only_with_lock_default", MYSQL_8_4, ADD_COLUMN, "instant", "none", True, "LOCK=DEFAULT"),
]


@pytest.mark.parametrize(
    ("name", "flavor", "change", "algorithm", "lock", "refused", "word"), FORCED, ids=[f[0] for f in FORCED]
)
def test_forced_algorithm_and_lock(
    name: str,
    flavor: Flavor,
    change: tuple[Table, Table],
    algorithm: str,
    lock: str,
    refused: bool,
    word: str,
) -> None:
    (p,) = predict(*change, flavor)
    forced = check_forced(p, flavor, algorithm, lock)
    assert forced.refused is refused, forced
    assert word in forced.reason, forced
    # The same answer arrives on the prediction when the modifiers carry the options.
    (q,) = predict(*change, flavor, alter_algorithm=algorithm, alter_lock=lock)
    assert q.forced == forced


def test_no_forced_check_without_the_options() -> None:
    (p,) = predict(*ADD_COLUMN)
    assert p.forced is None


def test_partition_drop_takes_no_algorithm() -> None:
    parts = Partitioning("RANGE", "`id`", partitions=(Partition("p0", "10"), Partition("p1", "MAXVALUE")))
    m = StatementModifiers(MARIADB, alter_algorithm="instant", alter_lock="none")
    (diff,) = pre_drop_alters(table(A, partitioning=parts))
    (p,) = predict_alter(diff, m)
    assert "ALGORITHM" not in p.statement and p.rule.id == "mariadb.drop_partition"
    assert p.forced is not None and not p.forced.refused and "omits" in p.forced.reason


def test_unknown_option_values_are_an_error() -> None:
    (p,) = predict(*ADD_COLUMN)
    with pytest.raises(ValueError):
        check_forced(p, MARIADB, "fast")
    with pytest.raises(ValueError):
        check_forced(p, MARIADB, "", "nolock")
