"""`@renamed from=` annotations found in statement text (sqldef's syntax), and put on the desired model."""

from __future__ import annotations

import pytest

from schemad.fs.logical import LogicalSchema
from schemad.model.column import Column
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.sqltext.renames import annotate_renames, carry_renames, find_renames

CASES: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    (
        "sqldef_column_and_table_line_comments",
        "CREATE TABLE users ( -- @renamed from=user_accounts\n  id bigint NOT NULL,\n"
        "  user_name text, -- @renamed from=username\n  age integer\n)",
        [("table", "users", "user_accounts"), ("column", "user_name", "username")],
    ),
    (
        "block_comments_and_quoted_names",
        "CREATE TABLE `users` /* @renamed from=user_accounts */ (\n  id bigint NOT NULL,\n"
        '  `x y` text /* @renamed from="a b" */,\n  z int /* @renamed from=`q``r` */,\n'
        "  KEY new_idx (email) -- @renamed from='old idx'\n)",
        [
            ("table", "users", "user_accounts"),
            ("column", "x y", "a b"),
            ("column", "z", "q`r"),
            ("index", "new_idx", "old idx"),
        ],
    ),
    (
        "index_spellings",
        "CREATE TABLE t (id int, UNIQUE KEY u2 (a), -- @renamed from=u1\n"
        "  CONSTRAINT c2 UNIQUE (b) /* @renamed from=c1 */, FULLTEXT ft2 (d) /* @renamed from=ft1 */,\n"
        "  KEY USING BTREE (e) /* @renamed from=unnamed */, index_id int /* @renamed from=idx_id */)",
        [
            ("index", "u2", "u1"),
            ("index", "c2", "c1"),
            ("index", "ft2", "ft1"),
            ("column", "index_id", "idx_id"),
        ],
    ),
    (
        "not_renamable_kinds_are_ignored",
        "CREATE TABLE t (id int, PRIMARY KEY (id) /* @renamed from=x */,\n"
        "  CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id), -- @renamed from=y\n"
        "  CONSTRAINT ck CHECK (a > 0) /* @renamed from=z */)",
        [],
    ),
    (
        "strings_and_versioned_comments_are_not_annotations",
        "CREATE TABLE t (a varchar(10) DEFAULT '/* @renamed from=no */' COMMENT '-- @renamed from=no',\n"
        "  b int /*!100000 COMMENT '@renamed from=no' */) -- @renamed from=t0\n",
        [("table", "t", "t0")],
    ),
    (
        "schema_qualified_table",
        "CREATE TABLE `db`.`t` (a int) /* @renamed from=t0 */ ENGINE=InnoDB",
        [("table", "t", "t0")],
    ),
    (
        "standalone_create_index",
        "CREATE UNIQUE INDEX new_email /* @renamed from=old_email */ ON users (email)",
        [("index", "new_email", "old_email")],
    ),
    (
        "alter_table_add",
        "ALTER TABLE users ADD KEY k2 (a) /* @renamed from=k1 */,\n"
        "  ADD CONSTRAINT u2 UNIQUE (b) -- @renamed from=u1\n",
        [("index", "k2", "k1"), ("index", "u2", "u1")],
    ),
    ("no_annotation", "CREATE TABLE t (a int) -- renamed from=x", []),
]


@pytest.mark.parametrize(("text", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_find_renames(text: str, want: list[tuple[str, str, str]]) -> None:
    assert [(a.kind.value, a.name, a.renamed_from) for a in find_renames(text)] == want


def test_offsets_point_at_the_comment() -> None:
    text = "CREATE TABLE t (\n  b2 int /* @renamed from=b */\n)"
    (a,) = find_renames(text)
    assert text[a.offset :].startswith("/* @renamed")


def _col(name: str) -> Column:
    return Column(name, "int(11)")


def test_annotate_puts_annotations_on_the_desired_tables() -> None:
    logical = LogicalSchema.from_texts(
        {
            "users.sql": "CREATE TABLE users /* @renamed from=accounts */ (\n"
            "  Name int, -- @renamed from=username\n  ghost int /* @renamed from=x */,\n"
            "  KEY k2 (Name) -- @renamed from=k1\n);\n",
            "idx.sql": "CREATE INDEX k3 /* @renamed from=kk */ ON users (ghost);\n",
            "other.sql": "CREATE TABLE other (a int);\n",
        }
    )
    users = Table(
        "users",
        (_col("name"),),  # the workspace: no `ghost` (say the file was edited since), another case
        secondary_indexes=(
            Index("k2", IndexKind.PLAIN, (IndexPart("name"),)),
            Index("k3", IndexKind.PLAIN, (IndexPart("name"),)),
        ),
    )
    other = Table("other", (_col("a"),))
    schema = Schema("s", "utf8mb4", "utf8mb4_general_ci", tables=(other, users))
    got = annotate_renames(schema, logical.creates.values())
    assert got.tables[0] is other
    t = got.tables[1]
    assert t.renamed_from == "accounts"
    assert [c.renamed_from for c in t.columns] == ["username"]
    assert [i.renamed_from for i in t.secondary_indexes] == ["k1", "kk"]
    assert t == users  # annotations are not part of the table's identity
    assert got.table("users") is t
    plain = LogicalSchema.from_texts({"other.sql": "CREATE TABLE other (a int);\n"})
    assert annotate_renames(schema, plain.creates.values()) is schema


CANONICAL = (
    "CREATE TABLE `users` (\n  `id` int(11) NOT NULL,\n  `user name` varchar(40) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`),\n  KEY `k2` (`user name`),\n  KEY `k3` (`id`)\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
)


def test_carry_renames_puts_the_annotations_back_into_the_canonical_text() -> None:
    """What format/lint need: the server's text, with the renames not pushed yet still in it."""
    source = (
        "CREATE TABLE users /* @renamed from=accounts */ (\n  id int NOT NULL PRIMARY KEY,\n"
        '  `user name` varchar(40), -- @renamed from="user-name"\n'
        "  KEY k2 (`user name`) -- @renamed from=k\n)"
    )
    folded = "CREATE INDEX k3 /* @renamed from=kk */ ON users (id)"
    out = carry_renames(CANONICAL, [source, folded, "CREATE TABLE users (gone int /* @renamed from=x */)"])
    assert out == (
        "CREATE TABLE `users` /* @renamed from=accounts */ (\n  `id` int(11) NOT NULL,\n"
        '  `user name` varchar(40) DEFAULT NULL /* @renamed from="user-name" */,\n'
        "  PRIMARY KEY (`id`),\n  KEY `k2` (`user name`) /* @renamed from=k */,\n"
        "  KEY `k3` (`id`) /* @renamed from=kk */\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
    )
    assert [(a.kind.value, a.name, a.renamed_from) for a in find_renames(out)] == [
        ("table", "users", "accounts"),
        ("column", "user name", "user-name"),
        ("index", "k2", "k"),
        ("index", "k3", "kk"),
    ]
    assert carry_renames(CANONICAL, ["CREATE TABLE users (a int)"]) is CANONICAL
