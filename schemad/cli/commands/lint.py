"""`schemad lint [env]`: run every dir's CREATEs in the workspace, check them against the lint rules.

Like Skeema: SQL errors from the workspace are always errors; the rules see
what the server made of the files (the workspace model), so they judge the
real table, not the spelling.  Like Skeema v1, lint also reformats the files
the way `schemad format` does unless `--skip-format`.  Exit 0 clean, 1
warnings only or files reformatted, 2 any error (or a dir that could not be
linted).

`lint-stale-rename` (schemad addition) is the one rule that reads the live
schema: a table whose file carries a `@renamed from=` annotation is read
from the dir's first host, and an annotation whose new name it already has
is reported (see schemad.lint.rules.renames).

`--output` (schemad addition, default `text`) picks how findings are shown:
`text` logs `file:line:col: [severity] rule: message` lines (STDERR, as
before); `json`, `sarif` (SARIF 2.1.0, for code scanning) and `github`
(workflow commands, inline annotations on a pull request) print one report
on STDOUT with paths relative to the repository root, logs staying on STDERR.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from dataclasses import field, replace
from pathlib import Path

from schemad.cli.args import ParsedArgs
from schemad.cli.commands.format import reformat
from schemad.cli.common import VERSION, dir_error, environment, log, walk
from schemad.cli.dirwork import DirWorkspace, run_dir
from schemad.connection.instance import Instance
from schemad.errors import EXIT_DIFFERENCES, EXIT_FATAL, EXIT_OK, ConfigError, SchemadError, SQLFileError
from schemad.fs.dir import Dir
from schemad.fs.registry import SKEEMA_OPTIONS
from schemad.introspect.tables import load_tables
from schemad.lint import Note, Severity, lint_located, lint_schema, locate
from schemad.lint.report import SQL_ERROR, UNPARSED, Annotation, OutputFormat, render, text_line
from schemad.lint.rules.renames import STALE_RENAME
from schemad.model.keys import ObjectType
from schemad.model.schema import Schema
from schemad.plan.dir_options import conn_params
from schemad.plan.seeds import seed_failures
from schemad.records import dataclass
from schemad.sqltext.renames import annotate_renames, statement_renames
from schemad.workspace.cache import CanonicalCache


@dataclass(slots=True)
class _Outcome:
    """What linting the dirs found: the exit code, the findings, the files reformatted."""

    code: int = EXIT_OK
    annotations: list[Annotation] = field(default_factory=list)
    reformatted: list[str] = field(default_factory=list)
    skipped: int = 0  # dirs that could not be linted


async def _lint_dir(
    d: Dir, passwords: dict[str, str], cache: CanonicalCache | None, out: _Outcome, *, text: bool
) -> None:
    work = await run_dir(d, "lint", passwords, cache)  # logs unparsed statements itself
    logical, result, flavor = work.logical, work.result, work.flavor
    code = EXIT_DIFFERENCES if logical.unparsed else EXIT_OK
    for stmt in logical.unparsed:
        out.annotations.append(
            Annotation(
                stmt.file, stmt.line, stmt.col, UNPARSED, Severity.WARNING, "unable to parse statement"
            )
        )
    # A seed INSERT that does not fit its table is an error, like a statement the workspace rejects.
    seeds = seed_failures(logical.seeds, result.schema, work.opts.home, result.failures)
    for failure in (*result.failures, *seeds):
        if text:
            log.error("%s", failure)
        message = f"{failure.key}: {failure.message}"
        out.annotations.append(
            Annotation(failure.file, failure.line, failure.column, SQL_ERROR, Severity.ERROR, message)
        )
        code = EXIT_FATAL
    notes = lint_located(result.schema, flavor, work.opts.lint, logical.creates)
    for note in notes + await _stale_renames(d, passwords, work):
        a = Annotation(
            note.file or str(d.path), note.line, note.column, note.rule, note.severity, note.message
        )
        out.annotations.append(a)
        if a.severity is Severity.ERROR:
            code = EXIT_FATAL
            if text:
                log.error("%s", text_line(a))
        else:
            code = max(code, EXIT_DIFFERENCES)
            if text:
                log.warning("%s", text_line(a))
    if d.config.get_bool("format"):
        qualified = [s for s in logical.creates.values() if s.schema is not None]
        if qualified:
            # Like `format`: a schema-qualified CREATE can't be placed when rewriting.
            log.warning(
                "%s: schema-qualified name; files of %s not reformatted", qualified[0].location, d.path
            )
            code = max(code, EXIT_DIFFERENCES)
        else:
            written = reformat(d, work)
            out.reformatted += written
            if written:
                code = max(code, EXIT_DIFFERENCES)
    out.code = max(out.code, code)


async def _stale_renames(d: Dir, passwords: dict[str, str], work: DirWorkspace) -> list[Note]:
    """lint-stale-rename: the annotated tables of the dir as the live schema has them, annotated."""
    opts = work.opts.lint
    annotated = {
        k for k, s in work.logical.creates.items() if k.type is ObjectType.TABLE and statement_renames(s)
    }
    if not annotated or opts.severity(STALE_RENAME.name) is Severity.IGNORE:
        return []
    host = d.hosts()[0]
    async with Instance(conn_params(d, host, passwords)) as inst:
        available = await inst.schema_names()
        names = [n for n in d.schema_names(lambda: available, host=host) if n in available]
        if not names:
            return []  # nothing live yet: nothing can be stale
        tables = await load_tables(inst, names[0], work.flavor, {k.name for k in annotated})
    live = Schema(names[0], "", "", tables=tuple(tables))
    live = annotate_renames(live, (work.logical.creates[k] for k in annotated))
    out = []
    for note in lint_schema(live, work.flavor, opts, only=annotated, rules=(STALE_RENAME,)):
        s = work.logical.creates[note.key]
        out.append(locate(note, s.text, s.file, s.line, s.col))
    return out


def _relative(path: str, base: Path) -> str:
    """`path` relative to the repository root with forward slashes (as is when outside it)."""
    p = Path(os.path.abspath(path))
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return p.as_posix()


# Rule name -> the summary of its `lint-<rule>` option, for SARIF's rule descriptions.
_DESCRIPTIONS = {o.name[len("lint-") :]: o.description for o in SKEEMA_OPTIONS if o.name.startswith("lint-")}


def _summary(out: _Outcome) -> None:
    """Skeema's closing line: `Found 2 errors and 1 warning` (an error), `Found 3 warnings` (a warning)."""
    if out.skipped:
        log.error("Skipped %s due to errors", _count(out.skipped, "dir"))
    errors = sum(a.severity is Severity.ERROR for a in out.annotations)
    warnings = sum(a.severity is Severity.WARNING for a in out.annotations)
    found = [_count(n, noun) for n, noun in ((errors, "error"), (warnings, "warning")) if n]
    if errors:
        log.error("Found %s", " and ".join(found))
    elif warnings:
        log.warning("Found %s", " and ".join(found))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def run(args: ParsedArgs) -> int:
    env = environment(args.positionals)
    passwords: dict[str, str] = {}
    out = _Outcome()

    def skipped(path: Path, exc: ConfigError) -> None:
        # A subdir whose .skeema can't be read: 78 as in Skeema's lint, and the other dirs are still linted.
        log.error("%s", dir_error(path, exc))
        out.code = max(out.code, exc.exit_code)
        out.skipped += 1

    walker = walk(env, args.options, skipped)
    root = next(walker)
    fmt = OutputFormat(root.config.get_enum("output"))
    text = fmt is OutputFormat.TEXT
    cache = CanonicalCache()
    try:
        for d in itertools.chain([root], walker):
            log.info("Linting %s", d.path)
            if not d.sql_files():
                continue
            try:
                use = None if d.config.get_bool("no-cache") else cache
                asyncio.run(_lint_dir(d, passwords, use, out, text=text))
            except SchemadError as exc:
                log.error("%s", dir_error(d.path, exc))
                out.skipped += 1
                # A config problem (no host, a bad lint-* value) is 78, as in Skeema; anything else 2.
                out.code = max(out.code, exc.exit_code if exc.exit_code != EXIT_DIFFERENCES else EXIT_FATAL)
                if isinstance(exc, SQLFileError) and exc.file:
                    a = Annotation(exc.file, exc.line, None, SQL_ERROR, Severity.ERROR, exc.reason)
                    out.annotations.append(a)
    finally:
        cache.close()
    _summary(out)
    if not text:
        base = Path(os.path.abspath(root.config.repo_base or root.path))
        found = [replace(a, file=_relative(a.file, base)) for a in out.annotations]
        reformatted = [_relative(p, base) for p in out.reformatted]
        report = render(fmt, found, version=VERSION, descriptions=_DESCRIPTIONS, reformatted=reformatted)
        sys.stdout.write(report)
        sys.stdout.flush()
    return out.code
