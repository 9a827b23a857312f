"""`schemad lint [env]`: run every dir's CREATEs in the workspace and check them against the lint rules.

Like Skeema: SQL errors from the workspace are always errors; findings are
logged as `file:line:col: [severity] rule: message`; exit 0 clean, 1 warnings
only, 2 any error (or a dir that could not be linted).  The rules see what
the server made of the files (the workspace model), so they judge the real
table, not the spelling.  Reformatting files (`--format`) is not done here
yet: use `schemad format`.
"""

from __future__ import annotations

import asyncio

from schemad.cli.args import ParsedArgs
from schemad.cli.common import cwd, dir_error, environment, log, sources
from schemad.cli.dirwork import run_dir
from schemad.errors import EXIT_DIFFERENCES, EXIT_FATAL, EXIT_OK, SchemadError
from schemad.fs.dir import Dir
from schemad.lint import Severity, lint_schema, locate
from schemad.service.linting import lint_options
from schemad.workspace.cache import CanonicalCache


async def _lint_dir(d: Dir, passwords: dict[str, str], cache: CanonicalCache | None) -> int:
    work = await run_dir(d, "lint", passwords, cache)
    logical, result, flavor = work.logical, work.result, work.flavor
    code = EXIT_DIFFERENCES if logical.unparsed else EXIT_OK
    for failure in result.failures:
        log.error("%s", failure)
        code = EXIT_FATAL
    for note in lint_schema(result.schema, flavor, lint_options(d)):
        source = logical.creates.get(note.key)
        if source is not None:
            note = locate(note, source.text, source.file, source.line)
        where = f"{note.file}:{note.line}:{note.column}" if note.file else str(d.path)
        line = f"{where}: [{note.severity}] {note.rule}: {note.message}"
        if note.severity is Severity.ERROR:
            log.error("%s", line)
            code = EXIT_FATAL
        else:
            log.warning("%s", line)
            code = max(code, EXIT_DIFFERENCES)
    return code


def run(args: ParsedArgs) -> int:
    env = environment(args.positionals)
    passwords: dict[str, str] = {}
    code = EXIT_OK
    cache = CanonicalCache()
    try:
        for d in Dir.walk(cwd(), env, sources=sources(args.options)):
            if not d.sql_files():
                continue
            try:
                use = None if d.config.get_bool("no-cache") else cache
                code = max(code, asyncio.run(_lint_dir(d, passwords, use)))
            except SchemadError as exc:
                log.error("%s", dir_error(d.path, exc))
                code = max(code, EXIT_FATAL)
    finally:
        cache.close()
    return code
