"""Issue 12.2: a partitioning declared without a list renders as the server prints it, and a new
table is created from the server's own text whenever the model cannot reproduce it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.diff.schema_diff import diff_schemas
from schemad.model.column import Column
from schemad.model.flavor import MARIADB_10_11
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.partition import Partition, Partitioning
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.model.tabletext import strip_partitioning

F = MARIADB_10_11
COLL = "utf8mb4_general_ci"
P0 = (Partition("p0", None),)


@pytest.mark.parametrize(
    ("partitioning", "text"),
    [
        (Partitioning("HASH", "`user_id`", P0, implicit_partitions=True), " PARTITION BY HASH (`user_id`)"),
        (
            Partitioning("LINEAR HASH", "`id`", P0, implicit_partitions=True),
            " PARTITION BY LINEAR HASH (`id`)",
        ),
        (Partitioning("KEY", "", P0, implicit_partitions=True), " PARTITION BY KEY ()"),
        (Partitioning("LINEAR KEY", "`id`", P0, implicit_partitions=True), " PARTITION BY LINEAR KEY (`id`)"),
        # `PARTITIONS 1` is printed back: it is another declaration of the same single partition.
        (
            Partitioning("HASH", "`id`", P0, default_partitions=True),
            " PARTITION BY HASH (`id`)\nPARTITIONS 1",
        ),
        (Partitioning("HASH", "`id`", P0), " PARTITION BY HASH (`id`)\n(PARTITION `p0` ENGINE = InnoDB)"),
        (
            Partitioning(
                "RANGE",
                "`id`",
                (Partition("p0", "10", comment="c"),),
                sub_method="HASH",
                sub_expression="`id`",
                sub_count=1,
                implicit_subpartitions=True,
            ),
            " PARTITION BY RANGE (`id`)\nSUBPARTITION BY HASH (`id`)\n"
            "(PARTITION `p0` VALUES LESS THAN (10) COMMENT = 'c' ENGINE = InnoDB)",
        ),
    ],
)
def test_declared_form_is_printed_back(partitioning: Partitioning, text: str) -> None:
    assert partitioning.definition() == "\n" + text


def _table(**kw: object) -> Table:
    base = Table(
        name="t",
        columns=(Column("id", "int(11)", nullable=False),),
        primary_key=Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("id"),)),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


SERVER_TEXT = (
    "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci /* a thing */\n"
    " PARTITION BY HASH (`id`)"
)


def test_strip_partitioning() -> None:
    assert strip_partitioning(SERVER_TEXT) == SERVER_TEXT.split("\n PARTITION BY")[0]
    head = "CREATE TABLE `t` (\n  `id` int NOT NULL\n) ENGINE=InnoDB"
    mysql = head + "\n/*!50100 PARTITION BY HASH (`id`)\nPARTITIONS 4 */"
    assert strip_partitioning(mysql) == head
    plain = "CREATE TABLE `t` (\n  `c` varchar(9) DEFAULT '\n PARTITION BY '\n) ENGINE=InnoDB"
    assert strip_partitioning(plain) == plain  # only the clause after the table options counts


def test_supported_table_is_created_from_its_rendering() -> None:
    t = _table(partitioning=Partitioning("HASH", "`id`", P0, implicit_partitions=True))
    assert t.statement_to_create(F) == t.create_statement(F)
    assert t.statement_to_create(F).endswith(" COLLATE=utf8mb4_general_ci\n PARTITION BY HASH (`id`)")


def test_unsupported_table_is_created_from_the_server_text() -> None:
    """What the model misses (here the `/* a thing */` it cannot render) is never lost to a re-rendering."""
    t = _table(
        partitioning=Partitioning("HASH", "`id`", P0, implicit_partitions=True),
        auto_increment=9,
        show_create=SERVER_TEXT,
        unsupported=True,
    )
    assert t.statement_to_create(F) == SERVER_TEXT
    assert "AUTO_INCREMENT" not in t.statement_to_create(F, include_auto_inc=False)
    assert replace(t, partitioning=None).statement_to_create(F) == strip_partitioning(SERVER_TEXT)


@pytest.mark.parametrize("mode", [PartitioningMode.KEEP, PartitioningMode.REMOVE])
def test_schema_diff_creates_new_tables_from_the_canonical_text(mode: PartitioningMode) -> None:
    t = _table(
        partitioning=Partitioning("HASH", "`id`", P0, implicit_partitions=True),
        show_create=SERVER_TEXT,
        unsupported=True,
    )
    mods = StatementModifiers(flavor=F, partitioning=mode)
    diff = diff_schemas(Schema("s", "utf8mb4", COLL), Schema("s", "utf8mb4", COLL, tables=(t,)), mods)
    (step,) = diff.steps
    assert step.kind is DiffKind.CREATE
    want = SERVER_TEXT
    assert step.sql == (want if mode is PartitioningMode.KEEP else strip_partitioning(want))
