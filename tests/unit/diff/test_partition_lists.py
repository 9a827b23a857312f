"""Issue 12, point 6: RANGE/LIST partition lists under partitioning=modify-list, pure.

Each case is a live list and a desired list; the expected statements are what
the differ plans under modify-list.  Under every other mode the same tables
differ by nothing that is planned (Skeema's rule: partition rotation is not
drift).  tests/integration/test_partition_lists.py runs such changes on the
server.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemad.diff.clauses import ModifyPartitions
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.diff.table_diff import diff_tables
from schemad.model.column import Column
from schemad.model.flavor import MARIADB_10_11
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.partition import Partition, Partitioning, Subpartition
from schemad.model.table import Table

LISTS = StatementModifiers(MARIADB_10_11, partitioning=PartitioningMode.MODIFY_LIST)
PK = Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("id"),))


def table(method: str, *parts: tuple[str, str], expression: str = "`id`") -> Table:
    partitions = tuple(Partition(name, values) for name, values in parts)
    return Table(
        "t",
        (Column("id", "int(11)", nullable=False),),
        primary_key=PK,
        partitioning=Partitioning(method, expression, partitions),
    )


def rng(*parts: tuple[str, str]) -> Table:
    return table("RANGE", *parts)


def lst(*parts: tuple[str, str]) -> Table:
    return table("LIST", *parts)


def part(name: str, values: str, method: str = "RANGE") -> str:
    return Partition(name, values).definition(method)


P10, P20, P30 = ("p10", "10"), ("p20", "20"), ("p30", "30")
BASE = rng(P10, P20, P30)
A, B = ("a", "1,2"), ("b", "3,4")
ALTER = "ALTER TABLE `t` "


@pytest.mark.parametrize(
    ("before", "after", "expected", "unsafe"),
    [
        # a partition added at the end of a RANGE
        (BASE, rng(P10, P20, P30, ("p40", "40")), [f"ADD PARTITION ({part('p40', '40')})"], []),
        (BASE, rng(P10, P20, P30, ("pmax", "MAXVALUE")), [f"ADD PARTITION ({part('pmax', 'MAXVALUE')})"], []),
        # rotation: the oldest dropped, a new one added (two ALTERs: one partition operation each)
        (
            BASE,
            rng(P20, P30, ("p40", "40")),
            ["DROP PARTITION `p10`", f"ADD PARTITION ({part('p40', '40')})"],
            ["partition `p10` would be dropped, with its rows"],
        ),
        # a partition gone from the middle is dropped too: its rows are not moved to the next one
        (BASE, rng(P10, P30), ["DROP PARTITION `p20`"], ["partition `p20` would be dropped, with its rows"]),
        (
            BASE,
            rng(P30),
            ["DROP PARTITION `p10`, `p20`"],
            ["partitions `p10`, `p20` would be dropped, with their rows"],
        ),
        # the last bound raised: the last partition grows
        (BASE, rng(P10, P20, ("p30", "35")), [f"REORGANIZE PARTITION `p30` INTO ({part('p30', '35')})"], []),
        # the last bound lowered: rows above it have nowhere to go (the server refuses to reorganize)
        (
            BASE,
            rng(P10, P20, ("p25", "25")),
            ["DROP PARTITION `p30`", f"ADD PARTITION ({part('p25', '25')})"],
            ["partition `p30` would be dropped, with its rows"],
        ),
        # a split: the new partition takes the low end of the one that follows it
        (
            BASE,
            rng(P10, ("p15", "15"), P20, P30),
            [f"REORGANIZE PARTITION `p20` INTO ({part('p15', '15')}, {part('p20', '20')})"],
            [],
        ),
        (
            BASE,
            rng(("p5", "5"), P10, P20, P30),
            [f"REORGANIZE PARTITION `p10` INTO ({part('p5', '5')}, {part('p10', '10')})"],
            [],
        ),
        # a middle bound moved: the next partition is reorganized with it, so the range stays whole
        (
            BASE,
            rng(P10, ("p20", "25"), P30),
            [f"REORGANIZE PARTITION `p20`, `p30` INTO ({part('p20', '25')}, {part('p30', '30')})"],
            [],
        ),
        # a merge under a new name keeps the rows
        (
            BASE,
            rng(P10, ("p2030", "30")),
            [f"REORGANIZE PARTITION `p20`, `p30` INTO ({part('p2030', '30')})"],
            [],
        ),
        # LIST: values added to a partition, a partition placed before another, the order changed
        (
            lst(A, B),
            lst(("a", "1,2,9"), B),
            [f"REORGANIZE PARTITION `a` INTO ({part('a', '1,2,9', 'LIST')})"],
            [],
        ),
        (
            lst(A, B),
            lst(A, ("c", "5"), B),
            [f"REORGANIZE PARTITION `b` INTO ({part('c', '5', 'LIST')}, {part('b', '3,4', 'LIST')})"],
            [],
        ),
        (lst(A, B), lst(A, B, ("c", "5")), [f"ADD PARTITION ({part('c', '5', 'LIST')})"], []),
        (
            lst(A, B),
            lst(B, A),
            [f"REORGANIZE PARTITION `a`, `b` INTO ({part('b', '3,4', 'LIST')}, {part('a', '1,2', 'LIST')})"],
            [],
        ),
        (lst(A, B), lst(B), ["DROP PARTITION `a`"], ["partition `a` would be dropped, with its rows"]),
    ],
)
def test_partition_list_changes_under_modify_list(
    before: Table, after: Table, expected: list[str], unsafe: list[str]
) -> None:
    diff = diff_tables(before, after, LISTS)
    assert diff is not None and diff.supported
    assert diff.statements(LISTS) == [ALTER + s for s in expected]
    assert diff.unsafe_reasons(LISTS) == unsafe
    # No other mode plans anything for a list-only difference.
    for mode in ("keep", "modify", "remove"):
        mods = LISTS.with_changes(partitioning=mode)
        other = diff_tables(before, after, mods)
        if mode == "remove":
            assert other is not None and other.statements(mods) == [ALTER + "REMOVE PARTITIONING"]
        else:
            assert other is None


def test_each_partition_operation_is_an_alter_of_its_own() -> None:
    """The server takes one partition operation per ALTER, with no other clause and no ALGORITHM=."""
    before = replace(BASE, columns=(*BASE.columns, Column("a", "int(11)", default="NULL")))
    after = replace(
        rng(P20, P30, ("p40", "40")), columns=(*BASE.columns, Column("b", "int(11)", default="NULL"))
    )
    mods = LISTS.with_changes(alter_algorithm="inplace", alter_lock="none")
    assert diff_tables(before, after, mods).statements(mods) == [  # type: ignore[union-attr]
        ALTER + "ALGORITHM=INPLACE, LOCK=NONE, DROP COLUMN `a`, ADD COLUMN `b` int(11) DEFAULT NULL",
        ALTER + "DROP PARTITION `p10`",
        ALTER + f"ADD PARTITION ({part('p40', '40')})",
    ]


def test_method_or_expression_change_is_a_repartition_as_under_modify() -> None:
    after = table("RANGE", P10, P20, ("p40", "40"), expression="`id` + 1")
    text = after.partitioning.definition().strip()  # type: ignore[union-attr]
    assert diff_tables(BASE, after, LISTS).statements(LISTS) == [ALTER + text]  # type: ignore[union-attr]
    keep = LISTS.with_changes(partitioning="keep")
    assert diff_tables(BASE, after, keep) is None


def subpartitioned(
    *partitions: Partition, sub_count: int = 0, default_subpartitions: bool = False
) -> Partitioning:
    """RANGE (`id`) SUBPARTITION BY HASH (`id`)."""
    return Partitioning(
        "RANGE",
        "`id`",
        partitions,
        sub_method="HASH",
        sub_expression="`id`",
        sub_count=sub_count,
        default_subpartitions=default_subpartitions,
    )


def test_subpartition_form_change_is_unsupported_under_modify_list() -> None:
    """`SUBPARTITIONS 2` -> 3 is no list operation: refused by name rather than left half done."""
    sub = subpartitioned(
        Partition("p0", "10"), Partition("p1", "MAXVALUE"), sub_count=2, default_subpartitions=True
    )
    before = replace(BASE, partitioning=sub)
    after = replace(BASE, partitioning=replace(sub, sub_count=3))
    diff = diff_tables(before, after, LISTS)
    assert diff is not None and not diff.supported and diff.statements(LISTS) == []
    assert diff_tables(before, after, LISTS.with_changes(partitioning="keep")) is None


def test_subpartitions_are_carried_by_a_reorganization() -> None:
    def with_subs(name: str, values: str) -> Partition:
        return Partition(name, values, subpartitions=(Subpartition(f"{name}a"), Subpartition(f"{name}b")))

    sub = subpartitioned(with_subs("p0", "10"), with_subs("p1", "20"))
    before, after = (
        replace(BASE, partitioning=sub),
        replace(BASE, partitioning=replace(sub, partitions=(with_subs("p0", "10"), with_subs("p1", "30")))),
    )
    [statement] = diff_tables(before, after, LISTS).statements(LISTS)  # type: ignore[union-attr]
    assert statement == (
        ALTER + "REORGANIZE PARTITION `p1` INTO (PARTITION `p1` VALUES LESS THAN (30)\n"
        " (SUBPARTITION `p1a` ENGINE = InnoDB,\n  SUBPARTITION `p1b` ENGINE = InnoDB))"
    )


def test_hash_count_change_stays_unsupported() -> None:
    hash4 = Partitioning(
        "HASH", "`id`", tuple(Partition(f"p{n}", None) for n in range(4)), default_partitions=True
    )
    before = replace(BASE, partitioning=hash4)
    after = replace(BASE, partitioning=replace(hash4, partitions=hash4.partitions[:3]))
    diff = diff_tables(before, after, LISTS)
    assert diff is not None and not diff.supported


@pytest.mark.parametrize(
    ("before", "after", "dropped"),
    [
        ("10", "20", False),
        ("20", "10", True),
        ("MAXVALUE", "100", True),
        ("100", "MAXVALUE", False),
        ("'2024-01-01'", "'2023-01-01'", True),
        ("'2024-01-01'", "'2025-01-01'", False),
        ("'a'", "'b'", False),  # not compared: reorganized, the server decides
        ("10,MAXVALUE", "10,20", True),
    ],
)
def test_last_range_bound(before: str, after: str, dropped: bool) -> None:
    """A lower last bound drops and adds (unsafe); a higher or unknown one reorganizes."""
    live, desired = rng(P10, ("pl", before)), rng(P10, ("pn", after))
    clauses = diff_tables(live, desired, LISTS).clauses  # type: ignore[union-attr]
    ops = [c for c in clauses if isinstance(c, ModifyPartitions)]
    if dropped:
        assert [(c.drop, [p.name for p in c.into]) for c in ops] == [(("pl",), []), ((), ["pn"])]
    else:
        assert [(c.drop, [p.name for p in c.into]) for c in ops] == [(("pl",), ["pn"])]


def test_modify_list_is_an_option_value() -> None:
    assert PartitioningMode("modify-list") is PartitioningMode.MODIFY_LIST
    assert PartitioningMode.MODIFY_LIST.manages_lists and not PartitioningMode.MODIFY.manages_lists
