"""Build the plan for one target: files -> workspace model, live -> model, diff, safety.

A Target is environment x server x schema x directory, as in Skeema.  The
plan lists every statement with its safety decision (allowed, or refused with
the reason), the workspace errors, and the tables that differ but cannot be
altered.  Nothing here changes the target database: executing a plan is
schemad.apply's job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.schema_diff import SchemaDiff, Step, diff_schemas
from schemad.errors import DatabaseError
from schemad.fs.logical import LogicalSchema
from schemad.introspect.filters import Filters
from schemad.introspect.introspector import introspect_schema
from schemad.introspect.privileges import resolve_strip_definer
from schemad.introspect.texts import SchemaTexts, load_texts
from schemad.lint.options import LintOptions, Severity
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.model.schema import Schema
from schemad.model.tabletext import strip_auto_increment
from schemad.plan.routes import DIRECT, PENDING, Route, WrapperConfig, WrapperPlanner
from schemad.records import dataclass
from schemad.sqltext.references import foreign_key_parents, trigger_table, view_references
from schemad.sqltext.renames import annotate_renames
from schemad.workspace.for_dir import for_dir
from schemad.workspace.result import StatementFailure
from schemad.workspace.scratch import WorkspaceOptions

if TYPE_CHECKING:
    from schemad.lint.engine import Note
    from schemad.plan.risk import Prediction
    from schemad.plan.verify import VerifyProblem
    from schemad.workspace.cache import CanonicalCache


@dataclass(frozen=True, slots=True)
class Target:
    environment: str
    address: str  # host:port or host:socket, for messages and `-- instance:` lines
    params: ConnParams
    schema: str
    dir_path: str


@dataclass(frozen=True, slots=True)
class PlanOptions:
    mods: StatementModifiers
    safe_below_size: int = 0  # unsafe table DDL is allowed below this size (bytes)
    char_set: str = ""  # the dir's default-character-set ("" = the live schema's or the server's)
    collation: str = ""
    workspace: WorkspaceOptions = field(default_factory=WorkspaceOptions)
    filters: Filters = field(default_factory=Filters)
    verify: bool = True  # replay generated ALTER TABLEs on copies of the live tables first
    cache: CanonicalCache | None = None  # canonical-form cache for the workspace (None: run everything)
    lint: LintOptions | None = None  # lint the objects the diff creates or alters (None: don't)
    wrappers: WrapperConfig | None = None  # alter-wrapper / ddl-wrapper (None: every statement runs directly)
    strip_definer: bool | None = None  # a CREATE without DEFINER matches any definer; None: per server
    inserts: str = "seed"  # the files' INSERTs: "seed" on tables created or empty, "none" never


class RefusalKind(StrEnum):
    """Why a planned statement may not run."""

    UNSAFE = "unsafe"  # it can lose data, and unsafe statements are not allowed (nor is the table small)
    LINT = "lint"  # a lint error on the object it creates or alters
    VERIFY = "verify"  # the generated ALTER, replayed on a copy of the live table, missed the files' table


@dataclass(frozen=True, slots=True)
class Refusal:
    """A typed reason a statement (or the object it changes) may not run; `str()` reads `kind: reason`."""

    kind: RefusalKind
    object: ObjectKey
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


@dataclass(frozen=True, slots=True)
class PlannedStep:
    step: Step
    refused: Refusal | None = None  # why it may not run (unsafe and not allowed); None = may run
    size: int | None = None  # table size in bytes when it was needed
    route: Route = DIRECT  # how it runs: directly, or through the alter-wrapper / ddl-wrapper
    risk: Prediction | None = None  # an ALTER TABLE's algorithm and lock on the server, and why


@dataclass(frozen=True, slots=True)
class Plan:
    target: Target
    diff: SchemaDiff
    steps: tuple[PlannedStep, ...]
    failures: tuple[StatementFailure, ...] = ()  # files' statements the server rejected
    verify_problems: tuple[VerifyProblem, ...] = ()  # generated ALTERs that would not give the files' table
    lint: tuple[Note, ...] = ()  # lint findings on the objects the diff creates or alters, located
    wrappers: WrapperPlanner | None = None  # builds the commands of the wrapped steps when they run

    @property
    def plan_hash(self) -> str:
        """Names exactly this target's statements, in order (the daemon's reviewed-plan check)."""
        return statements_hash(self.target.address, self.target.schema, [p.step.sql for p in self.steps])

    @property
    def lint_errors(self) -> tuple[Note, ...]:
        return tuple(n for n in self.lint if n.severity is Severity.ERROR)

    @property
    def refused(self) -> tuple[PlannedStep, ...]:
        return tuple(s for s in self.steps if s.refused)

    @property
    def blocked(self) -> bool:
        """The target must be skipped: workspace errors, verify failures, refused statements, lint errors."""
        return bool(self.failures or self.verify_problems or self.refused or self.lint_errors)

    @property
    def refusals(self) -> tuple[Refusal, ...]:
        """Why the plan may not run, as Refusals: refused statements, then lint errors, then verify problems.

        A refused statement reads `<its first line> (<why>)`; a lint error
        `<rule>: <message>`; a verify problem `<table>: <message>`.  The
        workspace's failures are not among them (they block the target
        before any statement is judged).
        """
        out = [
            replace(p.refused, reason=f"{p.step.sql.splitlines()[0]} ({p.refused.reason})")
            for p in self.steps
            if p.refused is not None
        ]
        changed = {p.step.key for p in self.steps}
        out += [
            Refusal(RefusalKind.LINT, n.key, f"{n.rule}: {n.message}")
            for n in self.lint_errors
            if n.key in changed
        ]
        out += [
            Refusal(RefusalKind.VERIFY, ObjectKey(ObjectType.TABLE, p.table), f"{p.table}: {p.message}")
            for p in self.verify_problems
        ]
        return tuple(out)

    def only_tables(self, tables: Collection[str]) -> Plan:
        """The plan of these tables alone: their statements, unsupported tables, lint and verify findings.

        Statements on other objects (views, routines, the database itself) are left out too.
        """

        def kept(key: ObjectKey) -> bool:
            return key.type is ObjectType.TABLE and key.name in tables

        return replace(
            self,
            diff=replace(
                self.diff,
                steps=tuple(s for s in self.diff.steps if kept(s.key)),
                unsupported=tuple(k for k in self.diff.unsupported if kept(k)),
            ),
            steps=tuple(p for p in self.steps if kept(p.step.key)),
            lint=tuple(n for n in self.lint if kept(n.key)),
            verify_problems=tuple(p for p in self.verify_problems if p.table in tables),
        )


def statements_hash(address: str, schema: str, statements: Sequence[str]) -> str:
    """SHA-256 over a target's address, schema and statements in order."""
    doc = json.dumps([address, schema, list(statements)], separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TableSize:
    """One live table's size, as information_schema.TABLES reports it."""

    length: int  # data_length + index_length, in bytes
    rows: int  # table_rows: exact for MyISAM, InnoDB's running estimate (MySQL 8 may serve it cached)

    @property
    def size(self) -> int:
        """Skeema's table size: the length, or 0 when the table has no rows."""
        return self.length if self.rows else 0


async def read_table_sizes(inst: Instance, schema: str) -> dict[str, TableSize]:
    """Every table's length and row count, in one information_schema query whatever the table count."""
    rows = await inst.query(
        "SELECT table_name AS t, data_length + index_length AS size, table_rows AS n"
        " FROM information_schema.tables WHERE table_schema = %s",
        (schema,),
    )
    return {r["t"]: TableSize(int(r["size"] or 0), int(r["n"] or 0)) for r in rows}


async def table_sizes(inst: Instance, schema: str, tables: list[str]) -> dict[str, int]:
    """Skeema's table size of `tables`, whether each has rows asked of the table itself (not estimated)."""
    if not tables:
        return {}
    lengths = await read_table_sizes(inst, schema)
    q = escape_identifier(schema)
    wanted = [t for t in tables if t in lengths]
    has_rows = await inst.query_many(
        [f"SELECT 1 AS x FROM {q}.{escape_identifier(t)} LIMIT 1" for t in wanted]
    )
    return {t: TableSize(lengths[t].length, len(r)).size for t, r in zip(wanted, has_rows, strict=True)}


def seeded_tables(logical: LogicalSchema, opts: PlanOptions) -> set[ObjectKey]:
    """The tables the files' INSERTs fill, when the plan may run them (`inserts` is not none)."""
    if not logical.seeds:
        return set()
    from schemad.plan.seeds import NONE  # only repos with INSERT files load the seed planner

    if opts.inserts == NONE:
        return set()
    return {ObjectKey(ObjectType.TABLE, s.table) for s in logical.seeds}


def seeded_names(logical: LogicalSchema, opts: PlanOptions, texts: SchemaTexts | None) -> list[str]:
    """The live tables (per `texts`) whose emptiness decides whether their INSERTs run."""
    if texts is None:
        return []
    return sorted({k.name for k in seeded_tables(logical, opts)} & {k.name for k in texts.texts})


async def empty_tables(inst: Instance, schema: str, tables: Sequence[str]) -> set[str]:
    """Those of `tables` that hold no row, asked of each table itself (never the row estimate)."""
    if not tables:
        return set()
    q = escape_identifier(schema)
    rows = await inst.query_many([f"SELECT 1 AS x FROM {q}.{escape_identifier(t)} LIMIT 1" for t in tables])
    return {t for t, r in zip(tables, rows, strict=True) if not r}


def tables_to_size(steps: Sequence[Step], allow_unsafe: bool, safe_below_size: int) -> list[str]:
    """The tables whose size decides whether their unsafe steps may run (safe-below-size)."""
    if allow_unsafe or not safe_below_size:
        return []
    return sorted({s.key.name for s in steps if s.unsafe and s.key.type is ObjectType.TABLE})


def plan_steps(
    steps: Sequence[Step], sizes: Mapping[str, int], allow_unsafe: bool, safe_below_size: int
) -> tuple[PlannedStep, ...]:
    """Each step with why it may not run: unsafe, not allowed, and not on a table below safe-below-size."""
    planned = []
    for step in steps:
        refused = None
        size = sizes.get(step.key.name) if step.key.type is ObjectType.TABLE else None
        if step.unsafe and not allow_unsafe:
            below = size is not None and safe_below_size and size < safe_below_size
            if not below:
                refused = Refusal(RefusalKind.UNSAFE, step.key, step.unsafe)
        planned.append(PlannedStep(step, refused, size))
    return tuple(planned)


def _filtered(schema: Schema, f: Filters) -> Schema:
    return replace(
        schema,
        tables=tuple(t for t in schema.tables if not f.ignores(ObjectType.TABLE, t.name)),
        views=tuple(v for v in schema.views if not f.ignores(ObjectType.VIEW, v.name)),
        routines=tuple(r for r in schema.routines if not f.ignores(r.key.type, r.name)),
        triggers=tuple(
            t for t in schema.triggers if not f.ignores(ObjectType.TRIGGER, t.name, on_table=t.table)
        ),
        events=tuple(e for e in schema.events if not f.ignores(ObjectType.EVENT, e.name)),
        _objects={},
    )


def same_table_text(live: str, desired: str) -> bool:
    """Identical canonical text, the live AUTO_INCREMENT counter aside unless the file pins one."""
    if "AUTO_INCREMENT=" not in desired.rpartition("\n) ")[2]:
        live = strip_auto_increment(live)
    return live == desired


async def _live_and_desired(
    inst: Instance, schema: str, texts: SchemaTexts, desired: Schema, fixed: set[ObjectKey], filters: Filters
) -> tuple[Schema, Schema]:
    """The live and desired schemas to diff, both without the tables that cannot differ.

    A table whose server text equals the desired canonical text has no diff
    (Skeema: "identical SHOW CREATE => no diff"), nor has a fixed point; both
    sides leave such tables out, so only the other tables are introspected.
    Every other kind of object is cheap and always read in full.
    """
    wanted = {t.name: t for t in desired.tables}
    same = {k.name for k in fixed} | {
        key.name
        for key, live in texts.texts.items()
        if key.type is ObjectType.TABLE
        and key.name in wanted
        and same_table_text(live.show_create, wanted[key.name].show_create)
    }
    differing = {k.name for k in texts.texts if k.type is ObjectType.TABLE} - same
    # The other kinds the live schema holds (texts listed them) or the files define: a diff
    # of tables alone reads no views, routines, triggers or events.
    # (Not desired.objects(): it would build and keep a dict of every table as well.)
    kinds = {k.type for k in texts.texts}
    for group in (desired.views, desired.routines, desired.triggers, desired.events):
        kinds.update(o.key.type for o in group)
    live = await introspect_schema(inst, schema, filters, only_tables=differing, kinds=kinds)
    kept = tuple(t for t in desired.tables if t.name not in same)
    return _filtered(live, filters), replace(desired, tables=kept, _objects={})


def fixed_points(logical: LogicalSchema, texts: SchemaTexts) -> set[ObjectKey]:
    """Tables whose statement already is the server's canonical text for them: no workspace needed.

    Running the canonical CREATE of a table on the same server gives the same
    canonical text again, so a file that holds exactly the live SHOW CREATE
    (the state right after `init` or `pull`, AUTO_INCREMENT aside) means the
    live table.  Tables that a view or trigger of the files reads are not
    skipped: those statements need them in the workspace.
    """
    needed: set[str] = set()
    for stmt in logical.creates.values():
        if stmt.key is None:
            continue
        if stmt.key.type is ObjectType.VIEW:
            refs = view_references(stmt.body)
            if refs is None:
                return set()  # unreadable view: it might read any table
            needed |= {name.lower() for _, name in refs}
        elif stmt.key.type is ObjectType.TRIGGER:
            on = trigger_table(stmt.body)
            if on is None:
                return set()
            needed.add(on[1].lower())
    out: set[ObjectKey] = set()
    for key, stmt in logical.creates.items():
        live = texts.texts.get(key)
        if key.type is not ObjectType.TABLE or live is None or key.name.lower() in needed:
            continue
        if stmt.body in (live.show_create, strip_auto_increment(live.show_create)):
            out.add(key)
    return out


async def build_plan(target: Target, logical: LogicalSchema, opts: PlanOptions) -> Plan:
    async with Instance(target.params) as inst:
        variables, head = await asyncio.gather(
            inst.variables(),
            inst.query(
                "SELECT default_character_set_name AS cs, default_collation_name AS co"
                " FROM information_schema.schemata WHERE schema_name = %s",
                (target.schema,),
            ),
        )
        # Where the dir sets no default charset/collation: the live schema's, else the server's.
        fallback = (
            head[0]["cs"] if head else variables["character_set_server"],
            head[0]["co"] if head else variables["collation_server"],
        )

        texts = await load_texts(inst, target.schema, opts.filters) if head else None
        fixed = fixed_points(logical, texts) if texts is not None else set()
        fixed -= seeded_tables(logical, opts)  # their INSERTs are checked against the workspace's table
        if opts.lint and fixed:
            fixed -= _lint_needs(logical, fixed, target.schema)
        to_run = [s for s in logical.creates.values() if s.key is None or s.key not in fixed]
        # strip-definer unset: decided by what the target lets its user do.
        strip_definer = await resolve_strip_definer(opts.strip_definer, inst)

        # home: for_dir's default, the target's schema alone, the name its statements are diffed under.
        ws = await for_dir(
            target.params,
            to_run,
            opts,
            schema_name=target.schema,
            fallback=fallback,
            cache=opts.cache,
            strip_definer=strip_definer,
        )
        desired = _filtered(ws.schema, opts.filters)
        live = None
        if texts is not None:
            live, desired = await _live_and_desired(inst, target.schema, texts, desired, fixed, opts.filters)
        mods = opts.mods.with_changes(flavor=await inst.flavor())
        wanted = sizes_needed(live, desired, mods, opts)
        try:
            sizes = await table_sizes(inst, target.schema, wanted) if wanted else {}
        except DatabaseError:
            sizes = {}
        empty = await empty_tables(inst, target.schema, seeded_names(logical, opts, texts))
        plan = plan_from_models(
            target, live, desired, mods, opts, sizes, logical=logical, lint_schema=ws.schema, empty=empty
        )
        plan = replace(plan, failures=ws.failures + plan.failures)
        # Verify replays the ALTERs the annotations ask for (RENAME COLUMN, a renamed table).
        return await verified(plan, live, annotate_renames(desired, logical.creates.values()), mods, opts)


async def verified(
    plan: Plan, live: Schema | None, desired: Schema, mods: StatementModifiers, opts: PlanOptions
) -> Plan:
    """The plan with its verify problems: its ALTER TABLEs replayed on copies of the live tables.

    Only with the `verify` option (the default), a live schema, no workspace
    failures, and an ALTER TABLE in the plan; `mods` carries the flavor.
    """
    if not opts.verify or live is None or plan.failures or not any(s.is_alter_table for s in plan.diff.steps):
        return plan
    from schemad.plan.verify import verify_diff  # loads the table differ: only for a real diff

    problems = await verify_diff(plan.target.params, live, desired, plan.diff, mods, opts.workspace)
    return replace(plan, verify_problems=tuple(problems))


def target_wrapper_config(target: Target, wrappers: WrapperConfig | None) -> WrapperConfig | None:
    """A dir's wrapper options for this target (its environment and dir), or None when no wrapper is set."""
    if wrappers is None or not wrappers.active:
        return None
    return replace(wrappers, environment=target.environment, dir_path=target.dir_path)


def _differing_tables(live: Schema | None, desired: Schema) -> list[str]:
    """Live tables that the desired schema changes or drops."""
    if live is None:
        return []
    rest, _ = _without_equal_tables(live, desired)
    assert rest is not None
    wanted = {t.name: t for t in desired.tables}
    return sorted(t.name for t in rest.tables if wanted.get(t.name) != t)


def sizes_needed(
    live: Schema | None, desired: Schema, mods: StatementModifiers, opts: PlanOptions
) -> list[str]:
    """The tables whose size the plan needs: safe-below-size, and wrappers that route or print by size.

    Those the desired schema changes or drops; [] when no option depends on sizes.
    """
    return _differing_tables(live, desired) if uses_sizes(mods, opts) else []


def uses_sizes(mods: StatementModifiers, opts: PlanOptions) -> bool:
    """Whether a plan depends on table sizes: safe-below-size (unsafe not allowed), or a wrapper by size."""
    wcfg = opts.wrappers
    by_safety = bool(opts.safe_below_size) and not mods.allow_unsafe
    by_wrapper = wcfg is not None and wcfg.active and wcfg.needs_sizes
    return by_safety or by_wrapper


def _without_equal_tables(live: Schema | None, desired: Schema) -> tuple[Schema | None, Schema]:
    """Both sides without the tables whose canonical text is already identical: they have no diff."""
    if live is None:
        return live, desired
    live_tables = {t.name: t for t in live.tables}
    same = {
        t.name
        for t in desired.tables
        if (lt := live_tables.get(t.name)) is not None
        and lt.show_create
        and t.show_create
        and same_table_text(lt.show_create, t.show_create)
    }
    if not same:
        return live, desired
    return (
        replace(live, tables=tuple(t for t in live.tables if t.name not in same), _objects={}),
        replace(desired, tables=tuple(t for t in desired.tables if t.name not in same), _objects={}),
    )


def plan_from_models(
    target: Target,
    live: Schema | None,
    desired: Schema,
    mods: StatementModifiers,
    opts: PlanOptions,
    sizes: Mapping[str, int] | None,
    *,
    logical: LogicalSchema | None = None,
    lint_schema: Schema | None = None,
    empty: Collection[str] = (),
) -> Plan:
    """The plan that turns `live` (None: the schema does not exist) into `desired`.  No I/O.

    `mods` carries the server's flavor.  `sizes` holds (at least) the sizes
    of the tables `sizes_needed` names: the CLI's read for this plan, the
    daemon's from its last poll; None when they are not known: steps whose
    safety or route depends on them are then judged without them (safe-below-size
    does not apply) and a size-dependent route is PENDING.  Lint runs over
    `lint_schema` (default `desired`) when the options ask for it and the
    files (`logical`, for file:line) are given.  The shell around it adds
    the workspace failures and the verify problems (`verified`).
    """
    # The files' `@renamed from=` annotations are comments, so the workspace's model has none:
    # they go on the desired side for the diff only (lint reads the model as the server made it).
    annotated = annotate_renames(desired, logical.creates.values()) if logical is not None else desired
    diff = diff_schemas(*_without_equal_tables(live, annotated), mods)
    seed_failures: tuple[StatementFailure, ...] = ()
    if logical is not None and logical.seeds:
        from schemad.plan.seeds import plan_seeds, with_seeds

        # The files' INSERTs on tables created here or live and empty (`empty`), after the table statements.
        seeds = plan_seeds(
            logical.seeds, opts.inserts, diff.steps, live, lint_schema or desired, empty, (target.schema,)
        )
        diff = replace(diff, steps=with_seeds(diff.steps, seeds.steps))
        seed_failures = seeds.failures
    known = sizes if sizes is not None else {}
    planned = plan_steps(diff.steps, known, mods.allow_unsafe, opts.safe_below_size)
    wcfg = target_wrapper_config(target, opts.wrappers)
    wrappers = None
    if wcfg is not None and (sizes is not None or not wcfg.needs_sizes):
        wrappers = WrapperPlanner(wcfg, target.params, target.schema, known)
        planned = tuple(replace(p, route=wrappers.route_of(p.step)) for p in planned)
    elif wcfg is not None:
        planned = tuple(replace(p, route=PENDING) for p in planned)
    planned = _with_risk(planned, mods)
    notes: tuple[Note, ...] = ()
    if opts.lint is not None and logical is not None:
        notes = lint_changes(lint_schema or desired, diff, mods.flavor, opts.lint, logical)
    return Plan(
        target=target, diff=diff, steps=planned, failures=seed_failures, lint=notes, wrappers=wrappers
    )


def _with_risk(planned: tuple[PlannedStep, ...], mods: StatementModifiers) -> tuple[PlannedStep, ...]:
    """Each ALTER TABLE step with its predicted algorithm and lock (schemad.plan.risk)."""
    diffs = {id(p.step.table_diff): p.step.table_diff for p in planned if p.step.is_alter_table}
    if not diffs:
        return planned
    from schemad.plan.risk import predict_alter  # the rules load only when a table is altered

    # A table's statements come from one TableDiff, in the order predict_alter follows.
    queues = {}
    for key, tdiff in diffs.items():
        assert tdiff is not None
        queues[key] = list(predict_alter(tdiff, mods))
    out = []
    for p in planned:
        queue = queues.get(id(p.step.table_diff)) if p.step.is_alter_table else None
        if queue and queue[0].statement == p.step.sql:
            p = replace(p, risk=queue.pop(0))
        out.append(p)
    return tuple(out)


def _lint_needs(logical: LogicalSchema, fixed: set[ObjectKey], schema: str) -> set[ObjectKey]:
    """Fixed points the lint rules must see: FK parents of the tables that may change (fk-parent)."""
    names: set[str] = set()
    for key, stmt in logical.creates.items():
        if key.type is not ObjectType.TABLE or key in fixed:
            continue
        parents = foreign_key_parents(stmt.body)
        if parents is None:
            return set(fixed)  # unreadable: keep every table in the workspace
        names |= {n.lower() for s, n in parents if s in ("", schema)}
    return {k for k in fixed if k.name.lower() in names}


def lint_changes(
    desired: Schema, diff: SchemaDiff, flavor: Flavor, opts: LintOptions, logical: LogicalSchema
) -> tuple[Note, ...]:
    """Skeema's diff/push lint: the rules on every object the diff creates or alters, at its file:line."""
    changed = {
        s.key
        for s in diff.steps
        if s.kind not in (DiffKind.DROP, DiffKind.INSERT) and s.key.type is not ObjectType.DATABASE
    }
    if not changed:
        return ()
    from schemad.lint.engine import lint_located  # the rules load only when something changes

    return tuple(lint_located(desired, flavor, opts, logical.creates, only=changed))
