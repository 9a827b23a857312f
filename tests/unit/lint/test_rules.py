"""Every rule: a case it flags and a case it passes, built from model objects."""

from __future__ import annotations

import pytest

from schemad.lint.options import LintOptions
from schemad.lint.rules import ALL_RULES, RULES_BY_NAME
from schemad.lint.rules.storage import compression_mode
from schemad.model.column import Column
from schemad.model.constraint import ForeignKey
from schemad.model.flavor import Flavor
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.schema import Schema, SchemaObject
from tests.unit.lint.builders import (
    ID,
    MARIADB,
    MYSQL8,
    event,
    idx,
    pk,
    routine,
    schema,
    table,
    trigger,
    view,
)


def run(
    rule: str,
    obj: SchemaObject,
    sch: Schema | None = None,
    flavor: Flavor = MYSQL8,
    **values: str,
) -> list[str]:
    """The messages of `rule` on `obj`, options given as option-name=value with `_` for `-`."""
    opts = LintOptions.from_values({k.replace("_", "-"): v for k, v in values.items()})
    found = RULES_BY_NAME[rule].check(sch or schema(obj), obj, opts, flavor)
    return [message for message, _ in found]


def test_registry_has_every_skeema_rule() -> None:
    assert {r.name for r in ALL_RULES} == {
        "pk", "dupe-index", "charset", "engine", "compression", "auto-inc", "definer", "zero-date",
        "reserved-word", "fk-parent", "display-width", "has-enum", "has-fk", "has-float", "has-time",
        "has-routine", "name-case", "pk-type", "ids", "nullable", "has-view", "has-trigger", "has-event",
        "stale-rename",
    }  # fmt: skip
    assert len(ALL_RULES) == len(RULES_BY_NAME)


# ---- pk


def test_pk() -> None:
    assert run("pk", table("t", ID)) == ["table `t` has no primary key"]
    assert run("pk", table()) == []


def test_pk_ignores_other_objects() -> None:
    assert run("pk", view()) == []


# ---- dupe-index

A, B = Column("a", "int", nullable=False), Column("b", "int", nullable=False)


U, FT = IndexKind.UNIQUE, IndexKind.FULLTEXT


@pytest.mark.parametrize(
    ("indexes", "redundant", "to"),
    [
        ((idx("i_id", "id"),), "i_id", "the primary key"),
        ((idx("ab", "a", "b"), idx("a", "a")), "a", "index `ab`"),
        ((idx("a1", "a"), idx("a2", "a")), "a2", "index `a1`"),
        ((idx("u", "a", kind=U), idx("k", "a")), "k", "index `u`"),
        ((idx("u1", "a", kind=U), idx("u2", "a", kind=U)), "u2", "index `u1`"),
        ((idx("f1", "a", kind=FT), idx("f2", "a", kind=FT)), "f2", "index `f1`"),
    ],
)
def test_dupe_index_flags(indexes: tuple[Index, ...], redundant: str, to: str) -> None:
    t = table("t", ID, A, B, primary_key=pk("id"), secondary_indexes=indexes)
    assert run("dupe-index", t) == [f"index `{redundant}` of table `t` is redundant to {to}"]


@pytest.mark.parametrize(
    "indexes",
    [
        (idx("a", "a"), idx("ba", "b", "a")),  # not a prefix
        (idx("u", "a", kind=IndexKind.UNIQUE), idx("ab", "a", "b")),  # the unique constraint matters
        (idx("k", "a"), idx("f", "a", kind=IndexKind.FULLTEXT)),  # different kinds
        (idx("ida", "id", "a"),),  # longer than the PK
        (Index("ap", IndexKind.PLAIN, (IndexPart("a", prefix=10),)), idx("b", "b")),
        (Index("inv", IndexKind.PLAIN, (IndexPart("a"), IndexPart("b")), invisible=True), idx("a", "a")),
    ],
)
def test_dupe_index_passes(indexes: tuple[Index, ...]) -> None:
    t = table("t", ID, A, B, primary_key=pk("id"), secondary_indexes=indexes)
    assert run("dupe-index", t) == []


