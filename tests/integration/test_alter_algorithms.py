"""Every MariaDB row of the ALTER algorithm rules (schemad.plan.risk.RULES), on the real server.

Each case creates table `t` as `before` in a fresh schema and as `after` in
another, introspects both, diffs them with schemad's own diff code and asks
`predict_alter` about the statement under test.  The row named by the case
must be the one that decides, and the server must agree with it:

- the statement with the predicted `ALGORITHM=` and `LOCK=` runs, and the
  table then converges on `after`;
- with each cheaper algorithm (INSTANT < NOCOPY < INPLACE < COPY) it is
  refused with error 1845/1846 -- except those a row says the server
  ignores (INSTANT and NOCOPY for engine and partitioning changes, which
  10.11 accepts and then copies);
- with the next less restrictive lock it is refused with error 1846;
- InnoDB gives the table new table ids exactly when the prediction says it is
  rebuilt or copied (INPLACE, COPY), and keeps them for INSTANT and NOCOPY;
- `check_forced` says "refused" exactly when the server refused.

The table is recreated (with its rows) before every attempt.  MySQL 8.0/8.4
rows cannot be checked here: the suite's server is MariaDB (10.11), and these
tests insist on it rather than skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from schemad.connection.instance import Instance, Session
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.table_diff import TableDiff, diff_tables, pre_drop_alters
from schemad.errors import DatabaseError
from schemad.introspect.tables import load_tables
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier
from schemad.model.table import Table
from schemad.plan.risk import Algorithm, Lock, Prediction, check_forced, predict_alter
from tests.conftest import DBServer
from tests.helpers import load_sql

pytestmark = pytest.mark.db

REFUSED = (1845, 1846)  # ER_ALTER_OPERATION_NOT_SUPPORTED(_REASON)
TWO_ROWS = "INSERT INTO t (id) VALUES (1), (2);"
PARENT = "CREATE TABLE p (id int NOT NULL, PRIMARY KEY (id)); INSERT INTO p VALUES (1);\n"


@dataclass(frozen=True)
class Case:
    rule: str  # the row expected to decide the algorithm
    id: str
    before: str  # CREATE TABLE t of the live table
    after: str  # CREATE TABLE t of the desired table ("" for a pre-drop ALTER)
    rows: str = TWO_ROWS  # data of the live table: rules may differ for empty tables
    extra: str = ""  # other tables (FK parents), in both schemas
    statement: int = -1  # which statement of the diff (FULLTEXT and FK additions are split off)
    lock_rule: str | None = None  # the row expected to decide the lock, when it is not `rule`
    fk_checks: bool = False  # the DDL session's foreign_key_checks
    mods: dict[str, Any] = field(default_factory=dict)


def T(body: str, opts: str = "") -> str:
    return f"CREATE TABLE t ({body}) {opts};"


BASE = "id int NOT NULL, a int, b varchar(20), c varchar(30)"
PK = ", PRIMARY KEY (id)"
FT = ", FULLTEXT KEY fb (b)"


def t(extra: str = "", opts: str = "", base: str = BASE) -> str:
    return T(base + extra + PK, opts)


RANGE2 = "PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20))"
ROWS = "INSERT INTO t (id, a) VALUES (1, 1), (7, 7), (12, 12);"


CASES = [
    # --- engines and partitioning: COPY, and the server takes no notice of a cheaper ALGORITHM=
    Case("mariadb.engine_change", "engine_to_myisam", t(), t(opts="ENGINE=MyISAM")),
    Case("mariadb.partition_by", "partition_by_hash", t(), t(opts="PARTITION BY HASH (id) PARTITIONS 2")),
    Case(
        "mariadb.remove_partitioning",
        "remove_partitioning",
        t(opts="PARTITION BY HASH (id) PARTITIONS 2"),
        t(),
        mods={"partitioning": "modify"},
    ),
    Case(
        "mariadb.drop_partition",
        "pre_drop_partition",
        t(
            opts="PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), "
            "PARTITION p1 VALUES LESS THAN MAXVALUE)"
        ),
        "",
    ),
    # partitioning=modify-list (a schemad addition): partition-list operations, no ALGORITHM=/LOCK=
    Case(
        "mariadb.add_partition",
        "add_range_partition",
        t(opts=RANGE2),
        t(opts=RANGE2[:-1] + ", PARTITION p2 VALUES LESS THAN (30))"),
        rows=ROWS,
        mods={"partitioning": "modify-list"},
    ),
    Case(
        "mariadb.reorganize_partition",
        "split_range_partition",
        t(opts=RANGE2),
        t(
            opts="PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (5), "
            "PARTITION p0b VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20))"
        ),
        rows=ROWS,
        mods={"partitioning": "modify-list"},
    ),
    # --- other engines
    Case(
        "mariadb.other_engine.metadata",
        "myisam_column_comment",
        t(opts="ENGINE=MyISAM"),
        T(BASE.replace("a int", "a int COMMENT 'x'") + PK, "ENGINE=MyISAM"),
    ),
    Case(
        "mariadb.other_engine.metadata",
        "aria_rename_index",
        t(", KEY ka (a)", "ENGINE=Aria"),
        t(", KEY kz (a)", "ENGINE=Aria"),
    ),
    Case(
        "mariadb.other_engine.enum_append",
        "myisam_enum_append",
        t(", e enum('x','y')", "ENGINE=MyISAM"),
        t(", e enum('x','y','z')", "ENGINE=MyISAM"),
    ),
    Case(
        "mariadb.other_engine.copy",
        "myisam_add_column",
        t(opts="ENGINE=MyISAM"),
        t(", d int", "ENGINE=MyISAM"),
    ),
    Case(
        "mariadb.other_engine.copy",
        "myisam_add_index",
        t(opts="ENGINE=MyISAM"),
        t(", KEY ka (a)", "ENGINE=MyISAM"),
    ),
    # --- ADD COLUMN
    Case("mariadb.add_column.stored_generated", "add_persistent", t(), t(", s int AS (a * 2) PERSISTENT")),
    Case(
        "mariadb.add_column.auto_increment",
        "add_auto_increment",
        T("id int NOT NULL, a int" + PK),
        T("id int NOT NULL, a int, n int NOT NULL AUTO_INCREMENT" + PK + ", KEY (n)"),
    ),
    Case("mariadb.add_column.virtual", "add_virtual", t(), t(", v int AS (a * 2) VIRTUAL")),
    Case(
        "mariadb.add_column.virtual",
        "add_virtual_to_fulltext_table",
        t(FT),
        T(BASE + ", v int AS (a * 2) VIRTUAL" + PK + FT),
    ),
    Case(
        "mariadb.add_column.fulltext_table", "add_column_fulltext_table", t(FT), T(BASE + ", d int" + PK + FT)
    ),
    Case(
        "mariadb.add_column.compressed",
        "add_column_compressed",
        t(opts="ROW_FORMAT=COMPRESSED"),
        t(", d int", "ROW_FORMAT=COMPRESSED"),
    ),
    Case(
        "mariadb.add_column.compressed",
        "add_column_implicitly_compressed",
        t(opts="KEY_BLOCK_SIZE=8"),
        t(", d int", "KEY_BLOCK_SIZE=8"),
    ),
    Case("mariadb.add_column.instant", "add_column_end", t(), t(", d int NOT NULL DEFAULT 7")),
    Case(
        "mariadb.add_column.instant",
        "add_column_middle",
        t(),
        T(
            "id int NOT NULL, a int, d datetime DEFAULT current_timestamp(), b varchar(20), c varchar(30)"
            + PK
        ),
    ),
    # --- DROP COLUMN
    Case(
        "mariadb.drop_column.virtual",
        "drop_virtual_fulltext_table",
        T(BASE + ", v int AS (a * 2) VIRTUAL" + PK + FT),
        t(FT),
    ),
    Case(
        "mariadb.drop_column.fulltext_table",
        "drop_column_fulltext_table",
        t(FT),
        T("id int NOT NULL, a int, b varchar(20)" + PK + FT),
    ),
    Case(
        "mariadb.drop_column.compressed",
        "drop_column_compressed",
        t(opts="ROW_FORMAT=COMPRESSED"),
        T("id int NOT NULL, a int, b varchar(20)" + PK, "ROW_FORMAT=COMPRESSED"),
    ),
    Case("mariadb.drop_column.instant", "drop_column", t(), T("id int NOT NULL, a int, b varchar(20)" + PK)),
    Case("mariadb.drop_column.instant", "drop_persistent", t(", s int AS (a * 2) PERSISTENT"), t()),
    Case(
        "mariadb.drop_index.secondary",
        "drop_indexed_column_with_its_index",
        t(", KEY kb (b)"),
        T("id int NOT NULL, a int, c varchar(30)" + PK),
    ),
    # --- column order
    Case(
        "mariadb.move_column.generated",
        "move_virtual",
        t(", v int AS (a * 2) VIRTUAL"),
        T("id int NOT NULL, v int AS (a * 2) VIRTUAL, a int, b varchar(20), c varchar(30)" + PK),
    ),
    Case(
        "mariadb.move_column.fulltext_table",
        "move_column_fulltext_table",
        t(FT),
        T("id int NOT NULL, c varchar(30), a int, b varchar(20)" + PK + FT),
    ),
    Case(
        "mariadb.move_column.compressed",
        "move_column_compressed",
        t(opts="ROW_FORMAT=COMPRESSED"),
        T("id int NOT NULL, c varchar(30), a int, b varchar(20)" + PK, "ROW_FORMAT=COMPRESSED"),
    ),
    Case(
        "mariadb.move_column.instant",
        "move_column",
        t(),
        T("id int NOT NULL, c varchar(30) DEFAULT 'z', a int, b varchar(20)" + PK),
    ),
    # --- column types
    Case(
        "mariadb.column_type.auto_increment",
        "make_auto_increment",
        T("id int NOT NULL, n int NOT NULL" + PK + ", KEY (n)"),
        T("id int NOT NULL, n int NOT NULL AUTO_INCREMENT" + PK + ", KEY (n)"),
        rows="INSERT INTO t (id, n) VALUES (1, 1), (2, 2);",
    ),
    Case(
        "mariadb.column_type.virtual_expression",
        "virtual_expression",
        t(", v int AS (a * 2) VIRTUAL"),
        t(", v int AS (a * 3) VIRTUAL"),
    ),
    Case(
        "mariadb.column_type.enum_append", "enum_append", t(", e enum('x','y')"), t(", e enum('x','y','z')")
    ),
    Case("mariadb.column_type.enum_append", "set_append", t(", e set('x','y')"), t(", e set('x','y','z')")),
    Case(
        "mariadb.column_type.varchar_redundant",
        "varchar_128_to_256_bytes_redundant",
        t(", e varchar(32)", "ROW_FORMAT=REDUNDANT"),
        t(", e varchar(64)", "ROW_FORMAT=REDUNDANT"),
    ),
    Case(
        "mariadb.column_type.varchar_extend",
        "varchar_80_to_256_bytes",
        t(),
        T("id int NOT NULL, a int, b varchar(64), c varchar(30)" + PK),
    ),
    Case(
        "mariadb.column_type.varchar_extend",
        "varchar_256_to_400_bytes_indexed",
        t(", e varchar(64), KEY (e)"),
        t(", e varchar(100), KEY (e)"),
    ),
    Case(
        "mariadb.column_type.varchar_extend",
        "varchar_utf8mb3_to_utf8mb4",
        t(", e varchar(30) CHARACTER SET utf8mb3"),
        t(", e varchar(30) CHARACTER SET utf8mb4"),
    ),
    Case(
        "mariadb.column_type.utf8mb4",
        "char_utf8mb3_to_utf8mb4",
        t(", e char(10) CHARACTER SET utf8mb3"),
        t(", e char(10) CHARACTER SET utf8mb4"),
    ),
    Case(
        "mariadb.column_type.utf8mb4",
        "text_utf8mb3_to_utf8mb4",
        t(", e text CHARACTER SET utf8mb3"),
        t(", e text CHARACTER SET utf8mb4"),
    ),
    Case(
        "mariadb.column_type.other",
        "int_to_bigint",
        t(),
        T("id int NOT NULL, a bigint, b varchar(20), c varchar(30)" + PK),
    ),
    Case(
        "mariadb.column_type.other",
        "varchar_128_to_256_bytes",
        t(", e varchar(32)"),
        t(", e varchar(64)"),
    ),
    Case(
        "mariadb.column_type.other",
        "varchar_utf8mb3_210_to_utf8mb4_280_bytes",
        t(", e varchar(70) CHARACTER SET utf8mb3"),
        t(", e varchar(70) CHARACTER SET utf8mb4"),
    ),
    Case(
        "mariadb.column_type.other",
        "latin1_to_utf8mb4",
        t(", e varchar(20) CHARACTER SET latin1"),
        t(", e varchar(20) CHARACTER SET utf8mb4"),
    ),
    # --- collations
    Case(
        "mariadb.column_collation.primary_key",
        "primary_key_collation",
        T("id varchar(10) NOT NULL, a int" + PK),
        T("id varchar(10) COLLATE utf8mb4_bin NOT NULL, a int" + PK),
        rows="INSERT INTO t (id) VALUES ('x'), ('y');",
    ),
    Case(
        "mariadb.column_collation.fulltext",
        "fulltext_column_collation",
        t(FT),
        T("id int NOT NULL, a int, b varchar(20) COLLATE utf8mb4_bin, c varchar(30)" + PK + FT),
    ),
    Case(
        "mariadb.column_collation.indexed",
        "indexed_column_collation",
        t(", KEY kb (b)"),
        T("id int NOT NULL, a int, b varchar(20) COLLATE utf8mb4_bin, c varchar(30)" + PK + ", KEY kb (b)"),
    ),
    Case(
        "mariadb.column_collation.indexed",
        "indexed_utf8mb3_to_utf8mb4_bin",
        t(", e varchar(20) CHARACTER SET utf8mb3, KEY (e)"),
        t(", e varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, KEY (e)"),
    ),
    Case(
        "mariadb.column_collation.unindexed",
        "unindexed_column_collation",
        t(),
        T("id int NOT NULL, a int, b varchar(20) COLLATE utf8mb4_bin, c varchar(30)" + PK),
    ),
    # --- NULL / NOT NULL, defaults, attributes
    Case(
        "mariadb.column_null.redundant",
        "null_redundant",
        t(", d int NOT NULL DEFAULT 0", "ROW_FORMAT=REDUNDANT"),
        t(", d int DEFAULT 0", "ROW_FORMAT=REDUNDANT"),
    ),
    Case(
        "mariadb.column_null.rebuild", "null_dynamic", t(", d int NOT NULL DEFAULT 0"), t(", d int DEFAULT 0")
    ),
    Case(
        "mariadb.column_not_null",
        "not_null",
        t(),
        T("id int NOT NULL, a int NOT NULL, b varchar(20), c varchar(30)" + PK),
        rows="INSERT INTO t (id, a) VALUES (1, 1), (2, 2);",
    ),
    Case(
        "mariadb.column_not_null",
        "not_null_fulltext_table",
        t(FT),
        T("id int NOT NULL, a int NOT NULL, b varchar(20), c varchar(30)" + PK + FT),
        rows="INSERT INTO t (id, a) VALUES (1, 1), (2, 2);",
        lock_rule="mariadb.statement.rebuild_with_fulltext",
    ),
    Case("mariadb.column_default", "column_default", t(), T(BASE.replace("a int", "a int DEFAULT 5") + PK)),
    Case(
        "mariadb.column_attribute",
        "column_comment",
        t(),
        T(BASE.replace("a int", "a int COMMENT 'hello'") + PK),
    ),
    Case(
        "mariadb.column_attribute",
        "column_on_update_and_invisible",
        t(", ts timestamp NULL DEFAULT NULL"),
        t(", ts timestamp NULL DEFAULT NULL ON UPDATE current_timestamp() INVISIBLE"),
    ),
    # --- indexes
    Case(
        "mariadb.add_index.primary",
        "add_primary_key",
        T("id int NOT NULL, a int"),
        T("id int NOT NULL, a int" + PK),
    ),
    Case(
        "mariadb.add_index.clustering",
        "add_clustering_unique",
        T("id int NOT NULL, a int"),
        T("id int NOT NULL, a int, UNIQUE KEY u (id)"),
    ),
    Case("mariadb.add_index.fulltext_first", "add_first_fulltext", t(), t(FT)),
    Case("mariadb.add_index.fulltext", "add_second_fulltext", t(FT), t(FT + ", FULLTEXT KEY fc (c)")),
    Case(
        "mariadb.add_index.fulltext",
        "add_two_fulltext_second_statement",
        t(),
        t(FT + ", FULLTEXT KEY fc (c)"),
        statement=1,
    ),
    Case(
        "mariadb.add_index.spatial",
        "add_spatial",
        t(", g point NOT NULL"),
        t(", g point NOT NULL, SPATIAL KEY sg (g)"),
        rows="INSERT INTO t (id, g) VALUES (1, POINT(1, 1)), (2, POINT(2, 2));",
    ),
    Case("mariadb.add_index.secondary", "add_index", t(), t(", KEY ka (a)")),
    Case(
        "mariadb.add_index.secondary",
        "add_unique_nullable_no_pk",
        T("id int, a int"),
        T("id int, a int, UNIQUE KEY u (id)"),
    ),
    Case("mariadb.drop_index.primary_alone", "drop_primary_key", t(), T(BASE)),
    Case(
        "mariadb.drop_index.primary_replaced",
        "replace_primary_key",
        t(", d int NOT NULL DEFAULT 0"),
        T(BASE + ", d int NOT NULL DEFAULT 0, PRIMARY KEY (id, d)"),
    ),
    Case(
        "mariadb.drop_index.primary_replaced",
        "replace_primary_key_fulltext_table",
        t(", d int NOT NULL DEFAULT 0" + FT),
        T(BASE + ", d int NOT NULL DEFAULT 0, PRIMARY KEY (id, d)" + FT),
        lock_rule="mariadb.statement.rebuild_with_fulltext",
    ),
    Case(
        "mariadb.drop_index.clustering",
        "drop_clustering_unique",
        T("id int NOT NULL, a int, UNIQUE KEY u (id)"),
        T("id int NOT NULL, a int"),
    ),
    Case("mariadb.drop_index.secondary", "drop_index", t(", KEY ka (a)"), t()),
    Case("mariadb.drop_index.secondary", "drop_fulltext_index", t(FT), t()),
    Case("mariadb.rename_index", "rename_index", t(", KEY ka (a)"), t(", KEY kz (a)")),
    Case("mariadb.index_visibility", "ignore_index", t(", KEY ka (a)"), t(", KEY ka (a) IGNORED")),
    Case(
        "mariadb.rebuild_same_index",
        "index_comment",
        t(", KEY ka (a)"),
        t(", KEY ka (a) COMMENT 'hot path'"),
    ),
    # --- foreign keys and checks
    Case(
        "mariadb.add_foreign_key.checks_on",
        "add_foreign_key_checks_on",
        t(", pid int, KEY pid (pid)"),
        t(", pid int, KEY pid (pid), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p (id)"),
        extra=PARENT,
        fk_checks=True,
    ),
    Case(
        "mariadb.add_foreign_key",
        "add_foreign_key",
        t(", pid int, KEY pid (pid)"),
        t(", pid int, KEY pid (pid), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p (id)"),
        extra=PARENT,
    ),
    Case(
        "mariadb.add_foreign_key",
        "add_foreign_key_with_new_column_second_statement",
        t(),
        t(", pid int, KEY pid (pid), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p (id)"),
        extra=PARENT,
        statement=1,
    ),
    Case(
        "mariadb.drop_foreign_key",
        "drop_foreign_key",
        t(", pid int, KEY pid (pid), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p (id)"),
        t(", pid int, KEY pid (pid)"),
        extra=PARENT,
    ),
    Case("mariadb.add_check", "add_check", t(), t(", CONSTRAINT ck CHECK (a > 0 OR a IS NULL)")),
    Case("mariadb.drop_check", "drop_check", t(", CONSTRAINT ck CHECK (a > 0 OR a IS NULL)"), t()),
    # --- table options
    Case(
        "mariadb.auto_increment",
        "auto_increment",
        T("id int NOT NULL AUTO_INCREMENT, a int" + PK),
        T("id int NOT NULL AUTO_INCREMENT, a int" + PK, "AUTO_INCREMENT=100"),
    ),
    Case("mariadb.table_comment", "table_comment", t(), t(opts="COMMENT 'orders'")),
    Case(
        "mariadb.table_charset",
        "table_charset",
        T("id int NOT NULL, a int" + PK),
        T("id int NOT NULL, a int" + PK, "DEFAULT CHARSET=latin1"),
    ),
    Case("mariadb.table_option.rebuild", "row_format", t(), t(opts="ROW_FORMAT=COMPACT")),
    Case("mariadb.table_option.rebuild", "page_compressed_on", t(), t(opts="PAGE_COMPRESSED=1")),
    Case("mariadb.table_option.rebuild", "page_compressed_off", t(opts="PAGE_COMPRESSED=1"), t()),
    Case("mariadb.table_option.metadata", "stats_persistent", t(), t(opts="STATS_PERSISTENT=1")),
    Case("mariadb.table_option.metadata", "max_rows_checksum", t(), t(opts="MAX_ROWS=100 CHECKSUM=1")),
    Case(
        "mariadb.table_option.metadata",
        "page_compression_level",
        t(opts="PAGE_COMPRESSED=1 PAGE_COMPRESSION_LEVEL=3"),
        t(opts="PAGE_COMPRESSED=1 PAGE_COMPRESSION_LEVEL=5"),
    ),
    # --- combinations
    Case(
        "mariadb.statement.instant_column_with_index",
        "add_column_and_index",
        t(),
        t(", d int, KEY ka (a)"),
    ),
    Case(
        "mariadb.statement.instant_column_with_index",
        "drop_column_from_composite_index",
        t(", KEY kab (a, b)"),
        T("id int NOT NULL, a int, c varchar(30)" + PK + ", KEY kab (a)"),
    ),
    Case(
        "mariadb.statement.instant_column_with_index",
        "add_column_and_indexed_collation",
        t(", KEY kb (b)"),
        T(
            "id int NOT NULL, a int, b varchar(20) COLLATE utf8mb4_bin, c varchar(30), d int"
            + PK
            + ", KEY kb (b)"
        ),
    ),
]


def test_case_ids_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


async def _table(inst: Instance, schema: str, flavor: Flavor) -> Table:
    tables = await load_tables(inst, schema, flavor)
    table = next(t for t in tables if t.name == "t")
    assert not table.unsupported, table.show_create
    return table


async def _reset(server: DBServer, schema: str, case: Case) -> None:
    await load_sql(
        server.params,
        schema,
        "DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS p;\n" + case.extra + case.before + case.rows,
    )


@dataclass(frozen=True)
class Attempt:
    sql: str  # the statement under test, with its ALGORITHM=/LOCK=
    error: DatabaseError | None
    rebuilt: bool | None  # InnoDB gave the table (or a partition) a new table id; None: cannot tell


async def _table_ids(s: Session, schema: str) -> dict[str, int]:
    """InnoDB's ids of `t` (or of its partitions): a rebuild or copy creates new ones."""
    rows = await s.query(
        "SELECT NAME, TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = %s OR NAME LIKE %s",
        (f"{schema}/t", f"{schema}/t#P#%"),
    )
    return {str(r["NAME"]): int(r["TABLE_ID"]) for r in rows}


