"""The table diff engine against a real server: generated DDL must converge.

Each scenario creates table `t` as `before` in one fresh schema and as
`after` in another, introspects both, diffs them (allow-unsafe), runs the
statements on the `before` schema, introspects again and expects the table to
render exactly like `after`, and a second diff to be None.  Where it matters
the scenario also pins the exact statements and the unsafe classification.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from schemad.connection.instance import Instance
from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.diff.table_diff import diff_tables
from schemad.introspect.tables import load_tables
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier
from schemad.model.table import Table
from tests.conftest import DBServer
from tests.helpers import load_sql

pytestmark = pytest.mark.db

PARENT = "CREATE TABLE p (id int NOT NULL, code varchar(10) NOT NULL, PRIMARY KEY (id), UNIQUE KEY (code));\n"


@dataclass(frozen=True)
class Case:
    id: str
    before: str  # "" = the table does not exist yet
    after: str  # "" = the table is to be dropped
    unsafe: bool | None = None  # expected classification; None = not asserted
    sql: tuple[str, ...] | None = None  # exact statements expected; None = not asserted
    mods: dict[str, Any] = field(default_factory=dict)
    extra: str = ""  # other tables (FK parents), created in both schemas first


def T(body: str, opts: str = "") -> str:
    return f"CREATE TABLE t ({body}) {opts};"


FKT = "id int NOT NULL, pid int, PRIMARY KEY (id), KEY pid (pid)"
BASE = "id int NOT NULL, a int, b varchar(20), c varchar(30), PRIMARY KEY (id)"

CASES = [
    # --- columns: add / drop / position -------------------------------------------
    Case(
        "add_column_end",
        T(BASE),
        T(BASE + ", d int NOT NULL DEFAULT 7"),
        unsafe=False,
        sql=("ALTER TABLE `t` ADD COLUMN `d` int(11) NOT NULL DEFAULT 7",),
    ),
    Case(
        "add_column_first",
        T(BASE),
        T("z tinyint, " + BASE),
        sql=("ALTER TABLE `t` ADD COLUMN `z` tinyint(4) DEFAULT NULL FIRST",),
    ),
    Case(
        "add_columns_middle",
        T(BASE),
        T("id int NOT NULL, a int, x int, y int, b varchar(20), c varchar(30), PRIMARY KEY (id)"),
        sql=(
            "ALTER TABLE `t` ADD COLUMN `x` int(11) DEFAULT NULL AFTER `a`, "
            "ADD COLUMN `y` int(11) DEFAULT NULL AFTER `x`",
        ),
    ),
    Case(
        "drop_column",
        T(BASE),
        T("id int NOT NULL, a int, c varchar(30), PRIMARY KEY (id)"),
        unsafe=True,
        sql=("ALTER TABLE `t` DROP COLUMN `b`",),
    ),
    Case(
        "drop_virtual_column_is_safe",
        T(BASE + ", v int AS (a * 2) VIRTUAL"),
        T(BASE),
        unsafe=False,
    ),
    Case(
        "drop_stored_generated_column_is_unsafe",
        T(BASE + ", s int AS (a * 2) PERSISTENT"),
        T(BASE),
        unsafe=True,
    ),
    Case(
        "rename_column_is_drop_plus_add",
        T(BASE),
        T("id int NOT NULL, a int, b2 varchar(20), c varchar(30), PRIMARY KEY (id)"),
        unsafe=True,
        sql=("ALTER TABLE `t` DROP COLUMN `b`, ADD COLUMN `b2` varchar(20) DEFAULT NULL AFTER `a`",),
    ),
    Case(
        "reorder_move_one_column",
        T(BASE),
        T("id int NOT NULL, a int, c varchar(30), b varchar(20), PRIMARY KEY (id)"),
        unsafe=False,
        sql=("ALTER TABLE `t` MODIFY COLUMN `c` varchar(30) DEFAULT NULL AFTER `a`",),
    ),
    Case(
        "reorder_move_to_first",
        T(BASE),
        T("c varchar(30), id int NOT NULL, a int, b varchar(20), PRIMARY KEY (id)"),
        sql=("ALTER TABLE `t` MODIFY COLUMN `c` varchar(30) DEFAULT NULL FIRST",),
    ),
    Case(
        "reorder_reverse_all",
        T("a int, b int, c int, d int, e int"),
        T("e int, d int, c int, b int, a int"),
    ),
    Case(
        "reorder_with_drop_add_and_modify",
        T("a int, b int, c int, d int, e int"),
        T("d int, a bigint, x int, c int, e int, y int"),
        unsafe=True,
    ),
    Case(
        "column_name_case_change",
        T("id int NOT NULL, Foo int, PRIMARY KEY (id)"),
        T("id int NOT NULL, foo int, PRIMARY KEY (id)"),
        unsafe=False,
        sql=("ALTER TABLE `t` MODIFY COLUMN `foo` int(11) DEFAULT NULL",),
    ),
    # --- column types ----------------------------------------------------------------
    Case(
        "widen_varchar_is_safe",
        T(BASE),
        T("id int NOT NULL, a int, b varchar(200), c varchar(30), PRIMARY KEY (id)"),
        unsafe=False,
        sql=("ALTER TABLE `t` MODIFY COLUMN `b` varchar(200) DEFAULT NULL",),
    ),
    Case(
        "narrow_varchar_is_unsafe",
        T(BASE),
        T("id int NOT NULL, a int, b varchar(10), c varchar(30), PRIMARY KEY (id)"),
        unsafe=True,
    ),
    Case("varchar_to_text_is_safe", T("s varchar(100)"), T("s text"), unsafe=False),
    Case("text_to_varchar_is_unsafe", T("s text"), T("s varchar(1000)"), unsafe=True),
    Case("int_to_bigint_is_safe", T("n int"), T("n bigint"), unsafe=False),
    Case("bigint_to_int_is_unsafe", T("n bigint"), T("n int"), unsafe=True),
    Case("int_signed_to_unsigned_is_unsafe", T("n int"), T("n int unsigned"), unsafe=True),
    Case("int_unsigned_to_bigint_signed_is_safe", T("n int unsigned"), T("n bigint"), unsafe=False),
    Case("decimal_widen_is_safe", T("d decimal(10,2)"), T("d decimal(12,4)"), unsafe=False),
    Case("decimal_scale_shrink_is_unsafe", T("d decimal(10,4)"), T("d decimal(10,2)"), unsafe=True),
    Case("float_to_double_is_safe", T("f float"), T("f double"), unsafe=False),
    Case("enum_append_is_safe", T("e enum('a','b')"), T("e enum('a','b','c')"), unsafe=False),
    Case("enum_reorder_is_unsafe", T("e enum('a','b','c')"), T("e enum('b','a','c')"), unsafe=True),
    Case("set_append_is_safe", T("s set('x','y')"), T("s set('x','y','z')"), unsafe=False),
    Case("varbinary_to_blob_is_safe", T("v varbinary(100)"), T("v blob"), unsafe=False),
    Case("binary_widen_is_unsafe", T("v binary(4)"), T("v binary(8)"), unsafe=True),
    Case("datetime_add_fsp_is_safe", T("d datetime"), T("d datetime(3)"), unsafe=False),
    Case("datetime_shrink_fsp_is_unsafe", T("d datetime(6)"), T("d datetime(3)"), unsafe=True),
    Case("bit_shrink_is_unsafe", T("b bit(8)"), T("b bit(4)"), unsafe=True),
    Case("int_to_varchar_is_unsafe", T("n int"), T("n varchar(20)"), unsafe=True),
    Case("binary16_to_inet6_is_safe", T("ip binary(16)"), T("ip inet6"), unsafe=False),
    Case("char36_to_uuid_is_safe", T("u char(36)"), T("u uuid"), unsafe=False),
    # --- charsets and collations ---------------------------------------------------
    Case(
        "column_charset_change_is_unsafe",
        T("id int NOT NULL, s varchar(20) CHARACTER SET latin1, PRIMARY KEY (id)", "DEFAULT CHARSET=utf8mb4"),
        T("id int NOT NULL, s varchar(20), PRIMARY KEY (id)", "DEFAULT CHARSET=utf8mb4"),
        unsafe=True,
        sql=("ALTER TABLE `t` MODIFY COLUMN `s` varchar(20) DEFAULT NULL",),
    ),
    Case(
        "column_collation_change_is_safe",
        T("s varchar(20) COLLATE utf8mb4_general_ci", "DEFAULT CHARSET=utf8mb4"),
        T("s varchar(20) COLLATE utf8mb4_bin", "DEFAULT CHARSET=utf8mb4"),
        unsafe=False,
    ),
    Case(
        "collation_change_in_unique_index_is_unsafe",
        T("s varchar(20) COLLATE utf8mb4_general_ci, UNIQUE KEY (s)", "DEFAULT CHARSET=utf8mb4"),
        T("s varchar(20) COLLATE utf8mb4_bin, UNIQUE KEY (s)", "DEFAULT CHARSET=utf8mb4"),
        unsafe=True,
    ),
    Case(
        "table_charset_change_converts_columns",
        T("id int NOT NULL, s varchar(20), u text, PRIMARY KEY (id)", "DEFAULT CHARSET=latin1"),
        T("id int NOT NULL, s varchar(20), u text, PRIMARY KEY (id)", "DEFAULT CHARSET=utf8mb4"),
        unsafe=True,
        sql=(
            "ALTER TABLE `t` DEFAULT CHARACTER SET = utf8mb4 COLLATE = utf8mb4_general_ci, "
            "MODIFY COLUMN `s` varchar(20) DEFAULT NULL, MODIFY COLUMN `u` text DEFAULT NULL",
        ),
    ),
    Case(
        "table_charset_change_keeping_old_columns",
        T("id int NOT NULL, s varchar(20), PRIMARY KEY (id)", "DEFAULT CHARSET=latin1"),
        T(
            "id int NOT NULL, s varchar(20) CHARACTER SET latin1, n varchar(5), PRIMARY KEY (id)",
            "DEFAULT CHARSET=utf8mb4",
        ),
        unsafe=False,
    ),
    Case(
        "table_collation_only",
        T("s varchar(20)", "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"),
        T("s varchar(20)", "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"),
        unsafe=False,
    ),
    # --- column attributes ---------------------------------------------------------
    Case(
        "defaults_added_changed_dropped",
        T(
            "id int NOT NULL, a int DEFAULT 1, b varchar(5) NOT NULL, c int NOT NULL DEFAULT 3, "
            "PRIMARY KEY (id)"
        ),
        T(
            "id int NOT NULL, a int DEFAULT 2, b varchar(5) NOT NULL DEFAULT 'x', c int NOT NULL, "
            "PRIMARY KEY (id)"
        ),
        unsafe=False,
    ),
    Case(
        "timestamp_on_update",
        T("ts timestamp NULL DEFAULT NULL, dt datetime"),
        T(
            "ts timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(), "
            "dt datetime(3) DEFAULT current_timestamp(3) ON UPDATE current_timestamp(3)"
        ),
        unsafe=False,
    ),
    Case(
        "null_to_not_null_and_back",
        T("a int, b int NOT NULL"),
        T("a int NOT NULL, b int"),
        unsafe=False,
    ),
    Case(
        "generated_columns_change_expression",
        T("a int, v int AS (a + 1) VIRTUAL, s int AS (a * 2) STORED"),
        T("a int, v int AS (a + 10) VIRTUAL, s int AS (a * 3) STORED"),
        unsafe=False,
    ),
    Case(
        "add_generated_columns",
        T("a int"),
        T("a int, v varchar(10) AS (concat(a, 'x')) VIRTUAL, s bigint AS (a * 2) STORED"),
        unsafe=False,
    ),
    Case(
        "invisible_columns",
        T("a int, b int INVISIBLE, c int"),
        T("a int, b int, c int INVISIBLE, d int DEFAULT 4 INVISIBLE"),
        unsafe=False,
    ),
    Case(
        "column_comments",
        T("a int COMMENT 'old', b int"),
        T("a int COMMENT 'new ''quoted''', b int COMMENT 'added'"),
        unsafe=False,
    ),
    Case(
        "auto_increment_attribute",
        T("id int NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)"),
        unsafe=False,
    ),
    Case(
        "column_level_checks",
        T("a int CHECK (a > 0), b int CHECK (b < 5), c int"),
        T("a int CHECK (a > 1), b int, c int CHECK (c <> 3)"),
        unsafe=False,
    ),
    # --- primary key -----------------------------------------------------------------
    Case(
        "pk_add",
        T("id int NOT NULL, a int"),
        T("id int NOT NULL, a int, PRIMARY KEY (id)"),
        sql=("ALTER TABLE `t` ADD PRIMARY KEY (`id`)",),
    ),
    Case(
        "pk_drop",
        T("id int NOT NULL, a int, PRIMARY KEY (id)"),
        T("id int NOT NULL, a int"),
        sql=("ALTER TABLE `t` DROP PRIMARY KEY",),
    ),
    Case(
        "pk_change",
        T("id int NOT NULL, a int NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL, a int NOT NULL, PRIMARY KEY (a, id)"),
        sql=("ALTER TABLE `t` DROP PRIMARY KEY, ADD PRIMARY KEY (`a`,`id`)",),
    ),
    # --- secondary indexes -------------------------------------------------------------
    Case(
        "index_add_unique_and_plain",
        T(BASE),
        T(BASE + ", UNIQUE KEY ub (b), KEY ac (a, c)"),
        unsafe=False,
        sql=("ALTER TABLE `t` ADD UNIQUE KEY `ub` (`b`), ADD KEY `ac` (`a`,`c`)",),
    ),
    Case("index_drop", T(BASE + ", KEY ka (a), UNIQUE KEY ub (b)"), T(BASE + ", KEY ka (a)"), unsafe=False),
    Case(
        "index_change_columns",
        T(BASE + ", KEY k (a)"),
        T(BASE + ", KEY k (a, b)"),
        sql=("ALTER TABLE `t` DROP KEY `k`, ADD KEY `k` (`a`,`b`)",),
    ),
    Case(
        "index_prefix_and_desc", T(BASE + ", KEY k (c(5))"), T(BASE + ", KEY k (c(10) DESC), KEY d (a DESC)")
    ),
    Case(
        "index_comment",
        T(BASE + ", KEY k (a) COMMENT 'x'"),
        T(BASE + ", KEY k (a) COMMENT 'y'"),
        sql=("ALTER TABLE `t` DROP KEY `k`, ADD KEY `k` (`a`) COMMENT 'y'",),
    ),
    Case(
        "index_ignored_toggle",
        T(BASE + ", KEY k1 (a), KEY k2 (b) IGNORED"),
        T(BASE + ", KEY k1 (a) IGNORED, KEY k2 (b)"),
        sql=("ALTER TABLE `t` ALTER INDEX `k1` IGNORED, ALTER INDEX `k2` NOT IGNORED",),
    ),
    Case(
        "index_rename",
        T(BASE + ", KEY old_name (a, b)"),
        T(BASE + ", KEY new_name (a, b)"),
        sql=("ALTER TABLE `t` RENAME KEY `old_name` TO `new_name`",),
    ),
    Case(
        "index_rename_and_ignore_split",
        T(BASE + ", KEY old_name (a)"),
        T(BASE + ", KEY new_name (a) IGNORED"),
        sql=(
            "ALTER TABLE `t` RENAME KEY `old_name` TO `new_name`",
            "ALTER TABLE `t` ALTER INDEX `new_name` IGNORED",
        ),
    ),
    Case(
        "fulltext_two_adds_split",
        T("id int NOT NULL, x varchar(50), y text, PRIMARY KEY (id)"),
        T(
            "id int NOT NULL, x varchar(50), y text, PRIMARY KEY (id), "
            "FULLTEXT KEY fx (x), FULLTEXT KEY fy (y)"
        ),
        sql=("ALTER TABLE `t` ADD FULLTEXT KEY `fx` (`x`)", "ALTER TABLE `t` ADD FULLTEXT KEY `fy` (`y`)"),
    ),
    Case(
        "spatial_index_add",
        T("id int NOT NULL, g geometry NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL, g geometry NOT NULL, PRIMARY KEY (id), SPATIAL KEY sg (g)"),
    ),
    Case(
        "index_order_with_exact_match",
        T(BASE + ", KEY ka (a), KEY kb (b), KEY kc (c)"),
        T(BASE + ", KEY kc (c), KEY ka (a), KEY kb (b)"),
        # MariaDB skips an ALTER that only drops and re-adds identical indexes, unless it
        # must copy the table anyway; Skeema's verify runs with ALGORITHM=COPY for this.
        mods={"exact_match": True, "alter_algorithm": "copy"},
        sql=(
            "ALTER TABLE `t` ALGORITHM=COPY, DROP KEY `ka`, ADD KEY `ka` (`a`), "
            "DROP KEY `kb`, ADD KEY `kb` (`b`)",
        ),
    ),
    Case(
        "index_added_in_middle_strict_order",
        T(BASE + ", KEY ka (a), KEY kc (c)"),
        T(BASE + ", KEY ka (a), KEY kb (b), KEY kc (c)"),
        mods={"strict_index_order": True},
        sql=("ALTER TABLE `t` ADD KEY `kb` (`b`), DROP KEY `kc`, ADD KEY `kc` (`c`)",),
    ),
    # --- foreign keys ----------------------------------------------------------------
    Case(
        "fk_add",
        T("id int NOT NULL, pid int, PRIMARY KEY (id)"),
        T(FKT + ", CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id)"),
        extra=PARENT,
        sql=(
            "ALTER TABLE `t` ADD KEY `pid` (`pid`)",
            "ALTER TABLE `t` ADD CONSTRAINT `fk_p` FOREIGN KEY (`pid`) REFERENCES `p` (`id`)",
        ),
    ),
    Case(
        "fk_drop",
        T(FKT + ", CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id)"),
        T("id int NOT NULL, pid int, PRIMARY KEY (id), KEY pid (pid)"),
        extra=PARENT,
        unsafe=False,
        sql=("ALTER TABLE `t` DROP FOREIGN KEY `fk_p`",),
    ),
    Case(
        "fk_change_actions",
        T(FKT + ", CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id)"),
        T(FKT + ", CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE SET NULL"),
        extra=PARENT,
        sql=(
            "ALTER TABLE `t` DROP FOREIGN KEY `fk_p`",
            "ALTER TABLE `t` ADD CONSTRAINT `fk_p` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) "
            "ON DELETE CASCADE ON UPDATE SET NULL",
        ),
    ),
    Case(
        "fk_rename_exact_match",
        T(
            "id int NOT NULL, pc varchar(10), PRIMARY KEY (id), KEY pc (pc), "
            "CONSTRAINT f1 FOREIGN KEY (pc) REFERENCES p (code)"
        ),
        T(
            "id int NOT NULL, pc varchar(10), PRIMARY KEY (id), KEY pc (pc), "
            "CONSTRAINT f2 FOREIGN KEY (pc) REFERENCES p (code)"
        ),
        extra=PARENT,
        mods={"exact_match": True},
    ),
    Case(
        "fk_restrict_to_no_action_exact_match",
        T(FKT + ", CONSTRAINT f FOREIGN KEY (pid) REFERENCES p (id)"),
        T(FKT + ", CONSTRAINT f FOREIGN KEY (pid) REFERENCES p (id) ON DELETE NO ACTION"),
        extra=PARENT,
        mods={"strict_fk_order": True},
    ),
    # --- checks ----------------------------------------------------------------------
    Case(
        "checks_add_drop_change",
        T("a int, b int, CONSTRAINT c1 CHECK (a > 0), CONSTRAINT c2 CHECK (b > 0)"),
        T("a int, b int, CONSTRAINT c1 CHECK (a > 5), CONSTRAINT c3 CHECK (a < b)"),
        unsafe=False,
        sql=(
            "ALTER TABLE `t` DROP CONSTRAINT `c2`, DROP CONSTRAINT `c1`, "
            "ADD CONSTRAINT `c1` CHECK (`a` > 5), ADD CONSTRAINT `c3` CHECK (`a` < `b`)",
        ),
    ),
    Case(
        "checks_reorder_strict",
        T("a int, CONSTRAINT c1 CHECK (a > 0), CONSTRAINT c2 CHECK (a < 9)"),
        T("a int, CONSTRAINT c2 CHECK (a < 9), CONSTRAINT c1 CHECK (a > 0)"),
        mods={"strict_check_order": True},
    ),
    # --- table options ---------------------------------------------------------------
    Case(
        "engine_change_is_unsafe",
        T("id int NOT NULL, PRIMARY KEY (id)", "ENGINE=InnoDB"),
        T("id int NOT NULL, PRIMARY KEY (id)", "ENGINE=MyISAM"),
        unsafe=True,
        sql=("ALTER TABLE `t` ENGINE=MyISAM",),
    ),
    Case(
        "row_format_and_stats",
        T("id int NOT NULL, PRIMARY KEY (id)", "ROW_FORMAT=DYNAMIC STATS_PERSISTENT=1"),
        T("id int NOT NULL, PRIMARY KEY (id)", "ROW_FORMAT=COMPACT STATS_AUTO_RECALC=0"),
        unsafe=False,
        sql=("ALTER TABLE `t` STATS_PERSISTENT=DEFAULT ROW_FORMAT=COMPACT STATS_AUTO_RECALC=0",),
    ),
    Case(
        "key_block_size_add",
        T("id int NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL, PRIMARY KEY (id)", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8"),
    ),
    Case(
        # The server pins the old KEY_BLOCK_SIZE on indexes that are not rebuilt.
        "key_block_size_remove_rebuilds_indexes",
        T("id int NOT NULL, a int, PRIMARY KEY (id), KEY ka (a)", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8"),
        T("id int NOT NULL, a int, PRIMARY KEY (id), KEY ka (a)"),
        sql=(
            "ALTER TABLE `t` DROP PRIMARY KEY, ADD PRIMARY KEY (`id`), DROP KEY `ka`, ADD KEY `ka` (`a`), "
            "ROW_FORMAT=DEFAULT KEY_BLOCK_SIZE=0",
        ),
    ),
    Case(
        "key_block_size_change",
        T("id int NOT NULL, a int, PRIMARY KEY (id), KEY ka (a)", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8"),
        T("id int NOT NULL, a int, PRIMARY KEY (id), KEY ka (a)", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4"),
    ),
    Case(
        "page_compressed_add",
        T("id int NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL, PRIMARY KEY (id)", "PAGE_COMPRESSED=1 PAGE_COMPRESSION_LEVEL=5"),
    ),
    Case(
        "page_compressed_remove",
        T("id int NOT NULL, PRIMARY KEY (id)", "PAGE_COMPRESSED=1"),
        T("id int NOT NULL, PRIMARY KEY (id)"),
        sql=("ALTER TABLE `t` `PAGE_COMPRESSED`=DEFAULT",),
    ),
    Case(
        "table_comment_add_change",
        T("id int NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL, PRIMARY KEY (id)", "COMMENT='it''s new'"),
        sql=("ALTER TABLE `t` COMMENT 'it''s new'",),
    ),
    Case(
        "table_comment_remove",
        T("id int NOT NULL, PRIMARY KEY (id)", "COMMENT='old'"),
        T("id int NOT NULL, PRIMARY KEY (id)"),
        sql=("ALTER TABLE `t` COMMENT ''",),
    ),
    Case(
        "auto_increment_raise",
        T("id int NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)", "AUTO_INCREMENT=5"),
        T("id int NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)", "AUTO_INCREMENT=1000"),
        sql=("ALTER TABLE `t` AUTO_INCREMENT = 1000",),
    ),
    # --- partitioning ------------------------------------------------------------------
    Case(
        "partition_add_keep",
        T("id int NOT NULL, PRIMARY KEY (id)"),
        T("id int NOT NULL, PRIMARY KEY (id)", "PARTITION BY HASH (id) PARTITIONS 4"),
        sql=("ALTER TABLE `t` PARTITION BY HASH (`id`)\nPARTITIONS 4",),
    ),
    Case(
        "partition_add_modify_with_column",
        T("id int NOT NULL, PRIMARY KEY (id)"),
        T(
            "id int NOT NULL, d int, PRIMARY KEY (id)",
            "PARTITION BY RANGE (id) "
            "(PARTITION p0 VALUES LESS THAN (100), PARTITION pmax VALUES LESS THAN MAXVALUE)",
        ),
        mods={"partitioning": "modify"},
        sql=(
            "ALTER TABLE `t` ADD COLUMN `d` int(11) DEFAULT NULL PARTITION BY RANGE (`id`)\n"
            "(PARTITION `p0` VALUES LESS THAN (100) ENGINE = InnoDB,\n"
            " PARTITION `pmax` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)",
        ),
    ),
    Case(
        "repartition_modify",
        T("id int NOT NULL, PRIMARY KEY (id)", "PARTITION BY HASH (id) PARTITIONS 2"),
        T("id int NOT NULL, PRIMARY KEY (id)", "PARTITION BY KEY (id) PARTITIONS 3"),
        mods={"partitioning": "modify"},
    ),
    Case(
        "partition_remove",
        T("id int NOT NULL, PRIMARY KEY (id)", "PARTITION BY HASH (id) PARTITIONS 4"),
        T("id int NOT NULL, PRIMARY KEY (id)", "PARTITION BY HASH (id) PARTITIONS 4"),
        mods={"partitioning": "remove"},
        sql=("ALTER TABLE `t` REMOVE PARTITIONING",),
    ),
    # --- whole tables and combinations ---------------------------------------------------
    Case("create_table", "", T(BASE + ", KEY ka (a)", "COMMENT='new'"), unsafe=False),
    Case("drop_table", T(BASE), "", unsafe=True, sql=("DROP TABLE `t`",)),
    Case(
        "combined_changes",
        T(
            "id int NOT NULL, a int, b varchar(20), c text, pid int, PRIMARY KEY (id), KEY kb (b), "
            "CONSTRAINT ck CHECK (a > 0)",
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='v1'",
        ),
        T(
            "id bigint NOT NULL AUTO_INCREMENT, n int DEFAULT 0, a int NOT NULL, b varchar(40), pid int, "
            "PRIMARY KEY (id), KEY kb (b, a), KEY kp (pid), "
            "CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL, "
            "CONSTRAINT ck CHECK (a >= 0)",
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 STATS_PERSISTENT=0 COMMENT='v2'",
        ),
        extra=PARENT,
        unsafe=True,
    ),
    Case(
        "algorithm_and_lock",
        T(BASE),
        T(BASE + ", d int"),
        mods={"alter_algorithm": "inplace", "alter_lock": "none"},
        sql=("ALTER TABLE `t` ALGORITHM=INPLACE, LOCK=NONE, ADD COLUMN `d` int(11) DEFAULT NULL",),
    ),
]


async def _table(inst: Instance, schema: str, flavor: Flavor) -> Table | None:
    tables = await load_tables(inst, schema, flavor)
    return next((t for t in tables if t.name == "t"), None)


async def _run(server: DBServer, schema: str, statements: list[str]) -> None:
    async with Instance(server.params, pool_size=1) as inst, inst.session() as s:
        await s.execute("SET foreign_key_checks = 0")  # as Skeema does for every DDL session
        await s.execute(f"USE {escape_identifier(schema)}")
        for sql in statements:
            await s.execute(sql)


def test_scenario_count() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_diff_converges(case: Case, server: DBServer, instance: Instance, schema: str) -> None:
    flavor = await instance.flavor()
    target = schema + "_after"
    await instance.execute(f"DROP DATABASE IF EXISTS {escape_identifier(target)}")
    await instance.execute(f"CREATE DATABASE {escape_identifier(target)}")
    try:
        await load_sql(server.params, schema, case.extra + case.before)
        await load_sql(server.params, target, case.extra + case.after)
        before = await _table(instance, schema, flavor)
        after = await _table(instance, target, flavor)
        for table in (before, after):
            assert table is None or not table.unsupported, table and table.show_create

        mods = StatementModifiers(flavor, allow_unsafe=True, **case.mods)
        diff = diff_tables(before, after, mods)
        assert diff is not None and diff.supported
        statements = diff.statements(mods)
        reasons = diff.unsafe_reasons(mods)
        if case.sql is not None:
            assert statements == list(case.sql)
        if case.unsafe is not None:
            assert bool(reasons) is case.unsafe, reasons
        if diff.kind is DiffKind.ALTER:
            # The schema-level order: everything else, then the FK additions.
            main, fks = diff.split_foreign_key_adds()
            assert [s for part in (main, fks) if part for s in part.statements(mods)] == statements

        await _run(server, schema, statements)

        result = await _table(instance, schema, flavor)
        expected = after
        if expected is not None and mods.partitioning is PartitioningMode.REMOVE:
            expected = replace(expected, partitioning=None)
        if expected is None:
            assert result is None
        else:
            assert result is not None
            assert result.create_statement(flavor) == expected.create_statement(flavor)
            assert result == expected
        assert diff_tables(result, after, mods) is None
    finally:
        await instance.execute(f"DROP DATABASE IF EXISTS {escape_identifier(target)}")
