"""Rendering rules of the table model, one rule per case (the corpus test checks the server)."""

from __future__ import annotations

import pytest

from schemad.model.column import Column, Generated
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import MARIADB_10_11
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.partition import Partition, Partitioning, Subpartition
from schemad.model.table import Table
from schemad.model.tabletext import strip_auto_increment

F = MARIADB_10_11
COLL = "utf8mb4_general_ci"


@pytest.mark.parametrize(
    ("column", "text"),
    [
        (Column("a", "int(11)", default="NULL"), "`a` int(11) DEFAULT NULL"),
        (
            Column("a", "int(10) unsigned", nullable=False, auto_increment=True),
            "`a` int(10) unsigned NOT NULL AUTO_INCREMENT",
        ),
        (Column("t", "timestamp", default="NULL"), "`t` timestamp NULL DEFAULT NULL"),
        (
            Column(
                "t",
                "timestamp(3)",
                nullable=False,
                default="current_timestamp(3)",
                on_update="current_timestamp(3)",
            ),
            "`t` timestamp(3) NOT NULL DEFAULT current_timestamp(3) ON UPDATE current_timestamp(3)",
        ),
        (
            Column("s", "varchar(5)", char_set="latin1", collation="latin1_swedish_ci", default="'x'"),
            "`s` varchar(5) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT 'x'",
        ),
        (
            Column("s", "varchar(5)", char_set="utf8mb4", collation=COLL, default="NULL"),
            "`s` varchar(5) DEFAULT NULL",
        ),
        (
            Column("g", "int(11)", generated=Generated.VIRTUAL, generation_expr="`a` + 1", invisible=True),
            "`g` int(11) GENERATED ALWAYS AS (`a` + 1) VIRTUAL INVISIBLE",
        ),
        (Column("i", "int(11)", invisible=True, default="3"), "`i` int(11) INVISIBLE DEFAULT 3"),
        (
            Column("c", "int(11)", default="NULL", comment="it's\nhere", check_clause="`c` > 0"),
            "`c` int(11) DEFAULT NULL COMMENT 'it''s\\nhere' CHECK (`c` > 0)",
        ),
        (
            Column("w`x", "blob /*M!100301 COMPRESSED*/", default="NULL"),
            "`w``x` blob /*M!100301 COMPRESSED*/ DEFAULT NULL",
        ),
    ],
)
def test_column_definition(column: Column, text: str) -> None:
    assert column.definition(F, COLL) == text


def test_column_type_accessors() -> None:
    c = Column("d", "decimal(10,2) unsigned zerofill")
    assert (c.base_type, c.unsigned, c.zerofill, c.compressed) == ("decimal", True, True, False)
    assert Column("b", "blob /*M!100301 COMPRESSED*/").compressed


def _table(**kw: object) -> Table:
    cols = (
        Column("id", "int(11)", nullable=False),
        Column("v", "varchar(10)", default="NULL", char_set="utf8mb4", collation=COLL),
    )
    base: dict[str, object] = {"name": "t", "columns": cols, "collation": COLL}
    base.update(kw)
    return Table(**base)  # type: ignore[arg-type]


def test_table_with_keys_fks_checks_and_options() -> None:
    t = _table(
        primary_key=Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("id"),)),
        secondary_indexes=(
            Index("v", IndexKind.UNIQUE, (IndexPart("v", prefix=5),), using="HASH"),
            Index(
                "k",
                IndexKind.PLAIN,
                (IndexPart("v", descending=True), IndexPart("id")),
                comment="c",
                invisible=True,
            ),
        ),
        foreign_keys=(
            ForeignKey("fk", ("id",), "", "p", ("id",), on_delete="CASCADE", on_update="NO ACTION"),
        ),
        checks=(Check("ck", "`id` > 0"),),
        create_options=("ROW_FORMAT=DYNAMIC", "`page_compressed`='1'"),
        comment="tbl",
        auto_increment=5,
    )
    assert t.create_statement(F) == (
        "CREATE TABLE `t` (\n"
        "  `id` int(11) NOT NULL,\n"
        "  `v` varchar(10) DEFAULT NULL,\n"
        "  PRIMARY KEY (`id`),\n"
        "  UNIQUE KEY `v` (`v`(5)) USING HASH,\n"
        "  KEY `k` (`v` DESC,`id`) COMMENT 'c' IGNORED,\n"
        "  CONSTRAINT `fk` FOREIGN KEY (`id`) REFERENCES `p` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION,\n"
        "  CONSTRAINT `ck` CHECK (`id` > 0)\n"
        ") ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
        " ROW_FORMAT=DYNAMIC COMMENT='tbl' `page_compressed`='1'"
    )
    assert "AUTO_INCREMENT=5" not in t.create_statement(F, include_auto_inc=False)
    assert strip_auto_increment(t.create_statement(F)) == t.create_statement(F, include_auto_inc=False)


def test_binary_charset_prints_no_collation() -> None:
    t = _table(char_set="binary", collation="binary", columns=(Column("id", "int(11)", default="NULL"),))
    assert t.create_statement(F).endswith(") ENGINE=InnoDB DEFAULT CHARSET=binary")


def test_partitioning_forms() -> None:
    hash4 = Partitioning(
        "LINEAR KEY", "`id`", tuple(Partition(f"p{i}", None) for i in range(3)), default_partitions=True
    )
    assert hash4.definition() == "\n PARTITION BY LINEAR KEY (`id`)\nPARTITIONS 3"
    lists = Partitioning(
        "LIST COLUMNS",
        "`a`,`b`",
        (
            Partition("p0", "(1,'x'),(2,'y')", comment="it's"),
            Partition("pd", "(MAXVALUE,MAXVALUE)"),
        ),
    )
    assert lists.definition() == (
        "\n PARTITION BY LIST  COLUMNS(`a`,`b`)\n"
        "(PARTITION `p0` VALUES IN ((1,'x'),(2,'y')) COMMENT = 'it\\'s' ENGINE = InnoDB,\n"
        " PARTITION `pd` DEFAULT ENGINE = InnoDB)"
    )
    subs = Partitioning(
        "RANGE",
        "year(`d`)",
        (
            Partition("p0", "2000", subpartitions=(Subpartition("s0", "z"), Subpartition("s1"))),
            Partition("p1", "MAXVALUE", subpartitions=(Subpartition("s2"), Subpartition("s3"))),
        ),
        sub_method="HASH",
        sub_expression="`id`",
        sub_count=2,
    )
    assert subs.definition() == (
        "\n PARTITION BY RANGE (year(`d`))\nSUBPARTITION BY HASH (`id`)\n"
        "(PARTITION `p0` VALUES LESS THAN (2000)\n (SUBPARTITION `s0` COMMENT = 'z' ENGINE = InnoDB,\n"
        "  SUBPARTITION `s1` ENGINE = InnoDB),\n"
        " PARTITION `p1` VALUES LESS THAN MAXVALUE\n (SUBPARTITION `s2` ENGINE = InnoDB,\n"
        "  SUBPARTITION `s3` ENGINE = InnoDB))"
    )