async def _attempt(
    server: DBServer,
    schema: str,
    case: Case,
    diff: TableDiff,
    mods: StatementModifiers,
    algorithm: str,
    lock: str,
) -> Attempt:
    """Fresh table, the statements before the one under test, then that one with ALGORITHM/LOCK."""
    await _reset(server, schema, case)
    plain = diff.statements(mods)
    k = case.statement % len(plain)
    forced = diff.statements(mods.with_changes(alter_algorithm=algorithm, alter_lock=lock))[k]
    async with Instance(server.params, pool_size=1) as inst, inst.session() as s:
        await s.execute("SET foreign_key_checks = 0")
        await s.execute(f"USE {escape_identifier(schema)}")
        for sql in plain[:k]:
            await s.execute(sql)
        ids = await _table_ids(s, schema)
        await s.execute(f"SET foreign_key_checks = {int(case.fk_checks)}")
        try:
            await s.execute(forced)
        except DatabaseError as exc:
            return Attempt(forced, exc, None)
        new_ids = await _table_ids(s, schema)
        await s.execute("SET foreign_key_checks = 0")
        for sql in plain[k + 1 :]:
            await s.execute(sql)
    common = ids.keys() & new_ids.keys()
    return Attempt(forced, None, any(ids[n] != new_ids[n] for n in common) if common else None)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}:{c.id}" for c in CASES])
