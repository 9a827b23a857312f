"""The temp-schema workspace: run a directory's CREATEs in a scratch schema,
introspect the result, drop it.

This is how schemad learns the canonical form of hand-written SQL: the server
decides, never a parser.  Like Skeema it takes `GET_LOCK('skeema.<temp-schema>')`
for the whole run, so schemad and Skeema can share a server; it refuses to
drop a pre-existing temp schema whose tables hold rows; and it always drops
what it created, also after an error or a cancellation.  It does not diff.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Collection, Iterable, Mapping, Sequence
from dataclasses import field, replace

from schemad import lazyre
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import DatabaseError, SchemadError
from schemad.introspect import queries as q
from schemad.introspect.objects import load_events, load_routines, load_triggers, load_views
from schemad.introspect.tables import load_tables
from schemad.model.event import Event, EventStatus
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.model.routine import Routine
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.model.trigger import Trigger
from schemad.model.view import View, definition_from_show_create
from schemad.records import dataclass
from schemad.sqltext.classify import mask
from schemad.sqltext.references import (
    foreign_key_parents,
    schema_qualifiers,
    trigger_table,
    view_references,
)
from schemad.workspace.cache import CachedObject, CanonicalCache, KeyContext, server_fingerprint
from schemad.workspace.errorline import error_offset
from schemad.workspace.guard import Admitted, Refusal, admit, admit_fold
from schemad.workspace.result import Creatable, StatementFailure, WorkspaceResult, nothing_to_run
from schemad.workspace.scratch import Workspace, WorkspaceOptions, workspace

log = logging.getLogger(__name__)

# Errors that mean "something this statement needs was not created yet" (4031: a FOLLOWS anchor).
_MISSING_OBJECT_ERRNOS = frozenset({1146, 1356, 1305, 1449, 4031})


async def _run_all(ws: Instance, stmts: Sequence[Creatable]) -> list[BaseException | None]:
    async def one(s: Creatable) -> BaseException | None:
        try:
            await ws.execute_one(s.own_body)
        except DatabaseError as exc:
            return exc
        return None

    return list(await asyncio.gather(*(one(s) for s in stmts)))


class _FoldsFailed(Exception):
    """A table's CREATE ran, but the server rejected some of the statements folded into it."""

    def __init__(self, failed: Sequence[tuple[Creatable, DatabaseError]]) -> None:
        super().__init__(f"{len(failed)} folded statement(s) failed")
        self.failed = tuple(failed)


def _failures(s: Creatable, exc: BaseException) -> list[StatementFailure]:
    """The StatementFailures of `s` failing with `exc`: its own, or one per folded statement that failed."""
    if isinstance(exc, _FoldsFailed):
        assert s.key is not None
        return [_failure(f, e, key=s.key) for f, e in exc.failed]
    return [_failure(s, exc)]


def _failure(s: Creatable, exc: BaseException, *, key: ObjectKey | None = None) -> StatementFailure:
    key = key or s.key
    assert key is not None
    errno = exc.errno if isinstance(exc, DatabaseError) else None
    text = str(exc)
    # Drop the "host:port: Error N: " prefix: the file:line is the useful location here.
    if isinstance(exc, DatabaseError) and errno is not None:
        text = text.split(f"Error {errno}: ", 1)[-1]
    line: int = s.line
    column: int | None = s.col
    at = error_offset(s.own_body, text) if errno is not None else None
    if at is not None and (down := s.own_body.count("\n", 0, at)):
        line, column = s.line + down, None
    return StatementFailure(key=key, file=s.file, line=line, message=text, errno=errno, column=column)


_TABLE_BATCH = 8  # CREATE TABLEs per borrowed connection


