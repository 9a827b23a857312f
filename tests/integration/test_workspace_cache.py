"""The canonical-form cache in the temp-schema workspace, against the real test server.

Every run with a cache must give what a run without one gives (same Schema,
same texts, same failures) while running only what the cache can't answer.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.fs.logical import LogicalSchema
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.schema import Schema
from schemad.sqltext.classify import StatementKind, classify
from schemad.sqltext.splitter import Statement
from schemad.workspace.cache import CachedObject, CanonicalCache, server_fingerprint
from schemad.workspace.scratch import WorkspaceOptions
from schemad.workspace.tempschema import WorkspaceResult, exec_statements
from tests.conftest import DBServer
from tests.helpers import corpus_files

T, V, TR, EV = ObjectType.TABLE, ObjectType.VIEW, ObjectType.TRIGGER, ObjectType.EVENT
# One connection: run_creates runs the triggers of a table concurrently, so one with
# FOLLOWS/PRECEDES may race its anchor (error 4031) with or without a cache, at random.
SERIAL = WorkspaceOptions(temp_schema=f"_cache_ws_{os.getpid()}", concurrency=1)
PARALLEL = WorkspaceOptions(temp_schema=f"_cache_ws_{os.getpid()}")
FAILING_VIEW = ObjectKey(V, "v_big_spenders")  # calls a stored function (created before views)


def corpus(*, without: Iterable[ObjectKey] = ()) -> list[Statement]:
    skip = set(without)
    return [s for k, s in LogicalSchema.from_files(corpus_files()).creates.items() if k not in skip]


def statements(text: str) -> list[Statement]:
    return list(LogicalSchema.from_texts({"test.sql": text}).creates.values())


def edited(stmts: list[Statement], key: ObjectKey, old: str, new: str) -> list[Statement]:
    out = []
    for s in stmts:
        if s.key == key:
            assert old in s.text
            s = replace(s, text=s.text.replace(old, new))
        out.append(s)
    return out


async def run(
    params: ConnParams,
    stmts: list[Statement],
    cache: CanonicalCache | None = None,
    options: WorkspaceOptions = SERIAL,
) -> WorkspaceResult:
    return await exec_statements(
        params,
        stmts,
        schema_name="app",
        char_set="utf8mb4",
        collation="utf8mb4_general_ci",
        options=options,
        cache=cache,
    )


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent through Instance.execute_one / execute_each (the workspace's CREATEs go there)."""
    seen: list[str] = []
    original, original_each = Instance.execute_one, Instance.execute_each

    async def spy(self: Instance, sql: str) -> int:
        seen.append(sql)
        return await original(self, sql)

    async def spy_each(self: Instance, statements: Any) -> Any:
        seen.extend(statements)
        return await original_each(self, statements)

    monkeypatch.setattr(Instance, "execute_one", spy)
    monkeypatch.setattr(Instance, "execute_each", spy_each)
    return seen


def created(sqls: list[str]) -> set[ObjectKey]:
    """The objects whose CREATE ran; consumes the list."""
    keys = set()
    for sql in sqls:
        c = classify(sql)
        if c.kind is StatementKind.CREATE and c.key is not None:
            keys.add(c.key)
    sqls.clear()
    return keys


def of_type(keys: set[ObjectKey], *types: ObjectType) -> set[ObjectKey]:
    return {k for k in keys if k.type in types}


def _stable(schema: Schema) -> Schema:
    """A recurring event without STARTS gets its creation time: blank that out."""
    events = tuple(
        replace(e, starts=None, show_create=re.sub(r" STARTS '[^']*'", "", e.show_create))
        if e.name == "ev_every_no_starts"
        else e
        for e in schema.events
    )
    return replace(schema, events=events, _objects={})


def assert_same(expected: WorkspaceResult, got: WorkspaceResult, flavor: Any) -> None:
    assert got.failures == expected.failures
    a, b = _stable(expected.schema), _stable(got.schema)
    assert b == a
    pairs = zip(a.objects().items(), b.objects().items(), strict=True)
    for (ka, oa), (kb, ob) in pairs:
        assert ka == kb
        assert ob.show_create == oa.show_create, ka  # type: ignore[attr-defined]
        assert ob.create_statement(flavor) == oa.create_statement(flavor), ka
        assert ob.unsupported == oa.unsupported, ka


