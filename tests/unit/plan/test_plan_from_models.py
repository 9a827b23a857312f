"""plan_from_models: the plan from two models, with refusals and routes; no server."""

from __future__ import annotations

from dataclasses import replace

from schemad.connection.params import ConnParams
from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import StatementModifiers
from schemad.model.flavor import MARIADB_10_11
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.plan.planner import (
    PlanOptions,
    RefusalKind,
    TableSize,
    Target,
    plan_from_models,
    sizes_needed,
)
from schemad.plan.routes import RouteKind, WrapperConfig
from schemad.plan.verify import VerifyProblem
from tests.unit.diff.test_table_diff import ID, PK, col

MODS = StatementModifiers(MARIADB_10_11)
TARGET = Target("production", "db1:3306", ConnParams(host="db1", port=3306, user="u"), "shop", "/repo/shop")
ALTER = "pt-online-schema-change --alter {CLAUSES} D={SCHEMA},t={TABLE}"


def table(name: str, *columns: object) -> Table:
    return Table(name, (ID, *columns), primary_key=PK)  # type: ignore[arg-type]


def schema(*tables: Table) -> Schema:
    return Schema("shop", "utf8mb4", "utf8mb4_general_ci", tables=tables)


LIVE = schema(table("a", col("x")), table("b", col("y")), table("gone"))
DESIRED = schema(table("a", col("x"), col("z")), table("b", col("y")), table("new"))


def plan(opts: PlanOptions, sizes: dict[str, int] | None = None, mods: StatementModifiers = MODS):  # type: ignore[no-untyped-def]
    return plan_from_models(TARGET, LIVE, DESIRED, mods, opts, {} if sizes is None else sizes)


def test_statements_in_skeema_order_with_the_unsafe_drop_refused() -> None:
    p = plan(PlanOptions(mods=MODS))
    assert [(s.step.key.name, s.step.kind) for s in p.steps] == [
        ("a", DiffKind.ALTER),
        ("gone", DiffKind.DROP),
        ("new", DiffKind.CREATE),
    ]
    refused = [(s.step.key.name, s.refused.kind) for s in p.steps if s.refused is not None]
    assert refused == [("gone", RefusalKind.UNSAFE)]
    assert p.blocked and all(s.route.kind is RouteKind.DIRECT for s in p.steps)


def test_allow_unsafe_and_safe_below_size() -> None:
    allowed = replace(MODS, allow_unsafe=True)
    assert not plan(PlanOptions(mods=allowed), mods=allowed).refused
    small = PlanOptions(mods=MODS, safe_below_size=1000)
    assert not plan(small, {"gone": 10}).refused
    assert [s.step.key.name for s in plan(small, {"gone": 5000}).refused] == ["gone"]


def test_routes_are_decided_at_plan_time() -> None:
    opts = PlanOptions(mods=MODS, wrappers=WrapperConfig(alter_wrapper=ALTER))
    routes = {s.step.key.name: s.route for s in plan(opts).steps}
    assert routes["a"].kind is RouteKind.ALTER_WRAPPER
    assert routes["a"].command is not None and "D=shop,t=a" in routes["a"].command
    assert routes["new"].kind is RouteKind.DIRECT and routes["new"].command is None


def test_size_dependent_routes_wait_for_the_sizes() -> None:
    opts = PlanOptions(mods=MODS, wrappers=WrapperConfig(alter_wrapper=ALTER, alter_wrapper_min_size=1 << 20))
    assert sizes_needed(LIVE, DESIRED, MODS, opts) == ["a", "gone"]  # what the desired side changes or drops
    unknown = plan_from_models(TARGET, LIVE, DESIRED, MODS, opts, None)
    assert {s.route.kind for s in unknown.steps} == {RouteKind.PENDING} and unknown.wrappers is None
    small = {s.step.key.name: s.route.kind for s in plan(opts, {"a": 100}).steps}
    big = {s.step.key.name: s.route.kind for s in plan(opts, {"a": 2 << 20}).steps}
    assert (small["a"], big["a"]) == (RouteKind.DIRECT, RouteKind.ALTER_WRAPPER)


def test_no_sizes_are_needed_without_options_that_use_them() -> None:
    assert sizes_needed(LIVE, DESIRED, MODS, PlanOptions(mods=MODS)) == []


def test_a_missing_schema_is_created_first() -> None:
    p = plan_from_models(TARGET, None, DESIRED, MODS, PlanOptions(mods=MODS), {})
    assert p.steps[0].step.key == ObjectKey(ObjectType.DATABASE, "shop")
    assert p.steps[0].step.kind is DiffKind.CREATE


def test_the_plan_hash_names_the_statements() -> None:
    opts = PlanOptions(mods=MODS)
    a, b = plan(opts), plan(opts)
    assert a.plan_hash == b.plan_hash and len(a.plan_hash) == 64
    other = plan_from_models(TARGET, LIVE, LIVE, MODS, opts, {})
    assert other.steps == () and other.plan_hash != a.plan_hash
    elsewhere = plan_from_models(replace(TARGET, schema="shop2"), LIVE, DESIRED, MODS, opts, {})
    assert [s.step.sql for s in elsewhere.steps] == [s.step.sql for s in a.steps]
    assert elsewhere.plan_hash != a.plan_hash  # the same statements for another schema are another plan


def test_refusals_name_the_statement_and_why() -> None:
    p = plan(PlanOptions(mods=MODS))
    (r,) = p.refusals
    assert (r.kind, r.object) == (RefusalKind.UNSAFE, ObjectKey(ObjectType.TABLE, "gone"))
    assert r.reason.startswith("DROP TABLE `gone` (") and str(r).startswith("unsafe: DROP TABLE `gone` (")
    problem = VerifyProblem("a", "after the ALTER it still differs")
    verified = replace(p, verify_problems=(problem,))
    assert [(x.kind, x.reason) for x in verified.refusals[1:]] == [
        (RefusalKind.VERIFY, "a: after the ALTER it still differs")
    ]


def test_only_tables_keeps_those_tables_alone() -> None:
    p = replace(plan(PlanOptions(mods=MODS)), verify_problems=(VerifyProblem("gone", "x"),))
    gone = p.only_tables(["gone"])
    assert [s.step.key.name for s in gone.steps] == [s.key.name for s in gone.diff.steps] == ["gone"]
    assert gone.verify_problems == p.verify_problems and gone.refused == p.refused
    assert p.only_tables(["a"]).verify_problems == () and not p.only_tables(["a"]).refused
    missing = plan_from_models(TARGET, None, DESIRED, MODS, PlanOptions(mods=MODS), {})
    assert all(s.step.key.type is ObjectType.TABLE for s in missing.only_tables(["a", "new"]).steps)


def test_table_size_is_zero_without_rows() -> None:
    assert TableSize(16384, 0).size == 0 and TableSize(16384, 3).size == 16384