async def test_rule_row_on_server(case: Case, server: DBServer, instance: Instance, schema: str) -> None:
    flavor = await instance.flavor()
    assert flavor.is_mariadb, f"these rows are MariaDB's; the test server is {flavor}"
    target = schema + "_after"
    await instance.execute(f"DROP DATABASE IF EXISTS {escape_identifier(target)}")
    await instance.execute(f"CREATE DATABASE {escape_identifier(target)}")
    try:
        await _reset(server, schema, case)
        before = await _table(instance, schema, flavor)
        mods = StatementModifiers(flavor, allow_unsafe=True, **case.mods)
        after: Table | None = None
        if case.after:
            await load_sql(server.params, target, case.extra + case.after)
            after = await _table(instance, target, flavor)
            diff = diff_tables(before, after, mods)
        else:
            diff = pre_drop_alters(before)[0]
        assert diff is not None and diff.supported

        predictions = predict_alter(diff, mods, foreign_key_checks=case.fk_checks)
        statements = diff.statements(mods)
        assert [p.statement for p in predictions] == statements
        p = predictions[case.statement % len(predictions)]
        assert p.rule.id == case.rule, p.reason
        assert p.lock_rule.id == (case.lock_rule or case.rule), p.lock_rule.id
        await _check_server_agrees(p, case, server, schema, diff, mods, flavor)

        if after is not None:  # the accepted run converged on the desired table
            result = await _table(instance, schema, flavor)
            assert diff_tables(result, after, mods) is None, result.show_create
    finally:
        await instance.execute(f"DROP DATABASE IF EXISTS {escape_identifier(target)}")


