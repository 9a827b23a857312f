"""Tests for schemad.workspace.cache: keys, the SQLite store, and the dependency readers (no server)."""

from __future__ import annotations

import dataclasses
import enum
import importlib.metadata
import logging
import multiprocessing
import pickle
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from schemad.connection.params import ConnParams
from schemad.fs.logical import LogicalSchema
from schemad.model.column import Column, Generated
from schemad.model.constraint import Check, ForeignKey
from schemad.model.definer import Security
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.partition import Partition, Partitioning
from schemad.model.routine import Routine, RoutineType
from schemad.model.table import Table
from schemad.model.trigger import Trigger, TriggerEvent, TriggerTiming
from schemad.model.view import CheckOption, View, ViewAlgorithm
from schemad.sqltext.references import foreign_key_parents, trigger_table, view_references
from schemad.workspace import cache as cache_mod
from schemad.workspace.cache import (
    FINGERPRINT_SQL,
    FINGERPRINT_VARIABLES,
    MARIADB_FINGERPRINT_VARIABLES,
    CanonicalCache,
    KeyContext,
    default_cache_path,
    fingerprint_from_row,
    server_fingerprint,
)
from schemad.workspace.tempschema import _Graph

T, V, TR = ObjectType.TABLE, ObjectType.VIEW, ObjectType.TRIGGER

# ///// keys /////

ROW: dict[str, object] = {alias: f"value of {alias}" for alias, _ in FINGERPRINT_VARIABLES}
ROW.update({alias: f"value of {alias}" for alias, _ in MARIADB_FINGERPRINT_VARIABLES})
CTX = KeyContext(fingerprint_from_row(ROW), "utf8mb4", "utf8mb4_general_ci", "_skeema_tmp")
KEY = ObjectKey(T, "t")
BODY = "CREATE TABLE t (id int)"


def test_key_is_deterministic() -> None:
    assert CTX.key(KEY, BODY) == replace(CTX, fingerprint=fingerprint_from_row(dict(ROW))).key(KEY, BODY)
    assert len(CTX.key(KEY, BODY)) == 64


@pytest.mark.parametrize("alias", [a for a, _ in FINGERPRINT_VARIABLES + MARIADB_FINGERPRINT_VARIABLES])
def test_every_fingerprint_variable_changes_the_key(alias: str) -> None:
    changed = replace(CTX, fingerprint=fingerprint_from_row({**ROW, alias: "other"}))
    assert changed.key(KEY, BODY) != CTX.key(KEY, BODY)


def test_fingerprint_covers_what_changes_canonical_output() -> None:
    exprs = {e.lower() for _, e in FINGERPRINT_VARIABLES}
    for required in (
        "@@version",
        "@@version_comment",  # with @@version: the flavor
        "@@global.sql_mode",
        "@@session.sql_mode",
        "@@explicit_defaults_for_timestamp",
        "@@innodb_default_row_format",
        "@@lower_case_table_names",
        "@@character_set_server",
        "@@collation_server",
        "@@default_storage_engine",
        "@@innodb_strict_mode",
        "current_user()",
        "@@time_zone",
    ):
        assert required in exprs
    assert FINGERPRINT_SQL.count(" AS ") == len(FINGERPRINT_VARIABLES) + len(MARIADB_FINGERPRINT_VARIABLES)


def test_a_missing_variable_and_session_variables_change_the_key() -> None:
    fp = fingerprint_from_row(ROW)
    assert fingerprint_from_row({**ROW, "old_mode": None}) != fp
    assert fingerprint_from_row(ROW, [("sql_mode", "'ANSI'")]) != fp
    assert fingerprint_from_row(ROW, [("a", "1"), ("b", "2")]) != fingerprint_from_row(ROW, [("a", "12")])


@pytest.mark.parametrize(
    "changed",
    [
        lambda: replace(CTX, char_set="latin1").key(KEY, BODY),
        lambda: replace(CTX, collation="utf8mb4_bin").key(KEY, BODY),
        lambda: replace(CTX, temp_schema="other_tmp").key(KEY, BODY),
        lambda: CTX.key(ObjectKey(V, "t"), BODY),
        lambda: CTX.key(ObjectKey(T, "T"), BODY),
        lambda: CTX.key(KEY, BODY + " "),
        lambda: CTX.key(KEY, BODY, ["table `p`", "CREATE TABLE p (id int)"]),
    ],
    ids=["charset", "collation", "temp-schema", "type", "name", "body", "dependency"],
)
def test_every_other_input_changes_the_key(changed: Any) -> None:
    assert changed() != CTX.key(KEY, BODY)


