"""The desired side of one schema dir: its files' statements and the schemas the workspace made of them.

A `DirState` is kept per schema dir of an environment.  `build_dir` brings it
up to date: the dir's `*.sql` files are re-split only when they changed (their
(mtime, size) stamp moved, or a watcher batch named them), and their CREATEs
run in the workspace once per charset/collation the dir's targets use,
through the shared canonical cache: after a save only the changed statement
runs.  Nothing here reads a live schema; which charsets are wanted, and on
which server the workspace runs, the environment says.

A file that can't be read or split, or a workspace that can't be set up, is
the dir's `file_error`; statements the server rejects are its `failures`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Set
from dataclasses import field, replace
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.daemon_config import WorkspaceConfig
from schemad.errors import SchemadError
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema, read_sql
from schemad.model.schema import Schema
from schemad.plan.dir_options import DirOptions
from schemad.plan.planner import PlanOptions, Target
from schemad.records import dataclass
from schemad.sqltext.splitter import Statement
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.for_dir import for_dir
from schemad.workspace.result import StatementFailure

__all__ = ["DirState", "build_dir", "dir_options"]

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

    def schema(self, charset: tuple[str, str], name: str) -> Schema | None:
        """The workspace's schema of this charset/collation, under the schema name `name`."""
        desired = self.desired.get(charset)
        return replace(desired, name=name, _objects={}) if desired is not None else None


def dir_options(d: Dir, cache: CanonicalCache, workspace: WorkspaceConfig | None) -> PlanOptions:
    """The dir's plan options; the daemon's `workspace` settings fill in what its .skeema leaves unset."""
    opts = DirOptions.from_dir(d)
    cfg = d.config
    if workspace is not None:
        own = opts.workspace
        ws = replace(
            own,
            temp_schema=own.temp_schema if cfg.is_set("temp-schema") else workspace.temp_schema,
            concurrency=own.concurrency if cfg.is_set("temp-schema-threads") else workspace.threads,
        )
        opts = replace(opts, workspace=ws)
    return opts.plan_options(cache)


async def build_dir(
    ds: DirState,
    repo: str,
    server: Target | None,
    charsets: Set[tuple[str, str]],
    instance: Callable[[ConnParams], Instance],
    *,
    only_missing: bool = False,
) -> None:
    """Read the dir's files again and run them in the workspace once per charset/collation in `charsets`.

    `server` is the target whose server hosts the workspace (None: no server
    of the dir was reached yet, so the files are read but not run); a
    collation of "" is that charset's default on the server, asked through
    `instance`.  With `only_missing`, a dir already read keeps its files and
    schemas, and only the charsets it has no schema for yet run.
    """
    if not only_missing or ds.logical is None:
        _read(ds, repo)
        ds.desired = {}
    if ds.logical is None or server is None:
        return
    failures: list[StatementFailure] = list(ds.failures) if only_missing else []
    for cs, co in sorted(charsets - set(ds.desired)):
        try:
            # (cs, co) already hold the dir's defaults (environment._charset_for), so for_dir keeps them.
            collation = co or await _default_collation(instance(server.params), cs)
            # home: for_dir's default, the server's target schema alone, the name the diffs use.
            ws = await for_dir(
                server.params,
                ds.logical.creates.values(),
                ds.opts,
                schema_name=server.schema,
                fallback=(cs, collation),
                cache=ds.opts.cache,
                strip_definer=bool(ds.opts.strip_definer),  # unset: off (no live user to ask here)
            )
        except SchemadError as exc:
            ds.file_error = f"workspace on {server.address}: {exc}"
            return
        ds.desired[(cs, co)] = ws.schema
        failures += [f for f in ws.failures if f not in failures]
    ds.failures = tuple(failures)


async def _default_collation(inst: Instance, charset: str) -> str:
    rows = await inst.query(
        "SELECT default_collate_name AS c FROM information_schema.character_sets"
        " WHERE character_set_name = %s",
        (charset,),
    )
    return str(rows[0]["c"]) if rows else ""


def _listing(ds: DirState) -> tuple[list[Path], set[Path] | None]:
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


def _read(ds: DirState, repo: str) -> None:
    """(Re)build the dir's LogicalSchema, re-splitting only files that changed."""
    ignore = ds.opts.filters
    logical = LogicalSchema()
    parsed: dict[Path, _ParsedFile] = {}
    digest = hashlib.sha256()
    try:
        files, reread = _listing(ds)
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
        log.error("repo %s: %s", repo, ds.file_error)
        return
    ds.parsed, ds.logical, ds.file_error = parsed, logical, None
    ds.files_hash = digest.hexdigest()
