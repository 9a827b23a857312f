"""Fingerprints move exactly for the objects a DDL touches, at a constant query cost.

Each case loads the same small schema, takes fingerprints, runs one DDL (or a
data change that must not count), takes fingerprints again and asserts that
`changed()` is exactly the set of objects touched.  The blind-spot test pins the
documented limits: if a server starts exposing them, it fails and the module
docstring needs an update.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemad.connection.instance import Instance
from schemad.introspect import fingerprint
from schemad.introspect.fingerprint import changed, fingerprints, fingerprints_of
from schemad.introspect.introspector import introspect_schema
from schemad.model.keys import ObjectKey, ObjectType
from tests.conftest import DBServer
from tests.helpers import load_sql

pytestmark = pytest.mark.db

GEN = Path(__file__).parents[2] / "bench" / "gen_schema.py"

BASE = """
CREATE TABLE parent (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) NOT NULL DEFAULT '' COMMENT 'n',
  code CHAR(8) CHARACTER SET latin1,
  KEY idx_name (name),
  UNIQUE KEY uk_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='parent';
CREATE TABLE child (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id INT NOT NULL,
  qty INT NOT NULL DEFAULT 0,
  note TEXT,
  KEY idx_note (note(20)),
  CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE,
  CONSTRAINT ck_qty CHECK (qty >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE plain (
  a INT, b VARCHAR(20), c DATETIME, g INT AS (a + 1) VIRTUAL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE parts (id INT NOT NULL, d DATE NOT NULL, PRIMARY KEY (id, d))
  PARTITION BY RANGE (YEAR(d)) (PARTITION p2020 VALUES LESS THAN (2021),
                                PARTITION p2021 VALUES LESS THAN (2022));
CREATE TABLE audited (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT);
CREATE TABLE myi (id INT NOT NULL PRIMARY KEY, v INT, KEY kv (v), KEY kid (id, v)) ENGINE=MyISAM;
CREATE VIEW v_parent AS SELECT id, name FROM parent;
CREATE PROCEDURE p_one(IN x INT) SELECT x;
CREATE FUNCTION f_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
CREATE TRIGGER trg_ins BEFORE INSERT ON audited FOR EACH ROW SET NEW.v = 1;
CREATE EVENT ev_one ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DO DELETE FROM plain;
"""


def t(name: str) -> ObjectKey:
    return ObjectKey(ObjectType.TABLE, name)


V = ObjectKey(ObjectType.VIEW, "v_parent")
P = ObjectKey(ObjectType.PROCEDURE, "p_one")
F = ObjectKey(ObjectType.FUNCTION, "f_one")
TRG = ObjectKey(ObjectType.TRIGGER, "trg_ins")
EV = ObjectKey(ObjectType.EVENT, "ev_one")
DB = ObjectKey(ObjectType.DATABASE, "{schema}")  # the test's schema name is filled in

# (id, SQL run in the schema, objects whose fingerprint must move)
CASES: list[tuple[str, str, set[ObjectKey]]] = [
    # columns
    ("add_column", "ALTER TABLE plain ADD COLUMN d INT", {t("plain")}),
    ("drop_column", "ALTER TABLE plain DROP COLUMN c", {t("plain")}),
    ("modify_column_type", "ALTER TABLE plain MODIFY b VARCHAR(30)", {t("plain")}),
    ("reorder_column", "ALTER TABLE plain MODIFY c DATETIME FIRST", {t("plain")}),
    ("rename_column", "ALTER TABLE plain RENAME COLUMN c TO c2", {t("plain")}),
    ("default_change", "ALTER TABLE parent ALTER COLUMN name SET DEFAULT 'x'", {t("parent")}),
    ("default_drop", "ALTER TABLE plain ALTER COLUMN a SET DEFAULT 5", {t("plain")}),
    (
        "column_comment",
        "ALTER TABLE parent MODIFY name VARCHAR(50) NOT NULL DEFAULT '' COMMENT 'changed'",
        {t("parent")},
    ),
    ("column_charset", "ALTER TABLE plain MODIFY b VARCHAR(20) CHARACTER SET latin1", {t("plain")}),
    ("column_collation", "ALTER TABLE plain MODIFY b VARCHAR(20) COLLATE utf8mb4_bin", {t("plain")}),
    ("column_not_null", "ALTER TABLE plain MODIFY a INT NOT NULL", {t("plain")}),
    ("column_unsigned", "ALTER TABLE plain MODIFY a INT UNSIGNED", {t("plain")}),
    ("on_update", "ALTER TABLE plain MODIFY c DATETIME ON UPDATE CURRENT_TIMESTAMP", {t("plain")}),
    ("add_generated", "ALTER TABLE plain ADD COLUMN g2 INT AS (a * 2) VIRTUAL", {t("plain")}),
    ("change_generated", "ALTER TABLE plain MODIFY g INT AS (a + 2) VIRTUAL", {t("plain")}),
    ("add_invisible", "ALTER TABLE plain ADD COLUMN h INT INVISIBLE", {t("plain")}),
    ("make_invisible", "ALTER TABLE plain MODIFY c DATETIME INVISIBLE", {t("plain")}),
    ("compressed_column", "ALTER TABLE plain MODIFY b VARCHAR(20) COMPRESSED", {t("plain")}),
    # indexes
    ("add_index", "ALTER TABLE plain ADD INDEX idx_a (a)", {t("plain")}),
    ("drop_index", "ALTER TABLE parent DROP INDEX idx_name", {t("parent")}),
    ("rename_index", "ALTER TABLE parent RENAME INDEX idx_name TO idx_name2", {t("parent")}),
    (
        "index_comment",
        "ALTER TABLE parent DROP INDEX idx_name, ADD INDEX idx_name (name) COMMENT 'c'",
        {t("parent")},
    ),
    ("index_ignored", "ALTER TABLE parent ALTER INDEX idx_name IGNORED", {t("parent")}),
    (
        "index_prefix",
        "ALTER TABLE child DROP INDEX idx_note, ADD INDEX idx_note (note(30))",
        {t("child")},
    ),
    ("unique_to_plain", "ALTER TABLE parent DROP INDEX uk_code, ADD INDEX uk_code (code)", {t("parent")}),
    (
        "plain_to_unique",
        "ALTER TABLE parent DROP INDEX idx_name, ADD UNIQUE INDEX idx_name (name)",
        {t("parent")},
    ),
    (
        "index_desc",
        "ALTER TABLE parent DROP INDEX idx_name, ADD INDEX idx_name (name DESC)",
        {t("parent")},
    ),
    (
        "index_columns",
        "ALTER TABLE parent DROP INDEX idx_name, ADD INDEX idx_name (name, code)",
        {t("parent")},
    ),
    ("fulltext_index", "ALTER TABLE plain ADD FULLTEXT INDEX ft_b (b)", {t("plain")}),
    (
        "index_order",  # same definitions, kv moves after kid in SHOW CREATE
        "ALTER TABLE myi DROP INDEX kv; ALTER TABLE myi ADD INDEX kv (v)",
        {t("myi")},
    ),
    ("drop_primary", "ALTER TABLE myi DROP PRIMARY KEY", {t("myi")}),
    # foreign keys and checks
    (
        "fk_add",
        "ALTER TABLE plain ADD CONSTRAINT fk_plain FOREIGN KEY (a) REFERENCES parent (id)",
        {t("plain")},
    ),
    ("fk_drop", "ALTER TABLE child DROP FOREIGN KEY fk_parent", {t("child")}),
    (
        "fk_rule",
        "ALTER TABLE child DROP FOREIGN KEY fk_parent;"
        " ALTER TABLE child ADD CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)"
        " ON DELETE RESTRICT ON UPDATE CASCADE",
        {t("child")},
    ),
    ("check_add", "ALTER TABLE plain ADD CONSTRAINT ck_a CHECK (a > 0)", {t("plain")}),
    ("check_column_level", "ALTER TABLE plain MODIFY a INT CHECK (a < 100)", {t("plain")}),
    ("check_drop", "ALTER TABLE child DROP CONSTRAINT ck_qty", {t("child")}),
    (
        "check_change",
        "ALTER TABLE child DROP CONSTRAINT ck_qty, ADD CONSTRAINT ck_qty CHECK (qty >= 1)",
        {t("child")},
    ),
    # table options
    ("engine", "ALTER TABLE plain ENGINE=MyISAM", {t("plain")}),
    ("row_format", "ALTER TABLE plain ROW_FORMAT=COMPACT", {t("plain")}),
    ("compressed", "ALTER TABLE plain ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8", {t("plain")}),
    ("key_block_size", "ALTER TABLE myi KEY_BLOCK_SIZE=8", {t("myi")}),
    ("stats_persistent", "ALTER TABLE plain STATS_PERSISTENT=0", {t("plain")}),
    ("checksum", "ALTER TABLE myi CHECKSUM=1", {t("myi")}),
    ("table_comment", "ALTER TABLE parent COMMENT='new'", {t("parent")}),
    ("table_default_charset", "ALTER TABLE plain DEFAULT CHARSET=latin1", {t("plain")}),
    (
        "convert_charset",
        "ALTER TABLE plain CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        {t("plain")},
    ),
    # partitions
    (
        "partition_add",
        "ALTER TABLE parts ADD PARTITION (PARTITION p2022 VALUES LESS THAN (2023))",
        {t("parts")},
    ),
    ("partition_drop", "ALTER TABLE parts DROP PARTITION p2020", {t("parts")}),
    (
        "partition_reorganize",
        "ALTER TABLE parts REORGANIZE PARTITION p2021 INTO"
        " (PARTITION p2021 VALUES LESS THAN (2022), PARTITION pmax VALUES LESS THAN MAXVALUE)",
        {t("parts")},
    ),
    ("partition_remove", "ALTER TABLE parts REMOVE PARTITIONING", {t("parts")}),
    ("partition_by_hash", "ALTER TABLE plain PARTITION BY HASH (a) PARTITIONS 4", {t("plain")}),
    # tables
    ("table_create", "CREATE TABLE newt (id INT)", {t("newt")}),
    ("table_drop", "DROP TABLE plain", {t("plain")}),
    ("table_drop_with_trigger", "DROP TABLE audited", {t("audited"), TRG}),
    ("table_rename", "RENAME TABLE plain TO plain2", {t("plain"), t("plain2")}),
    ("table_rename_alter", "ALTER TABLE plain RENAME TO plain3", {t("plain"), t("plain3")}),
    ("table_rename_with_trigger", "RENAME TABLE audited TO audited2", {t("audited"), t("audited2"), TRG}),
    ("table_rename_fk_parent", "RENAME TABLE parent TO parent2", {t("parent"), t("parent2"), t("child")}),
    # views
    ("view_create", "CREATE VIEW v2 AS SELECT 1 AS x", {ObjectKey(ObjectType.VIEW, "v2")}),
    ("view_replace", "CREATE OR REPLACE VIEW v_parent AS SELECT id FROM parent", {V}),
    ("view_algorithm", "ALTER ALGORITHM=MERGE VIEW v_parent AS SELECT id, name FROM parent", {V}),
    ("view_security", "ALTER SQL SECURITY INVOKER VIEW v_parent AS SELECT id, name FROM parent", {V}),
    ("view_check_option", "ALTER VIEW v_parent AS SELECT id, name FROM parent WITH CHECK OPTION", {V}),
    ("view_drop", "DROP VIEW v_parent", {V}),
    # routines
    ("procedure_create", "CREATE PROCEDURE p2() SELECT 1", {ObjectKey(ObjectType.PROCEDURE, "p2")}),
    ("procedure_replace_body", "CREATE OR REPLACE PROCEDURE p_one(IN x INT) SELECT x + 1", {P}),
    ("procedure_replace_params", "CREATE OR REPLACE PROCEDURE p_one(IN x BIGINT) SELECT x", {P}),
    ("procedure_alter_comment", "ALTER PROCEDURE p_one COMMENT 'hello'", {P}),
    ("procedure_alter_security", "ALTER PROCEDURE p_one SQL SECURITY INVOKER", {P}),
    ("procedure_drop", "DROP PROCEDURE p_one", {P}),
    ("function_create", "CREATE FUNCTION f2() RETURNS INT RETURN 2", {ObjectKey(ObjectType.FUNCTION, "f2")}),
    (
        "function_replace_returns",
        "CREATE OR REPLACE FUNCTION f_one(x INT) RETURNS BIGINT DETERMINISTIC RETURN x + 1",
        {F},
    ),
    ("function_alter_comment", "ALTER FUNCTION f_one COMMENT 'c'", {F}),
    ("function_drop", "DROP FUNCTION f_one", {F}),
    (
        "routine_sql_mode",
        "SET SESSION sql_mode = 'ANSI_QUOTES'; CREATE OR REPLACE PROCEDURE p_one(IN x INT) SELECT x",
        {P},
    ),
    # triggers
    (
        "trigger_create",
        "CREATE TRIGGER trg_upd BEFORE UPDATE ON audited FOR EACH ROW SET NEW.v = 2",
        {ObjectKey(ObjectType.TRIGGER, "trg_upd")},
    ),
    ("trigger_drop", "DROP TRIGGER trg_ins", {TRG}),
    (
        "trigger_replace",
        "CREATE OR REPLACE TRIGGER trg_ins BEFORE INSERT ON audited FOR EACH ROW SET NEW.v = 3",
        {TRG},
    ),
    (
        "trigger_precedes",  # the new trigger goes first: trg_ins's ACTION_ORDER moves
        "CREATE TRIGGER trg_first BEFORE INSERT ON audited FOR EACH ROW PRECEDES trg_ins SET NEW.v = 0",
        {ObjectKey(ObjectType.TRIGGER, "trg_first"), TRG},
    ),
    # events
    (
        "event_create",
        "CREATE EVENT ev2 ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-01 00:00:00' DO SELECT 1",
        {ObjectKey(ObjectType.EVENT, "ev2")},
    ),
    ("event_alter_schedule", "ALTER EVENT ev_one ON SCHEDULE EVERY 2 DAY STARTS '2030-01-01 00:00:00'", {EV}),
    ("event_alter_disable", "ALTER EVENT ev_one DISABLE", {EV}),
    ("event_alter_comment", "ALTER EVENT ev_one COMMENT 'c'", {EV}),
    ("event_alter_body", "ALTER EVENT ev_one DO DELETE FROM child", {EV}),
    ("event_drop", "DROP EVENT ev_one", {EV}),
    # the schema itself
    ("database_charset", "ALTER DATABASE `{schema}` CHARACTER SET latin1", {DB}),
    ("database_comment", "ALTER DATABASE `{schema}` COMMENT 'c'", {DB}),
    # data and maintenance: nothing changes
    (
        "insert_rows",
        "INSERT INTO parent (name, code) VALUES ('a', 'b'), ('c', 'd'); INSERT INTO audited (v) VALUES (1)",
        set(),
    ),
    ("auto_increment_bump", "ALTER TABLE parent AUTO_INCREMENT = 1000", set()),
    ("auto_increment_by_insert", "INSERT INTO child (id, parent_id) VALUES (5000, 1)", set()),
    (
        "update_delete",
        "INSERT INTO plain (a) VALUES (1), (2); UPDATE plain SET b = 'x'; DELETE FROM plain",
        set(),
    ),
    ("analyze", "INSERT INTO parent (name) VALUES ('a'), ('b'), ('c'); ANALYZE TABLE parent", set()),
    ("optimize_rebuild", "OPTIMIZE TABLE plain; ALTER TABLE child FORCE", set()),
    ("truncate", "INSERT INTO myi VALUES (1, 1); TRUNCATE TABLE myi", set()),
    ("disable_keys", "ALTER TABLE myi DISABLE KEYS", set()),
    ("noop_alter", "ALTER TABLE plain COMMENT=''", set()),
]


def _expected(keys: set[ObjectKey], schema: str) -> set[ObjectKey]:
    return {ObjectKey(k.type, k.name.format(schema=schema)) for k in keys}


async def _run(server: DBServer, schema: str, sql: str) -> None:
    await load_sql(server.params, schema, sql.format(schema=schema) + ";\n")


@pytest.mark.parametrize(("sql", "touched"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_changed_is_exactly_what_the_ddl_touched(
    server: DBServer, instance: Instance, schema: str, sql: str, touched: set[ObjectKey]
) -> None:
    await _run(server, schema, BASE)
    before = await fingerprints(instance, schema)
    assert await fingerprints(instance, schema) == before  # stable without changes
    await _run(server, schema, sql)
    after = await fingerprints(instance, schema)
    assert changed(before, after) == _expected(touched, schema)


async def test_keys_are_the_introspected_objects(server: DBServer, instance: Instance, schema: str) -> None:
    await _run(server, schema, BASE)
    fp = await fingerprints(instance, schema)
    s = await introspect_schema(instance, schema)
    keys = {x.key for x in s.tables} | {x.key for x in s.views} | {x.key for x in s.routines}
    keys |= {x.key for x in s.triggers} | {x.key for x in s.events}
    assert len(keys) == 11
    assert set(fp) == keys | {ObjectKey(ObjectType.DATABASE, schema)}
    assert all(len(v) == 32 for v in fp.values())


async def test_missing_schema_has_no_fingerprints(instance: Instance) -> None:
    assert await fingerprints(instance, "schemad_no_such_schema") == {}


async def _show_create(instance: Instance, schema: str, table: str) -> str:
    rows = await instance.query(f"SHOW CREATE TABLE `{schema}`.`{table}`")
    return str(rows[0]["Create Table"])


BLIND_SPOTS = [
    (
        "index_key_block_size",
        "myi",
        "ALTER TABLE myi DROP INDEX kid, ADD INDEX kid (id, v) KEY_BLOCK_SIZE=2048",
    ),
    (
        "index_explicit_using",
        "parent",
        "ALTER TABLE parent DROP INDEX idx_name, ADD INDEX idx_name (name) USING BTREE",
    ),
]


@pytest.mark.parametrize(("table", "sql"), [b[1:] for b in BLIND_SPOTS], ids=[b[0] for b in BLIND_SPOTS])
async def test_documented_blind_spots(
    server: DBServer, instance: Instance, schema: str, table: str, sql: str
) -> None:
    """SHOW CREATE moves, information_schema does not: see the module docstring."""
    await _run(server, schema, BASE)
    before, text = await fingerprints(instance, schema), await _show_create(instance, schema, table)
    await _run(server, schema, sql)
    assert await _show_create(instance, schema, table) != text
    assert changed(before, await fingerprints(instance, schema)) == set()


def _generated(n: int, schema: str) -> str:
    out = subprocess.run(
        [sys.executable, str(GEN), "sql", "-n", str(n), "--seed", "1", "--schema", schema, "--create-db"],
        capture_output=True,
        text=True,
        check=True,
    )
    objects = "".join(
        f"CREATE VIEW `{schema}`.v{i} AS SELECT {i} AS x;\n"
        f"CREATE PROCEDURE `{schema}`.p{i}() SELECT {i};\n"
        f"CREATE EVENT `{schema}`.e{i} ON SCHEDULE EVERY {i + 1} DAY DO SELECT 1;\n"
        for i in range(n // 5)
    )
    return out.stdout + objects


async def _count(server: DBServer, schema: str, n: int) -> tuple[int, dict[str, int]]:
    await load_sql(server.params, None, _generated(n, schema))
    async with Instance(server.params) as inst:
        try:
            await inst.flavor()
            inst.query_counts.clear()
            fp = await fingerprints(inst, schema)
            return len(fp), dict(inst.query_counts)
        finally:
            await inst.execute(f"DROP DATABASE `{schema}`")


async def test_query_count_does_not_grow_with_objects(server: DBServer) -> None:
    small_n, small = await _count(server, "fp_qc_small", 5)
    large_n, large = await _count(server, "fp_qc_large", 300)
    assert small_n == 5 + 1 + 3 and large_n == 300 + 1 + 3 * 60
    assert small == large
    assert sum(large.values()) <= 8


async def test_index_order_is_part_of_the_fingerprint(
    server: DBServer, instance: Instance, schema: str
) -> None:
    await _run(server, schema, BASE)
    before, text = await fingerprints(instance, schema), await _show_create(instance, schema, "myi")
    await _run(server, schema, "ALTER TABLE myi DROP INDEX kv; ALTER TABLE myi ADD INDEX kv (v)")
    after = await _show_create(instance, schema, "myi")
    assert text.index("KEY `kv`") < text.index("KEY `kid`") and after.index("KEY `kv`") > after.index(
        "KEY `kid`"
    )
    assert sorted(x.rstrip(",") for x in text.splitlines()) == sorted(
        x.rstrip(",") for x in after.splitlines()
    )
    assert changed(before, await fingerprints(instance, schema)) == {t("myi")}


async def test_many_schemas_read_together_get_exactly_their_own_fingerprints(
    server: DBServer, instance: Instance, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four shards, three of them changed in different ways (one with its indexes reordered: the
    # server's row order must survive the split), a case twin of one that is not asked for (IN
    # compares case-insensitively on information_schema), and a schema that does not exist.
    others = [f"{schema}_a", f"{schema}_b", f"{schema}_c", f"{schema}_C"]
    assert (await instance.variables())["lower_case_table_names"] == "0"
    try:
        for name in others:
            await instance.execute(f"CREATE DATABASE `{name}`")
        for name in [schema, *others[:3]]:
            await _run(server, name, BASE)
        await _run(server, others[0], "ALTER TABLE myi DROP INDEX kv; ALTER TABLE myi ADD INDEX kv (v)")
        await _run(server, others[1], "ALTER TABLE child DROP CONSTRAINT ck_qty; DROP VIEW v_parent")
        await _run(server, others[2], "INSERT INTO plain (a) VALUES (1), (2); CREATE TABLE extra (id int)")
        await _run(server, others[3], "CREATE TABLE twin_only (id int); CREATE PROCEDURE p_one() SELECT 1")
        asked = [schema, *others[:3], f"{schema}_missing"]
        single = {}
        for name in asked:
            sizes: dict[str, tuple[int, int]] = {}
            single[name] = (await fingerprints(instance, name, sizes), sizes)
        assert len({frozenset(fp.items()) for fp, _ in single.values()}) == 5  # all different
        monkeypatch.setattr(fingerprint, "BATCH", 2)  # three batches of six queries
        instance.query_counts.clear()
        together = await fingerprints_of(instance, asked)
        assert sum(instance.query_counts.values()) == 6 * 3
        assert {n: (p.fingerprints, p.sizes) for n, p in together.items()} == single
        assert together[f"{schema}_missing"].fingerprints == {}
        assert t("twin_only") not in together[others[2]].fingerprints
        assert together[others[2]].fingerprints[P] == single[schema][0][P]  # not the twin's p_one
    finally:
        for name in others:
            await instance.execute(f"DROP DATABASE IF EXISTS `{name}`")
