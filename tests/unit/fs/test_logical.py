"""Tests for schemad.fs.logical: the CREATEs a directory's *.sql files declare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemad.errors import DuplicateDefinitionError, SplitError, SQLFileError
from schemad.fs.logical import LogicalSchema
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.splitter import StatementKind

T, P, F = ObjectType.TABLE, ObjectType.PROCEDURE, ObjectType.FUNCTION

USERS = "CREATE TABLE users (\n  id int NOT NULL,\n  PRIMARY KEY (id)\n);\n"
ROUTINES = (
    "-- routines\n"
    "DELIMITER //\n"
    "CREATE DEFINER=`app`@`%` PROCEDURE users() BEGIN SELECT 1; SELECT 2; END//\n"
    "CREATE FUNCTION f() RETURNS int RETURN 1//\n"
    "DELIMITER ;\n"
)


def test_collects_creates_by_type_and_name() -> None:
    ls = LogicalSchema.from_texts({"users.sql": USERS, "routines.sql": ROUTINES})
    # a table and a procedure with the same name are different objects
    assert set(ls.creates) == {ObjectKey(T, "users"), ObjectKey(P, "users"), ObjectKey(F, "f")}
    proc = ls.creates[ObjectKey(P, "users")]
    assert (proc.file, proc.line, proc.delimiter, proc.compound) == ("routines.sql", 3, "//", True)
    assert ls.creates[ObjectKey(T, "users")].text == USERS
    assert (ls.unparsed, ls.uses, ls.unsupported) == ([], [], {})
    assert (ls.char_set, ls.collation) == (None, None)


def test_files_keep_every_statement_losslessly() -> None:
    texts = {"users.sql": USERS, "routines.sql": ROUTINES, "empty.sql": ""}
    ls = LogicalSchema.from_texts(texts)
    assert list(ls.files) == list(texts)
    for name, text in texts.items():
        assert "".join(s.text for s in ls.files[name]) == text
    assert [s.kind for s in ls.files["routines.sql"]] == [
        StatementKind.NOOP,
        StatementKind.DELIMITER,
        StatementKind.CREATE,
        StatementKind.CREATE,
        StatementKind.DELIMITER,
    ]


def test_unparsed_and_uses() -> None:
    ls = LogicalSchema.from_texts(
        {
            "a.sql": "USE app\nINSERT INTO t VALUES (1);\n"
            "CREATE TABLE app.t (a int);\nALTER TABLE t ADD b int;\n"
        }
    )
    assert [s.schema for s in ls.uses] == ["app"]
    assert [(s.line, s.body) for s in ls.unparsed] == [(4, "ALTER TABLE t ADD b int")]
    assert [(s.statement.line, s.table, s.row_widths) for s in ls.seeds] == [(2, "t", (1,))]
    t = ls.creates[ObjectKey(T, "t")]
    assert (t.schema, t.default_schema) == ("app", "app")


def test_unsupported_creates_are_kept_apart() -> None:
    ls = LogicalSchema.from_texts(
        {"a.sql": "CREATE TABLE t1 (a int);\nCREATE TABLE t2 LIKE t1;\nCREATE TABLE t3 AS SELECT 1 AS a;\n"}
    )
    assert set(ls.creates) == {ObjectKey(T, "t1")}
    assert {k: s.unsupported_reason for k, s in ls.unsupported.items()} == {
        ObjectKey(T, "t2"): "CREATE TABLE ... LIKE is not supported",
        ObjectKey(T, "t3"): "CREATE TABLE ... SELECT is not supported",
    }


DUPLICATES = [
    (
        "two-files",
        {"a.sql": "CREATE TABLE t (a int);\n", "b.sql": "\n\nCREATE TABLE t (b int);\n"},
        "b.sql",
        3,
        "table `t` defined multiple times in same directory: a.sql:1 and b.sql:3",
    ),
    (
        "same-file",
        {"a.sql": "CREATE TABLE t (a int);\nCREATE TABLE IF NOT EXISTS `t` (b int);\n"},
        "a.sql",
        2,
        "table `t` defined multiple times in same directory: a.sql:1 and a.sql:2",
    ),
    (
        "qualified-and-not",
        {"a.sql": "CREATE PROCEDURE p() SELECT 1;\n", "b.sql": "CREATE PROCEDURE db.p() SELECT 2;\n"},
        "b.sql",
        1,
        "procedure `p` defined multiple times in same directory: a.sql:1 and b.sql:1",
    ),
    (
        "unsupported-duplicate",
        {"a.sql": "CREATE TABLE t (a int);\n", "b.sql": "CREATE TABLE t LIKE u;\n"},
        "b.sql",
        1,
        "table `t` defined multiple times in same directory: a.sql:1 and b.sql:1",
    ),
]


@pytest.mark.parametrize(
    ("texts", "file", "line", "reason"), [d[1:] for d in DUPLICATES], ids=[d[0] for d in DUPLICATES]
)
def test_duplicate_definitions(texts: dict[str, str], file: str, line: int, reason: str) -> None:
    with pytest.raises(DuplicateDefinitionError) as exc:
        LogicalSchema.from_texts(texts)
    assert (exc.value.file, exc.value.line, exc.value.reason) == (file, line, reason)
    assert str(exc.value) == f"{file}:{line}: {reason}"


def test_same_name_different_types_is_not_a_duplicate() -> None:
    ls = LogicalSchema.from_texts(
        {
            "x.sql": "CREATE TABLE x (a int);\nCREATE PROCEDURE x() SELECT 1;\n"
            "CREATE FUNCTION x() RETURNS int RETURN 1;\n"
        }
    )
    assert set(ls.creates) == {ObjectKey(T, "x"), ObjectKey(P, "x"), ObjectKey(F, "x")}


IGNORES = [
    ("table-regex", {T: re.compile("^tmp_")}, {"keep", "x_tmp_y"}, {"p_tmp_1", "tmp_f"}),
    ("unanchored-search", {T: re.compile("tmp")}, {"keep"}, {"p_tmp_1", "tmp_f"}),
    ("proc-regex-leaves-tables", {P: re.compile(".")}, {"keep", "tmp_a", "x_tmp_y"}, {"tmp_f"}),
    ("func-regex", {F: re.compile("^tmp_f$")}, {"keep", "tmp_a", "x_tmp_y"}, {"p_tmp_1"}),
    ("none", None, {"keep", "tmp_a", "x_tmp_y"}, {"p_tmp_1", "tmp_f"}),
]


@pytest.mark.parametrize(
    ("ignore", "tables", "routines"), [i[1:] for i in IGNORES], ids=[i[0] for i in IGNORES]
)
def test_ignore_patterns(
    ignore: dict[ObjectType, re.Pattern[str]] | None, tables: set[str], routines: set[str]
) -> None:
    text = (
        "CREATE TABLE keep (a int);\nCREATE TABLE tmp_a (a int);\nCREATE TABLE x_tmp_y (a int);\n"
        "CREATE PROCEDURE p_tmp_1() SELECT 1;\nCREATE FUNCTION tmp_f() RETURNS int RETURN 1;\n"
    )
    ls = LogicalSchema.from_texts({"a.sql": text}, ignore=ignore)
    assert {k.name for k in ls.creates if k.type is T} == tables
    assert {k.name for k in ls.creates if k.type is not T} == routines


def test_ignored_objects_may_be_duplicated() -> None:
    # Skeema drops ignored statements before looking for duplicates.
    texts = {"a.sql": "CREATE TABLE tmp_x (a int);\n", "b.sql": "CREATE TABLE tmp_x (b int);\n"}
    ls = LogicalSchema.from_texts(texts, ignore={T: re.compile("^tmp_")})
    assert ls.creates == {}


def test_ignore_applies_to_unsupported_creates() -> None:
    ls = LogicalSchema.from_texts({"a.sql": "CREATE TABLE tmp_x LIKE y;\n"}, ignore={T: re.compile("^tmp_")})
    assert ls.unsupported == {}


def test_split_error_propagates_with_location() -> None:
    with pytest.raises(SplitError) as exc:
        LogicalSchema.from_texts({"ok.sql": USERS, "bad.sql": "CREATE TABLE t (\n  a int COMMENT 'x\n);\n"})
    assert (exc.value.file, exc.value.line) == ("bad.sql", 2)


# ---------------------------------------------------------------------------------------------------
# Reading real files.


def test_from_files(tmp_path: Path) -> None:
    (tmp_path / "users.sql").write_text(USERS)
    (tmp_path / "routines.sql").write_text(ROUTINES)
    files = sorted(tmp_path.glob("*.sql"))
    ls = LogicalSchema.from_files(files)
    assert set(ls.creates) == {ObjectKey(T, "users"), ObjectKey(P, "users"), ObjectKey(F, "f")}
    assert ls.creates[ObjectKey(T, "users")].file == str(tmp_path / "users.sql")
    assert list(ls.files) == [str(f) for f in files]


def test_utf8_bom_is_tolerated_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "bom.sql"
    path.write_bytes(b"\xef\xbb\xbfCREATE TABLE `caf\xc3\xa9` (a int);\n")
    ls = LogicalSchema.from_files([path])
    stmt = ls.creates[ObjectKey(T, "café")]
    assert (stmt.line, stmt.col) == (1, 1)
    assert "".join(s.text for s in ls.files[str(path)]).encode() == path.read_bytes()


def test_crlf_files(tmp_path: Path) -> None:
    path = tmp_path / "crlf.sql"
    path.write_bytes(b"CREATE TABLE a (x int);\r\n\r\nCREATE TABLE b (x int);\r\n")
    ls = LogicalSchema.from_files([path])
    assert [(k.name, s.line) for k, s in ls.creates.items()] == [("a", 1), ("b", 3)]


def test_invalid_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sql"
    path.write_bytes(b"CREATE TABLE a (x int);\nCREATE TABLE caf\xe9 (x int);\n")
    with pytest.raises(SQLFileError) as exc:
        LogicalSchema.from_files([path])
    assert (exc.value.file, exc.value.line) == (str(path), 2)
    assert "UTF-8" in exc.value.reason


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SQLFileError) as exc:
        LogicalSchema.from_files([tmp_path / "missing.sql"])
    assert exc.value.file == str(tmp_path / "missing.sql")


def test_split_error_from_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.sql"
    path.write_text("SELECT 1;\n/* never closed\n")
    with pytest.raises(SplitError) as exc:
        LogicalSchema.from_files([path])
    assert (exc.value.file, exc.value.line) == (str(path), 2)
