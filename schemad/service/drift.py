"""What the daemon serves for one environment: per-target diffs, the plan hash, and their renderings.

Pure functions over models already in memory (the desired side from the
workspace, the live side from the last poll): nothing here waits on a server,
so a GET is answered from these values alone.  `plan_hash` names exactly
one list of statements (per server and schema, in order): a push is only
run when the hash it was reviewed under still matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace

from schemad.diff.schema_diff import Step
from schemad.lint import Note
from schemad.model.keys import ObjectKey, ObjectType
from schemad.plan import render
from schemad.plan.planner import PlannedStep, statements_hash
from schemad.records import dataclass

__all__ = ["TargetDiff", "plan_hash", "render_sql", "select"]


@dataclass(frozen=True, slots=True)
class TargetDiff:
    """The planned statements for one server x schema, as served (possibly filtered)."""

    address: str
    schema: str
    dir: str  # repo-relative path of the schema dir
    planned: tuple[PlannedStep, ...]  # each statement with its route and risk (refusals: at push time)
    unsupported: tuple[ObjectKey, ...] = ()  # objects that differ but cannot be altered
    lint: tuple[Note, ...] = ()  # findings on the objects the steps create or alter, located

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(p.step for p in self.planned)

    @property
    def plan_hash(self) -> str:
        """The target's plan hash, as the CLI's `diff --verbose` prints it (Plan.plan_hash)."""
        return statements_hash(self.address, self.schema, [p.step.sql for p in self.planned])


def select(
    diffs: Iterable[TargetDiff], *, schemas: Sequence[str] = (), tables: Sequence[str] = ()
) -> list[TargetDiff]:
    """Only the given schemas and, within them, only the statements of the given tables.

    With `tables`, statements on other objects (views, routines, the database
    itself) are left out too: the request asked for those tables only.
    """
    out = []
    for d in diffs:
        if schemas and d.schema not in schemas:
            continue
        if tables:
            d = replace(
                d,
                planned=tuple(
                    p for p in d.planned if p.step.key.type is ObjectType.TABLE and p.step.key.name in tables
                ),
                unsupported=tuple(
                    u for u in d.unsupported if u.type is ObjectType.TABLE and u.name in tables
                ),
                lint=tuple(n for n in d.lint if n.key.type is ObjectType.TABLE and n.key.name in tables),
            )
        out.append(d)
    return out


def plan_hash(repo: str, environment: str, diffs: Iterable[TargetDiff]) -> str:
    """SHA-256 naming the targets' plans (their plan hashes); the same statements give the same hash."""
    doc = {
        "repo": repo,
        "environment": environment,
        "targets": sorted([d.address, d.schema, d.plan_hash] for d in diffs if d.steps),
    }
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


def render_sql(diffs: Iterable[TargetDiff]) -> str:
    """Skeema's diff text for these targets, as the CLI's `diff` prints it (schemad.plan.render)."""
    return render.render_sql(render.TargetText(d.address, d.schema, d.planned) for d in diffs)
