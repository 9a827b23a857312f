"""Issue 12, point 7: MariaDB system-versioned tables, pure: rendering and the table diff.

The model must print exactly what SHOW CREATE TABLE prints (the texts below
are MariaDB 10.11's); the diff runs every ALTER of a versioned table with
`system_versioning_alter_history=KEEP`, turns versioning on and off as a
whole, and refuses what MariaDB cannot do.  tests/integration/
test_system_versioning.py runs the same on the server.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.diff.table_diff import VERSIONED_ALTER_PREFIX, diff_tables
from schemad.model.column import Column, RowPeriod
from schemad.model.flavor import MARIADB_10_11
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.partition import SYSTEM_TIME, Partition, Partitioning
from schemad.model.table import Table

F = MARIADB_10_11
MODS = StatementModifiers(F)
ID = Column("id", "int(11)", nullable=False)
X = Column("x", "int(11)", default="NULL")
RS = Column("rs", "timestamp(6)", nullable=False, row_period=RowPeriod.START, invisible=True, comment="start")
RE = Column("re", "timestamp(6)", nullable=False, row_period=RowPeriod.END, invisible=True)


def pk(*cols: str) -> Index:
    return Index("PRIMARY", IndexKind.PRIMARY, tuple(IndexPart(c) for c in cols))


IMPLICIT = Table("t", (ID, X), primary_key=pk("id"), system_versioned=True)
EXPLICIT = Table(
    "t",
    (ID, X, RS, RE),
    primary_key=pk("id", "re"),
    secondary_indexes=(Index("ux", IndexKind.UNIQUE, (IndexPart("x"), IndexPart("re"))),),
    comment="tc",
    create_options=("ROW_FORMAT=DYNAMIC",),
    system_versioned=True,
)
PLAIN = Table("t", (ID, X), primary_key=pk("id"))
TAIL = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
HEAD = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `x` int(11) DEFAULT NULL,\n"


@pytest.mark.parametrize(
    ("table", "text"),
    [
        (
            IMPLICIT,
            HEAD + f"  PRIMARY KEY (`id`)\n{TAIL} WITH SYSTEM VERSIONING",
        ),
        (
            EXPLICIT,
            HEAD + "  `rs` timestamp(6) GENERATED ALWAYS AS ROW START INVISIBLE COMMENT 'start',\n"
            "  `re` timestamp(6) GENERATED ALWAYS AS ROW END INVISIBLE,\n"
            "  PRIMARY KEY (`id`,`re`),\n  UNIQUE KEY `ux` (`x`,`re`),\n"
            "  PERIOD FOR SYSTEM_TIME (`rs`, `re`)\n"
            f"{TAIL} ROW_FORMAT=DYNAMIC COMMENT='tc' WITH SYSTEM VERSIONING",
        ),
        (
            replace(
                IMPLICIT,
                columns=(
                    ID,
                    Column(
                        "x",
                        "int(11)",
                        default="NULL",
                        invisible=True,
                        without_versioning=True,
                        comment="c",
                        check_clause="`x` > 1",
                    ),
                    Column(
                        "w",
                        "timestamp",
                        default="NULL",
                        on_update="current_timestamp()",
                        without_versioning=True,
                    ),
                ),
            ),
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n"
            "  `x` int(11) INVISIBLE DEFAULT NULL WITHOUT SYSTEM VERSIONING COMMENT 'c' CHECK (`x` > 1),\n"
            "  `w` timestamp NULL DEFAULT NULL WITHOUT SYSTEM VERSIONING ON UPDATE current_timestamp(),\n"
            f"  PRIMARY KEY (`id`)\n{TAIL} WITH SYSTEM VERSIONING",
        ),
        (
            replace(
                IMPLICIT,
                partitioning=Partitioning(
                    SYSTEM_TIME,
                    "LIMIT 1000",
                    (Partition("p0", None, comment="old"), Partition("pc", "CURRENT")),
                ),
            ),
            HEAD + "  PRIMARY KEY (`id`)\n"
            f"{TAIL} WITH SYSTEM VERSIONING\n PARTITION BY SYSTEM_TIME LIMIT 1000\n"
            "(PARTITION `p0` HISTORY COMMENT = 'old' ENGINE = InnoDB,\n"
            " PARTITION `pc` CURRENT ENGINE = InnoDB)",
        ),
        (
            replace(
                IMPLICIT,
                partitioning=Partitioning(
                    SYSTEM_TIME,
                    "",
                    (Partition("p0", None), Partition("pn", "CURRENT")),
                    default_partitions=True,
                ),
            ),
            HEAD + "  PRIMARY KEY (`id`)\n"
            f"{TAIL} WITH SYSTEM VERSIONING\n PARTITION BY SYSTEM_TIME \nPARTITIONS 2",
        ),
    ],
)
def test_versioned_tables_render_as_show_create(table: Table, text: str) -> None:
    assert table.create_statement(F) == text


def test_period_columns() -> None:
    assert EXPLICIT.period_columns == (RS, RE) and IMPLICIT.period_columns is None


KEEP = VERSIONED_ALTER_PREFIX + "ALTER TABLE `t` "


@pytest.mark.parametrize(
    ("before", "after", "expected", "unsafe"),
    [
        # a column added, changed, dropped: with the history kept
        (
            IMPLICIT,
            replace(IMPLICIT, columns=(ID, X, Column("y", "int(11)", default="NULL"))),
            [KEEP + "ADD COLUMN `y` int(11) DEFAULT NULL"],
            [],
        ),
        (
            IMPLICIT,
            replace(IMPLICIT, columns=(ID, replace(X, type="bigint(20)"))),
            [KEEP + "MODIFY COLUMN `x` bigint(20) DEFAULT NULL"],
            [],
        ),
        (
            IMPLICIT,
            replace(IMPLICIT, columns=(ID,)),
            [KEEP + "DROP COLUMN `x`"],
            ["column `x` would be dropped"],
        ),
        (
            IMPLICIT,
            replace(IMPLICIT, columns=(ID, replace(X, without_versioning=True))),
            [KEEP + "MODIFY COLUMN `x` int(11) DEFAULT NULL WITHOUT SYSTEM VERSIONING"],
            [],
        ),
        # every ALTER of a versioned table: KEEP only relaxes a check
        (EXPLICIT, replace(EXPLICIT, comment="other"), [KEEP + "COMMENT 'other'"], []),
        # versioning added: implicit, explicit (the server puts the ROW END column into the keys)
        (PLAIN, IMPLICIT, ["ALTER TABLE `t` ADD SYSTEM VERSIONING"], []),
        (
            PLAIN,
            replace(EXPLICIT, secondary_indexes=(), comment="", create_options=()),
            [
                "ALTER TABLE `t` ADD COLUMN `rs` timestamp(6) GENERATED ALWAYS AS ROW START INVISIBLE"
                " COMMENT 'start', ADD COLUMN `re` timestamp(6) GENERATED ALWAYS AS ROW END INVISIBLE,"
                " DROP PRIMARY KEY, ADD PRIMARY KEY (`id`,`re`),"
                " ADD PERIOD FOR SYSTEM_TIME (`rs`, `re`), ADD SYSTEM VERSIONING"
            ],
            [],
        ),
        # versioning dropped: the history goes with it
        (
            IMPLICIT,
            PLAIN,
            [KEEP + "DROP SYSTEM VERSIONING"],
            ["system versioning would be removed: the table's history rows would be deleted"],
        ),
        (
            replace(EXPLICIT, secondary_indexes=(), comment="", create_options=()),
            PLAIN,
            [
                KEEP + "DROP COLUMN `rs`, DROP COLUMN `re`, DROP PRIMARY KEY, ADD PRIMARY KEY (`id`),"
                " DROP SYSTEM VERSIONING"
            ],
            [
                "column `rs` would be dropped",
                "column `re` would be dropped",
                "system versioning would be removed: the table's history rows would be deleted",
            ],
        ),
    ],
)
def test_versioned_table_diff(before: Table, after: Table, expected: list[str], unsafe: list[str]) -> None:
    diff = diff_tables(before, after, MODS)
    assert diff is not None and diff.supported
    assert diff.statements(MODS) == expected
    assert diff.unsafe_reasons(MODS) == unsafe


def test_verify_replays_the_same_statement() -> None:
    """verify's strict modifiers (ALGORITHM=COPY) keep the prefix: the replay runs as the push will."""
    after = replace(IMPLICIT, columns=(ID, X, Column("y", "int(11)", default="NULL")))
    strict = MODS.with_changes(alter_algorithm="copy")
    assert diff_tables(IMPLICIT, after, strict).statements(strict) == [  # type: ignore[union-attr]
        KEEP + "ALGORITHM=COPY, ADD COLUMN `y` int(11) DEFAULT NULL"
    ]


