"""One repo x environment in the daemon: the desired side per dir, the live side per target, the diffs.

`RepoEnvironment` keeps, in memory:

* per schema dir, the files' statements (re-split only when a file changed)
  and the schema the workspace made of them, per charset/collation in use,
  through the shared canonical cache: after a save only the changed
  statement runs in the workspace;
* per target (server x schema), the live schema, the per-object fingerprints
  it was read with, and when;
* per target, the diff of the two, recomputed whenever either side changes.

Reads (`diffs`, `ordered_targets`) never wait on a server.  `poll()` costs the six
fingerprint queries per target when nothing changed and re-introspects only
the objects whose fingerprint moved.  One asyncio lock serialises the
changes (poll, file change, reload) so a diff never mixes two states.

A dir with a broken file, or whose statements the server rejects, shows its
error (file:line) on its own targets and never on the others.  A dir whose
`.skeema` can't be read (or whose targets can't be resolved) keeps the
targets it had, marked with that error, so they are neither dropped from
the diff nor pushed; at start, when it had none, the error is the
environment's (`config_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from schemad.config import WorkspaceConfig
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.schema_diff import SchemaDiff, Step
from schemad.errors import OptionFileError, SchemadError
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema, read_sql
from schemad.introspect.fingerprint import changed, fingerprints
from schemad.introspect.introspector import introspect_schema
from schemad.lint import Severity
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.schema import Schema
from schemad.plan.planner import (
    PlanOptions,
    Refusal,
    RefusalKind,
    Target,
    plan_from_models,
    plan_steps,
    table_sizes,
    tables_to_size,
)
from schemad.plan.targets import DirError, discover_targets, ignore_patterns, plan_options
from schemad.plan.verify import verify_diff
from schemad.service.drift import TargetDiff
from schemad.sqltext.splitter import Statement
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.tempschema import StatementFailure, exec_statements

__all__ = ["DirState", "LiveState", "RepoEnvironment", "TargetState"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _ParsedFile:
    stamp: tuple[int, int]  # (mtime_ns, size) when read
    statements: list[Statement]
    sha256: str


@dataclass(slots=True)
class DirState:
    """The desired side of one schema dir."""

    dir: Dir
    opts: PlanOptions
    parsed: dict[Path, _ParsedFile] = field(default_factory=dict)
    logical: LogicalSchema | None = None
    file_error: str | None = None  # "file:line: message" when a file can't be read or split
    config_error: str | None = None  # .skeema unreadable/unresolved: options and targets are the last known
    desired: dict[tuple[str, str], Schema] = field(default_factory=dict)  # by (charset, collation)
    failures: tuple[StatementFailure, ...] = ()  # statements the workspace server rejected
    files_hash: str = ""  # SHA-256 over the dir's *.sql names and contents
    pending: set[Path] | None = None  # files a watcher batch named since the last read

    @property
    def error(self) -> str | None:
        if self.config_error:
            return self.config_error
        if self.file_error:
            return self.file_error
        if self.failures:
            return "; ".join(str(f) for f in self.failures)
        return None


@dataclass(slots=True)
class LiveState:
    """The live side of one target, as of the last successful poll."""

    schema: Schema | None = None  # None: the schema does not exist (or never polled)
    exists: bool = False
    fingerprints: dict[ObjectKey, str] = field(default_factory=dict)
    snapshot_at: float | None = None  # when `schema` was last confirmed current
    flavor: Flavor | None = None
    server_charset: tuple[str, str] = ("", "")  # character_set_server, collation_server
    error: str | None = None  # the last poll's error for this target; None after a success


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
        self._instances: dict[str, Instance] = {}
        self._discovered = False

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
            moved = await self._poll_all(raise_errors=True)
            # A schema whose charset changed may need a workspace of that charset.
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
        for inst in self._instances.values():
            await inst.close()
        self._instances.clear()

    # ///// discovery /////

    async def _discover(self) -> None:
        async def server_schemas(params: ConnParams) -> list[str]:
            return await self._instance(params).schema_names()

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
                ds = DirState(d, self._options(d))
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
        self.version += 1

    def _options(self, d: Dir) -> PlanOptions:
        opts = plan_options(d, self.cache)
        ws, cfg = self.workspace, d.config
        if ws is None:
            return opts
        workspace = replace(
            opts.workspace,
            temp_schema=opts.workspace.temp_schema if cfg.is_set("temp-schema") else ws.temp_schema,
            concurrency=opts.workspace.concurrency if cfg.is_set("temp-schema-threads") else ws.threads,
        )
        return replace(opts, workspace=workspace)

    def _instance(self, params: ConnParams) -> Instance:
        inst = self._instances.get(params.address)
        if inst is None or inst.params != params:
            inst = Instance(params, pool_size=6, connect_timeout=5.0)
            self._instances[params.address] = inst
        return inst

    async def _drop_instance(self, params: ConnParams) -> None:
        inst = self._instances.pop(params.address, None)
        if inst is not None:
            with contextlib.suppress(Exception):
                await inst.close()

    # ///// the live side /////

    async def _poll_all(self, *, raise_errors: bool) -> list[tuple[str, str]]:
        return await self._poll_targets(list(self.targets.values()), raise_errors=raise_errors)

    async def _poll_targets(self, targets: list[TargetState], *, raise_errors: bool) -> list[tuple[str, str]]:
        """Poll `targets` concurrently; return the keys whose live side changed."""
        results = await asyncio.gather(*(self._poll_one(t) for t in targets), return_exceptions=True)
        moved: list[tuple[str, str]] = []
        errors: list[str] = []
        for t, r in zip(targets, results, strict=True):
            if isinstance(r, BaseException):
                if not isinstance(r, Exception):
                    raise r
                t.live.error = str(r) if isinstance(r, SchemadError) else f"{type(r).__name__}: {r}"
                errors.append(f"{t.target.address} {t.target.schema}: {t.live.error}")
                await self._drop_instance(t.target.params)
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

    async def _poll_one(self, t: TargetState) -> bool:
        """Refresh one target's live side; True if it changed."""
        inst = self._instance(t.target.params)
        schema = t.target.schema
        opts = self.dirs[t.dir_path].opts
        fp = await fingerprints(inst, schema)
        live = t.live
        now = self.clock()
        if live.flavor is None:
            live.flavor = await inst.flavor()
            v = await inst.variables()
            live.server_charset = (v["character_set_server"], v["collation_server"])
        exists = ObjectKey(ObjectType.DATABASE, schema) in fp
        if not exists:
            was = live.exists or live.snapshot_at is None
            live.schema, live.exists, live.fingerprints, live.snapshot_at = None, False, fp, now
            return was
        if live.schema is None:
            live.schema = await introspect_schema(inst, schema, opts.filters)
        else:
            moved = changed(live.fingerprints, fp)
            if not moved:
                live.snapshot_at = now
                return False
            tables = {k.name for k in moved if k.type is ObjectType.TABLE}
            part = await introspect_schema(inst, schema, opts.filters, only_tables=tables)
            kept = [tb for tb in live.schema.tables if tb.name not in tables]
            merged = sorted([*kept, *part.tables], key=lambda tb: tb.name)
            live.schema = replace(part, tables=tuple(merged), _objects={})
        live.exists, live.fingerprints, live.snapshot_at = True, fp, now
        return True

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
        targets = [t for t in self.targets.values() if t.dir_path == ds.dir.path]
        if not targets or ds.config_error:
            return
        if not only_missing or ds.logical is None:
            self._parse(ds)
            ds.desired = {}
        if ds.logical is None:
            return
        first = targets[0]
        if first.live.flavor is None:
            return  # the server was never reached: no workspace either
        wanted = {self._charset_for(t) for t in targets if t.live.flavor is not None}
        failures: list[StatementFailure] = list(ds.failures) if only_missing else []
        for cs, co in sorted(wanted - set(ds.desired)):
            try:
                ws = await exec_statements(
                    first.target.params,
                    ds.logical.creates.values(),
                    schema_name=first.target.schema,
                    char_set=cs,
                    collation=co or await self._default_collation(first.target.params, cs),
                    options=ds.opts.workspace,
                    cache=ds.opts.cache,
                )
            except SchemadError as exc:
                ds.file_error = f"workspace on {first.target.address}: {exc}"
                return
            ds.desired[(cs, co)] = ws.schema
            failures += [f for f in ws.failures if f not in failures]
        ds.failures = tuple(failures)

    async def _default_collation(self, params: ConnParams, charset: str) -> str:
        rows = await self._instance(params).query(
            "SELECT default_collate_name AS c FROM information_schema.character_sets"
            " WHERE character_set_name = %s",
            (charset,),
        )
        return str(rows[0]["c"]) if rows else ""

    def _listing(self, ds: DirState) -> tuple[list[Path], set[Path] | None]:
        """The dir's *.sql files and those to read again (None: compare every file's stamp).

        After a watcher batch (`ds.pending`) only the files it named are looked
        at: the others are known and unchanged, so a save in a dir of 1,000 files
        costs one read, not 1,000 stats.  Otherwise (first read, a previous error,
        symlinks involved) the dir is listed and every file's stamp compared.
        """
        pending, ds.pending = ds.pending, None
        if pending is not None and ds.logical is not None and not any(p.is_symlink() for p in pending):
            mine = {p for p in pending if p.parent == ds.dir.path and p.name.endswith(".sql")}
            present = {p for p in mine if p.is_file()}
            files = (set(ds.parsed) - mine) | present
            return sorted(files, key=lambda p: p.name), present
        return ds.dir.sql_files(), None

    def _parse(self, ds: DirState) -> None:
        """(Re)build the dir's LogicalSchema, re-splitting only files that changed."""
        ignore = ignore_patterns(ds.dir.config)
        logical = LogicalSchema()
        parsed: dict[Path, _ParsedFile] = {}
        digest = hashlib.sha256()
        try:
            files, reread = self._listing(ds)
            for path in files:
                pf = ds.parsed.get(path)
                if pf is not None and reread is not None and path not in reread:
                    stamp = pf.stamp  # the watcher named what changed, and this was not it
                else:
                    st = path.stat()
                    stamp = (st.st_mtime_ns, st.st_size)
                if pf is None or pf.stamp != stamp or (reread is not None and path in reread):
                    text = read_sql(path)
                    one = LogicalSchema.from_texts({str(path): text})
                    pf = _ParsedFile(stamp, one.files[str(path)], hashlib.sha256(text.encode()).hexdigest())
                parsed[path] = pf
                digest.update(f"{path.name}\0{pf.sha256}\n".encode())
                logical.files[str(path)] = pf.statements
                for stmt in pf.statements:
                    logical.add_statement(stmt, ignore=ignore)
        except (SchemadError, OSError) as exc:
            ds.file_error = str(exc) if isinstance(exc, SchemadError) else f"{exc.filename}: {exc.strerror}"
            ds.logical = None
            ds.parsed = parsed
            log.error("repo %s: %s", self.repo, ds.file_error)
            return
        ds.parsed, ds.logical, ds.file_error = parsed, logical, None
        ds.files_hash = digest.hexdigest()

    # ///// diffs /////

    def desired_for(self, t: TargetState) -> Schema | None:
        """The dir's workspace schema for this target's charset, under the target's schema name."""
        desired = self.dirs[t.dir_path].desired.get(self._charset_for(t))
        return replace(desired, name=t.target.schema, _objects={}) if desired is not None else None

    def _mods_for(self, t: TargetState) -> StatementModifiers:
        return self.dirs[t.dir_path].opts.mods.with_changes(flavor=t.live.flavor)

    def _diff_all(self) -> None:
        self._diff(list(self.targets))

    def _diff(self, keys: Iterable[tuple[str, str]]) -> None:
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
                if desired is None:
                    t.error = "the workspace has not run for this schema yet"
                else:
                    live = t.live.schema if t.live.exists else None
                    # Sizes are read when a push runs: until then, size-dependent routes are pending.
                    plan = plan_from_models(
                        t.target, live, desired, self._mods_for(t), ds.opts, None, logical=ds.logical
                    )
                    t.diff = TargetDiff(
                        address=t.target.address,
                        schema=t.target.schema,
                        dir=rel,
                        planned=plan.steps,
                        unsupported=tuple(str(k) for k in plan.diff.unsupported),
                        lint=plan.lint,
                    )
        self.version += 1

    async def push_checks(
        self, key: tuple[str, str], steps: tuple[Step, ...], allow_unsafe: bool
    ) -> list[Refusal]:
        """Why these steps of one target may not run now: unsafe (not allowed), lint errors, verify failures.

        Unsafe table DDL is allowed below the dir's safe-below-size (sizes read
        now); with the dir's `verify` (the default), the ALTER TABLEs are
        replayed on copies of the live tables in the workspace first.
        """
        t = self.targets[key]
        ds = self.dirs[t.dir_path]
        opts = ds.opts
        problems: list[Refusal] = []
        allowed = allow_unsafe or opts.mods.allow_unsafe
        tables = tables_to_size(steps, allowed, opts.safe_below_size)
        sizes = await table_sizes(self._instance(t.target.params), t.target.schema, tables) if tables else {}
        for planned in plan_steps(steps, sizes, allowed, opts.safe_below_size):
            if planned.refused is not None:
                first = planned.step.sql.splitlines()[0]
                problems.append(replace(planned.refused, reason=f"{first} ({planned.refused.reason})"))
        if t.diff is not None:
            changed = {s.key for s in steps}
            problems += [
                Refusal(RefusalKind.LINT, n.key, f"{n.rule}: {n.message}")
                for n in t.diff.lint
                if n.severity is Severity.ERROR and n.key in changed
            ]
        live, desired = t.live.schema, self.desired_for(t)
        if opts.verify and live is not None and desired is not None and any(s.is_alter_table for s in steps):
            sd = SchemaDiff(t.target.schema, tuple(s for s in steps if s.is_alter_table))
            for p in await verify_diff(t.target.params, live, desired, sd, self._mods_for(t), opts.workspace):
                table = ObjectKey(ObjectType.TABLE, p.table)
                problems.append(Refusal(RefusalKind.VERIFY, table, f"{p.table}: {p.message}"))
        return problems


def _dir_error(e: DirError) -> str:
    """A dir's config error: `file:line: message` for a .skeema that can't be read, else `dir: message`."""
    return str(e.error) if isinstance(e.error, OptionFileError) else f"{e.path}: {e.error}"


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."
