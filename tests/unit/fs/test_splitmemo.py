"""SplitMemo: splits remembered on disk, checked against the text they are used for."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from unittest.mock import Mock

import pytest

from schemad.errors import SplitError
from schemad.fs.dumper import dump_objects
from schemad.fs.logical import LogicalSchema
from schemad.fs.splitmemo import _TABLE, SplitMemo, canonical_table_split, split_files
from schemad.model.flavor import MARIADB_10_11, Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.table import Table
from schemad.sqltext import heads
from schemad.sqltext.classify import classify, forget, remembered
from schemad.sqltext.splitter import StatementKind, split


@dataclass(frozen=True)
class _Obj:
    """Just what the dumper reads of a table: its key and SHOW CREATE text."""

    key: ObjectKey
    show_create: str

    def create_statement(self, flavor: Flavor) -> str:
        return self.show_create


TEXTS = {
    "a.sql": "CREATE TABLE `a` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n);\n",
    "b.sql": "-- two\nUSE shop;\nCREATE TABLE shop.b (id int);\nDELIMITER //\n"
    "CREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\nSELECT 1;\n",
    "c.sql": "\ufeffCREATE VIEW `v` AS SELECT 1;\n",
}


def test_remembered_splits_equal_fresh_ones(tmp_path: Path) -> None:
    pairs = list(TEXTS.items())
    memo = SplitMemo(tmp_path / "split.sqlite3")
    first = split_files(pairs, memo)
    assert (memo.hits, memo.misses) == (0, 3)
    again = SplitMemo(tmp_path / "split.sqlite3")  # another run
    assert split_files(pairs, again) == first == [split(text, file) for file, text in pairs]
    assert (again.hits, again.misses) == (3, 0)
    # The same text under another name: the statements carry the name they are read for.
    (renamed,) = again.lookup([("other.sql", TEXTS["a.sql"])])
    assert renamed == split(TEXTS["a.sql"], "other.sql")


def test_a_remembered_split_tells_the_guard_how_its_creates_classify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace guard classifies each CREATE as sent (own_body): a known file needs no sqlglot for it."""
    texts = {**TEXTS, "d.sql": "CREATE TABLE IF NOT EXISTS d (id int)\n;\n"}  # `\n;`: nothing to tell
    pairs = list(texts.items())
    fresh = split_files(pairs, SplitMemo(tmp_path / "split.sqlite3"))
    expected = {
        s.own_body: classify(s.own_body) for ss in fresh for s in ss if s.kind is StatementKind.CREATE
    }
    forget()  # another run
    again = SplitMemo(tmp_path / "split.sqlite3")
    assert split_files(pairs, again) == fresh and again.hits == len(pairs)
    tokenize = Mock(wraps=heads._tokenize)  # what sqlglot is asked to read
    monkeypatch.setattr(heads, "_tokenize", tokenize)
    for body, c in expected.items():
        assert remembered(body) is None
        assert classify(body) == c
    # Only the statement whose row could tell nothing:
    assert [call.args[0] for call in tokenize.call_args_list] == [texts["d.sql"][:30]]


def test_a_row_that_does_not_fit_the_text_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "split.sqlite3"
    memo = SplitMemo(path)
    split_files([("a.sql", TEXTS["a.sql"])], memo)
    memo.close()
    with sqlite3.connect(path) as conn:
        (blob,) = conn.execute(f"SELECT value FROM {_TABLE}").fetchone()
        rows = json.loads(blob)
        rows[0][0] += 5  # a statement end past the text
        conn.execute(f"UPDATE {_TABLE} SET value = ?", (json.dumps(rows).encode(),))
        conn.execute(f"INSERT INTO {_TABLE} VALUES ('x', ?, 0)", (b"not json",))
    again = SplitMemo(path)
    assert again.lookup([("a.sql", TEXTS["a.sql"])]) == [None]
    assert split_files([("a.sql", TEXTS["a.sql"])], again) == [split(TEXTS["a.sql"], "a.sql")]


def test_an_unusable_file_turns_the_memo_off_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "split.sqlite3"
    path.write_bytes(b"this is not an SQLite database" * 100)
    memo = SplitMemo(path)
    assert split_files(list(TEXTS.items()), memo) == [split(t, f) for f, t in TEXTS.items()]
    assert "split memo" in caplog.text and "continuing without it" in caplog.text


