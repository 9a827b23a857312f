"""Pre-flight checks and the leftover inventory / clean-up, against the suite's real server.

`preflight` refuses a table without a PRIMARY or UNIQUE KEY, one with
triggers (pt-osc: unless --preserve-triggers), an open transaction older
than the threshold, a session waiting for a metadata lock, and gh-ost /
Spirit on a server that writes no binary log (the test server); names in
`skip` are not checked.  `scan_leftovers` finds every tool's names next to
the tables of a schema; `drop_leftovers` drops triggers first, keeps a
renamed original whose table is missing, and reports what is already gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from schemad.apply.leftovers import Leftover, LeftoverKind, drop_leftovers, find_leftovers, scan_leftovers
from schemad.apply.preflight import preflight
from schemad.apply.progress import Tool
from schemad.connection.instance import Instance
from tests.conftest import DBServer

pytestmark = pytest.mark.db


def refusals(findings: tuple[object, ...]) -> dict[str, str]:
    return {f.check: f.message for f in findings if f.refuse}  # type: ignore[attr-defined]


async def test_a_table_fit_for_an_online_change_passes(instance: Instance, schema: str) -> None:
    await instance.execute(f"CREATE TABLE `{schema}`.`ok` (id int PRIMARY KEY, v int)")
    assert refusals(await preflight(instance, schema, "ok", Tool.PT_OSC)) == {}
    # gh-ost and Spirit read the binary log, which the test server does not write.
    found = refusals(await preflight(instance, schema, "ok", Tool.GH_OST))
    assert list(found) == ["binlog"] and "log_bin is off" in found["binlog"]
    assert refusals(await preflight(instance, schema, "ok", Tool.SPIRIT, skip={"binlog"})) == {}


async def test_no_key_and_triggers_refuse(instance: Instance, schema: str) -> None:
    await instance.execute(f"CREATE TABLE `{schema}`.`nokey` (v int, KEY (v))")
    found = refusals(await preflight(instance, schema, "nokey", Tool.PT_OSC))
    assert "has no PRIMARY KEY or UNIQUE KEY" in found["key"]
    await instance.execute(f"CREATE TABLE `{schema}`.`uk` (v int NOT NULL, UNIQUE KEY (v))")
    await instance.execute(
        f"CREATE TRIGGER `{schema}`.`uk_ai` AFTER INSERT ON `{schema}`.`uk` FOR EACH ROW SET @x = 1"
    )
    found = refusals(await preflight(instance, schema, "uk", Tool.GH_OST, skip={"binlog"}))
    assert list(found) == ["triggers"] and "(uk_ai), which gh-ost refuses" in found["triggers"]
    kept = await preflight(
        instance, schema, "uk", Tool.PT_OSC, command="pt-online-schema-change --preserve-triggers"
    )
    assert refusals(kept) == {} and any(f.check == "triggers" for f in kept)


@contextlib.asynccontextmanager
async def other_session(server: DBServer) -> AsyncIterator[Instance]:
    inst = Instance(server.params, pool_size=1)
    try:
        yield inst
    finally:
        await inst.close()


async def test_long_transactions_and_metadata_lock_waiters_refuse(
    instance: Instance, schema: str, server: DBServer
) -> None:
    t = f"`{schema}`.`busy`"
    await instance.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
    async with other_session(server) as a, a.connection() as holder, other_session(server) as b:
        async with holder.cursor() as cur:
            await cur.execute("START TRANSACTION")
            await cur.execute(f"SELECT * FROM {t} FOR UPDATE")
        await asyncio.sleep(2.2)
        found = refusals(await preflight(instance, schema, "busy", Tool.PT_OSC, max_trx_age=1))
        assert "1 transaction(s) open for more than 1s" in found["long_transactions"]
        assert "long_transactions" not in refusals(
            await preflight(instance, schema, "busy", Tool.PT_OSC, max_trx_age=0)
        )
        # A session that wants the table's metadata lock waits behind the open transaction.
        waiter = asyncio.ensure_future(b.execute(f"ALTER TABLE {t} ADD COLUMN w int"))
        try:
            for _ in range(100):
                found = refusals(await preflight(instance, schema, "busy", Tool.PT_OSC, max_trx_age=0))
                if "metadata_lock_waiters" in found:
                    break
                await asyncio.sleep(0.05)
            assert "1 session(s) are waiting for" in found["metadata_lock_waiters"], found
        finally:
            async with holder.cursor() as cur:
                await cur.execute("ROLLBACK")
            await waiter


async def test_scan_finds_every_tools_names_and_cleanup_keeps_a_lone_original(
    instance: Instance, schema: str
) -> None:
    s = f"`{schema}`"
    for name in (
        "orders",
        "users",
        "items",
        "_orders_gho",
        "_orders_ghc",
        "_users_chkpnt",
        "_items_new",
        "_spirit_sentinel",
        "_gone_del",
        "_users_old_20260814_114700",
        "_unrelated_new",
    ):
        await instance.execute(f"CREATE TABLE {s}.`{name}` (id int PRIMARY KEY)")
    await instance.execute(
        f"CREATE TRIGGER {s}.`pt_osc_{schema}_items_ins` AFTER INSERT ON {s}.`items` FOR EACH ROW"
        f" INSERT INTO {s}.`_items_new` VALUES (NEW.id)"
    )
    found = await scan_leftovers(instance, schema)
    assert [(x.kind, x.name, x.table, x.tool) for x in found] == [
        (LeftoverKind.TABLE, "_items_new", "items", Tool.PT_OSC),
        (LeftoverKind.TABLE, "_orders_ghc", "orders", Tool.GH_OST),
        (LeftoverKind.TABLE, "_orders_gho", "orders", Tool.GH_OST),
        (LeftoverKind.TABLE, "_spirit_sentinel", "", Tool.SPIRIT),
        (LeftoverKind.TABLE, "_users_chkpnt", "users", Tool.SPIRIT),
        (LeftoverKind.TABLE, "_users_old_20260814_114700", "users", Tool.SPIRIT),
        (LeftoverKind.TRIGGER, f"pt_osc_{schema}_items_ins", "items", Tool.PT_OSC),
    ]  # `_gone_del`: no `gone` beside it; `_unrelated_new`: no `unrelated`
    by_table = await find_leftovers(instance, schema, "items", prefer=Tool.SPIRIT)
    assert [(x.name, x.tool) for x in by_table] == [
        ("_items_new", Tool.SPIRIT),
        ("_spirit_sentinel", Tool.SPIRIT),
        (f"pt_osc_{schema}_items_ins", Tool.PT_OSC),
    ]

    lone = Leftover(LeftoverKind.TABLE, schema, "_gone_del", Tool.GH_OST, "gone")
    listed = (*[x for x in found if x.table in ("items", "users")], lone)
    done = await drop_leftovers(instance, listed)
    assert [x.name for x in done.dropped] == [
        f"pt_osc_{schema}_items_ins",  # the trigger before the table it writes into
        "_items_new",
        "_users_chkpnt",
        "_users_old_20260814_114700",
    ]
    assert [(x.name, why) for x, why in done.refused] == [
        ("_gone_del", "`gone` itself is missing: this may be the only copy of its data")
    ]
    assert done.failed == () and done.gone == ()
    again = await drop_leftovers(instance, listed)
    assert again.dropped == () and sorted(x.name for x in again.gone) == sorted(x.name for x in done.dropped)
    left = {x.name for x in await scan_leftovers(instance, schema)}
    assert left == {"_spirit_sentinel", "_orders_ghc", "_orders_gho"}