def test_dupe_index_prefix_covered_by_full_column() -> None:
    ap = Index("ap", IndexKind.PLAIN, (IndexPart("a", prefix=10),))
    t = table("t", ID, A, primary_key=pk("id"), secondary_indexes=(idx("a", "a"), ap))
    assert run("dupe-index", t) == ["index `ap` of table `t` is redundant to index `a`"]


# ---- charset


def test_charset_table_default() -> None:
    assert run("charset", table(char_set="latin2")) == [
        "table `t` has default character set latin2; allow-charset is latin1, utf8mb4"
    ]
    assert run("charset", table(char_set="latin1")) == []


def test_charset_columns_and_utf8_aliases() -> None:
    t = table("t", ID, Column("name", "varchar(10)", char_set="utf8mb3", collation="utf8mb3_general_ci"))
    assert run("charset", t) == [
        "column `name` of table `t` has character set utf8mb3; allow-charset is latin1, utf8mb4"
    ]
    assert run("charset", t, allow_charset="utf8, utf8mb4") == []


# ---- engine / compression


def test_engine() -> None:
    assert run("engine", table(engine="MyISAM")) == [
        "table `t` uses storage engine MyISAM; allow-engine is innodb"
    ]
    assert run("engine", table(engine="InnoDB")) == []
    assert run("engine", table(engine="MyISAM"), allow_engine="InnoDB,MyISAM") == []


@pytest.mark.parametrize(
    ("create_options", "mode"),
    [
        ((), "none"),
        (("ROW_FORMAT=DYNAMIC",), "none"),
        (("ROW_FORMAT=COMPRESSED",), "8kb"),
        (("ROW_FORMAT=COMPRESSED", "KEY_BLOCK_SIZE=4"), "4kb"),
        (("KEY_BLOCK_SIZE=2",), "2kb"),
        (("`PAGE_COMPRESSED`=1",), "page"),
        (("PAGE_COMPRESSED='ON'",), "page"),
    ],
)
def test_compression_mode(create_options: tuple[str, ...], mode: str) -> None:
    assert compression_mode(table(create_options=create_options))[0] == mode


def test_compression() -> None:
    assert run("compression", table(create_options=("`PAGE_COMPRESSED`=1",))) == [
        "table `t` uses compression page; allow-compression is 4kb, 8kb, none"
    ]
    assert run("compression", table(create_options=("ROW_FORMAT=COMPRESSED", "KEY_BLOCK_SIZE=8"))) == []
    assert run("compression", table(create_options=("KEY_BLOCK_SIZE=2",), engine="MyISAM")) == []
    assert run("compression", table(create_options=("KEY_BLOCK_SIZE=2",)), allow_compression="2kb") == []


# ---- auto-inc


def test_auto_inc_type() -> None:
    t = table("t", Column("id", "int(11)", nullable=False, auto_increment=True), primary_key=pk("id"))
    assert run("auto-inc", t) == [
        "auto_increment column `id` of table `t` has type int(11);"
        " allow-auto-inc is bigint unsigned, int unsigned"
    ]
    assert run("auto-inc", t, allow_auto_inc="int") == []
    ok = table(
        "t", Column("id", "int(10) unsigned", nullable=False, auto_increment=True), primary_key=pk("id")
    )
    assert run("auto-inc", ok) == []


def test_auto_inc_near_max() -> None:
    col = Column("id", "int unsigned", nullable=False, auto_increment=True)
    near = table("t", col, primary_key=pk("id"), auto_increment=4_000_000_000)
    assert run("auto-inc", near) == [
        "next AUTO_INCREMENT value 4000000000 of table `t` is 93%"
        " of the maximum of column `id` (int unsigned)"
    ]
    assert run("auto-inc", table("t", col, primary_key=pk("id"), auto_increment=1_000)) == []


