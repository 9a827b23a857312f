"""Which of a dir's seed INSERTs a plan runs, and where, with Skeema's `inserts=seed` meaning.

A table's INSERTs (schemad.sqltext.inserts) join the plan when the plan
creates the table, or when the live table exists and is known to be empty
(the caller asks the table itself; a row estimate is only good enough for a
diff that is not pushed).  They go after every table statement and before
routines, views, triggers and events, so that they see the tables' final
columns and no trigger the same push creates fires on them; in file order.
Each runs without its schema qualifier (the target's schema is in use).
The push checks again, right before each INSERT, that its table is empty.

An INSERT whose table no CREATE of the dir defines, that names a column the
table lacks (or a generated one), whose rows have the wrong number of
values, or that names a schema other than the target's (or one the dir's
`schema` spells out) is a failure at its file:line: the target is skipped,
as for a statement the workspace rejects.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.model.schema import Schema
from schemad.records import dataclass
from schemad.sqltext.inserts import SeedInsert, check_insert
from schemad.workspace.result import StatementFailure

__all__ = ["NONE", "SEED", "SeedPlan", "check_seeds", "plan_seeds", "seed_failures", "with_seeds"]

SEED = "seed"  #: inserts=seed (Skeema's default): new or empty tables only
NONE = "none"  #: inserts=none: never


@dataclass(frozen=True, slots=True)
class SeedPlan:
    steps: tuple[Step, ...]  # the INSERTs to run, in file order
    failures: tuple[StatementFailure, ...]  # INSERTs that do not fit their table, at file:line


def check_seeds(
    seeds: Sequence[SeedInsert], desired: Schema, schemas: Collection[str]
) -> list[StatementFailure]:
    """Each INSERT that cannot fill the dir's table, or names a schema not in `schemas`, as a failure."""
    out = []
    for seed in seeds:
        key = ObjectKey(ObjectType.TABLE, seed.table)
        stmt = seed.statement
        if seed.schema is not None and seed.schema not in schemas:
            named = escape_identifier(seed.schema)
            why: str | None = f"INSERT into schema {named}: seed data may only name this dir's schema"
        elif stmt.default_schema is not None and stmt.default_schema not in schemas:
            why = f"INSERT after USE {escape_identifier(stmt.default_schema)}: not this dir's schema"
        else:
            why = check_insert(seed, desired.table(seed.table))
        if why is not None:
            out.append(StatementFailure(key, stmt.file, stmt.line, why, column=stmt.col))
    return out


def seed_failures(
    seeds: Sequence[SeedInsert],
    desired: Schema,
    schemas: Collection[str],
    failures: Sequence[StatementFailure] = (),
) -> list[StatementFailure]:
    """lint's check: `check_seeds`, but not on a table whose CREATE is among the workspace's `failures`."""
    failed = {f.key for f in failures}
    return check_seeds(
        [s for s in seeds if ObjectKey(ObjectType.TABLE, s.table) not in failed], desired, schemas
    )


def plan_seeds(
    seeds: Sequence[SeedInsert],
    mode: str,
    diff_steps: Sequence[Step],
    live: Schema | None,
    desired: Schema,
    empty: Collection[str],
    schemas: Collection[str],
) -> SeedPlan:
    """The INSERTs to run: those on tables `diff_steps` create, or live tables in `empty`.

    `empty` names live tables only (a plan's `live` may leave out the tables that do not differ).
    `desired` is the workspace's whole schema (the INSERTs are checked against
    it); `schemas` the names an INSERT may be qualified with.
    """
    if mode == NONE or not seeds:
        return SeedPlan((), ())
    failures = check_seeds(seeds, desired, schemas)
    if failures:
        return SeedPlan((), tuple(failures))
    created = {s.key.name for s in diff_steps if s.key.type is ObjectType.TABLE and s.kind is DiffKind.CREATE}
    dropped = {s.key.name for s in diff_steps if s.key.type is ObjectType.TABLE and s.kind is DiffKind.DROP}
    wanted = created | (set(empty) - dropped) if live is not None else created
    steps = tuple(
        Step(ObjectKey(ObjectType.TABLE, seed.table), DiffKind.INSERT, seed.statement.unqualified_body)
        for seed in seeds
        if seed.table in wanted
    )
    return SeedPlan(steps, ())


def with_seeds(steps: Sequence[Step], seeds: Sequence[Step]) -> tuple[Step, ...]:
    """`steps` with `seeds` after the last table statement (after the database's own, if none)."""
    if not seeds:
        return tuple(steps)
    at = 0
    for i, s in enumerate(steps):
        if s.key.type in (ObjectType.TABLE, ObjectType.DATABASE):
            at = i + 1
    return (*steps[:at], *seeds, *steps[at:])
