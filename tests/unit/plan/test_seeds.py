"""plan.seeds through plan_from_models: which INSERTs a plan runs, where, and what blocks it; no server."""

from __future__ import annotations

from schemad.diff.kinds import DiffKind
from schemad.fs.logical import LogicalSchema
from schemad.model.keys import ObjectType
from schemad.plan.planner import PlanOptions, plan_from_models
from tests.unit.plan.test_plan_from_models import DESIRED, LIVE, MODS, TARGET

FILES = {
    "new.sql": "INSERT INTO new (id) VALUES (1), (2);\n",
    "b.sql": "INSERT INTO b (id, y) VALUES (1, 2);\nINSERT INTO shop.b (id) VALUES (3);\n",
}


def plan(files: dict[str, str], empty: set[str], inserts: str = "seed"):  # type: ignore[no-untyped-def]
    logical = LogicalSchema.from_texts(files)
    opts = PlanOptions(mods=MODS, inserts=inserts)
    return plan_from_models(TARGET, LIVE, DESIRED, MODS, opts, {}, logical=logical, empty=empty)


def test_new_tables_get_their_inserts_after_the_table_statements() -> None:
    p = plan(FILES, empty=set())
    assert [(s.step.key.name, s.step.kind) for s in p.steps] == [
        ("a", DiffKind.ALTER),
        ("gone", DiffKind.DROP),
        ("new", DiffKind.CREATE),
        ("new", DiffKind.INSERT),
    ]
    assert p.steps[-1].step.sql == "INSERT INTO new (id) VALUES (1), (2)"
    assert not p.failures


def test_an_empty_live_table_gets_them_in_file_order_unqualified() -> None:
    p = plan(FILES, empty={"b"})
    inserts = [s.step.sql for s in p.steps if s.step.kind is DiffKind.INSERT]
    assert inserts == [  # in the order the files were read
        "INSERT INTO new (id) VALUES (1), (2)",
        "INSERT INTO b (id, y) VALUES (1, 2)",
        "INSERT INTO `b` (id) VALUES (3)",  # the qualifier goes: the target's schema is in use
    ]


def test_the_plan_hash_covers_them_and_inserts_none_leaves_them_out() -> None:
    seeded, bare = plan(FILES, empty={"b"}), plan(FILES, empty={"b"}, inserts="none")
    assert not [s for s in bare.steps if s.step.kind is DiffKind.INSERT]
    assert seeded.plan_hash != bare.plan_hash
    assert plan(FILES, empty=set()).plan_hash != seeded.plan_hash


def test_a_dropped_table_or_one_with_rows_gets_none() -> None:
    files = {
        "gone.sql": "INSERT INTO gone (id) VALUES (1);\n",
        "b.sql": "INSERT INTO b (id, y) VALUES (1, 2);\n",
    }
    p = plan(files, empty={"gone"})  # "b" has rows: not in `empty`
    assert [s for s in p.steps if s.step.kind is DiffKind.INSERT] == []
    assert [f.message for f in p.failures] == [
        "INSERT into table `gone`, which no CREATE TABLE of this dir defines"
    ]


def test_misfits_block_the_plan_at_file_line() -> None:
    files = {
        "x.sql": "-- x\nINSERT INTO b (id, nope) VALUES (1, 2);\n",
        "y.sql": "INSERT INTO other.b (id) VALUES (1);\n",
    }
    p = plan(files, empty={"b"})
    assert [str(f) for f in p.failures] == [
        "x.sql:2:1: table `b`: column `nope` does not exist in table `b`",
        "y.sql:1:1: table `b`: INSERT into schema `other`: seed data may only name this dir's schema",
    ]
    assert not [s for s in p.steps if s.step.kind is DiffKind.INSERT]
    assert all(s.step.key.type is not ObjectType.DATABASE for s in p.steps)