# ---- definer


@pytest.mark.parametrize("make", [routine, view, trigger, event])
def test_definer(make: type[SchemaObject]) -> None:
    obj = make(definer="app@10.0.0.1")  # type: ignore[call-arg]
    assert run("definer", obj) == []  # default %@%
    assert run("definer", obj, allow_definer="root@localhost") == [
        f"{obj.key} has definer app@10.0.0.1; allow-definer is root@localhost"
    ]
    assert run("definer", obj, allow_definer="root@localhost, 'app'@'10.%'") == []
    assert run("definer", obj, allow_definer="ap_@10.0.0._") == []
    assert run("definer", obj, allow_definer="a_@%") != []


def test_definer_skips_tables() -> None:
    assert run("definer", table(), allow_definer="root@localhost") == []


# ---- zero-date


@pytest.mark.parametrize(
    ("type_", "default", "flagged"),
    [
        ("date", "'0000-00-00'", True),
        ("datetime", "'2020-00-01 00:00:00'", True),
        ("timestamp", "'2020-01-00 10:00:00'", True),
        ("datetime", "'2020-01-01 00:00:00'", False),
        ("timestamp", "current_timestamp()", False),
        ("varchar(20)", "'0000-00-00'", False),
    ],
)
def test_zero_date(type_: str, default: str, flagged: bool) -> None:
    t = table("t", ID, Column("d", type_, default=default), primary_key=pk("id"))
    expected = [f"column `d` of table `t` has zero date default {default}"] if flagged else []
    assert run("zero-date", t) == expected


# ---- reserved-word


def test_reserved_word() -> None:
    assert run("reserved-word", table("select")) == ["table `select`: name is a reserved word in mysql"]
    assert run("reserved-word", routine("Order")) == ["procedure `Order`: name is a reserved word in mysql"]
    t = table("t", ID, Column("rank", "int"), primary_key=pk("id"))
    assert run("reserved-word", t) == ["column `rank` of table `t`: name is a reserved word in mysql"]
    assert run("reserved-word", t, flavor=MARIADB) == []  # RANK is not reserved in MariaDB
    assert run("reserved-word", table("users")) == []
    assert run("reserved-word", view("select")) == []


# ---- fk-parent / has-fk

FK = ForeignKey("fk_p", ("p_id",), "", "parent", ("id",))
CHILD = table("child", ID, Column("p_id", "bigint unsigned"), primary_key=pk("id"), foreign_keys=(FK,))


def test_fk_parent_missing() -> None:
    assert run("fk-parent", CHILD) == [
        "foreign key `fk_p` of table `child` references missing table `parent`"
    ]


def test_fk_parent_without_unique_index() -> None:
    parent = table("parent", ID, secondary_indexes=(idx("i", "id"),))
    assert run("fk-parent", CHILD, schema(CHILD, parent)) == [
        "foreign key `fk_p` of table `child` references (`id`) of `parent`,"
        " which has no primary key or unique index on exactly those columns"
    ]


def test_fk_parent_ok() -> None:
    assert run("fk-parent", CHILD, schema(CHILD, table("parent"))) == []
    other = table("c", ID, foreign_keys=(ForeignKey("fk", ("id",), "otherdb", "parent", ("id",)),))
    assert run("fk-parent", other) == []


def test_fk_parent_needs_columns_in_order() -> None:
    fk = ForeignKey("fk2", ("a", "b"), "", "parent", ("a", "b"))
    child = table("child", A, B, foreign_keys=(fk,))
    parent = table("parent", A, B, primary_key=pk("b", "a"))
    assert len(run("fk-parent", child, schema(child, parent))) == 1
    parent = table(
        "parent",
        A,
        B,
        primary_key=pk("b", "a"),
        secondary_indexes=(idx("u", "a", "b", kind=IndexKind.UNIQUE),),
    )
    assert run("fk-parent", child, schema(child, parent)) == []