@pytest.mark.parametrize(
    "after",
    [
        replace(EXPLICIT, columns=(ID, X, replace(RS, comment=""), RE)),  # a ROW START column changed
        replace(EXPLICIT, columns=(ID, X, RS, replace(RE, name="re2"))),
        replace(IMPLICIT, comment="tc", create_options=("ROW_FORMAT=DYNAMIC",)),  # explicit -> implicit
    ],
)
def test_period_columns_of_a_table_that_stays_versioned_are_unsupported(after: Table) -> None:
    diff = diff_tables(EXPLICIT, after, MODS)
    assert diff is not None and not diff.supported and diff.statements(MODS) == []


HISTORY = Partitioning(SYSTEM_TIME, "LIMIT 1000", (Partition("p0", None), Partition("pc", "CURRENT")))


@pytest.mark.parametrize(
    ("mode", "supported"),
    [("keep", True), ("modify", False), ("modify-list", False)],
)
def test_system_time_partitioning_changes(mode: str, supported: bool) -> None:
    """Applied nowhere: left alone under keep (as any re-partition), reported as unsupported elsewhere."""
    mods = MODS.with_changes(partitioning=PartitioningMode(mode))
    before = replace(IMPLICIT, partitioning=HISTORY)
    for after in (
        replace(IMPLICIT, partitioning=replace(HISTORY, expression="LIMIT 500")),
        replace(
            IMPLICIT, partitioning=replace(HISTORY, partitions=(Partition("p1", None), *HISTORY.partitions))
        ),
        replace(IMPLICIT, partitioning=Partitioning("HASH", "`id`", (Partition("p0", None),))),
    ):
        diff = diff_tables(before, after, mods)
        if supported:
            assert diff is None
        else:
            assert diff is not None and not diff.supported


def test_system_time_partitioning_added_or_removed_as_any_partitioning() -> None:
    modify = MODS.with_changes(partitioning="modify")
    with_history = replace(IMPLICIT, partitioning=HISTORY)
    assert (
        diff_tables(IMPLICIT, with_history, MODS).statements(MODS)
        == [  # type: ignore[union-attr]
            KEEP + "PARTITION BY SYSTEM_TIME LIMIT 1000\n"
            "(PARTITION `p0` HISTORY ENGINE = InnoDB,\n PARTITION `pc` CURRENT ENGINE = InnoDB)"
        ]
    )
    assert diff_tables(with_history, IMPLICIT, modify).statements(modify) == [  # type: ignore[union-attr]
        KEEP + "REMOVE PARTITIONING"
    ]
    assert diff_tables(with_history, IMPLICIT, MODS) is None  # keep: never de-partitions