async def _run_tables(ws: Instance, stmts: Sequence[Creatable]) -> list[BaseException | None]:
    """CREATE TABLEs in chunks spread over the pool (tables never depend on each other here).

    Each CREATE is followed, on the same connection, by the statements folded
    into it (its standalone CREATE INDEX / ALTER TABLE .. ADD), in file order.
    One statement per round trip (execute_each): file text never goes out on a
    multi-statement connection.
    """
    chunks = [list(stmts[i : i + _TABLE_BATCH]) for i in range(0, len(stmts), _TABLE_BATCH)]

    async def run_chunk(chunk: list[Creatable]) -> list[BaseException | None]:
        errors = await ws.execute_each(
            [b for s in chunk for b in (s.own_body, *(f.own_body for f in s.folded))]
        )
        out: list[BaseException | None] = []
        at = 0
        for s in chunk:
            own, folds = errors[at], errors[at + 1 : at + 1 + len(s.folded)]
            at += 1 + len(s.folded)
            # After a failed CREATE its folded statements failed too, for want of the table: not reported.
            failed = [(f, e) for f, e in zip(s.folded, folds, strict=True) if e is not None]
            out.append(own if own is not None else _FoldsFailed(failed) if failed else None)
        return out

    results = await asyncio.gather(*(run_chunk(c) for c in chunks))
    return [e for r in results for e in r]


async def _run_chains(ws: Instance, stmts: Sequence[Creatable]) -> list[BaseException | None]:
    """Triggers: those of one table in order (creation order sets their action order), tables in parallel."""
    chains: dict[object, list[int]] = {}
    for i, s in enumerate(stmts):
        chains.setdefault(trigger_table(s.body) or ("", s.key.name if s.key else ""), []).append(i)
    errors: list[BaseException | None] = [None] * len(stmts)

    async def chain(indexes: list[int]) -> None:
        for i in indexes:
            errors[i] = (await _run_all(ws, [stmts[i]]))[0]

    await asyncio.gather(*(chain(ix) for ix in chains.values()))
    return errors


async def run_creates(ws: Instance, statements: Iterable[Creatable]) -> list[StatementFailure]:
    """Run CREATE statements on `ws` (whose connections use the target schema) in a legal order.

    The statements must have passed :func:`schemad.workspace.guard.admit`
    (exec_statements does that); each goes out as exactly one statement.

    Tables first (with foreign_key_checks=0 their order is irrelevant), then
    procedures and functions (a view may call a function), then views in
    passes until no more succeed (a view may read another view), then
    triggers (one table's in order) and events.  A statement failing because
    something it needs is missing is retried while others succeed.  Every
    statement the server rejects becomes a StatementFailure; the rest still run.
    """
    by_type: dict[ObjectType, list[Creatable]] = {}
    for s in statements:
        if s.key is not None:
            by_type.setdefault(s.key.type, []).append(s)
    failures: list[StatementFailure] = []
    for group, runner in (
        ([ObjectType.TABLE], _run_tables),
        ([ObjectType.PROCEDURE, ObjectType.FUNCTION], _run_all),
        ([ObjectType.VIEW], _run_all),
        ([ObjectType.TRIGGER], _run_chains),
        ([ObjectType.EVENT], _run_all),
    ):
        pending = [s for t in group for s in by_type.get(t, [])]
        while pending:
            errors = await runner(ws, pending)
            retry = [
                s
                for s, e in zip(pending, errors, strict=True)
                if isinstance(e, DatabaseError) and e.errno in _MISSING_OBJECT_ERRNOS
            ]
            done = [(s, e) for s, e in zip(pending, errors, strict=True) if s not in retry]
            failures += [f for s, e in done if e is not None for f in _failures(s, e)]
            if retry and len(retry) < len(pending):
                pending = retry  # some succeeded: what they created may be what the others need
                continue
            failures += [
                f for s, e in zip(pending, errors, strict=True) if s in retry and e for f in _failures(s, e)
            ]
            break
    return failures


