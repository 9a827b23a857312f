"""The names pt-online-schema-change, gh-ost and Spirit give what they create (as their sources do)."""

from __future__ import annotations

import pytest

from schemad.apply.leftovers import Leftover, LeftoverKind, leftover_names, scaffolding
from schemad.apply.progress import Tool


def test_names_for_a_plain_table() -> None:
    tables, triggers = leftover_names("shop", "big")
    assert tables["_big_new"] is Tool.PT_OSC and tables["__big_new"] is Tool.PT_OSC
    assert tables["_big_old"] is Tool.PT_OSC and "_" * 11 + "big_old" in tables
    assert "_" * 12 + "big_new" not in tables  # pt-osc gives up after 10 more tries
    assert {k: v for k, v in tables.items() if v is Tool.GH_OST} == {
        "_big_gho": Tool.GH_OST,
        "_big_ghc": Tool.GH_OST,
        "_big_ghk": Tool.GH_OST,
        "_big_del": Tool.GH_OST,
        "_big_rev_del": Tool.GH_OST,
    }
    # Spirit's _new/_old are pt-osc's names too (listed as pt-osc's unless the caller knows better).
    assert {k: v for k, v in tables.items() if v is Tool.SPIRIT} == {"_big_chkpnt": Tool.SPIRIT}
    assert triggers == {
        "pt_osc_shop_big_ins": Tool.PT_OSC,
        "pt_osc_shop_big_upd": Tool.PT_OSC,
        "pt_osc_shop_big_del": Tool.PT_OSC,
    }


@pytest.mark.parametrize(
    ("schema", "table", "prefix"),
    [
        ("my-db", "t.1", "pt_osc_my_db_t_1"),  # Perl's \W -> _
        ("caf\u00e9", "t", "pt_osc_caf___t"),  # one _ per UTF-8 byte of the e-acute, then the separator
        ("s" * 40, "t" * 40, ("pt_osc_" + "s" * 40 + "_" + "t" * 40)[:60]),  # cut to 60
    ],
)
def test_trigger_prefix_follows_pt_osc(schema: str, table: str, prefix: str) -> None:
    _, triggers = leftover_names(schema, table)
    assert sorted(triggers) == sorted(f"{prefix}_{op}" for op in ("ins", "upd", "del"))
    assert all(len(name) <= 64 for name in triggers)


def test_long_table_names_are_cut_to_64_like_pt_osc_does() -> None:
    table = "x" * 62
    tables, _ = leftover_names("s", table)
    assert ("_" + table + "_new")[:64] in tables
    assert all(len(name) <= 64 for name in tables)
    assert table not in tables
    # gh-ost and Spirit cut the table name, not the whole name: the suffix stays.
    assert "_" + "x" * 59 + "_gho" in tables and "_" + "x" * 56 + "_chkpnt" in tables


def test_drop_sql_quotes_names() -> None:
    x = Leftover(LeftoverKind.TRIGGER, "my`db", "pt_osc_my_db_t_ins", Tool.PT_OSC, "t")
    assert x.drop_sql() == "DROP TRIGGER IF EXISTS `my``db`.`pt_osc_my_db_t_ins`"
    y = Leftover(LeftoverKind.TABLE, "s", "_t_new", Tool.PT_OSC, "t")
    assert y.drop_sql() == "DROP TABLE IF EXISTS `s`.`_t_new`"


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        (LeftoverKind.TRIGGER, "pt_osc_shop_big_ins", True),
        (LeftoverKind.TABLE, "_big_new", True),
        (LeftoverKind.TABLE, "___big_new", True),
        (LeftoverKind.TABLE, "_big_gho", True),
        (LeftoverKind.TABLE, "_big_ghc", True),
        (LeftoverKind.TABLE, "_BIG_NEW", True),  # the server may spell it in another case
        (LeftoverKind.TABLE, "_big_old", False),  # after a swap: the only copy of the old data
        (LeftoverKind.TABLE, "__big_old", False),
        (LeftoverKind.TABLE, "_big_del", False),  # gh-ost's renamed original
    ],
)
def test_scaffolding_is_what_only_a_running_tool_needs(kind: LeftoverKind, name: str, expected: bool) -> None:
    assert scaffolding(Leftover(kind, "shop", name, Tool.PT_OSC, "big")) is expected


def test_a_cut_name_that_is_both_a_copy_and_an_original_is_not_scaffolding() -> None:
    table = "x" * 62
    cut = ("_" + table + "_new")[:64]
    assert cut == ("_" + table + "_old")[:64]
    assert not scaffolding(Leftover(LeftoverKind.TABLE, "s", cut, Tool.PT_OSC, table))
