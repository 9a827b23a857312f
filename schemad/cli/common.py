"""Glue shared by the CLI commands: environment name, config, connections, logging.

The only place where options become ConnParams; passwords are resolved here
and never logged.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from schemad.errors import ConfigError, SchemadError
from schemad.fs.cascade import Config, ConfigSources
from schemad.fs.dir import Dir
from schemad.model.keys import ObjectKey, ObjectType
from schemad.plan.dir_options import conn_params, filters

if TYPE_CHECKING:  # only annotations here: init needs neither the file reader nor the writer's imports
    from schemad.fs.dumper import DumpResult
    from schemad.fs.logical import LogicalSchema
    from schemad.sqltext.splitter import Statement

__all__ = [
    "GENERATOR",
    "VERSION",
    "conn_params",
    "cwd",
    "dir_error",
    "environment",
    "exportable_schemas",
    "filters",
    "ignored_key",
    "log",
    "log_files",
    "setup_logging",
    "sources",
    "walk",
]

log = logging.getLogger("schemad")

VERSION = "0.1.0"
GENERATOR = f"schemad:{VERSION}"


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a record comes, not the one it was made with.

    An in-process caller (a test capturing output) swaps sys.stderr and closes its
    stand-in afterwards; a later record must not go to that closed stream.
    """

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(debug: bool = False) -> None:
    """Skeema-style lines on stderr: `2026-11-24 06:42:35 [INFO]  message`."""
    handler = _CurrentStderr(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s]  %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.set_name("schemad-cli")
    root = logging.getLogger()
    # Replace only our own handler: in-process callers (tests) keep theirs.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "schemad-cli"] + [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # asyncmy logs every server warning (e.g. "Event scheduler is switched off"
    # for each CREATE EVENT); they say nothing about the user's schema.
    logging.getLogger("asyncmy").setLevel(logging.DEBUG if debug else logging.ERROR)


def environment(positionals: list[str], *, required: bool = False) -> str:
    if len(positionals) > 1:
        raise ConfigError(f"too many arguments: {' '.join(positionals)}")
    if not positionals:
        if required:
            raise ConfigError("an environment name is required")
        return "production"
    env = positionals[0]
    if not env or any(c in env for c in "[]\n\r"):
        raise ConfigError(f"environment name {env!r} is not allowed")
    return env


def sources(cli: Mapping[str, str | None], *, host_on_cli: bool = False) -> ConfigSources:
    return ConfigSources(cli=dict(cli), allow_cli_host=host_on_cli, allow_cli_schema=host_on_cli)


# Never exported by init or pull's new-schemas (Skeema skips `test` too).
_NEVER_EXPORTED = frozenset({"information_schema", "performance_schema", "mysql", "sys", "test"})


def exportable_schemas(available: list[str], cfg: Config) -> list[str]:
    """The server's schemas that init and pull write dirs for: not system, temp-schema or ignore-schema."""
    ignore = cfg.get_regex("ignore-schema")
    temp = cfg.get("temp-schema")
    return [
        n
        for n in available
        if n.lower() not in _NEVER_EXPORTED and n != temp and not (ignore and ignore.search(n))
    ]


def ignored_key(
    cfg: Config, existing: Mapping[Path, Iterable[Statement]] | None = None
) -> Callable[[ObjectKey], bool]:
    """What the dumper leaves alone: keys the ignore-* options match.

    A trigger is also ignored by its table's name (ignore-table), which only
    its text says: the triggers of `existing` (the dir's file statements)
    whose table is ignored are matched here by key.
    """
    f = filters(cfg)
    on_ignored: set[ObjectKey] = set()
    if f.table is not None:
        from schemad.sqltext.references import trigger_table

        for stmts in (existing or {}).values():
            for s in stmts:
                if s.key is not None and s.key.type is ObjectType.TRIGGER:
                    on = trigger_table(s.body)
                    if on is not None and f.ignores(ObjectType.TRIGGER, s.key.name, on_table=on[1]):
                        on_ignored.add(s.key)

    def ignored(key: ObjectKey) -> bool:
        return key in on_ignored or f.ignores(key.type, key.name)

    return ignored


def cwd() -> Path:
    return Path.cwd()


def warn_unsupported(logical: LogicalSchema) -> None:
    """Log each CREATE the workspace never runs (… SELECT, … LIKE, …) at its file:line, with why.

    Also where each standalone index statement went: folded into its table
    (info), or ignored because no CREATE TABLE of the dir defines the table
    (a warning).
    """
    for stmt in logical.unsupported.values():
        log.warning(
            "%s: %s: never run in the workspace; %s is ignored",
            stmt.location,
            stmt.unsupported_reason,
            stmt.key,
        )
    for create in logical.creates.values():
        for stmt in create.folded:
            log.info("%s: %s folded into %s", stmt.location, stmt.summary, create.key)
    for stmt in logical.unfolded:
        log.warning(
            "%s: %s: no CREATE TABLE of this dir defines %s; ignored", stmt.location, stmt.summary, stmt.key
        )


def log_files(result: DumpResult, existed: Collection[Path]) -> None:
    """Skeema's lines for files written: `Wrote F (N bytes)`, `Created F (N bytes)` if new, `Deleted F`."""
    for p in result.written:
        log.info("%s %s (%d bytes)", "Wrote" if p in existed else "Created", p, p.stat().st_size)
    for p in result.deleted:
        log.info("Deleted %s", p)


def dir_error(path: Path, exc: SchemadError) -> str:
    """`exc` as the one log line of a dir that is skipped: `Skipping DIR: reason`.

    The reason never repeats the dir: messages name the file and line they
    come from (`.skeema:4: unknown option ...`), or nothing.
    """
    return f"Skipping {path}: {exc}"


def walk(
    env: str, cli: Mapping[str, str | None], on_error: Callable[[Path, ConfigError], None]
) -> Iterator[Dir]:
    """The dirs a command works on: the start dir, then its subdirs, depth-first.

    As in Skeema, the command line and the start dir's options are the
    command's own: an unknown option or a value its type refuses there raises
    (exit 78) before anything runs.  A subdir whose `.skeema` can't be read
    is handed to `on_error` and skipped with its subtree; the others go on.
    """
    walker = Dir.walk(cwd(), env, sources=sources(cli), on_error=on_error)
    root = next(walker)
    root.config.check_values()
    yield root
    yield from walker
