"""Standalone index and constraint statements folded into their table (issue 12.4): files, not servers."""

from __future__ import annotations

import re
from pathlib import Path

from schemad.fs.dumper import dump_objects
from schemad.fs.logical import LogicalSchema
from schemad.introspect.texts import CreateText, SchemaTexts
from schemad.model.flavor import MARIADB_10_11
from schemad.model.keys import ObjectKey, ObjectType
from schemad.plan.planner import fixed_points
from schemad.sqltext.splitter import StatementKind, split

T = ObjectType.TABLE
LIVE_T = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `c` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n)"


def test_statements_before_and_after_the_create_fold_in_the_order_read() -> None:
    ls = LogicalSchema.from_texts(
        {
            "a_indexes.sql": "CREATE INDEX early ON t (c);\nALTER TABLE other ADD KEY (x);\n",
            "t.sql": "CREATE TABLE t (id int PRIMARY KEY, c int);\nALTER TABLE t ADD UNIQUE KEY u (c);\n",
            "z.sql": "-- later\nALTER TABLE `t` ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES p (id);\n",
        }
    )
    t = ls.creates[ObjectKey(T, "t")]
    assert [(s.file, s.line) for s in t.folded] == [("a_indexes.sql", 1), ("t.sql", 2), ("z.sql", 2)]
    assert t.own_body == "CREATE TABLE t (id int PRIMARY KEY, c int)"
    assert t.body == (
        "CREATE TABLE t (id int PRIMARY KEY, c int);\n"
        "CREATE INDEX early ON t (c);\n"
        "ALTER TABLE t ADD UNIQUE KEY u (c);\n"
        "ALTER TABLE `t` ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES p (id)"
    )
    assert [s.summary for s in t.folded] == [
        "CREATE INDEX early ON t",
        "ALTER TABLE t ADD UNIQUE KEY u",
        "ALTER TABLE `t` ADD CONSTRAINT fk FOREIGN KEY",
    ]
    # The one on a table no CREATE defines: for the caller to warn about; never unparsed.
    assert [(s.file, s.line, s.key) for s in ls.unfolded] == [("a_indexes.sql", 2, ObjectKey(T, "other"))]
    assert ls.unparsed == []
    # The files keep the statements as split: nothing folded there.
    assert all(not s.folded for stmts in ls.files.values() for s in stmts)


def test_other_statements_still_are_unparsed() -> None:
    ls = LogicalSchema.from_texts(
        {"t.sql": "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN c int;\nALTER TABLE t DROP KEY k;\n"}
    )
    assert [s.line for s in ls.unparsed] == [2, 3]
    assert ls.creates[ObjectKey(T, "t")].folded == ()


def test_an_ignored_table_takes_its_statements_along() -> None:
    ls = LogicalSchema.from_texts(
        {
            "t.sql": "CREATE TABLE tmp_x (id int);\n"
            "CREATE INDEX i ON tmp_x (id);\nCREATE INDEX j ON tmp_y (id);\n"
        },
        ignore={T: re.compile("^tmp_")},
    )
    assert ls.creates == {} and ls.unfolded == [] and ls.standalone == []


def test_an_unsupported_create_is_not_folded_into() -> None:
    ls = LogicalSchema.from_texts({"t.sql": "CREATE TABLE t LIKE u;\nCREATE INDEX i ON t (id);\n"})
    assert ObjectKey(T, "t") in ls.unsupported
    assert [s.line for s in ls.unfolded] == [2]


def test_the_daemons_incremental_reading_folds_the_same() -> None:
    """service/desired.py adds statements one by one, files in any order."""
    texts = {"idx.sql": "CREATE INDEX i ON t (c);\n", "t.sql": "CREATE TABLE t (id int, c int);\n"}
    whole = LogicalSchema.from_texts(texts)
    for order in (["idx.sql", "t.sql"], ["t.sql", "idx.sql"]):
        ls = LogicalSchema()
        for name in order:
            for stmt in split(texts[name], name):
                ls.add_statement(stmt)
        assert ls.creates == whole.creates


def test_the_planner_never_takes_a_folded_table_for_its_live_text() -> None:
    """A file holding exactly the live CREATE skips the workspace, unless something is folded into it."""
    live = SchemaTexts(
        "s", "utf8mb4", "utf8mb4_general_ci", {ObjectKey(T, "t"): CreateText(ObjectKey(T, "t"), LIVE_T)}
    )
    plain = LogicalSchema.from_texts({"t.sql": LIVE_T + ";\n"})
    assert fixed_points(plain, live) == {ObjectKey(T, "t")}
    folded = LogicalSchema.from_texts({"t.sql": LIVE_T + ";\nCREATE INDEX i ON t (c);\n"})
    assert fixed_points(folded, live) == set()


def test_dumper_removes_the_statements_it_folded(tmp_path: Path) -> None:
    key = ObjectKey(T, "t")
    (tmp_path / "t.sql").write_text(
        "CREATE TABLE t (id int, c int);\n-- c's index\nCREATE INDEX i ON t (c);\n"
    )
    (tmp_path / "idx.sql").write_text("ALTER TABLE t ADD UNIQUE KEY u (id);\n")
    (tmp_path / "keep.sql").write_text("ALTER TABLE ignored_t ADD KEY (x);\nALTER TABLE t DROP KEY i;\n")
    canonical = LIVE_T.replace("PRIMARY KEY (`id`)", "UNIQUE KEY `u` (`id`),\n  KEY `i` (`c`)")
    result = dump_objects(
        tmp_path,
        {key: CreateText(key, canonical)},
        MARIADB_10_11,
        ignored=lambda k: k.name.startswith("ignored"),
        fold_standalone=True,
    )
    assert sorted(p.name for p in result.written) == ["t.sql"]
    assert [p.name for p in result.deleted] == ["idx.sql"]
    assert (tmp_path / "t.sql").read_text() == canonical + ";\n-- c's index\n"
    # An ignored table's statement, and a statement that is not folded, stay.
    assert (
        tmp_path / "keep.sql"
    ).read_text() == "ALTER TABLE ignored_t ADD KEY (x);\nALTER TABLE t DROP KEY i;\n"


def test_dumper_leaves_them_without_the_option(tmp_path: Path) -> None:
    key = ObjectKey(T, "t")
    text = "CREATE TABLE t (id int, c int);\nCREATE INDEX i ON t (c);\n"
    (tmp_path / "t.sql").write_text(text)
    dump_objects(tmp_path, {key: CreateText(key, LIVE_T)}, MARIADB_10_11)
    stmts = split((tmp_path / "t.sql").read_text())
    assert [s.kind for s in stmts if s.kind is not StatementKind.NOOP] == [
        StatementKind.CREATE,
        StatementKind.FOLDABLE,
    ]
