"""File placement rules of the dumper (pure: objects are given as text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemad.fs.dumper import DumpOptions, dump_objects, file_name_for
from schemad.introspect.texts import CreateText
from schemad.model.flavor import MARIADB_10_11
from schemad.model.keys import ObjectKey, ObjectType

T = ObjectType.TABLE
P = ObjectType.PROCEDURE


def obj(type_: ObjectType, name: str, text: str) -> tuple[ObjectKey, CreateText]:
    key = ObjectKey(type_, name)
    return key, CreateText(key, text)


def table(name: str, extra: str = "") -> str:
    return f"CREATE TABLE `{name}` (\n  `id` int(11) NOT NULL{extra}\n) ENGINE=InnoDB DEFAULT CHARSET=latin1"


PROC = "CREATE DEFINER=`root`@`%` PROCEDURE `p`()\nBEGIN\n  SELECT 1;\nEND"


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("users", "users.sql"),
        ("my table", "mytable.sql"),
        ("a.b-c/d\\e", "abcde.sql"),
        ("x`y'z\"", "xyz.sql"),
        ("()[]{}<>", "symbols.sql"),
        ("ünïcödé", "ünïcödé.sql"),
        ("q?*|~#&:", "q.sql"),
    ],
)
def test_file_names(name: str, file: str) -> None:
    assert file_name_for(name) == file


def test_new_objects_get_their_own_files(tmp_path: Path) -> None:
    objects = dict([obj(T, "users", table("users")), obj(P, "p", PROC)])
    result = dump_objects(tmp_path, objects, MARIADB_10_11, existing={})
    assert sorted(p.name for p in result.written) == ["p.sql", "users.sql"]
    assert (tmp_path / "users.sql").read_text() == table("users") + ";\n"
    assert (tmp_path / "p.sql").read_text() == f"DELIMITER //\n{PROC}//\nDELIMITER ;\n"


def test_table_and_routine_of_one_name_share_a_file(tmp_path: Path) -> None:
    proc = PROC.replace("`p`", "`users`")
    objects = dict([obj(P, "users", proc), obj(T, "users", table("users"))])
    dump_objects(tmp_path, objects, MARIADB_10_11, existing={})
    text = (tmp_path / "users.sql").read_text()
    assert text == table("users") + ";\n" + f"DELIMITER //\n{proc}//\nDELIMITER ;\n"  # table first


def test_names_differing_in_case_share_a_file(tmp_path: Path) -> None:
    objects = dict([obj(T, "Users", table("Users")), obj(T, "users", table("users"))])
    dump_objects(tmp_path, objects, MARIADB_10_11, existing={})
    assert [p.name for p in tmp_path.iterdir()] == ["Users.sql"]
    assert (tmp_path / "Users.sql").read_text().count("CREATE TABLE") == 2


def test_in_place_edit_keeps_surroundings_and_other_files_untouched(tmp_path: Path) -> None:
    (tmp_path / "all.sql").write_text("-- header\n" + table("a") + ";\n\n/* b */\n" + table("b") + ";\n")
    (tmp_path / "c.sql").write_text(table("c") + ";\n")
    c_mtime = (tmp_path / "c.sql").stat().st_mtime_ns
    objects = dict(
        [obj(T, "a", table("a")), obj(T, "b", table("b", ",\n  `x` int(11)")), obj(T, "c", table("c"))]
    )
    result = dump_objects(tmp_path, objects, MARIADB_10_11)
    assert result.written == [tmp_path / "all.sql"] and result.unchanged == 1
    assert (tmp_path / "all.sql").read_text() == (
        "-- header\n" + table("a") + ";\n\n/* b */\n" + table("b", ",\n  `x` int(11)") + ";\n"
    )
    assert (tmp_path / "c.sql").stat().st_mtime_ns == c_mtime


def test_dropped_objects_are_removed_and_empty_files_deleted(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("-- only a comment survives\n" + table("a") + ";\n")
    (tmp_path / "p.sql").write_text(f"DELIMITER //\n{PROC}//\nDELIMITER ;\n")
    (tmp_path / "keep.sql").write_text(table("keep") + ";\n" + table("gone") + ";\n")
    objects = dict([obj(T, "keep", table("keep"))])
    result = dump_objects(tmp_path, objects, MARIADB_10_11)
    assert sorted(p.name for p in result.deleted) == ["a.sql", "p.sql"]
    assert (tmp_path / "keep.sql").read_text() == table("keep") + ";\n"


def test_ignored_keys_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "tmp_x.sql").write_text("create table tmp_x (id int);\n")
    dump_objects(tmp_path, {}, MARIADB_10_11, ignored=lambda k: k.name.startswith("tmp_"))
    assert (tmp_path / "tmp_x.sql").read_text() == "create table tmp_x (id int);\n"


@pytest.mark.parametrize(
    ("previous", "opts", "kept"),
    [
        (None, DumpOptions(), False),
        (None, DumpOptions(include_auto_inc=True), True),
        ("create table t (id int auto_increment primary key) auto_increment=5;\n", DumpOptions(), True),
        ("create table t (id int auto_increment primary key) AUTO_INCREMENT 1;\n", DumpOptions(), False),
        ("create table t (id int auto_increment primary key);\n", DumpOptions(), False),
    ],
)
def test_auto_increment_retention(
    tmp_path: Path, previous: str | None, opts: DumpOptions, kept: bool
) -> None:
    if previous:
        (tmp_path / "t.sql").write_text(previous)
    text = (
        "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"
    )
    dump_objects(
        tmp_path, dict([obj(T, "t", text + " AUTO_INCREMENT=9 DEFAULT CHARSET=latin1")]), MARIADB_10_11, opts
    )
    written = (tmp_path / "t.sql").read_text()
    assert ("AUTO_INCREMENT=9" in written) is kept
    assert written.count("AUTO_INCREMENT") == (2 if kept else 1)


def test_strip_partitioning(tmp_path: Path) -> None:
    text = table("p") + "\n PARTITION BY HASH (`id`)\nPARTITIONS 4"
    dump_objects(tmp_path, dict([obj(T, "p", text)]), MARIADB_10_11, DumpOptions(strip_partitioning=True))
    assert (tmp_path / "p.sql").read_text() == table("p") + ";\n"
