"""One repo x environment in the daemon: which dirs and targets it has, and the diff of their two sides.

`RepoEnvironment` composes, in memory:

* per schema dir, the desired side (`desired.DirState`): the files'
  statements and the schemas the workspace made of them, per charset in use;
* per target (server x schema), the live side (`live.LiveState`): the live
  schema as of the last poll, read through one pooled connection per server;
* per target, the diff of the two (`drift.TargetDiff`, from
  `plan_from_models` with the table sizes of the last poll), recomputed
  whenever either side changes (or, where the dir's options depend on
  sizes, a size); `version` moves whenever a served diff may have changed.

Reads (`diffs`, `ordered_targets`) never wait on a server.  `poll()` costs the six
fingerprint queries per server (whatever number of its schemas are targets;
the sizes come from the same scan) when nothing changed and
re-introspects only the objects whose fingerprint moved.  One asyncio lock
serialises the changes (poll, file change, reload) so a diff never mixes two
states.  `push_plan` is the Plan a push runs: the same planning, judged and
verified at push time.

A dir with a broken file, or whose statements the server rejects, shows its
error (file:line) on its own targets and never on the others.  A dir whose
`.skeema` can't be read (or whose targets can't be resolved) keeps the
targets it had, marked with that error, so they are neither dropped from
the diff nor pushed; at start, when it had none, the error is the
environment's (`config_errors`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import field, replace
from pathlib import Path

from schemad.connection.params import ConnParams
from schemad.daemon_config import WorkspaceConfig
from schemad.diff.modifiers import StatementModifiers
from schemad.errors import OptionFileError, SchemadError
from schemad.introspect.fingerprint import Prints, fingerprints_of
from schemad.model.schema import Schema
from schemad.plan.planner import (
    Plan,
    Target,
    empty_tables,
    plan_from_models,
    seeded_tables,
    table_sizes,
    tables_to_size,
    uses_sizes,
    verified,
)
from schemad.plan.routes import RouteKind
from schemad.plan.targets import DirError, discover_targets
from schemad.records import dataclass
from schemad.service.desired import DirState, build_dir, dir_options
from schemad.service.drift import TargetDiff
from schemad.service.fleet import FleetView, ShardState, fleet_view, group_fingerprint, group_plan_hash
from schemad.service.live import InstancePool, LiveState, SharedSchemas, poll_target
from schemad.sqltext.renames import annotate_renames
from schemad.workspace.cache import CanonicalCache

__all__ = ["RepoEnvironment", "TargetState"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TargetState:
    target: Target
    dir_path: Path
    live: LiveState = field(default_factory=LiveState)
    diff: TargetDiff | None = None
    error: str | None = None  # why there is no diff (dir error, never polled)

    @property
    def key(self) -> tuple[str, str]:
        return (self.target.address, self.target.schema)


class RepoEnvironment:
    """The daemon's view of one environment of one repo; see the module docstring."""

    def __init__(
        self,
        repo: str,
        root: Path,
        environment: str,
        cache: CanonicalCache,
        *,
        workspace: WorkspaceConfig | None = None,
        clock: Callable[[], float] = time.time,
        fleet_refresh: float = 300.0,
        poll_concurrency: int = 8,
    ) -> None:
        self.repo = repo
        self.workspace = workspace  # the daemon's defaults for what a dir's .skeema leaves unset
        self.root = root
        self.name = environment
        self.cache = cache
        self.clock = clock
        self.dirs: dict[Path, DirState] = {}
        self.targets: dict[tuple[str, str], TargetState] = {}
        self.config_errors: list[str] = []  # dirs whose .skeema could not be read or turned into targets
        self._option_file_errors: list[str] = []  # those of them whose .skeema can't be read
        self.version = 0  # bumped whenever a served diff may have changed
        self.last_poll_error: str | None = None
        self.evaluated_at: float | None = None  # when the first evaluation (or a reload) finished
        self.push_lock = asyncio.Lock()  # one push per environment at a time
        self._lock = asyncio.Lock()
        self.instances = InstancePool()  # the live side's connections, one per server
        self._discovered = False
        self.fleet_refresh = fleet_refresh  # seconds between re-runs of host-wrapper (fleets only)
        self.poll_concurrency = max(1, poll_concurrency)  # targets read at once in one poll
        self._hosts_at: float | None = None  # when the targets were last discovered

    # ///// reads (no I/O) /////

    def diffs(self) -> list[TargetDiff]:
        return [t.diff for t in self.ordered_targets() if t.diff is not None]

    def ordered_targets(self) -> list[TargetState]:
        return [self.targets[k] for k in sorted(self.targets)]

    @property
    def evaluated(self) -> bool:
        """The first full evaluation (poll + desired + diff) ran."""
        return self.evaluated_at is not None

    @property
    def stale(self) -> bool:
        """The last poll failed: the live side is older than the schedule says."""
        return self.last_poll_error is not None

    @property
    def snapshot_at(self) -> float | None:
        """The oldest live snapshot among the targets (None if any was never read)."""
        times = [t.live.snapshot_at for t in self.targets.values()]
        if not times or any(x is None for x in times):
            return None
        return min(x for x in times if x is not None)

    @property
    def is_fleet(self) -> bool:
        """One of its dirs gets its hosts from host-wrapper or maps to more than one target (fleet.py)."""
        per_dir: dict[Path, int] = {}
        for t in self.targets.values():
            per_dir[t.dir_path] = per_dir.get(t.dir_path, 0) + 1
        return any(n > 1 for n in per_dir.values()) or any(
            ds.dir.config.get("host-wrapper") for ds in self.dirs.values()
        )

    def shards(self) -> list[ShardState]:
        """Every target as a shard: the serialisable per-shard state of the last poll."""
        out = []
        for t in self.ordered_targets():
            fp = group_fingerprint(t.live.fingerprints) if t.live.snapshot_at is not None else None
            rel = _relative(t.dir_path, self.root)
            drifted, plan, n = None, None, 0
            if t.diff is not None:
                sqls = [p.step.sql for p in t.diff.planned]
                drifted, n = bool(sqls or t.diff.unsupported), len(sqls)
                plan = group_plan_hash(rel, fp or "", sqls)
            error = t.live.error or t.error
            out.append(
                ShardState(
                    t.target.address, t.target.schema, rel, fp, drifted, n, plan, t.live.snapshot_at, error
                )
            )
        return out

    def fleet(self) -> list[FleetView]:
        """The consistency view: each dir's shards grouped by fingerprint (fleet.fleet_view)."""
        fps = {k: t.live.fingerprints for k, t in self.targets.items()}
        return fleet_view(self.shards(), fps)

    def file_errors(self) -> list[str]:
        """The repo's files that can't be read or split: a dir's `*.sql` or `.skeema` (one per dir)."""
        sql = [d.file_error for d in self.dirs.values() if d.file_error and not d.config_error]
        return sql + self._option_file_errors

    # ///// changes /////

    async def evaluate(self) -> None:
        """Discover targets, read both sides, diff (the first evaluation and every reload)."""
        async with self._lock:
            await self._discover()
            await self._poll_all(raise_errors=False)
            await self._build_dirs(self.dirs.values())
            self._diff_all()
            self.evaluated_at = self.clock()

    async def poll(self) -> None:
        """Re-read the live side (fingerprints first); raise if any target failed, after the others."""
        async with self._lock:
            if not self._discovered:
                await self._discover()
            elif self._hosts_due():
                await self._refresh_hosts()
            moved = await self._poll_all(raise_errors=True)
            # A schema whose charset changed may need a workspace of that charset.
            await self._build_dirs(
                {self.targets[k].dir_path: self.dirs[self.targets[k].dir_path] for k in moved}.values(),
                only_missing=True,
            )
            self._diff(moved)

    async def poll_shards(self, keys: Iterable[tuple[str, str]]) -> None:
        """Re-read these targets' live side now and re-diff them (a campaign checks one shard at a time)."""
        async with self._lock:
            targets = [self.targets[k] for k in keys if k in self.targets]
            stale = self.last_poll_error  # the stale mark is the whole poll's: a shard's error stays its own
            moved = await self._poll_targets(targets, raise_errors=False)
            self.last_poll_error = stale
            await self._build_dirs(
                {self.targets[k].dir_path: self.dirs[self.targets[k].dir_path] for k in moved}.values(),
                only_missing=True,
            )
            self._diff(moved)

    async def files_changed(
        self, dirs: Iterable[Path], options_changed: bool, paths: Iterable[Path] = ()
    ) -> None:
        """Re-read the given dirs' files (a changed .skeema: re-discover the whole tree).

        `paths` are the files the watcher saw change: they are re-read even if
        their (mtime, size) stamp did not move; the others only if it did.
        """
        async with self._lock:
            if options_changed or not self._discovered:
                old = set(self.targets)
                await self._discover()
                new = set(self.targets) - old
                if new:
                    await self._poll_targets([self.targets[k] for k in new], raise_errors=False)
                await self._build_dirs(self.dirs.values())
                self._diff_all()
                return
            wanted = {Path(d) for d in dirs}
            touched = [s for p, s in self.dirs.items() if p in wanted]
            seen = {Path(p) for p in paths}
            for s in touched:  # the watcher says which files changed (a same-tick rewrite keeps its stamp)
                s.pending = seen if seen else None
            await self._build_dirs(touched)
            self._diff([k for k, t in self.targets.items() if t.dir_path in wanted])

    async def close(self) -> None:
        await self.instances.close()

    # ///// discovery /////

    async def _discover(self) -> None:
        async def server_schemas(params: ConnParams) -> list[str]:
            return await self.instances.get(params).schema_names()

        found, errors = await discover_targets(self.root, self.name, server_schemas)
        self.config_errors = [_dir_error(e) for e in errors]
        self._option_file_errors = [_dir_error(e) for e in errors if isinstance(e.error, OptionFileError)]
        for msg in self.config_errors:
            log.error("repo %s environment %s: %s", self.repo, self.name, msg)
        dirs: dict[Path, DirState] = {}
        targets: dict[tuple[str, str], TargetState] = {}
        for target, d in found:
            old_dir = self.dirs.get(d.path)
            if d.path not in dirs:
                ds = DirState(d, dir_options(d, self.cache, self.workspace))
                if old_dir is not None:
                    ds.parsed = old_dir.parsed  # keep parsed files; options may have changed
                dirs[d.path] = ds
            key = (target.address, target.schema)
            old = self.targets.get(key)
            state = TargetState(target, d.path)
            if old is not None and old.target.params == target.params:
                state.live = old.live
                if old.dir_path == d.path:  # served until re-diffed: never "no diff and no error"
                    state.diff, state.error = old.diff, old.error
            targets[key] = state
        for e in errors:  # a dir that can't be read keeps its last known targets, blocked by the error
            message = _dir_error(e)
            for key, old in self.targets.items():
                if key in targets or not (old.dir_path == e.path or e.path in old.dir_path.parents):
                    continue
                kept = dirs.setdefault(old.dir_path, self.dirs[old.dir_path])
                kept.config_error = message
                targets[key] = old
        self.dirs, self.targets = dirs, targets
        self._discovered = True
        self._hosts_at = self.clock()
        self.version += 1

    def _hosts_due(self) -> bool:
        return self.is_fleet and (
            self._hosts_at is None or self.clock() - self._hosts_at >= self.fleet_refresh
        )

    async def _refresh_hosts(self) -> None:
        """Re-run host-wrapper (and the schema lists): add the shards that appeared, drop those gone.

        The dirs keep their desired side (no workspace run): only the targets
        move.  A dir whose hosts can't be listed now keeps its shards (logged),
        as a broken .skeema does.
        """

        async def server_schemas(params: ConnParams) -> list[str]:
            return await self.instances.get(params).schema_names()

        found, errors = await discover_targets(self.root, self.name, server_schemas)
        failed = {e.path for e in errors}
        for e in errors:
            log.error("repo %s environment %s: listing shards: %s", self.repo, self.name, _dir_error(e))
        if any(
            d.path not in self.dirs for _, d in found
        ):  # a new dir: a full re-read (rare: .skeema changed)
            await self._discover()
            return
        targets: dict[tuple[str, str], TargetState] = {}
        for target, d in found:
            key = (target.address, target.schema)
            old = self.targets.get(key)
            if old is not None and old.target.params == target.params and old.dir_path == d.path:
                targets[key] = old
            else:
                targets[key] = TargetState(target, d.path)
        for key, old in self.targets.items():
            if key not in targets and any(p == old.dir_path or p in old.dir_path.parents for p in failed):
                targets[key] = old
        added, removed = (
            sorted(targets.keys() - self.targets.keys()),
            sorted(self.targets.keys() - targets.keys()),
        )
        for what, keys in (("added", added), ("removed", removed)):
            if keys:
                log.info(
                    "repo %s environment %s: %d shard(s) %s: %s",
                    self.repo,
                    self.name,
                    len(keys),
                    what,
                    ", ".join(f"{a} {s}" for a, s in keys),
                )
        self.targets = targets
        self._hosts_at = self.clock()
        if added or removed:
            self.version += 1

    # ///// the live side /////

    async def _poll_all(self, *, raise_errors: bool) -> list[tuple[str, str]]:
        return await self._poll_targets(list(self.targets.values()), raise_errors=raise_errors)

    async def _poll_targets(self, targets: list[TargetState], *, raise_errors: bool) -> list[tuple[str, str]]:
        """Poll `targets`, `poll_concurrency` at a time; return the keys whose live side changed.

        The fingerprints of all the targets of one server are read together
        (`fingerprints_of`: six queries per server, not per schema); a server
        whose read fails fails each of its targets.
        """
        sem = asyncio.Semaphore(self.poll_concurrency)
        shared: SharedSchemas = {}  # shards with one new fingerprint are introspected once
        by_server: dict[ConnParams, list[TargetState]] = {}
        for t in targets:
            by_server.setdefault(t.target.params, []).append(t)

        async def one(t: TargetState, prints: Prints) -> bool:
            async with sem:
                return await self._poll_one(t, shared, prints)

        outcome: dict[tuple[str, str], bool | BaseException] = {}

        async def server(ts: list[TargetState]) -> None:
            try:
                async with sem:
                    inst = self.instances.get(ts[0].target.params)
                    prints = await fingerprints_of(inst, [t.target.schema for t in ts])
            except Exception as exc:
                outcome.update((t.key, exc) for t in ts)
                return
            rs = await asyncio.gather(*(one(t, prints[t.target.schema]) for t in ts), return_exceptions=True)
            outcome.update(zip((t.key for t in ts), rs, strict=True))

        await asyncio.gather(*(server(ts) for ts in by_server.values()))
        results = [outcome[t.key] for t in targets]
        moved: list[tuple[str, str]] = []
        errors: list[str] = []
        for t, r in zip(targets, results, strict=True):
            if isinstance(r, BaseException):
                if not isinstance(r, Exception):
                    raise r
                t.live.error = str(r) if isinstance(r, SchemadError) else f"{type(r).__name__}: {r}"
                errors.append(f"{t.target.address} {t.target.schema}: {t.live.error}")
                await self.instances.drop(t.target.params)
            else:
                t.live.error = None
                if r:
                    moved.append(t.key)
        self.last_poll_error = "; ".join(errors) if errors else None
        if moved:
            self.version += 1
        if errors:
            self.version += 1  # the served diff is now marked stale
            if raise_errors:
                raise SchemadError(self.last_poll_error or "poll failed")
        return moved

    async def _poll_one(
        self, t: TargetState, shared: SharedSchemas | None = None, prints: Prints | None = None
    ) -> bool:
        """Refresh one target's live side; True if it changed in a way its diff depends on.

        That is its schema, a table's size where the dir's options route,
        print or judge statements by size, or whether a seeded table is empty.
        """
        ds = self.dirs[t.dir_path]
        opts = ds.opts
        before, was_empty = t.live.table_sizes, t.live.empty_tables
        moved = await poll_target(
            t.live,
            self.instances.get(t.target.params),
            t.target.schema,
            opts.filters,
            self.clock,
            shared,
            str(t.dir_path),
            prints,
        )
        # A seeded table that gets (or loses) its rows adds or removes its INSERTs.
        seeded = {k.name for k in seeded_tables(ds.logical, opts)} if ds.logical is not None else set()
        return (
            moved
            or (uses_sizes(opts.mods, opts) and t.live.table_sizes != before)
            or bool(seeded & (t.live.empty_tables ^ was_empty))
        )

    # ///// the desired side /////

    def _charset_for(self, t: TargetState) -> tuple[str, str]:
        opts = self.dirs[t.dir_path].opts
        live = t.live
        cs = opts.char_set or (live.schema.char_set if live.schema else "") or live.server_charset[0]
        co = opts.collation or (live.schema.collation if live.schema else "") or live.server_charset[1]
        if opts.char_set and not opts.collation:
            co = ""  # the server's default collation of that charset
        return cs, co

    async def _build_dirs(self, dirs: Iterable[DirState], *, only_missing: bool = False) -> None:
        await asyncio.gather(*(self._build_dir(d, only_missing=only_missing) for d in dirs))

    async def _build_dir(self, ds: DirState, *, only_missing: bool = False) -> None:
        """The dir's desired side, run on the server of its first target, in each charset its targets use."""
        targets = [t for t in self.targets.values() if t.dir_path == ds.dir.path]
        if not targets or ds.config_error:
            return
        first = targets[0]
        server = first.target if first.live.flavor is not None else None  # never reached: no workspace
        charsets = {self._charset_for(t) for t in targets if t.live.flavor is not None}
        await build_dir(ds, self.repo, server, charsets, self.instances.get, only_missing=only_missing)

    # ///// diffs /////

    def desired_for(self, t: TargetState) -> Schema | None:
        """The dir's workspace schema for this target's charset, under the target's schema name."""
        return self.dirs[t.dir_path].schema(self._charset_for(t), t.target.schema)

    def _mods_for(self, t: TargetState) -> StatementModifiers:
        return self.dirs[t.dir_path].opts.mods.with_changes(flavor=t.live.flavor)

    def _diff_all(self) -> None:
        self._diff(list(self.targets))

    def _diff(self, keys: Iterable[tuple[str, str]]) -> None:
        # Shards of one dir with the same live schema, name, charset (and sizes, where they count)
        # get the same statements: planned once, unless a wrapper route names the server.
        memo: dict[tuple[object, ...], TargetDiff] = {}
        for key in keys:
            t = self.targets.get(key)
            if t is None:
                continue
            t.diff, t.error = None, None
            ds = self.dirs[t.dir_path]
            rel = _relative(ds.dir.path, self.root)
            if ds.error:
                t.error = ds.error
            elif t.live.flavor is None or t.live.snapshot_at is None:
                t.error = t.live.error or "not polled yet"
            else:
                desired = self.desired_for(t)
                same = self._same_plan_key(t)
                if desired is not None and same in memo:
                    t.diff = replace(memo[same], address=t.target.address)
                elif desired is None:
                    t.error = "the workspace has not run for this schema yet"
                else:
                    live = t.live.schema if t.live.exists else None
                    try:
                        plan = plan_from_models(
                            t.target,
                            live,
                            desired,
                            self._mods_for(t),
                            ds.opts,
                            t.live.table_sizes,
                            logical=ds.logical,
                            empty=t.live.empty_tables,  # the poll's row counts: push_plan asks the tables
                        )
                    except SchemadError as exc:  # a plan that may not be made (routes.VersionedHistoryError)
                        t.error = str(exc)
                        continue
                    if plan.failures:  # seed INSERTs that do not fit their table, at file:line
                        t.error = "; ".join(str(f) for f in plan.failures)
                        continue
                    t.diff = TargetDiff(
                        address=t.target.address,
                        schema=t.target.schema,
                        dir=rel,
                        planned=plan.steps,
                        unsupported=tuple(plan.diff.unsupported),
                        lint=plan.lint,
                    )
                    if all(p.route.kind is RouteKind.DIRECT for p in plan.steps):
                        memo[same] = t.diff
        self.version += 1

    def _same_plan_key(self, t: TargetState) -> tuple[object, ...]:
        """What a target's plan depends on besides its server's address (see `_diff`)."""
        ds = self.dirs[t.dir_path]
        sizes = tuple(sorted(t.live.table_sizes.items())) if uses_sizes(ds.opts.mods, ds.opts) else ()
        seeded = {k.name for k in seeded_tables(ds.logical, ds.opts)} if ds.logical is not None else set()
        return (
            t.dir_path,
            t.target.schema,
            str(t.live.flavor),
            self._charset_for(t),
            t.live.exists,
            group_fingerprint(t.live.fingerprints),
            sizes,
            tuple(sorted(seeded & t.live.empty_tables)),
        )

    async def push_plan(
        self, key: tuple[str, str], *, allow_unsafe: bool, tables: Collection[str] = ()
    ) -> Plan:
        """The Plan a push of one target runs, judged and verified now; its `refusals` say what may not run.

        Planned as the served diff is (`plan_from_models` over the live schema
        and the table sizes of the last poll, which a push makes fresh first),
        with the request's `allow_unsafe` and only `tables` when given.  The
        tables whose size decides whether an unsafe statement may run
        (safe-below-size) are asked whether they have rows, as the CLI does,
        rather than trusted to the server's row estimate.  With the dir's
        `verify` (the default), the ALTER TABLEs are then replayed on copies of
        the live tables (`planner.verified`, as the CLI's build_plan does).
        """
        t = self.targets[key]
        ds = self.dirs[t.dir_path]
        opts = ds.opts
        desired = self.desired_for(t)  # the live side, desired side and sizes of one moment
        if desired is None or t.live.flavor is None:
            raise SchemadError(f"{t.target.address} {t.target.schema}: {t.error or 'not evaluated yet'}")
        live = t.live.schema if t.live.exists else None
        sizes = t.live.table_sizes
        mods = self._mods_for(t)
        if allow_unsafe:
            mods = mods.with_changes(allow_unsafe=True)
        steps = [s for s in t.diff.steps if not tables or s.key.name in tables] if t.diff is not None else []
        exact = tables_to_size(steps, mods.allow_unsafe, opts.safe_below_size)
        if exact:
            sizes |= await table_sizes(self.instances.get(t.target.params), t.target.schema, exact)
        empty: set[str] = set()
        if ds.logical is not None:  # whether a seeded table is empty, asked of the table now
            names = sorted({k.name for k in seeded_tables(ds.logical, opts)} & set(t.live.sizes))
            empty = await empty_tables(self.instances.get(t.target.params), t.target.schema, names)
        plan = plan_from_models(t.target, live, desired, mods, opts, sizes, logical=ds.logical, empty=empty)
        if plan.failures:
            raise SchemadError("; ".join(str(f) for f in plan.failures))
        if tables:
            plan = plan.only_tables(tables)
        # Verify replays what the files' `@renamed from=` annotations ask for, as build_plan's does.
        annotated = desired if ds.logical is None else annotate_renames(desired, ds.logical.creates.values())
        return await verified(plan, live, annotated, mods, opts)


def _dir_error(e: DirError) -> str:
    """A dir's config error: `file:line: message` for a .skeema that can't be read, else `dir: message`."""
    return str(e.error) if isinstance(e.error, OptionFileError) else f"{e.path}: {e.error}"


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."