def admit_all(
    statements: Iterable[Creatable], home: Collection[str], *, disable_events: bool = True
) -> tuple[list[Admitted], list[StatementFailure]]:
    """Every statement through the workspace guard: what may run, and what is refused (file:line: why).

    A table's folded statements go through guard.admit_fold; those admitted
    ride on the table's Admitted (run right after its CREATE), each refused
    one is a failure of its own file:line.
    """
    admitted: list[Admitted] = []
    refused: list[StatementFailure] = []

    def refuse(r: Refusal) -> None:
        log.debug("%s:%d: %s", r.file, r.line, r.reason)
        refused.append(StatementFailure(key=r.key, file=r.file, line=r.line, message=r.reason, column=r.col))

    for s in statements:
        if s.key is None:
            continue
        r = admit(
            key=s.key,
            body=s.own_body,
            file=s.file,
            line=s.line,
            col=s.col,
            home=home,
            disable_events=disable_events,
        )
        if isinstance(r, Refusal):
            refuse(r)
            continue
        folds: list[Admitted] = []
        for f in s.folded:
            fr = admit_fold(key=s.key, body=f.own_body, file=f.file, line=f.line, col=f.col, home=home)
            if isinstance(fr, Refusal):
                refuse(fr)
            else:
                folds.append(fr)
        admitted.append(replace(r, folded=tuple(folds)) if folds else r)
    return admitted, refused


async def exec_statements(
    params: ConnParams,
    statements: Iterable[Creatable],
    *,
    schema_name: str,
    char_set: str,
    collation: str,
    options: WorkspaceOptions | None = None,
    cache: CanonicalCache | None = None,
    home: Collection[str] | None = None,
) -> WorkspaceResult:
    """Run CREATE statements in the temp schema and introspect what the server made of them.

    Only what the guard admits runs (see schemad.workspace.guard): `home` is
    the schema names a qualified name may use (default: `schema_name`); the
    rest are failures naming file, line and reason.  With `cache`, only the
    statements whose canonical form is not cached run (plus what they need);
    the result is the same as without it.
    """
    opts = options or WorkspaceOptions()
    home = (schema_name,) if home is None else home
    stmts, refused = admit_all(statements, home)
    if not stmts:
        return nothing_to_run(opts, home, schema_name, char_set, collation, refused)
    temp = opts.temp_schema
    async with workspace(params, char_set=char_set, collation=collation, options=opts, home=home) as w:
        if cache is not None and len({s.key for s in stmts}) == len(stmts):
            failures, schema = await _exec_cached(
                w, temp, list[Creatable](stmts), cache, char_set=char_set, collation=collation
            )
        else:  # no cache, or duplicate keys (their outcome depends on run order)
            ws = await w.schema()
            failures = await run_creates(ws, stmts)
            objects = await _introspect_ran(ws, temp, await ws.flavor(), {s.key.type for s in stmts})
            schema = _assemble(temp, char_set, collation, objects.values())
    schema = _restore_events(_name_own_schema(schema, temp, schema_name), stmts)
    schema = replace(schema, name=schema_name, char_set=char_set, collation=collation)
    failures += refused
    return WorkspaceResult(schema=schema, failures=tuple(sorted(failures, key=lambda f: (f.file, f.line))))


async def _introspect_ran(
    ws: Instance, temp: str, flavor: Flavor, ran: Collection[ObjectType]
) -> dict[ObjectKey, Table | View | Routine | Trigger | Event]:
    """What introspect_schema() reads in the temp schema, by key; `ran`: the kinds of what ran there.

    The temp schema starts empty, so it holds only what those statements
    made: the loaders of the other kinds are skipped (each would still read
    information_schema for every table; the views' costs ~15 ms at 1,000
    tables).  SchemadError when the schema is gone.
    """
    wanted: list[Awaitable[Sequence[Table | View | Routine | Trigger | Event]]] = []
    if ObjectType.TABLE in ran:
        wanted.append(load_tables(ws, temp, flavor))
    if ObjectType.VIEW in ran:
        wanted.append(load_views(ws, temp, flavor))
    if ObjectType.PROCEDURE in ran or ObjectType.FUNCTION in ran:
        wanted.append(load_routines(ws, temp, flavor))
    if ObjectType.TRIGGER in ran:
        wanted.append(load_triggers(ws, temp, flavor))
    if ObjectType.EVENT in ran:
        wanted.append(load_events(ws, temp, flavor))
    head, found = await asyncio.gather(ws.query(q.SCHEMA, (temp,)), asyncio.gather(*wanted))
    if not head:
        raise SchemadError(f"{ws.params.address}: schema {temp} does not exist")
    return {o.key: o for kind in found for o in kind}


