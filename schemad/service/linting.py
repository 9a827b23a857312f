"""Lint one file's text for the API (editors, bots): diagnostics with line, column, rule, severity.

The text is split (a split error is one diagnostic at its line), its CREATEs
run in the workspace of the environment's server through the canonical
cache, and the lint rules judge what the server made of them, with the
options of the dir the file belongs to.  SQL the server rejects is an error
diagnostic at the statement's line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemad.errors import SQLFileError
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema
from schemad.lint import Severity, lint_schema, locate
from schemad.plan.targets import ignore_patterns, lint_options
from schemad.service.environment import RepoEnvironment
from schemad.workspace.tempschema import exec_statements

__all__ = ["Diagnostic", "lint_options", "lint_text"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    line: int
    column: int
    rule: str
    severity: str  # "error" | "warning"
    message: str


def _dir_for(env: RepoEnvironment, file: str) -> Dir:
    """The dir whose options apply to `file` (repo-relative): its own dir if it exists, else the root."""
    root = env.root.resolve()
    candidate = (root / file).parent.resolve()
    if candidate != root and root not in candidate.parents:
        candidate = root
    while candidate != root and not candidate.is_dir():
        candidate = candidate.parent
    return Dir.open(candidate, env.name)


async def lint_text(env: RepoEnvironment, file: str, sql: str) -> list[Diagnostic]:
    """Diagnostics for `sql` as the contents of `file`; needs one reachable server of `env`."""
    d = _dir_for(env, file)
    try:
        logical = LogicalSchema.from_texts({file: sql}, ignore=ignore_patterns(d.config))
    except SQLFileError as exc:
        return [Diagnostic(exc.line or 1, 1, "syntax", "error", exc.reason)]
    out = [
        Diagnostic(s.line, 1, "unparsed", "warning", "unable to parse statement; it is ignored")
        for s in logical.unparsed
    ]
    target = next((t for t in env.ordered_targets() if t.live.flavor is not None), None)
    if target is None:
        raise LookupError(f"no server of environment {env.name} has been reached yet")
    cs, co = target.live.server_charset
    result = await exec_statements(
        target.target.params,
        logical.creates.values(),
        schema_name="lint",
        char_set=d.config.get("default-character-set") or cs,
        collation=d.config.get("default-collation") or co,
        options=env.dirs[target.dir_path].opts.workspace,
        cache=env.cache,
    )
    for f in result.failures:
        out.append(Diagnostic(f.line, 1, "sql-error", "error", f.message))
    assert target.live.flavor is not None
    for note in lint_schema(result.schema, target.live.flavor, lint_options(d)):
        source = logical.creates.get(note.key)
        if source is not None:
            note = locate(note, source.text, source.file, source.line)
        severity = "error" if note.severity is Severity.ERROR else "warning"
        out.append(Diagnostic(note.line or 1, note.column or 1, note.rule, severity, note.message))
    return sorted(out, key=lambda x: (x.line, x.column, x.rule))


def relative_file(env: RepoEnvironment, path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return str(p.resolve().relative_to(env.root.resolve()))
        except ValueError:
            return p.name
    return path