def test_has_fk() -> None:
    assert run("has-fk", CHILD) == ["table `child` has foreign key `fk_p`"]
    assert run("has-fk", table()) == []


# ---- display-width


@pytest.mark.parametrize(
    ("type_", "flagged"),
    [
        ("int(5)", True),
        ("int(11) unsigned", True),
        ("bigint(19)", True),
        ("tinyint(2)", True),
        ("int(11)", False),
        ("int(10) unsigned", False),
        ("bigint(20)", False),
        ("bigint(20) unsigned", False),
        ("tinyint(1)", False),
        ("int", False),
        ("int(5) unsigned zerofill", False),
        ("varchar(5)", False),
    ],
)
def test_display_width(type_: str, flagged: bool) -> None:
    t = table("t", ID, Column("n", type_), primary_key=pk("id"))
    expected = [f"column `n` of table `t` has non-default display width: {type_}"] if flagged else []
    assert run("display-width", t) == expected


# ---- column type presence rules


@pytest.mark.parametrize(
    ("rule", "flagged_type", "label", "ok_type"),
    [
        ("has-enum", "enum('a','b')", "ENUM/SET", "varchar(1)"),
        ("has-enum", "set('a','b')", "ENUM/SET", "int"),
        ("has-float", "float", "FLOAT/DOUBLE", "decimal(10,2)"),
        ("has-float", "double unsigned", "FLOAT/DOUBLE", "int"),
        ("has-time", "timestamp(3)", "TIMESTAMP/DATETIME/TIME", "date"),
        ("has-time", "time", "TIMESTAMP/DATETIME/TIME", "year"),
    ],
)
def test_has_type(rule: str, flagged_type: str, label: str, ok_type: str) -> None:
    bad = table("t", ID, Column("c", flagged_type), primary_key=pk("id"))
    assert run(rule, bad) == [f"column `c` of table `t` is a {label} column ({flagged_type})"]
    assert run(rule, table("t", ID, Column("c", ok_type), primary_key=pk("id"))) == []


# ---- object presence rules


@pytest.mark.parametrize(
    ("rule", "make", "other"),
    [
        ("has-routine", routine, view),
        ("has-view", view, routine),
        ("has-trigger", trigger, event),
        ("has-event", event, trigger),
    ],
)
def test_has_object(rule: str, make: type[SchemaObject], other: type[SchemaObject]) -> None:
    obj = make()
    assert len(run(rule, obj)) == 1
    assert str(obj.key) in run(rule, obj)[0]
    assert run(rule, other()) == []
    assert run(rule, table()) == []


# ---- name-case / pk-type / ids / nullable


def test_name_case() -> None:
    assert run("name-case", table("Users")) == ["table `Users` has uppercase letters in its name"]
    assert run("name-case", table("users")) == []


def test_pk_type() -> None:
    t = table("t", Column("id", "int(11)", nullable=False), primary_key=pk("id"))
    assert run("pk-type", t, allow_pk_type="bigint unsigned") == [
        "primary key column `id` of table `t` has type int(11); allow-pk-type is bigint unsigned"
    ]
    assert run("pk-type", t, allow_pk_type="int, bigint unsigned") == []
    assert run("pk-type", table("t", ID), allow_pk_type="int") == []  # no PK: nothing to check


def test_ids() -> None:
    t = table("t", ID, Column("user_id", "int(10) unsigned"), Column("grid", "int"), primary_key=pk("id"))
    assert run("ids", t) == ["column `user_id` of table `t` has type int(10) unsigned, not bigint unsigned"]
    assert run("ids", table("t", ID, Column("user_id", "bigint(20) unsigned"))) == []


def test_nullable() -> None:
    t = table("t", ID, Column("note", "text"), primary_key=pk("id"))
    assert run("nullable", t) == ["column `note` of table `t` is nullable"]
    assert run("nullable", table()) == []