def _name_own_schema(schema: Schema, temp: str, name: str) -> Schema:
    """Views that print the temp schema's name: give them `name`, as the live server prints them.

    A view that reads another schema too is printed with every table
    qualified (MariaDB's compact form is only for views that read their own
    schema alone), so the workspace's text says `_skeema_tmp`.`users` where
    the live view says `app`.`users`.  Those qualifiers (found with sqlglot,
    never in quoted text) are spliced to the name the statements are diffed
    under, so the two compare equal and the view is created under its own
    schema's name.  A text that cannot be read is left as the server printed it.
    """
    marker = escape_identifier(temp) + "."
    if not any(marker in v.show_create for v in schema.views):
        return schema
    views = []
    for v in schema.views:
        spans = schema_qualifiers(v.show_create, frozenset({temp})) if marker in v.show_create else None
        if spans:
            text = v.show_create
            for start, end in reversed(spans):
                text = text[:start] + escape_identifier(name) + "." + text[end:]
            definition = definition_from_show_create(text, v.name, v.check_option)
            # The same SELECT changed in both texts: a rendering equal to the server's stays equal.
            v = replace(
                v,
                definition=definition if definition is not None else v.definition,
                show_create=text,
                unsupported=v.unsupported or definition is None,
            )
        views.append(v)
    return replace(schema, views=tuple(views), _objects={})


_DISABLED_CLAUSE = lazyre.compile(r"( ON COMPLETION (?:NOT )?PRESERVE) DISABLE(?= COMMENT | DO )")
_SCHEDULE = lazyre.compile(r"\bON\s+SCHEDULE\b(.*?)\bDO\b", re.I | re.S)
_STARTS_WORD = lazyre.compile(r"\bSTARTS\b", re.I)
_STARTS_CLAUSE = lazyre.compile(r" STARTS '[^']*'(?= ENDS | ON COMPLETION )")


def _writes_starts(text: str) -> bool:
    """Whether an event's CREATE gives STARTS (read outside quotes and comments; True if unreadable)."""
    m = _SCHEDULE.search(mask(text))
    return m is None or _STARTS_WORD.search(m[1]) is not None


def _restore_events(schema: Schema, admitted: Sequence[Admitted]) -> Schema:
    """Events as their files wrote them: the status (they ran DISABLE'd) and no STARTS if none was given.

    A recurring event created without STARTS gets its creation time, which
    differs between the workspace and the live server and from one run to the
    next: it is left out of the desired event (the diff then ignores the live
    one, and a CREATE lets the server fill it in again).
    """
    wanted = {a.key: a.event_status for a in admitted if a.event_status is not None}
    unstarted = {a.key for a in admitted if a.key.type is ObjectType.EVENT and not _writes_starts(a.own_body)}
    if not schema.events or not (wanted or unstarted):
        return schema
    events = []
    for ev in schema.events:
        status = wanted.get(ev.key)
        if status is not None and ev.status is EventStatus.DISABLED and status is not EventStatus.DISABLED:
            text = _DISABLED_CLAUSE.sub(rf"\1 {status.clause}", ev.show_create, count=1)
            ev = replace(ev, status=status, show_create=text)
        if ev.key in unstarted and ev.recurring and ev.starts is not None:
            ev = replace(ev, starts=None, show_create=_STARTS_CLAUSE.sub("", ev.show_create, count=1))
        events.append(ev)
    return replace(schema, events=tuple(events), _objects={})


# ///// with a canonical cache /////////////////////////////////////////////////////////////////////

_CACHEABLE_TYPES = frozenset(
    {ObjectType.TABLE, ObjectType.VIEW, ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER}
)
_DEPENDENT_TYPES = frozenset({ObjectType.VIEW, ObjectType.TRIGGER})  # their form depends on what they read
_FAILED = "\0failed"  # dependency material of a table the server rejected