def test_dependency_boundaries_are_part_of_the_key() -> None:
    assert CTX.key(KEY, BODY, ["ab", "c"]) != CTX.key(KEY, BODY, ["a", "bc"])
    assert CTX.key(KEY, BODY, ["a", ""]) != CTX.key(KEY, BODY, ["a"])


def test_format_and_code_version_are_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = CTX.key(KEY, BODY)
    monkeypatch.setattr(cache_mod, "FORMAT_VERSION", cache_mod.FORMAT_VERSION + 1)
    assert CTX.key(KEY, BODY) != before
    monkeypatch.undo()
    monkeypatch.setattr(cache_mod, "code_version", lambda: "9.9.9+other")
    assert CTX.key(KEY, BODY) != before


def test_code_version_names_the_package_version() -> None:
    version, digest = cache_mod.code_version().split("+")
    assert version == importlib.metadata.version("schemad")
    assert len(digest) == 16


class FakeInstance:
    def __init__(self, row: dict[str, object], params: ConnParams) -> None:
        self.row = row
        self.params = params
        self.queries: list[str] = []

    async def query(self, sql: str) -> list[dict[str, object]]:
        self.queries.append(sql)
        return [self.row]


async def test_server_fingerprint_is_one_query_and_includes_session_vars() -> None:
    plain = FakeInstance(ROW, ConnParams())
    fp = await server_fingerprint(plain)  # type: ignore[arg-type]
    assert plain.queries == [FINGERPRINT_SQL]
    assert fp == fingerprint_from_row(ROW)
    with_vars = FakeInstance(ROW, ConnParams().with_session(innodb_strict_mode="0"))
    assert await server_fingerprint(with_vars) != fp  # type: ignore[arg-type]


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SCHEMAD_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "schemad" / "canonical.sqlite3"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "schemad" / "canonical.sqlite3"
    monkeypatch.setenv("SCHEMAD_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_path() == tmp_path / "explicit" / "canonical.sqlite3"


# ///// the store /////


def table(name: str, comment: str = "") -> Table:
    return Table(
        name=name,
        columns=(Column("id", "int(11)", nullable=False), Column("v", "varchar(10)", char_set="utf8mb4")),
        primary_key=Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("id"),)),
        comment=comment,
        show_create=f"CREATE TABLE `{name}` (...)",
    )


OBJECTS: dict[str, Any] = {
    "k-table": table("t", "a comment"),
    "k-view": View(
        "v", "root@%", ViewAlgorithm.MERGE, Security.INVOKER, CheckOption.LOCAL, "select 1 AS `1`", "text"
    ),
    "k-routine": Routine(RoutineType.FUNCTION, "f", "root@%", "", "int(11)", "RETURN 1", deterministic=True),
    "k-trigger": Trigger(
        "tr", "t", TriggerTiming.BEFORE, TriggerEvent.INSERT, "root@%", "SET NEW.id = 1", 2, "", "s", "s"
    ),
}


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with CanonicalCache(path) as c:
        c.put_many(OBJECTS)
        assert c.get_many(OBJECTS) == OBJECTS
        assert c.stats.memory_hits == 4 and c.stats.writes == 4
    with CanonicalCache(path) as fresh:
        got = fresh.get_many([*OBJECTS, "unknown"])
        assert got == OBJECTS
        assert (fresh.stats.disk_hits, fresh.stats.misses) == (4, 1)
        # compare=False fields survive too
        assert got["k-table"].show_create == OBJECTS["k-table"].show_create
        trigger = got["k-trigger"]
        assert isinstance(trigger, Trigger) and trigger.statement == "s"
        fresh.get_many(OBJECTS)
        assert fresh.stats.memory_hits == 4


