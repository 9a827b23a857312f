"""`schemad format [env]`: rewrite hand-edited *.sql files into canonical form.

Canonical means what the server prints: each dir's CREATEs run in a temp
schema (the workspace), and every statement whose text differs from the
server's SHOW CREATE is rewritten in place.  `--skip-write` only reports.
SQL errors are logged with file:line and count as "not canonical", like
Skeema; the failing statement is left untouched.  Exit 0 all canonical,
1 something was (or would be) rewritten, 2 an error stopped a dir.
:func:`reformat` is also what `schemad lint` runs unless `--skip-format`.

Standalone index and constraint statements (`CREATE INDEX i ON t`, `ALTER
TABLE t ADD KEY|CONSTRAINT ..`) ran right after their table's CREATE in
the workspace; with `fold-standalone` (a schemad addition, on by default)
the table's CREATE is rewritten with the server's text, which has them, and
they are removed from wherever they were, so the dir converges to one CREATE
per object.  With `--skip-fold-standalone` such a table is left as it is
(its CREATE alone has no canonical text to compare with).

Views are left as written unless `update-views` (the server keeps a view as
one long line without comments); `strip-definer` removes DEFINER clauses.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemad.cli.args import ParsedArgs
from schemad.cli.common import dir_error, environment, log, log_files, walk
from schemad.cli.dirwork import DirWorkspace, run_dir
from schemad.errors import EXIT_DIFFERENCES, EXIT_FATAL, ConfigError, SchemadError
from schemad.fs.dir import Dir
from schemad.fs.dumper import DumpOptions, canonical_text, dump_objects, read_dir_statements
from schemad.fs.splitmemo import split_memo
from schemad.model.keys import ObjectType
from schemad.sqltext.renames import carry_renames
from schemad.sqltext.splitter import StatementKind
from schemad.workspace.cache import CanonicalCache


def reformat(d: Dir, work: DirWorkspace, *, write: bool = True) -> list[str]:
    """Rewrite the statements of `d` that the server prints differently; return what changed.

    Shared by `format` and `lint` (which reformats unless `--skip-format`).
    With `write`, the files written (each logged); without, only the
    locations of statements not in canonical form (each a warning).
    Statements that failed in the workspace are left untouched.
    """
    cfg = d.config
    logical, result, flavor = work.logical, work.result, work.flavor
    fold = cfg.get_bool("fold-standalone")
    failed = {f.key for f in result.failures}  # a table's CREATE may have run, and a folded statement not
    update_views = work.opts.update_views
    objects = {
        k: o
        for k, o in result.schema.objects().items()
        if k in logical.creates
        and k not in failed
        and (fold or not logical.creates[k].folded)
        and (update_views or k.type is not ObjectType.VIEW)  # hand-formatted views stay as written
    }
    opts = DumpOptions(
        include_auto_inc=cfg.get_bool("include-auto-inc"),
        strip_partitioning=cfg.get_bool("strip-partitioning"),
        keep_renames=True,  # a rename not pushed yet survives a rewrite; pull drops them
        strip_definer=bool(work.opts.strip_definer),
    )
    existing = read_dir_statements(d.path)
    if not write:
        stale: list[str] = []
        for stmts in existing.values():
            for s in stmts:
                if s.kind is StatementKind.CREATE and s.key in objects:
                    want = canonical_text(objects[s.key], flavor, opts, s)
                    if s.key.type is ObjectType.TABLE:
                        want = carry_renames(want, [s.own_body])
                    if s.body != want:
                        log.warning("%s: %s is not in canonical form", s.location, s.key)
                        stale.append(s.location)
                elif s.kind is StatementKind.FOLDABLE and s.key in objects:  # fold-standalone is on
                    log.warning("%s: %s belongs in the CREATE of %s", s.location, s.summary, s.key)
                    stale.append(s.location)
        return stale
    dumped = dump_objects(
        d.path,
        objects,
        flavor,
        opts,
        existing=existing,
        ignored=lambda key: key not in objects,
        memo=split_memo(cfg),
        fold_standalone=fold,
    )
    log_files(dumped, existing.keys())
    return [str(p) for p in dumped.written]


async def _format_dir(d: Dir, passwords: dict[str, str], cache: CanonicalCache) -> int:
    log.info("%s %s", "Reformatting" if d.config.get_bool("write") else "Checking format of", d.path)
    work = await run_dir(d, "format", passwords, cache, refuse_qualified=True)
    code = 0
    for failure in work.result.failures:
        log.error("%s", failure)
        code = EXIT_DIFFERENCES
    if reformat(d, work, write=d.config.get_bool("write")):
        code = EXIT_DIFFERENCES
    return code


def run(args: ParsedArgs) -> int:
    env = environment(args.positionals)
    passwords: dict[str, str] = {}
    code = 0

    def skipped(path: Path, exc: ConfigError) -> None:
        nonlocal code
        log.error("%s", dir_error(path, exc))
        code = max(code, exc.exit_code)  # a bad subdir .skeema: 78, as Skeema's format, the rest still runs

    cache = CanonicalCache()
    for d in walk(env, args.options, skipped):
        if not d.sql_files():
            continue
        try:
            code = max(code, asyncio.run(_format_dir(d, passwords, cache)))
        except SchemadError as exc:
            log.error("%s", dir_error(d.path, exc))
            code = max(code, exc.exit_code if exc.exit_code != 1 else EXIT_FATAL)
    return code