@dataclass(slots=True)
class _Graph:
    """Which statement needs which other object in the workspace, read from the statements' text.

    Every guess errs on the side of more dependencies: names are matched
    case-insensitively, and a statement whose references can't be read
    depends on every table and view.
    """

    stmts: list[Creatable]  # in the caller's order
    bodies: dict[ObjectKey, str]
    needs: dict[ObjectKey, tuple[ObjectKey, ...]] = field(default_factory=dict)  # direct, sorted
    uncacheable: set[ObjectKey] = field(default_factory=set)  # always run (events, other-schema reads)
    trigger_groups: list[tuple[ObjectKey, ...]] = field(default_factory=list)  # run together

    @classmethod
    def build(cls, stmts: list[Creatable]) -> _Graph:
        keys = [s.key for s in stmts if s.key is not None]
        g = cls(stmts=stmts, bodies={s.key: s.body for s in stmts if s.key is not None})
        relations = frozenset(k for k in keys if k.type in (ObjectType.TABLE, ObjectType.VIEW))
        tables = frozenset(k for k in relations if k.type is ObjectType.TABLE)
        by_name: dict[str, list[ObjectKey]] = {}
        for k in keys:
            if k in relations:
                by_name.setdefault(k.name.lower(), []).append(k)

        def resolve(
            k: ObjectKey, names: frozenset[tuple[str, str]] | None, pool: frozenset[ObjectKey]
        ) -> tuple[ObjectKey, ...]:
            if names is None:  # unreadable: depends on everything
                return tuple(sorted(d for d in pool if d != k))
            if any(schema for schema, _ in names):
                g.uncacheable.add(k)  # reads a real schema of the server: its state is not in the key
            found = {d for _, n in names for d in by_name.get(n.lower(), ()) if d in pool and d != k}
            return tuple(sorted(found))

        trigger_table_of: dict[ObjectKey, str | None] = {}
        for k in keys:
            body = g.bodies[k]
            if k.type not in _CACHEABLE_TYPES:
                g.uncacheable.add(k)
            elif k.type is ObjectType.TABLE:
                g.needs[k] = resolve(k, foreign_key_parents(body), tables)
            elif k.type is ObjectType.VIEW:
                g.needs[k] = resolve(k, view_references(body), relations)
            elif k.type is ObjectType.TRIGGER:
                on = trigger_table(body)
                g.needs[k] = resolve(k, None if on is None else frozenset({on}), relations)
                trigger_table_of[k] = None if on is None else on[1].lower()
        # A view or trigger reading an uncacheable view inherits its dependence on the server.
        for k in keys:
            if (
                k.type in _DEPENDENT_TYPES
                and k not in g.uncacheable
                and any(d.type is ObjectType.VIEW and d in g.uncacheable for d in g.closure(k))
            ):
                g.uncacheable.add(k)
        # Triggers on one table are ordered among themselves (FOLLOWS/PRECEDES, creation order):
        # when one of them runs, all of them run, in the caller's order.
        triggers = [k for k in keys if k.type is ObjectType.TRIGGER]
        if any(trigger_table_of[k] is None for k in triggers):
            g.trigger_groups = [tuple(triggers)] if triggers else []
        else:
            groups: dict[str | None, list[ObjectKey]] = {}
            for k in triggers:
                groups.setdefault(trigger_table_of[k], []).append(k)
            g.trigger_groups = [tuple(v) for v in groups.values()]
        return g

    def closure(self, k: ObjectKey) -> tuple[ObjectKey, ...]:
        """What must exist before `k` runs: a table's FK parents; a view's or trigger's reads, recursively."""
        if k.type is ObjectType.TABLE:
            return self.needs.get(k, ())
        seen: set[ObjectKey] = set()
        stack = list(self.needs.get(k, ()))
        while stack:
            d = stack.pop()
            if d in seen or d == k:
                continue
            seen.add(d)
            if d.type is ObjectType.VIEW:
                stack.extend(self.needs.get(d, ()))
        return tuple(sorted(seen))

    def group_of(self, k: ObjectKey) -> tuple[ObjectKey, ...]:
        return next((grp for grp in self.trigger_groups if k in grp), (k,))

    def statements(self, keys: set[ObjectKey]) -> list[Creatable]:
        return [s for s in self.stmts if s.key in keys]