def _same_fields(a: object, b: object) -> bool:
    """Equal in every field, compare=False ones included, down to the enum members' identity."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(_same_fields(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same_fields(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, enum.Enum):
        return a is b
    return bool(a == b)


def test_stored_objects_come_back_field_for_field(tmp_path: Path) -> None:
    """Model objects are pickled as constructor calls and enum names: nothing may be lost on the way."""
    full = replace(
        table("t", "c"),
        columns=(
            Column("id", "int(11)", nullable=False, auto_increment=True, renamed_from="old"),
            Column("g", "int(11)", generated=Generated.STORED, generation_expr="`id` + 1", comment="x"),
        ),
        secondary_indexes=(
            Index("k", IndexKind.FULLTEXT, (IndexPart("v", prefix=3),), comment="i", renamed_from="j"),
        ),
        foreign_keys=(ForeignKey("fk", ("id",), "other", "p", ("id",), "CASCADE", "SET NULL"),),
        checks=(Check("c1", "`id` > 0"),),
        partitioning=Partitioning("HASH", "`id`", (Partition("p0", None),)),
        auto_increment=7,
        unsupported=True,
        renamed_from="t0",
    )
    objects = {**OBJECTS, "k-full": full}
    path = tmp_path / "c.sqlite3"
    with CanonicalCache(path) as c:
        c.put_many(objects)
    with CanonicalCache(path) as fresh:
        got = fresh.get_many(objects)
    assert fresh.stats.disk_hits == len(objects)
    for k, obj in objects.items():
        assert _same_fields(got[k], obj), k
        assert _same_fields(pickle.loads(pickle.dumps(obj)), got[k])  # as the stdlib pickle gives it


def test_a_row_pickled_the_stdlib_way_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with CanonicalCache(path) as c:
        c.put_many({"k": table("t")})
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {cache_mod._TABLE} SET value = ?", (pickle.dumps(table("t")),))
    with CanonicalCache(path) as fresh:
        assert _same_fields(fresh.get("k"), table("t"))


def test_memory_layer_is_bounded(tmp_path: Path) -> None:
    c = CanonicalCache(tmp_path / "c.sqlite3", memory_limit=2)
    c.put_many({f"k{i}": table(f"t{i}") for i in range(5)})
    assert len(c._memory) == 2
    assert len(c.get_many(f"k{i}" for i in range(5))) == 5  # the rest come from disk
    c.close()


def test_corrupt_file_behaves_as_empty_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not an sqlite database" * 100)
    c = CanonicalCache(path)
    with caplog.at_level(logging.WARNING, logger="schemad.workspace.cache"):
        assert c.get_many(["a", "b"]) == {}
    assert "cannot open" in caplog.text and str(path) in caplog.text
    c.put_many({"a": table("t")})  # no exception
    assert c.get("a") == table("t")  # the memory layer still works
    assert path.read_bytes().startswith(b"this is not")  # left alone
    c.close()


def test_unwritable_location_behaves_as_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    c = CanonicalCache(blocker / "sub" / "c.sqlite3")  # a directory can't be created under a file
    with caplog.at_level(logging.WARNING, logger="schemad.workspace.cache"):
        c.put_many({"a": table("t")})
        assert CanonicalCache(blocker / "sub" / "c.sqlite3").get_many(["a"]) == {}
    assert caplog.text.count("continuing without it") == 2
    c.close()


def test_damaged_rows_are_misses(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.sqlite3"
    with CanonicalCache(path) as c:
        c.put_many({"good": table("t")})
    with sqlite3.connect(path) as db:
        db.execute(f"INSERT INTO {cache_mod._TABLE} VALUES ('garbage', x'00ff', 0)")
        db.execute(f"INSERT INTO {cache_mod._TABLE} VALUES ('other type', ?, 0)", (b"\x80\x04\x95\x05",))
    db.close()
    with CanonicalCache(path) as c, caplog.at_level(logging.WARNING, logger="schemad.workspace.cache"):
        assert c.get_many(["good", "garbage", "other type"]) == {"good": table("t")}
    assert "ignored 2 unreadable entries" in caplog.text


def test_a_busy_file_skips_the_write_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.sqlite3"
    c = CanonicalCache(path, busy_timeout=0.1)
    c.put_many({"a": table("a")})
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
    try:
        with caplog.at_level(logging.WARNING, logger="schemad.workspace.cache"):
            c.put_many({"b": table("b")})
        assert "file busy" in caplog.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    c.put_many({"c": table("c")})  # the disk layer is still on
    c.clear_memory()
    assert set(c.get_many(["a", "b", "c"])) == {"a", "c"}
    c.close()


def test_an_unpicklable_object_stays_in_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = replace(table("t"), comment=lambda: 1)  # type: ignore[arg-type]
    with CanonicalCache(tmp_path / "c.sqlite3") as c, caplog.at_level(logging.WARNING):
        c.put_many({"bad": bad})
        assert c.get("bad") is bad
        assert "cannot store" in caplog.text
        c.clear_memory()
        assert c.get("bad") is None
        c.put_many({"good": table("t")})  # the file still works
        c.clear_memory()
        assert c.get("good") == table("t")


def _writer(args: tuple[str, int, int]) -> tuple[int, int]:
    path, worker, count = args
    c = CanonicalCache(path)
    for batch in range(0, count, 10):
        c.put_many({f"w{worker}-{i}": table(f"t{worker}_{i}") for i in range(batch, batch + 10)})
        c.get_many([f"w{(worker + 1) % 4}-{batch}"])  # read what the others write, meanwhile
    c.close()
    return c.stats.writes, int(c.disk_ok)


def test_concurrent_writer_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite3")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_writer, [(path, w, 100) for w in range(4)])
    assert results == [(100, 1)] * 4
    with CanonicalCache(path) as c:
        got = c.get_many(f"w{w}-{i}" for w in range(4) for i in range(100))
    assert len(got) == 400
    assert got["w3-99"] == table("t3_99")


def test_concurrent_threads_share_one_cache(tmp_path: Path) -> None:
    c = CanonicalCache(tmp_path / "c.sqlite3")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                c.put_many({f"{n}-{i}": table(f"t{i}")})
                assert c.get(f"{n}-{i}") == table(f"t{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert c.stats.writes == 200
    c.close()


# ///// what a statement reads /////


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("CREATE VIEW v AS SELECT a FROM t", {("", "t")}),
        ("create view v (x, y) as select a, b from t join u on t.id = u.id", {("", "t"), ("", "u")}),
        ("CREATE VIEW v AS SELECT * FROM t WITH LOCAL CHECK OPTION", {("", "t")}),
        ("CREATE VIEW v AS SELECT * FROM t with check option", {("", "t")}),
        ("CREATE VIEW `v``x` AS SELECT * FROM `tick``tab`", {("", "tick`tab")}),
        ("CREATE VIEW v AS SELECT * FROM db.t, (SELECT 1 FROM w) x", {("db", "t"), ("", "w")}),
        ("CREATE VIEW v AS SELECT (SELECT max(id) FROM s) AS m", {("", "s")}),
        ("CREATE VIEW v AS WITH c AS (SELECT 1 FROM t) SELECT * FROM c", {("", "t"), ("", "c")}),
        ("CREATE ALGORITHM=MERGE DEFINER=`a`@`%` SQL SECURITY INVOKER VIEW v AS SELECT 1", set()),
        ("CREATE VIEW v /* as */ AS SELECT 'view x as' FROM t", {("", "t")}),
        ("CREATE VIEW v AS SELECT FROM WHERE", None),  # sqlglot can't parse it
        ("CREATE VIEW v", None),  # no SELECT at all
    ],
)
def test_view_references(body: str, expected: set[tuple[str, str]] | None) -> None:
    got = view_references(body)
    assert (None if got is None else set(got)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", ("", "t")),
        (
            "create definer=`u`@`%` trigger if not exists `a b` after delete on `x``y` for each row begin",
            ("", "x`y"),
        ),
        ("CREATE TRIGGER db.tr AFTER UPDATE ON db.t FOR EACH ROW SET @x = 1", ("db", "t")),
        ("CREATE TRIGGER /* on z */ tr\nBEFORE\nUPDATE\nON  t2 FOR EACH ROW SET @on = 'on q'", ("", "t2")),
        ('CREATE TRIGGER tr BEFORE INSERT ON "t" FOR EACH ROW SET @x = 1', None),  # ANSI_QUOTES: don't guess
    ],
)
def test_trigger_table(body: str, expected: tuple[str, str] | None) -> None:
    assert trigger_table(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("CREATE TABLE t (id int)", set()),
        ("CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES p (id))", {("", "p")}),
        (
            "CREATE TABLE t (a int, b int, CONSTRAINT f1 FOREIGN KEY (a) REFERENCES `p q`(id),"
            " FOREIGN KEY (b) references other.p2 (id), c int REFERENCES t (a))",
            {("", "p q"), ("other", "p2"), ("", "t")},
        ),
        ("CREATE TABLE t (a int COMMENT 'references x') /* REFERENCES y */", set()),
        ('CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES "p" (id))', None),
    ],
)
def test_foreign_key_parents(body: str, expected: set[tuple[str, str]] | None) -> None:
    got = foreign_key_parents(body)
    assert (None if got is None else set(got)) == expected


# ///// the workspace's dependency graph /////


def graph(texts: dict[str, str]) -> _Graph:
    return _Graph.build(list(LogicalSchema.from_texts(texts).creates.values()))


def test_graph_closures_and_groups() -> None:
    g = graph(
        {
            "t.sql": "CREATE TABLE t (id int);\nCREATE TABLE c (a int, FOREIGN KEY (a) REFERENCES t (id));\n",
            "u.sql": "CREATE TABLE u (id int);\nCREATE TABLE unrelated (id int);\n",
            "v.sql": "CREATE VIEW v1 AS SELECT * FROM T;\nCREATE VIEW v2 AS SELECT * FROM v1 JOIN u;\n",
            "tr.sql": "CREATE TRIGGER a BEFORE INSERT ON u FOR EACH ROW SET @x = 1;\n"
            "CREATE TRIGGER b AFTER INSERT ON c FOR EACH ROW SET @x = 1;\n"
            "CREATE TRIGGER a2 BEFORE INSERT ON u FOR EACH ROW FOLLOWS a SET @x = 2;\n"
            "CREATE TRIGGER tv BEFORE INSERT ON v2 FOR EACH ROW SET @x = 2;\n",
            "e.sql": "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1;\n",
        }
    )
    k = ObjectKey
    assert g.closure(k(T, "c")) == (k(T, "t"),)  # a table needs its FK parents, not further
    assert g.closure(k(T, "t")) == ()
    assert g.closure(k(V, "v1")) == (k(T, "t"),)  # names match case-insensitively
    assert g.closure(k(V, "v2")) == (k(T, "t"), k(T, "u"), k(V, "v1"))  # through views, recursively
    assert g.closure(k(TR, "tv")) == (k(T, "t"), k(T, "u"), k(V, "v1"), k(V, "v2"))
    assert g.group_of(k(TR, "a2")) == (k(TR, "a"), k(TR, "a2"))
    assert g.group_of(k(TR, "b")) == (k(TR, "b"),)
    assert g.uncacheable == {k(ObjectType.EVENT, "e")}


def test_graph_unreadable_and_other_schema_references() -> None:
    g = graph(
        {
            "a.sql": "CREATE TABLE t (id int);\nCREATE TABLE x (id int);\n",
            "v.sql": "CREATE VIEW odd AS SELECT FROM WHERE;\n"  # unparsable: reads everything
            "CREATE VIEW remote AS SELECT * FROM otherdb.t;\n"
            "CREATE VIEW on_remote AS SELECT * FROM remote;\n"
            "CREATE VIEW local AS SELECT * FROM x;\n",
            "tr.sql": "CREATE TRIGGER a BEFORE INSERT ON t FOR EACH ROW SET @x = 1;\n"
            'CREATE TRIGGER b BEFORE INSERT ON "x" FOR EACH ROW SET @x = 1;\n',
        }
    )
    k = ObjectKey
    assert set(g.closure(k(V, "odd"))) == {
        k(T, "t"),
        k(T, "x"),
        k(V, "remote"),
        k(V, "on_remote"),
        k(V, "local"),
    }
    # reading another schema's table: the server's state decides, so never cached, nor what reads it
    # (`b` too: its table can't be read, so it may be on `remote`)
    assert g.uncacheable == {k(V, "remote"), k(V, "on_remote"), k(V, "odd"), k(TR, "b")}
    # a trigger whose table can't be read: all triggers form one group
    assert g.trigger_groups == [(k(TR, "a"), k(TR, "b"))]
