"""The ignore-* options as one rule: which kinds each pattern reaches (Skeema's ignore regex options)."""

from __future__ import annotations

import re

import pytest

from schemad.fs.logical import LogicalSchema
from schemad.introspect.filters import Filters
from schemad.model.keys import ObjectType

T, V, P, F, TR, E = (
    ObjectType.TABLE,
    ObjectType.VIEW,
    ObjectType.PROCEDURE,
    ObjectType.FUNCTION,
    ObjectType.TRIGGER,
    ObjectType.EVENT,
)
FILTERS = Filters(
    table=re.compile("^tmp_"),
    proc=re.compile("^p_"),
    func=re.compile("^f_"),
    view=re.compile("^v_"),
    trigger=re.compile("^pt_osc"),
    event=re.compile("(?i)^purge"),
)


@pytest.mark.parametrize(
    ("type_", "name", "on_table", "ignored"),
    [
        (T, "tmp_a", None, True),
        (T, "v_a", None, False),  # ignore-view reaches views only
        (V, "v_a", None, True),
        (V, "tmp_a", None, True),  # ignore-table reaches views: one namespace
        (V, "users", None, False),
        (P, "p_x", None, True),
        (P, "f_x", None, False),
        (F, "f_x", None, True),
        (TR, "pt_osc_ins", "users", True),
        (TR, "audit", "tmp_log", True),  # a trigger of an ignored table
        (TR, "audit", "users", False),
        (TR, "tmp_x", "users", False),  # ignore-table matches the trigger's table, not its name
        (E, "PURGE_old", None, True),
        (E, "tmp_e", None, False),
    ],
)
def test_each_pattern_reaches_its_kinds(
    type_: ObjectType, name: str, on_table: str | None, ignored: bool
) -> None:
    assert FILTERS.ignores(type_, name, on_table=on_table) is ignored


def test_no_patterns_ignore_nothing() -> None:
    assert not any(Filters().ignores(t, "x", on_table="x") for t in (T, V, P, F, TR, E))


def test_logical_schema_leaves_out_what_the_rule_ignores() -> None:
    text = """CREATE TABLE users (id int);
CREATE TABLE tmp_log (id int);
CREATE VIEW v_users AS SELECT id FROM users;
CREATE VIEW tmp_view AS SELECT id FROM users;
CREATE VIEW active AS SELECT id FROM users;
CREATE TRIGGER audit BEFORE INSERT ON tmp_log FOR EACH ROW SET @x = 1;
CREATE TRIGGER pt_osc_ins BEFORE INSERT ON users FOR EACH ROW SET @x = 1;
CREATE TRIGGER kept BEFORE UPDATE ON users FOR EACH ROW SET @x = 1;
CREATE EVENT purge_all ON SCHEDULE EVERY 1 DAY DO DELETE FROM users;
CREATE EVENT rollup ON SCHEDULE EVERY 1 DAY DO DELETE FROM users;
"""
    ls = LogicalSchema.from_texts({"a.sql": text}, ignore=FILTERS)
    assert sorted((k.type.value, k.name) for k in ls.creates) == [
        ("event", "rollup"),
        ("table", "users"),
        ("trigger", "kept"),
        ("view", "active"),
    ]