async def _lookup(cache: CanonicalCache, ckeys: Mapping[ObjectKey, str]) -> dict[ObjectKey, CachedObject]:
    if not ckeys:
        return {}
    found = await asyncio.to_thread(cache.get_many, ckeys.values())
    return {k: obj for k, ck in ckeys.items() if (obj := found.get(ck)) is not None and obj.key == k}


async def _exec_cached(
    w: Workspace, temp: str, stmts: list[Creatable], cache: CanonicalCache, *, char_set: str, collation: str
) -> tuple[list[StatementFailure], Schema]:
    """run_creates + introspection of `temp`, running only what `cache` doesn't know.

    1. Tables and routines are keyed by their own text (a table's with the
       statements folded into it, Admitted.body; a table also by the text
       of the tables its foreign keys name: with foreign_key_checks=0 the server
       still checks a parent that exists).  Views and triggers are keyed also by
       the canonical text of every table they read, directly or through views
       (and the text of those views), and a trigger by the text of the other
       triggers on its table.
    2. If a view or trigger reads a table that missed, the missed tables run
       first and are introspected, so that canonical text is known (round 1).
    3. Round 2 runs every other miss, every event and uncacheable statement, all
       triggers of a table when one of them missed, and what each needs (cached
       tables and views, re-created from their statements; every routine when
       a view or trigger runs, as it may call one), in run_creates' order.
    4. Objects of statements that ran and succeeded are stored; hits fill the rest.

    The keys are computed on the workspace's probe connection: when every
    statement hits, no temp schema is made at all.
    """
    flavor = await w.probe.flavor()
    ctx = KeyContext(await server_fingerprint(w.probe), char_set, collation, temp)
    g = _Graph.build(stmts)
    order = [s.key for s in stmts if s.key is not None]
    keyed = [k for k in order if k not in g.uncacheable]

    own_keys: dict[ObjectKey, str] = {}
    for k in keyed:
        if k.type not in _DEPENDENT_TYPES:
            material = [x for p in g.needs.get(k, ()) for x in (str(p), g.bodies[p])]
            own_keys[k] = ctx.key(k, g.bodies[k], material)
    dependents = [k for k in keyed if k.type in _DEPENDENT_TYPES]
    # A view or trigger may call any procedure or function: they must exist when it
    # runs, and a changed or removed routine invalidates every view and trigger.
    routine_keys = sorted(k for k in order if k.type in (ObjectType.PROCEDURE, ObjectType.FUNCTION))
    routine_material = ["routines:", *(x for r in routine_keys for x in (str(r), g.bodies[r]))]

    # Looked up without the temp schema first; when something must run, again once the temp
    # schema (and its lock) is held: a run that held the lock meanwhile (the daemon building
    # several environments of one repo at once) may have stored what this one missed.
    introspected: dict[ObjectKey, Table | View | Routine | Trigger | Event] = {}
    failures: list[StatementFailure] = []
    created: set[ObjectKey] = set()
    while True:
        ckeys = dict(own_keys)
        hits = await _lookup(cache, ckeys)
        missed_tables = {k for k in order if k.type is ObjectType.TABLE and k not in hits}
        if missed_tables and any(d in missed_tables for k in dependents for d in g.closure(k)):
            if not w.used:
                await w.schema()
                continue
            created = missed_tables | {p for k in missed_tables for p in g.needs.get(k, ())}
            ws = await w.schema()
            failures += await run_creates(ws, g.statements(created))
            introspected.update((t.key, t) for t in await load_tables(ws, temp, flavor))
        dep_keys = _dependent_keys(ctx, g, dependents, routine_material, introspected, hits)
        hits.update(await _lookup(cache, dep_keys))
        ckeys.update(dep_keys)

        run = {k for k in order if k not in hits and k.type is not ObjectType.TRIGGER}
        for group in g.trigger_groups:
            if any(k not in hits for k in group):
                run.update(group)
        for k in list(run):
            run.update(g.closure(k))
        if any(k.type in _DEPENDENT_TYPES for k in run):
            run.update(routine_keys)
        run -= created
        if run and not w.used:
            await w.schema()
            continue
        break

    if run:
        ws = await w.schema()
        failures += await run_creates(ws, g.statements(run))
        if created:  # round 1 introspected every table that ran; the rest of round 2's tables are hits
            views, routines, triggers, events = await asyncio.gather(
                load_views(ws, temp, flavor),
                load_routines(ws, temp, flavor),
                load_triggers(ws, temp, flavor),
                load_events(ws, temp, flavor),
            )
            for found in (views, routines, triggers, events):
                introspected.update((o.key, o) for o in found)
        else:
            introspected.update(await _introspect_ran(ws, temp, flavor, {k.type for k in run}))

    failures = [f for f in failures if f.key not in hits]  # a hit re-created as a dependency
    failed = {f.key for f in failures}
    new = {
        ck: obj
        for k, ck in ckeys.items()
        if k not in hits and k not in failed and isinstance(obj := introspected.get(k), CachedObject)
    }
    if new:
        await asyncio.to_thread(cache.put_many, new)
    cache.stats.statements_run += len(created | run)
    log.debug(
        "workspace %s: %d of %d statements from the canonical cache, %d run, %d stored",
        temp,
        len(hits),
        len(order),
        len(created | run),
        len(new),
    )
    objects: dict[ObjectKey, Table | View | Routine | Trigger | Event] = {**hits, **introspected}
    return failures, _assemble(temp, char_set, collation, objects.values())


