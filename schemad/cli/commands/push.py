"""`schemad push [env]` and `schemad diff [env]` (which is `push --dry-run`).

For every target (schema dir x host x schema name) the files are run in the
workspace, the live schema is introspected, and the diff is printed on
STDOUT in Skeema's format (`-- instance: host:port`, `USE`, statements ending
`;`, routine bodies in `DELIMITER //` blocks); push then executes it under
the schema's push lock.  Unsafe statements skip the whole target unless
allowed.  Logs go to STDERR.

Exit codes (Skeema's): diff 0 no differences, 1 differences, 2 anything
skipped or failed; push 0 ok, 1 unsupported tables skipped, 2 anything
skipped or failed; 78 bad configuration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections import Counter, defaultdict
from dataclasses import field

from schemad.cli.args import ParsedArgs
from schemad.cli.common import cwd, dir_error, environment, log, sources, walk, warn_unsupported
from schemad.cli.progress import ProgressLine
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import EXIT_DIFFERENCES, EXIT_FATAL, EXIT_OK, ConfigError, SchemadError
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema
from schemad.fs.splitmemo import split_memo
from schemad.lint.options import Severity
from schemad.plan.dir_options import DirOptions
from schemad.plan.planner import Plan, Target, build_plan
from schemad.plan.render import InstanceHeaders, target_text
from schemad.plan.targets import discover_targets
from schemad.records import dataclass
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.scratch import preflight


@dataclass(slots=True)
class Outcome:
    code: int = EXIT_OK
    output: list[str] = field(default_factory=list)  # STDOUT text, printed per target in one piece
    result: str = "skipped (error)"  # what happened, for the summary lines of a run over many targets


class Printer:
    """Writes each target's text to STDOUT as it is ready, with Skeema's `-- instance:` headers."""

    def __init__(self) -> None:
        self._headers = InstanceHeaders()

    def print(self, address: str, text: str) -> None:
        text = self._headers(address, text)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()


def _report_plan(plan: Plan, out: Outcome) -> bool:
    """Log problems; True if the plan may run."""
    t = plan.target
    where = f"{t.address} {t.schema}"
    if plan.failures:
        for f in plan.failures:
            log.error("%s", f)
        log.error(
            "Skipping %s: %d statement(s) in %s failed in the workspace",
            where,
            len(plan.failures),
            t.dir_path,
        )
        out.code = max(out.code, EXIT_FATAL)
        return False
    if plan.verify_problems:
        for problem in plan.verify_problems:
            log.error("Diff verification failure on %s: %s", where, problem)
        log.error(
            "Skipping %s: the generated ALTERs do not produce the tables in %s. This is a bug in schemad;"
            " please report it. Use --skip-verify to push anyway.",
            where,
            t.dir_path,
        )
        out.code = max(out.code, EXIT_FATAL)
        return False
    for note in plan.lint:
        place = f"{note.file}:{note.line}:{note.column}" if note.file else f"{where} {note.key}"
        line = f"{place}: [{note.severity}] {note.rule}: {note.message}"
        if note.severity is Severity.ERROR:
            log.error("%s", line)
        else:
            log.warning("%s", line)
    if plan.lint_errors:
        log.error("Skipping %s due to %d linter error(s)", where, len(plan.lint_errors))
        out.code = max(out.code, EXIT_FATAL)
        return False
    for key in plan.diff.unsupported:
        log.warning("Skipping %s on %s: it uses features schemad cannot alter; change it by hand", key, where)
        out.code = max(out.code, EXIT_DIFFERENCES)
    if plan.refused:
        for s in plan.refused:
            why = s.refused.reason if s.refused is not None else ""
            log.error("Desired %s is not safe: %s.\n%s", s.step.key, why, s.step.sql)
        log.error(
            "Skipping %s due to %d unsafe statement(s). Use --allow-unsafe or --safe-below-size.",
            where,
            len(plan.refused),
        )
        out.code = max(out.code, EXIT_FATAL)
        return False
    return True


async def _run_target(
    target: Target,
    d: Dir,
    dry_run: bool,
    brief: bool,
    out: Outcome,
    progress: ProgressLine,
    cache: CanonicalCache | None,
    warned: set[str],
    printer: Printer,
    passwords: dict[str, str],
) -> None:
    """Plan, print and (unless dry-run) push one target; `warned` holds the wrapper advice already logged.

    `passwords` caches those of temp-schema-environment servers across the run's targets.
    """
    cfg = d.config
    cfg.check_values()  # a bad value in this dir's .skeema, with its file:line, before any work
    where = f"{target.address} {target.schema}"
    files = os.path.join(target.dir_path, "*.sql")
    if dry_run:
        log.info("Generating diff of %s vs %s", where, files)
    else:
        log.info("Pushing changes from %s to %s", files, where)
    progress.update(f"{target.address} {target.schema}: planning")
    opts = DirOptions.from_dir(d, passwords=passwords)
    logical = LogicalSchema.from_files(d.sql_files(), ignore=opts.ignore, memo=split_memo(cfg))
    for stmt in logical.unparsed:
        log.warning("%s: unable to parse statement; ignored", stmt.location)
    warn_unsupported(logical)
    plan = await build_plan(target, logical, opts.plan_options(cache))
    progress.clear()
    if not _report_plan(plan, out):
        out.result = "skipped (unsafe)" if plan.refused and not plan.lint_errors else "skipped (error)"
        return
    steps = [p.step for p in plan.steps]
    unsupported = " (unsupported objects skipped)" if plan.diff.unsupported else ""
    if not steps:
        log.info("%s: No differences found", where)
        out.result = "no differences" + unsupported
        return
    out.result = f"{_count(len(steps), 'statement')} to push{unsupported}"
    if brief:
        out.output.append(f"{target.address}\n")
        out.code = max(out.code, EXIT_DIFFERENCES)
        return
    verbose = cfg.get_bool("verbose")
    if verbose:
        out.output.append(f"-- plan_hash: {plan.plan_hash}\n")
    out.output.append(target_text(target.schema, plan.steps, verbose=verbose))
    if dry_run:
        out.code = max(out.code, EXIT_DIFFERENCES)
        log.info("%s: diff complete", where)
        return
    # Only a push loads the execution machinery (a no-change diff of a small repo is mostly
    # Python importing modules).
    from schemad.cli.pushrun import push_target

    printer.print(target.address, "".join(out.output))  # push prints what it is about to run
    out.output.clear()
    if not await push_target(plan, cfg, progress, warned):
        out.code = max(out.code, EXIT_FATAL)
        out.result = "push failed"
    else:
        log.info("%s: push complete", where)
        out.result = f"{_count(len(steps), 'statement')} pushed{unsupported}"


async def _server_schemas(params: ConnParams) -> list[str]:
    async with Instance(params) as inst:
        return await inst.schema_names()


def _targets(env: str, args: ParsedArgs) -> tuple[list[tuple[Target, Dir]], int]:
    """Every target under the current dir; the errors of one dir are logged and skip only that dir.

    As in Skeema, the command line and the start dir's options are checked
    first and a mistake there is fatal (ConfigError, 78); a subdir's bad
    `.skeema` (or any other problem of one dir) skips it (exit 2).  A dir
    that names a schema but has no host for the environment is a warning.
    Returns the targets and how many dirs were skipped.
    """
    start = cwd()
    for d in walk(env, args.options, lambda path, exc: None):  # checks the start dir; errors come below
        if not d.config.get("host") and d.option_file is not None:
            own = d.option_file.lookup("schema", env)
            if own is not None and own.value:  # as Skeema: said, not an error
                log.warning("Skipping %s: no host configured for environment %s", d.path, env)
    found, errors = asyncio.run(discover_targets(start, env, _server_schemas, sources=sources(args.options)))
    for e in errors:
        if e.path == start and isinstance(e.error, ConfigError):
            raise e.error
        log.error("%s", dir_error(e.path, e.error))
    return found, len(errors)


async def _run_all(
    targets: list[tuple[Target, Dir]], dry_run: bool, brief: bool, concurrency: int
) -> tuple[int, int]:
    """Plan, print and push every target; the exit code and how many targets were skipped or failed."""
    by_host: dict[str, list[tuple[Target, Dir]]] = defaultdict(list)
    for t, d in targets:
        by_host[t.address].append((t, d))
    sem = asyncio.Semaphore(max(1, concurrency))
    code = EXIT_OK
    skipped = 0
    progress = ProgressLine()
    printer = Printer()
    briefed: set[str] = set()  # --brief names each server once
    cache = CanonicalCache()  # one per run, shared by all targets; opened lazily
    warned: set[str] = set()  # wrapper advice logged so far
    passwords: dict[str, str] = {}  # of temp-schema-environment servers, resolved once per run

    results: list[tuple[str, str]] = []  # (dir, outcome) per target, for the fleet summary

    async def run_host(group: list[tuple[Target, Dir]]) -> None:
        nonlocal code, skipped
        async with sem:  # concurrent-servers: this many servers at once
            for t, d in group:  # targets of one server run one after another
                out = Outcome()
                try:
                    await _run_target(t, d, dry_run, brief, out, progress, cache, warned, printer, passwords)
                except SchemadError as exc:
                    log.error("%s", dir_error(d.path, exc))
                    out.code = max(out.code, EXIT_FATAL)
                if brief:  # server names only, each once
                    out.output = [line for line in out.output if line not in briefed]
                    briefed.update(out.output)
                    sys.stdout.write("".join(out.output))
                    sys.stdout.flush()
                else:
                    printer.print(t.address, "".join(out.output))
                skipped += out.code >= EXIT_FATAL
                code = max(code, out.code)
                results.append((str(d.path), out.result))

    try:
        await asyncio.gather(*(run_host(g) for g in by_host.values()))
    finally:
        cache.close()
    # A dir that maps to several targets (host-wrapper, several hosts, a schema wildcard) is a fleet
    # of shards: its targets end with one line per outcome.  Other repos keep Skeema's output.
    per_dir = Counter(str(d.path) for _, d in targets)
    shards = [r for path, r in results if per_dir[path] > 1]
    for line in summary_lines(shards):
        log.info("%s", line)
    return code, skipped


def summary_lines(results: list[str]) -> list[str]:
    """One line per outcome of a run over many targets (shards): "12 shards: no differences", most first."""
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        counts[r] += 1
    return [f"{_count(n, 'shard')}: {r}" for r, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def run(args: ParsedArgs, *, diff: bool = False) -> int:
    env = environment(args.positionals)
    targets, skipped_dirs = _targets(env, args)
    preflight({d.config.get("workspace") for _, d in targets})  # workspace=docker without Docker: 78
    cfg = targets[0][1].config if targets else None
    dry_run = diff or bool(cfg and cfg.get_bool("dry-run"))
    brief = bool(cfg and cfg.get_bool("brief")) and diff
    if brief and cfg is not None and not cfg.get_bool("debug"):
        logging.getLogger().setLevel(logging.WARNING)  # as Skeema: --brief shows the servers, not progress
    concurrency = cfg.get_int("concurrent-servers") if cfg else 1
    code, skipped_targets = asyncio.run(_run_all(targets, dry_run, brief, concurrency))
    if skipped_dirs or skipped_targets:
        what = [_count(n, noun) for n, noun in ((skipped_dirs, "dir"), (skipped_targets, "target")) if n]
        log.error("Skipped %s due to errors", " and ".join(what))
        code = max(code, EXIT_FATAL)
    return code
