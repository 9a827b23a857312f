"""Views, routines, triggers and events read from the real server render exactly like SHOW CREATE.

Objects are created with SQL written in odd styles (case, whitespace, comments,
quotes, CRLF, emoji, DEFINER variants, FOLLOWS/PRECEDES, sql_mode and time zone
changes) over asyncmy, which keeps comments (the `mariadb` CLI strips them).
Each test then asserts that every loaded object renders byte for byte like its
SHOW CREATE text and is not unsupported, plus the specific fields the style
exercised.  The last tests assert the query budget: a constant number of bulk
queries per schema, one SHOW CREATE per object, run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import pytest

from schemad.connection.instance import Instance, Row
from schemad.introspect.objects import load_events, load_routines, load_triggers, load_views
from schemad.model.definer import Security, format_definer
from schemad.model.event import Event, EventStatus, OnCompletion
from schemad.model.flavor import Flavor, Vendor
from schemad.model.keys import escape_identifier
from schemad.model.routine import DataAccess, Routine, RoutineType
from schemad.model.trigger import Trigger, TriggerEvent, TriggerTiming
from schemad.model.view import CheckOption, View, ViewAlgorithm
from tests.conftest import DBServer

pytestmark = pytest.mark.db

ROLE = f"schemad_objs_role_{os.getpid()}"
GHOST = "schemad_ghost@%"  # a definer that does not exist (allowed, with a warning)
Obj = View | Routine | Trigger | Event
T = TypeVar("T", View, Routine, Trigger, Event)


async def _run(server: DBServer, schema: str, statements: Sequence[str]) -> None:
    """Run statements in order on one connection whose current database is `schema`."""
    async with Instance(server.params, pool_size=1) as inst, inst.session() as s:
        await s.execute(f"USE {escape_identifier(schema)}")
        for sql in statements:
            await s.execute(sql)


@pytest.fixture
async def role(instance: Instance) -> AsyncIterator[str]:
    """A MariaDB role usable as a DEFINER (dropped afterwards)."""
    await instance.execute(f"CREATE ROLE IF NOT EXISTS {ROLE}")
    try:
        yield ROLE
    finally:
        await instance.execute(f"DROP ROLE IF EXISTS {ROLE}")


async def _me(instance: Instance) -> str:
    rows = await instance.query("SELECT CURRENT_USER() AS u")
    return str(rows[0]["u"])


def _assert_faithful(objects: Sequence[Obj], flavor: Flavor) -> None:
    for obj in objects:
        assert obj.show_create, obj.key
        assert obj.create_statement(flavor) == obj.show_create, obj.key
        assert not obj.unsupported, obj.key


def _by_name(objects: Sequence[T]) -> dict[str, T]:
    return {o.name: o for o in objects}


@pytest.fixture
async def mariadb(instance: Instance) -> Flavor:
    """The flavor, for tests of MariaDB-only syntax (roles, AGGREGATE, sql_mode=ORACLE, verbatim triggers)."""
    flavor = await instance.flavor()
    if not flavor.is_mariadb:
        pytest.skip(f"MariaDB-only syntax; SCHEMAD_TEST_DSN points at {flavor}")
    return flavor


# --- views ----------------------------------------------------------------------

VIEW_SQL = [
    "create table t1 (a int, b varchar(10))",
    "create table t2 (a int)",
    "create view v1 as select a, b from t1 where a > 1 with check option",
    "CREATE   ALGORITHM = MERGE   SQL SECURITY INVOKER VIEW v2 (x, y) AS SELECT /* hi */ t1.a, 'it''s' "
    "FROM t1 JOIN t2 USING (a) WITH LOCAL CHECK OPTION",
    f"create algorithm=temptable definer = {format_definer(GHOST)} view `v 3` as select 1",
    'create view `v``q` as select \'a\\\\b"c\' as `we``ird`, "dq" as dq  -- trailing comment',
    "create view v5 as select x from v2 union all select a from t1 order by 1",
    "create view v6 as select (select count(*) from t2) as n, t1.* from t1 where b like 'x%' group by a, b",
    "create view v7 as select '\U0001f600é' as `é`",
    "create\nview\tv8\nas\nselect\n  a\n  from t1  ",
    # references another schema: the body keeps every schema name, and still round-trips
    "create view v9 as select t1.a, s.schema_name from t1 join information_schema.schemata s",
]


async def test_views_render_like_show_create(server: DBServer, instance: Instance, schema: str) -> None:
    await _run(server, schema, VIEW_SQL)
    flavor = await instance.flavor()
    views = await load_views(instance, schema, flavor)
    assert [v.name for v in views] == sorted(["v1", "v2", "v 3", "v`q", "v5", "v6", "v7", "v8", "v9"])
    _assert_faithful(views, flavor)
    by = _by_name(views)
    me = await _me(instance)
    assert by["v1"].check_option is CheckOption.CASCADED  # plain WITH CHECK OPTION
    assert by["v1"].definer == me
    assert by["v1"].definition == "select `t1`.`a` AS `a`,`t1`.`b` AS `b` from `t1` where `t1`.`a` > 1"
    v2 = by["v2"]
    assert (v2.algorithm, v2.security, v2.check_option) == (
        ViewAlgorithm.MERGE,
        Security.INVOKER,
        CheckOption.LOCAL,
    )
    assert by["v 3"].definer == GHOST and by["v 3"].algorithm is ViewAlgorithm.TEMPTABLE
    assert by["v7"].definition == "select '\U0001f600é' AS `é`"
    # SHOW CREATE VIEW ran with the schema as current database: the view's own schema is left out
    for name in ("v1", "v2", "v5", "v6", "v8"):
        assert schema not in by[name].definition, name
    assert f"`{schema}`.`t1`" in by["v9"].definition  # mixed-schema views keep the qualifiers
    # no pooled connection keeps the introspected schema as its current database
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(instance.session()) for _ in range(instance.pool_size)]
        for s in sessions:
            assert (await s.query("SELECT DATABASE() AS db"))[0]["db"] != schema


async def test_view_with_role_definer(
    server: DBServer, instance: Instance, schema: str, mariadb: Flavor, role: str
) -> None:
    await _run(server, schema, [f"create definer={role} view rv as select 1 as one"])
    flavor = await instance.flavor()
    (view,) = await load_views(instance, schema, flavor)
    _assert_faithful([view], flavor)
    assert view.definer == role  # information_schema says "role@"; the model keeps the bare name


# --- routines -------------------------------------------------------------------

ROUTINE_SQL = [
    "create table t1 (a int, b varchar(10))",
    "create procedure p1(in a int, out b varchar(10) charset latin1) reads sql data deterministic "
    "comment 'pp''x' begin\n  select a into b;\nend",
    "create function f1(x int) returns varchar(100) charset latin1 deterministic return concat(x,'a')",
    "create procedure p2() select 1",
    "create procedure p3 ( ) contains sql   sql security invoker  comment 'a\\\\b\\nc\"d' "
    "not deterministic  /* c */ select 1 -- x",
    "create definer=current_user procedure p4() no sql comment '' begin end",
    "CREATE PROCEDURE `p5`(a INT) LANGUAGE SQL COMMENT 'x' SQL SECURITY DEFINER MODIFIES SQL DATA "
    "DETERMINISTIC SELECT a",
    "create function f2() returns text charset utf8mb4 collate utf8mb4_bin no sql return 'x'",
    "create function f3(a int) returns int(11) unsigned return a",
    "create function f4(a int) returns decimal(10,2) sql security invoker return a",
    "create procedure crlf(\r\n  a int\r\n)\r\nbegin\r\n  select a; -- note\r\nend\r\n",
    "create procedure tabs()\n\tbegin\n\t\t# hash comment\n\t\tselect 1;\t/* tail */\n\tend",
    "create procedure nul() comment 'a\\0b\\rc\td' select 1",
    "create function `fn with space`(`p 1` int, p2 enum('a)','b')) returns enum('x', 'y') charset latin1 "
    "return 'x'",
    "create function `f``q`(`a``b` int) returns int deterministic contains sql return `a``b`",
    "create procedure emoji() comment 'café' select '\U0001f600' as x",
    f"create definer={format_definer(GHOST)} procedure ghost() select 1",
    "create definer=`we``ird@x`@`h``st` function wf() returns int return 1",
    "create procedure multi(\n  in a int, -- first (with a paren\n  inout b text /* ) */\n)\n"
    "  comment 'multi\nline'\nselect a, b",
]


async def test_routines_render_like_show_create(server: DBServer, instance: Instance, schema: str) -> None:
    await _run(server, schema, ROUTINE_SQL)
    flavor = await instance.flavor()
    routines = await load_routines(instance, schema, flavor)
    assert len(routines) == len(ROUTINE_SQL) - 1
    assert routines == sorted(routines, key=lambda r: (r.type, r.name))
    _assert_faithful(routines, flavor)
    by = _by_name(routines)
    p1 = by["p1"]
    assert p1.type is RoutineType.PROCEDURE
    assert p1.params == "in a int, out b varchar(10) charset latin1"
    assert (p1.deterministic, p1.data_access, p1.comment) == (True, DataAccess.READS_SQL_DATA, "pp'x")
    assert p1.body == "begin\n  select a into b;\nend"
    assert by["f1"].returns == "varchar(100) CHARSET latin1 COLLATE latin1_swedish_ci"
    assert by["p3"].params == " " and by["p3"].security is Security.INVOKER
    assert by["p3"].comment == 'a\\b\nc"d' and by["p3"].body == "select 1 -- x"
    assert by["p5"].data_access is DataAccess.MODIFIES_SQL_DATA
    assert by["crlf"].params == "\r\n  a int\r\n" and by["crlf"].body.endswith("\r\nend")
    assert by["nul"].comment == "a\0b\rc\td"
    assert by["fn with space"].params == "`p 1` int, p2 enum('a)','b')"
    assert by["emoji"].body == "select '\U0001f600' as x"
    assert by["ghost"].definer == GHOST
    assert by["wf"].definer == "we`ird@x@h`st"
    assert by["multi"].comment == "multi\nline"
    assert by["multi"].show_create.startswith(
        f"CREATE DEFINER={format_definer(await _me(instance))} PROCEDURE `multi`(\n  in a int, -- first"
    )


async def test_mariadb_only_routines(
    server: DBServer, instance: Instance, schema: str, mariadb: Flavor, role: str
) -> None:
    """AGGREGATE functions, role definers, and sql_mode ANSI_QUOTES / ORACLE renderings."""
    await _run(
        server,
        schema,
        [
            "create aggregate function agg1(x int) returns int begin declare s int default 0;"
            " declare continue handler for not found return s; loop fetch group next row;"
            " set s = s + x; end loop; end",
            f"create definer={role} procedure rp() select 1",
            "set sql_mode = concat(@@sql_mode, ',ANSI_QUOTES')",
            'create procedure "p""q"() comment \'x\' select 1',
            "create function af() returns int return 1",
            "set sql_mode = 'ORACLE'",
            "create function of1(a int) return int as begin return a; end",
            "create procedure op1(a in int) as begin null; end",
        ],
    )
    flavor = await instance.flavor()
    routines = await load_routines(instance, schema, flavor)
    _assert_faithful(routines, flavor)
    by = _by_name(routines)
    assert by["agg1"].aggregate and "AGGREGATE FUNCTION `agg1`" in by["agg1"].show_create
    assert by["rp"].definer == role
    assert by['p"q'].show_create.startswith('CREATE DEFINER="')
    assert " RETURN int(11)\n" in by["of1"].show_create
    assert "ORACLE" in by["op1"].sql_mode


async def test_mysql_code_paths_against_mariadb(
    server: DBServer, instance: Instance, schema: str, mariadb: Flavor
) -> None:
    """The MySQL 8 paths (no mysql.proc, no VIEWS.ALGORITHM) run here against MariaDB's
    information_schema, which has the same columns, and must find the same objects."""
    await _run(server, schema, [*VIEW_SQL, *ROUTINE_SQL[1:]])
    maria = await instance.flavor()
    mysql = Flavor(Vendor.MYSQL, 8, 0, 36)
    assert await load_views(instance, schema, mysql) == await load_views(instance, schema, maria)
    from_proc = await load_routines(instance, schema, maria)
    from_show_create = await load_routines(instance, schema, mysql)
    assert from_show_create == from_proc
    assert not [r.name for r in from_show_create if r.unsupported]


# --- triggers -------------------------------------------------------------------


async def test_triggers_keep_verbatim_text(
    server: DBServer, instance: Instance, schema: str, mariadb: Flavor
) -> None:
    q = escape_identifier(schema)
    await _run(
        server,
        schema,
        [
            "create table t1 (a int, b varchar(10))",
            "create table `t 2` (a int)",
            "create   definer = current_user   trigger  bi1 before insert on t1"
            " for each row set new.a = 1 -- c",
            "create trigger bi2 before insert on `t1` for each row follows bi1 begin\n"
            "  /* body */ update `t 2` set a = new.a where a = 0;\nend",
            'CREATE TRIGGER bi0 BEFORE INSERT ON t1 FOR EACH ROW PRECEDES bi1 SET NEW.b = "q"',
            "create trigger if not exists bu1 before update on t1 for each row set @x = 1",
            f"create or replace trigger bd1 before delete on {q}.t1 for each row set @x = 2",
            f"create definer={format_definer(GHOST)} trigger `tr 6` after update on t1 for each row set @y=1",
            "create trigger ad1 after delete on t1 for each row    set @z='\U0001f600é'   -- x\n  ",
            "create trigger ai1 after insert on `t 2` for each row\r\nbegin\r\n  set @w = 1;\r\nend",
            "set sql_mode = concat(@@sql_mode, ',ANSI_QUOTES')",
            'create trigger "ansi" before insert on "t 2" for each row set @a = 1',
        ],
    )
    flavor = await instance.flavor()
    triggers = await load_triggers(instance, schema, flavor)
    _assert_faithful(triggers, flavor)
    assert [(t.table, t.timing, t.event, t.action_order) for t in triggers] == sorted(
        (t.table, t.timing, t.event, t.action_order) for t in triggers
    )
    by = _by_name(triggers)
    me = await _me(instance)
    for t in triggers:
        assert t.statement == t.show_create  # MariaDB: the verbatim text is what renders
    assert by["bi1"].show_create == (
        f"CREATE DEFINER={format_definer(me)} trigger  bi1 before insert on t1"
        " for each row set new.a = 1 -- c"
    )
    assert (by["bi0"].action_order, by["bi1"].action_order, by["bi2"].action_order) == (1, 2, 3)
    assert "follows" not in by["bi2"].statement and "PRECEDES" not in by["bi0"].statement
    assert by["bi2"].body == "begin\n  /* body */ update `t 2` set a = new.a where a = 0;\nend"
    assert (by["bi2"].table, by["bi2"].timing, by["bi2"].event) == (
        "t1",
        TriggerTiming.BEFORE,
        TriggerEvent.INSERT,
    )
    assert "if not exists" in by["bu1"].statement
    assert "or replace" not in by["bd1"].statement and by["bd1"].table == "t1"
    assert by["tr 6"].definer == GHOST
    assert by["ad1"].body == "set @z='\U0001f600é'   -- x"  # emoji intact (information_schema shows '?')
    assert by["ai1"].body == "begin\r\n  set @w = 1;\r\nend"
    assert by["ansi"].show_create.startswith('CREATE DEFINER="') and by["ansi"].table == "t 2"


async def test_trigger_with_role_definer(
    server: DBServer, instance: Instance, schema: str, mariadb: Flavor, role: str
) -> None:
    await _run(
        server,
        schema,
        [
            "create table t1 (a int)",
            f"create definer={role} trigger tr before insert on t1 for each row set @a=1",
        ],
    )
    flavor = await instance.flavor()
    (trigger,) = await load_triggers(instance, schema, flavor)
    _assert_faithful([trigger], flavor)
    assert trigger.definer == role and trigger.show_create.startswith(f"CREATE DEFINER=`{role}` trigger")


# --- events ---------------------------------------------------------------------

LATER = " starts '2030-01-01' disable do "


async def test_events_render_like_show_create(server: DBServer, instance: Instance, schema: str) -> None:
    await _run(
        server,
        schema,
        [
            "create table t1 (a int)",
            "create definer=current_user event e1 on schedule every 1 day starts '2030-01-01 00:00:00' "
            "on completion preserve disable comment 'ev' do begin delete from t1; end",
            "create event e2 on schedule every '1:30' hour_minute starts '2030-01-01' do delete from t1",
            "create event e3 on schedule at '2031-05-06 07:08:09' + interval 1 hour"
            " on completion not preserve disable on slave comment '' do  /* c */ delete from t1",
            "create event e4 on schedule every 2 quarter starts '2030-01-01' ends '2032-01-01 10:00:00' "
            "comment 'it''s\\\\ a\\nb' do delete from t1",
            "create event e5 on schedule every '1 2:3:4' day_second" + LATER + "delete from t1",
            "create event e6 on schedule every '1-2' year_month" + LATER + "delete from t1",
            "create event e7 on schedule every 3 week starts '2030-01-01' disable do delete from t1",
            "create event e8 on schedule every '5.5' minute_second" + LATER + "delete from t1",
            "create event e9 on schedule every '1 02' day_hour starts '2030-01-01' disable do delete from t1",
            "create event e10 on schedule every '10:00:30' hour_second" + LATER + "select 1",
            "create event e11 on schedule every '1 1:1' day_minute starts '2030-01-01' disable do select 1",
            "create event e12 on schedule every '90' minute disable do select '\U0001f600'   ",
            f"create definer={format_definer(GHOST)} event `e 13` on schedule every 5 year"
            " disable do\r\nselect 1",
            "set time_zone = '+05:00'",
            "create event tz1 on schedule every 1 hour starts '2030-01-01 00:00:00' ends '2030-02-01' "
            "disable do delete from t1",
            "create event tz2 on schedule at '2030-01-01 00:00:00' disable do delete from t1",
        ],
    )
    flavor = await instance.flavor()
    events = await load_events(instance, schema, flavor)
    assert len(events) == 15
    _assert_faithful(events, flavor)
    by = _by_name(events)
    e1 = by["e1"]
    assert (e1.interval_value, e1.interval_field, e1.starts) == ("1", "DAY", datetime(2030, 1, 1))
    assert (e1.on_completion, e1.status, e1.comment) == (OnCompletion.PRESERVE, EventStatus.DISABLED, "ev")
    assert (by["e2"].interval_value, by["e2"].interval_field) == ("1:30", "HOUR_MINUTE")
    assert "EVERY '1:30' HOUR_MINUTE STARTS" in by["e2"].show_create
    e3 = by["e3"]
    assert e3.execute_at == datetime(2031, 5, 6, 8, 8, 9) and e3.status is EventStatus.SLAVESIDE_DISABLED
    assert e3.body == "/* c */ delete from t1" and " COMMENT " not in e3.show_create
    assert by["e4"].comment == "it's\\ a\nb" and by["e4"].ends == datetime(2032, 1, 1, 10)
    assert by["e8"].interval_value == "5:5"  # the server's normalisation of '5.5'
    assert by["e10"].interval_value == "10:0:30"
    assert by["e12"].body == "select '\U0001f600'"  # emoji intact (information_schema shows '?')
    assert by["e 13"].definer == GHOST
    tz1 = by["tz1"]
    assert tz1.time_zone == "+05:00" and tz1.starts == datetime(2030, 1, 1)  # the event's own zone
    assert "STARTS '2030-01-01 00:00:00' ENDS '2030-02-01 00:00:00'" in tz1.show_create
    assert by["tz2"].execute_at == datetime(2030, 1, 1)


# --- query budget ---------------------------------------------------------------


def _objects_sql(start: int, n: int) -> list[str]:
    out = []
    for i in range(start, start + n):
        out += [
            f"create view v{i} as select {i} as n",
            f"create procedure p{i}(a int) comment 'c{i}' select a + {i}",
            f"create function f{i}() returns int deterministic return {i}",
            f"create trigger tr{i} before insert on t1 for each row set @x = {i}",
            f"create event e{i} on schedule every {i + 1} minute starts '2030-01-01' disable do select {i}",
        ]
    return out


class _Overlap:
    """Wraps Instance._query (used by Instance.query and Session.query) to record the
    peak number of queries in flight at once."""

    def __init__(self, instance: Instance) -> None:
        self.original = instance._query
        self.running = 0
        self.peak = 0

    async def __call__(self, conn: Any, sql: str, args: Sequence[Any] | None) -> list[Row]:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(0.001)  # a real query yields too; this makes any overlap observable
            return await self.original(conn, sql, args)
        finally:
            self.running -= 1


async def _load_all(instance: Instance, schema: str) -> tuple[list[Obj], dict[str, int]]:
    flavor = await instance.flavor()
    instance.query_counts.clear()
    groups = await asyncio.gather(
        load_views(instance, schema, flavor),
        load_routines(instance, schema, flavor),
        load_triggers(instance, schema, flavor),
        load_events(instance, schema, flavor),
    )
    objects: list[Obj] = [o for g in groups for o in g]
    return objects, dict(instance.query_counts)


async def test_bulk_queries_do_not_grow_with_object_count(
    server: DBServer, instance: Instance, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlap = _Overlap(instance)
    monkeypatch.setattr(instance, "_query", overlap)
    await _run(server, schema, ["create table t1 (a int)", *_objects_sql(0, 3)])
    small, small_counts = await _load_all(instance, schema)
    await _run(server, schema, _objects_sql(3, 27))
    overlap.peak = 0
    large, large_counts = await _load_all(instance, schema)
    flavor = await instance.flavor()
    assert len(small) == 5 * 3 and len(large) == 5 * 30
    _assert_faithful(large, flavor)

    def bulk(counts: dict[str, int]) -> int:
        return counts.get("information_schema", 0) + counts.get("mysql.proc", 0)

    assert bulk(small_counts) == bulk(large_counts) == 4  # one per object kind, never one per object
    assert small_counts.get("show create") == len(small) and large_counts.get("show create") == len(large)
    # USE (for SHOW CREATE VIEW) is bounded by the pool size, not by the number of views
    assert large_counts.get("use", 0) <= 2 * instance.pool_size
    assert set(large_counts) <= {"information_schema", "mysql.proc", "show create", "use"}
    # the SHOW CREATEs overlap up to the pool size: the loop never waits on one query at a time
    assert overlap.peak == instance.pool_size