def _dependent_keys(
    ctx: KeyContext,
    g: _Graph,
    dependents: Sequence[ObjectKey],
    routine_material: list[str],
    introspected: Mapping[ObjectKey, Table | View | Routine | Trigger | Event],
    hits: Mapping[ObjectKey, CachedObject],
) -> dict[ObjectKey, str]:
    """The cache keys of views and triggers: their text plus the canonical text of what they read."""

    def canonical(d: ObjectKey) -> str:
        if d.type is not ObjectType.TABLE:
            return g.bodies[d]  # a view: its own key covers what it reads
        obj = introspected.get(d) or hits.get(d)
        return obj.show_create if obj is not None else _FAILED

    keys: dict[ObjectKey, str] = {}
    for k in dependents:
        material = [x for d in g.closure(k) for x in (str(d), canonical(d))] + routine_material
        if k.type is ObjectType.TRIGGER:
            material += [
                "triggers on the same table:",
                *(x for t in g.group_of(k) for x in (str(t), g.bodies[t])),
            ]
        keys[k] = ctx.key(k, g.bodies[k], material)
    return keys


def _assemble(
    name: str, char_set: str, collation: str, objects: Iterable[Table | View | Routine | Trigger | Event]
) -> Schema:
    """A Schema of `objects` in introspect_schema's order (that of the introspect loaders)."""
    objs = list(objects)
    return Schema(
        name=name,
        char_set=char_set,
        collation=collation,
        tables=tuple(sorted((o for o in objs if isinstance(o, Table)), key=lambda t: t.name)),
        views=tuple(sorted((o for o in objs if isinstance(o, View)), key=lambda v: v.name)),
        routines=tuple(sorted((o for o in objs if isinstance(o, Routine)), key=lambda r: (r.type, r.name))),
        triggers=tuple(
            sorted(
                (o for o in objs if isinstance(o, Trigger)),
                key=lambda t: (t.table, t.timing, t.event, t.action_order, t.name),
            )
        ),
        events=tuple(sorted((o for o in objs if isinstance(o, Event)), key=lambda e: e.name)),
    )