async def _check_server_agrees(
    p: Prediction,
    case: Case,
    server: DBServer,
    schema: str,
    diff: TableDiff,
    mods: StatementModifiers,
    flavor: Flavor,
) -> None:
    if not p.rule.takes_algorithm:
        # The diff leaves ALGORITHM=/LOCK= out, the statement runs without a copy, and the
        # server would not take them there (a syntax error).
        run = await _attempt(server, schema, case, diff, mods, "inplace", "none")
        assert "ALGORITHM" not in run.sql and run.error is None, run
        assert run.rebuilt is (p.algorithm >= Algorithm.INPLACE), run
        assert not check_forced(p, flavor, "inplace", "none").refused
        await _reset(server, schema, case)
        with pytest.raises(DatabaseError) as refused:
            await _execute(
                server, schema, run.sql.replace("ALTER TABLE `t` ", "ALTER TABLE `t` ALGORITHM=INPLACE, ")
            )
        assert refused.value.errno == 1064
        await _attempt(server, schema, case, diff, mods, "inplace", "none")  # end on the accepted run
        return

    # Every cheaper algorithm, then a less restrictive lock, then the prediction (which stays).
    for cheaper in Algorithm:
        if cheaper >= p.algorithm or (cheaper is Algorithm.NOCOPY and not flavor.is_mariadb):
            continue
        keyword = cheaper.keyword(flavor)
        run = await _attempt(server, schema, case, diff, mods, keyword, "")
        forced = check_forced(p, flavor, keyword)
        if cheaper in p.rule.ignores:
            assert run.error is None, run
            assert not forced.refused and forced.reason, forced
        else:
            assert run.error is not None and run.error.errno in REFUSED, (
                f"{run.sql}: accepted, predicted {p.reason}"
            )
            assert forced.refused, forced
    if p.lock > Lock.NONE:
        weaker = Lock(p.lock - 1).name
        run = await _attempt(server, schema, case, diff, mods, p.algorithm.keyword(flavor), weaker)
        assert run.error is not None and run.error.errno in REFUSED, (
            f"{run.sql}: accepted, predicted {p.reason}"
        )
        assert check_forced(p, flavor, p.algorithm.keyword(flavor), weaker).refused
    keyword = p.algorithm.keyword(flavor)
    run = await _attempt(server, schema, case, diff, mods, keyword, p.lock.name)
    assert run.error is None, f"{run.sql}: {run.error} (predicted {p.reason})"
    assert f"ALGORITHM={keyword}, LOCK={p.lock.name}" in run.sql
    assert not check_forced(p, flavor, keyword, p.lock.name).refused
    if run.rebuilt is not None:  # InnoDB before and after: a rebuild shows as new table ids
        assert run.rebuilt is (p.algorithm >= Algorithm.INPLACE), f"{run.sql}: rebuilt={run.rebuilt}"


async def _execute(server: DBServer, schema: str, sql: str) -> None:
    async with Instance(server.params, pool_size=1) as inst, inst.session() as s:
        await s.execute(f"USE {escape_identifier(schema)}")
        await s.execute(sql)
