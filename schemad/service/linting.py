"""Lint one file's text for the API (editors, bots): diagnostics with line, column, rule, severity.

The text is split (a split error is one diagnostic at its line), its CREATEs
run in the workspace of the environment's server through the canonical
cache, and the lint rules judge what the server made of them, with the
options of the dir the file belongs to.  SQL the server rejects is an error
diagnostic at the line of the error (a syntax error's `at line N` counted from
the statement's first line, as Skeema's lint does), else the statement's line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from schemad.errors import SQLFileError
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema
from schemad.lint import Severity, lint_located
from schemad.plan.dir_options import DirOptions
from schemad.plan.seeds import seed_failures
from schemad.records import dataclass
from schemad.service.environment import RepoEnvironment
from schemad.workspace.for_dir import for_dir

__all__ = ["Diagnostic", "lint_text"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    line: int
    column: int
    rule: str
    severity: str  # "error" | "warning"
    message: str


def _dir_for(env: RepoEnvironment, file: str) -> Dir:
    """The dir whose options apply to `file` (repo-relative): the nearest existing dir on its path.

    `file` is whatever a client sent: a dir that can't exist (a NUL byte, a
    name longer than the file system allows) or lies outside the repo is
    passed over like a missing one; the repo root is the last resort.
    """
    root = env.root.resolve()
    candidate = (root / file).parent
    while candidate not in (root, candidate.parent):
        try:
            real = candidate.resolve()
            if (real == root or root in real.parents) and real.is_dir():
                return Dir.open(real, env.name)
        except (OSError, ValueError):  # ENAMETOOLONG, "embedded null byte": no such dir
            pass
        candidate = candidate.parent
    return Dir.open(root, env.name)


async def lint_text(env: RepoEnvironment, file: str, sql: str) -> list[Diagnostic]:
    """Diagnostics for `sql` as the contents of `file`; needs one reachable server of `env`.

    The text runs together with the rest of its dir (the files the daemon
    already holds, split once), so foreign keys and views reading other files
    resolve; through the canonical cache only what is new runs in the
    workspace.  Only the findings on this file's objects are returned.
    """
    d = _dir_for(env, file)
    opts = DirOptions.from_dir(d)
    name = Path(file).name  # no syscall: the name may be anything a client sends
    try:
        own = LogicalSchema.from_texts({file: sql}, ignore=opts.ignore)
    except SQLFileError as exc:
        return [Diagnostic(exc.line or 1, 1, "syntax", "error", exc.reason)]
    out = [
        Diagnostic(s.line, 1, "unparsed", "warning", "unable to parse statement; it is ignored")
        for s in own.unparsed
    ] + [
        Diagnostic(
            s.line,
            1,
            "unsupported",
            "warning",
            f"{s.unsupported_reason}: never run in the workspace; ignored",
        )
        for s in own.unsupported.values()
    ]
    target = next((t for t in env.ordered_targets() if t.live.flavor is not None), None)
    if target is None:
        raise LookupError(f"no server of environment {env.name} has been reached yet")
    statements = dict(own.creates)
    ds = env.dirs.get(d.path)
    if ds is not None and ds.logical is not None:
        for key, stmt in ds.logical.creates.items():
            if key not in statements and Path(stmt.file).name != name:
                statements[key] = stmt
    # The temp schema is on the target's server: its dir's workspace options (the daemon's defaults in).
    settings = replace(opts, workspace=env.dirs[target.dir_path].opts.workspace)
    result = await for_dir(
        target.target.params,
        statements.values(),
        settings,
        schema_name="lint",
        fallback=target.live.server_charset,
        cache=opts.cache_for(env.cache),
        # A CREATE may be qualified with the schema it is linted against: the target's ("lint" is no file's).
        home=(target.target.schema,),
        strip_definer=bool(opts.strip_definer),  # unset: off
    )
    for f in result.failures:
        if f.key in own.creates:
            out.append(Diagnostic(f.line, f.column or 1, "sql-error", "error", f.message))
    # This file's seed INSERTs, checked against the tables (never run).
    for f in seed_failures(own.seeds, result.schema, (target.target.schema,), result.failures):
        out.append(Diagnostic(f.line, f.column or 1, "sql-error", "error", f.message))
    assert target.live.flavor is not None
    for note in lint_located(
        result.schema, target.live.flavor, opts.lint, own.creates, only=set(own.creates)
    ):
        severity = "error" if note.severity is Severity.ERROR else "warning"
        out.append(Diagnostic(note.line or 1, note.column or 1, note.rule, severity, note.message))
    return sorted(out, key=lambda x: (x.line, x.column, x.rule))