@pytest.fixture
async def flavor(instance: Instance) -> Any:
    return await instance.flavor()


async def test_corpus_without_cold_and_warm_cache_is_identical(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    stmts = corpus()
    plain = await run(server.params, stmts)
    assert plain.failures == ()  # routines run before views, so a view may call a function
    everything = created(executed)
    assert len(everything) == len(stmts)

    cold_cache = CanonicalCache(tmp_path / "c.sqlite3")
    cold = await run(server.params, stmts, cold_cache)
    assert_same(plain, cold, flavor)
    assert created(executed) == everything
    # every object but the events is stored
    assert cold_cache.stats.writes == len(stmts) - len(of_type(everything, EV))
    cold_cache.close()

    for warm_cache in (CanonicalCache(tmp_path / "c.sqlite3"), cold_cache):  # from disk, then memory
        writes = warm_cache.stats.writes
        warm = await run(server.params, stmts, warm_cache)
        assert_same(plain, warm, flavor)
        ran = created(executed)
        # Only the events (never cached) run.
        assert ran == of_type(everything, EV)
        assert warm_cache.stats.writes == writes
        warm_cache.close()


async def test_warm_run_creates_no_table(server: DBServer, tmp_path: Path, executed: list[str]) -> None:
    stmts = corpus(without=[FAILING_VIEW])
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        await run(server.params, stmts, cache)
        assert len(created(executed)) == len(stmts)
        warm = await run(server.params, stmts, cache)
    assert warm.failures == ()
    assert created(executed) == {k for s in stmts if (k := s.key) and k.type is EV}  # events only
    assert len(warm.schema.tables) >= 60


async def test_concurrent_cold_runs_share_the_work(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    # Three runs of one repo at once (the daemon building several environments): the keys are
    # looked up before the workspace lock, and again once it is held, so the runs that waited
    # find what the first one stored and create nothing.
    stmts = corpus(without=[FAILING_VIEW])
    tables = {k for s in stmts if (k := s.key) and k.type is T}
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        results = await asyncio.gather(*(run(server.params, stmts, cache) for _ in range(3)))
        runs = cache.stats.statements_run
    assert all(r.failures == () for r in results)
    for r in results[1:]:
        assert_same(results[0], r, flavor)
    table_creates = [
        sql for sql in executed if (c := classify(sql)).key in tables and c.kind is StatementKind.CREATE
    ]
    assert len(table_creates) == len(tables)  # each table once, not once per run
    assert runs == len(stmts) + 2 * len(of_type({s.key for s in stmts if s.key}, EV))  # events never cached


async def test_changed_table_reruns_only_it_and_views_reading_it(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    stmts = corpus(without=[FAILING_VIEW])
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        await run(server.params, stmts, cache)
        changed = edited(stmts, ObjectKey(T, "no_pk"), "c datetime", "c datetime,\n  d int")
        created(executed)
        got = await run(server.params, changed, cache)
        ran = created(executed)
    events = of_type(ran, EV)
    # v_star (SELECT * FROM no_pk) re-runs, with every routine since a view may call one.
    assert {k for k in ran - events if k.type not in (ObjectType.PROCEDURE, ObjectType.FUNCTION)} == {
        ObjectKey(T, "no_pk"),
        ObjectKey(V, "v_star"),
    }
    assert of_type(ran, ObjectType.PROCEDURE, ObjectType.FUNCTION)  # created for the view
    expected = await run(server.params, changed)
    assert_same(expected, got, flavor)
    v_star = next(v for v in got.schema.views if v.name == "v_star")
    assert "`no_pk`.`d` AS `d`" in v_star.show_create


async def test_same_canonical_text_keeps_views_cached(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    """A table edit the server doesn't see (case, spacing) re-runs the table, not what reads it."""
    stmts = corpus(without=[FAILING_VIEW])
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        await run(server.params, stmts, cache)
        changed = edited(stmts, ObjectKey(T, "no_pk"), "a int,", "a   INT ,")
        created(executed)
        got = await run(server.params, changed, cache)
        ran = created(executed)
    assert ran - of_type(ran, EV) == {ObjectKey(T, "no_pk")}
    assert_same(await run(server.params, changed), got, flavor)


async def test_changed_table_reruns_its_triggers(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    stmts = corpus(without=[FAILING_VIEW])
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        await run(server.params, stmts, cache)
        changed = edited(stmts, ObjectKey(T, "fk_customers"), "name varchar(100)", "name varchar(150)")
        created(executed)
        got = await run(server.params, changed, cache)
        ran = created(executed)
    assert_same(await run(server.params, changed), got, flavor)
    triggers = {ObjectKey(TR, "trg_customers_ai"), ObjectKey(TR, "trg_customers_bu")}
    assert of_type(ran, TR) == triggers
    # v_active_customers and v_customer_orders read the name column; v_active_local reads
    # v_active_customers; v_big_spenders (left out) is the only other reader.
    readers = {ObjectKey(V, n) for n in ("v_active_customers", "v_active_local", "v_customer_orders")}
    assert of_type(ran, V) == readers


async def test_fk_child_of_a_changed_parent_reruns(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    """With foreign_key_checks=0 the server still checks a parent that exists: the child now fails."""
    stmts = corpus(without=[FAILING_VIEW])
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        await run(server.params, stmts, cache)
        changed = edited(stmts, ObjectKey(T, "fk_regions"), "code varchar(10)", "code int")
        created(executed)
        got = await run(server.params, changed, cache)
        ran = created(executed)
    assert ObjectKey(T, "fk_customers") in {f.key for f in got.failures}
    assert {ObjectKey(T, "fk_regions"), ObjectKey(T, "fk_customers")} <= ran
    assert_same(await run(server.params, changed), got, flavor)


class ForgetfulCache(CanonicalCache):
    """Never stores one object: as if its statement had failed (e.g. lost a race) in that run."""

    def __init__(self, path: Path, forget: ObjectKey) -> None:
        super().__init__(path)
        self.forget = forget

    def put_many(self, items: Mapping[str, CachedObject]) -> None:
        super().put_many({k: o for k, o in items.items() if o.key != self.forget})


async def test_a_trigger_that_missed_reruns_with_its_siblings(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    """trg_orders_bi_follows FOLLOWS trg_orders_bi: alone in the workspace it could not be created."""
    stmts = corpus(without=[FAILING_VIEW])
    follows = ObjectKey(TR, "trg_orders_bi_follows")
    with ForgetfulCache(tmp_path / "c.sqlite3", follows) as cache:
        await run(server.params, stmts, cache)
        created(executed)
        got = await run(server.params, stmts, cache)
        ran = created(executed)
    assert_same(await run(server.params, stmts), got, flavor)
    orders_triggers = {t.key for t in got.schema.triggers if t.table == "fk_orders"}
    assert of_type(ran, TR) == orders_triggers
    assert [
        t.action_order for t in got.schema.triggers if t.table == "fk_orders" and t.event == "INSERT"
    ] == [
        1,
        2,
        3,
    ]


EXTRA = """
CREATE VIEW v_orders_star AS SELECT * FROM fk_orders;
CREATE VIEW v_orders_star2 AS SELECT s.*, 1 AS one FROM v_orders_star s;
CREATE TRIGGER trg_orders_extra BEFORE UPDATE ON fk_orders FOR EACH ROW SET NEW.extra = OLD.extra + 1;
"""


async def test_views_and_triggers_on_a_changed_table_rerun_and_come_out_right(
    server: DBServer, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    stmts = corpus(without=[FAILING_VIEW]) + statements(EXTRA)
    extra_trigger = ObjectKey(TR, "trg_orders_extra")
    with CanonicalCache(tmp_path / "c.sqlite3") as cache:
        before = await run(server.params, stmts, cache)
        assert [f.key for f in before.failures] == [extra_trigger]  # no column `extra` yet
        assert_same(await run(server.params, stmts), before, flavor)
        created(executed)

        changed = edited(
            stmts, ObjectKey(T, "fk_orders"), "  note varchar(255),", "  note varchar(255),\n  extra int,"
        )
        got = await run(server.params, changed, cache)
        ran = created(executed)
        assert got.failures == ()
        assert_same(await run(server.params, changed), got, flavor)
        created(executed)

        # ... and the new state is cached in turn.
        again = await run(server.params, changed, cache)
        assert_same(got, again, flavor)
        assert of_type(created(executed), T, V, TR) == set()

    orders_triggers = {t.key for t in got.schema.triggers if t.table == "fk_orders"}
    assert extra_trigger in orders_triggers and len(orders_triggers) == 7
    readers = {
        ObjectKey(V, n)
        for n in ("v_orders_star", "v_orders_star2", "v_customer_orders", "v_order_totals", "v_window")
    }
    assert orders_triggers | readers | {ObjectKey(T, "fk_orders")} <= ran
    # FK children of the changed table re-run too (a parent that exists is checked)...
    assert {ObjectKey(T, "fk_order_items"), ObjectKey(T, "fk_multi")} <= ran
    # ... but nothing unrelated, and no view whose inputs kept their canonical text.
    unrelated = {
        ObjectKey(T, "no_pk"),
        ObjectKey(T, "int_signed"),
        ObjectKey(V, "v_star"),
        ObjectKey(V, "v_subquery"),
    }
    assert not ran & unrelated
    # Routines are re-created (not re-introspected into the cache) because views and triggers ran.
    assert of_type(ran, ObjectType.PROCEDURE, ObjectType.FUNCTION)
    assert {t for t in of_type(ran, TR)} == orders_triggers
    assert len(of_type(ran, T)) <= 8

    star = {v.name: v.show_create for v in got.schema.views}
    assert "`fk_orders`.`extra` AS `extra`" in star["v_orders_star"]
    assert "`s`.`extra` AS `extra`" in star["v_orders_star2"]


SMALL = """
CREATE TABLE t_fp (id int PRIMARY KEY, ts timestamp NULL DEFAULT '2020-01-01 00:00:00');
CREATE VIEW v_fp AS SELECT * FROM t_fp;
"""


async def test_a_changed_server_setting_invalidates(
    server: DBServer, instance: Instance, tmp_path: Path, executed: list[str], flavor: Any
) -> None:
    stmts = statements(SMALL)
    cache = CanonicalCache(tmp_path / "c.sqlite3")
    first = await run(server.params, stmts, cache, PARALLEL)
    assert "ENGINE=InnoDB" in first.schema.tables[0].show_create
    await run(server.params, stmts, cache, PARALLEL)
    created(executed)
    assert cache.stats.memory_hits == 2

    # A global the workspace's sessions inherit: same statements, other canonical form.
    fingerprint = await server_fingerprint(instance)
    old = (await instance.query("SELECT @@global.default_storage_engine AS e"))[0]["e"]
    await instance.execute("SET GLOBAL default_storage_engine = MyISAM")
    try:
        async with Instance(server.params) as fresh:
            assert await server_fingerprint(fresh) != fingerprint
        got = await run(server.params, stmts, cache, PARALLEL)
        assert created(executed) == {ObjectKey(T, "t_fp"), ObjectKey(V, "v_fp")}
        assert "ENGINE=MyISAM" in got.schema.tables[0].show_create
        assert_same(await run(server.params, stmts, options=PARALLEL), got, flavor)
    finally:
        await instance.execute(f"SET GLOBAL default_storage_engine = {old}")
    created(executed)

    # Back to the old setting: the old entries answer again.
    back = await run(server.params, stmts, cache, PARALLEL)
    assert created(executed) == set()
    assert_same(first, back, flavor)

    # A session variable from connect-options.
    zoned = server.params.with_session(time_zone="'+05:00'")
    got = await run(zoned, stmts, cache, PARALLEL)
    assert created(executed) == {ObjectKey(T, "t_fp"), ObjectKey(V, "v_fp")}
    assert_same(await run(zoned, stmts, options=PARALLEL), got, flavor)
    cache.close()


async def test_a_broken_cache_file_changes_nothing(
    server: DBServer, tmp_path: Path, flavor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    stmts = statements(SMALL)
    with CanonicalCache(path) as cache:
        got = await run(server.params, stmts, cache, PARALLEL)
    assert "continuing without it" in caplog.text
    assert_same(await run(server.params, stmts, options=PARALLEL), got, flavor)