def test_a_file_that_does_not_split_is_not_remembered_but_the_others_are(tmp_path: Path) -> None:
    memo = SplitMemo(tmp_path / "split.sqlite3")
    bad = ("bad.sql", "CREATE TABLE t (c varchar(3) DEFAULT 'x);\n")
    with pytest.raises(SplitError):
        split_files([("a.sql", TEXTS["a.sql"]), bad], memo)
    assert memo.lookup([("a.sql", TEXTS["a.sql"])]) != [None]


def test_files_read_through_the_memo_need_no_sqlglot(tmp_path: Path) -> None:
    """The point of the memo: a run whose files are all known never imports sqlglot."""
    for name, text in TEXTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    memo_path = tmp_path / "split.sqlite3"
    files = sorted(tmp_path.glob("*.sql"))
    warm = LogicalSchema.from_files(files, memo=SplitMemo(memo_path))
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from schemad.fs.logical import LogicalSchema
        from schemad.fs.splitmemo import SplitMemo
        files = sorted(Path({str(tmp_path)!r}).glob("*.sql"))
        logical = LogicalSchema.from_files(files, memo=SplitMemo(Path({str(memo_path)!r})))
        print(sorted(str(k) for k in logical.creates), any(m.startswith("sqlglot") for m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{sorted(str(k) for k in warm.creates)} False"
    assert len(warm.creates) == 4


CANONICAL = [
    ("t", "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"),
    ("we`ird;name", "CREATE TABLE `we``ird;name` (\n  `a` int(11) DEFAULT NULL\n) ENGINE=InnoDB"),
    ("caf\u00e9", "CREATE TABLE `caf\u00e9` (\n  `x` varchar(3) DEFAULT 'a;b'\n) ENGINE=InnoDB"),
    (
        "c",
        "CREATE TABLE `c` (\n  `b` int(11) DEFAULT NULL COMMENT 'begin; end;\\n -- x'\n) ENGINE=InnoDB"
        " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='a \"quoted\" `thing`;'",
    ),
    (
        "p",
        "CREATE TABLE `p` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB\n PARTITION BY RANGE (`id`)\n"
        "(PARTITION `p0` VALUES LESS THAN (10) ENGINE = InnoDB,\n PARTITION `p1` VALUES LESS THAN MAXVALUE"
        " ENGINE = InnoDB)",
    ),
    ("v", "CREATE TABLE `v` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB WITH SYSTEM VERSIONING"),
]


@pytest.mark.parametrize(("name", "create"), CANONICAL, ids=[n for n, _ in CANONICAL])
def test_a_written_table_file_is_remembered_as_split_reads_it(name: str, create: str) -> None:
    text = create + ";\n"
    key = ObjectKey(ObjectType.TABLE, name)
    assert canonical_table_split("d/x.sql", text, key) == split(text, "d/x.sql")


def test_only_the_form_schemad_writes_is_remembered_without_splitting() -> None:
    key = ObjectKey(ObjectType.TABLE, "t")
    create = CANONICAL[0][1]
    assert canonical_table_split("x.sql", create + ";\n", ObjectKey(ObjectType.TABLE, "other")) is None
    assert canonical_table_split("x.sql", create, key) is None  # no delimiter
    assert canonical_table_split("x.sql", "-- c\n" + create + ";\n", key) is None
    assert canonical_table_split("x.sql", create.replace("`t`", "`s`.`t`") + ";\n", key) is None
    view = ObjectKey(ObjectType.VIEW, "t")
    assert canonical_table_split("x.sql", "CREATE VIEW `t` AS SELECT 1;\n", view) is None


def test_dumped_table_files_are_in_the_memo(tmp_path: Path) -> None:
    memo = SplitMemo(tmp_path / "split.sqlite3")
    tables = {ObjectKey(ObjectType.TABLE, n): _Obj(ObjectKey(ObjectType.TABLE, n), c) for n, c in CANONICAL}
    # The dumper reads only key, show_create and create_statement() of an object.
    result = dump_objects(tmp_path / "db", cast("dict[ObjectKey, Table]", tables), MARIADB_10_11, memo=memo)
    assert len(result.written) == len(CANONICAL)
    pairs = [(str(p), p.read_text(encoding="utf-8")) for p in result.written]
    again = SplitMemo(tmp_path / "split.sqlite3")
    assert again.lookup(pairs) == [split(text, file) for file, text in pairs]


def test_a_table_name_holding_a_parenthesis_is_split_right_or_not_remembered() -> None:
    text = "CREATE TABLE `a(b` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB;\n"
    got = canonical_table_split("x.sql", text, ObjectKey(ObjectType.TABLE, "a(b"))
    assert got is None or got == split(text, "x.sql")
