"""Where a repo's schema dirs point: the targets of one environment.

Shared by the CLI (diff/push) and the daemon so that both read a Skeema
tree the same way: a target is environment x server x schema name x dir.
The options of each dir are read by plan/dir_options.py (DirOptions).
Passwords are resolved here too (static, `$VAR`, backtick command) and are
only ever held in ConnParams, never logged.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from schemad.connection.params import ConnParams
from schemad.errors import ConfigError, SchemadError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir
from schemad.plan.dir_options import conn_params
from schemad.plan.planner import Target
from schemad.records import dataclass

__all__ = ["DirError", "discover_targets"]


@dataclass(frozen=True, slots=True)
class DirError:
    """A dir whose configuration could not be turned into targets."""

    path: Path
    error: SchemadError


ServerSchemas = Callable[[ConnParams], Awaitable[list[str]]]


async def discover_targets(
    root: Path,
    environment: str,
    server_schemas: ServerSchemas,
    *,
    sources: ConfigSources | None = None,
    passwords: dict[str, str] | None = None,
) -> tuple[list[tuple[Target, Dir]], list[DirError]]:
    """Every target under `root` for `environment`; a dir's config error is returned, not raised.

    A dir whose `.skeema` can't be read (a `DirError` holding an
    `OptionFileError`) is skipped with its subtree; the other dirs are still
    read.  `server_schemas` lists a server's schemas; it is only called for
    dirs whose `schema` is `*` or a `/regex/`.
    """
    passwords = {} if passwords is None else passwords
    found: list[tuple[Target, Dir]] = []
    errors: list[DirError] = []

    def unreadable(path: Path, exc: ConfigError) -> None:
        errors.append(DirError(path, exc))

    try:
        dirs = list(Dir.walk(root, environment, sources=sources, on_error=unreadable))
    except ConfigError as exc:  # the root's own .skeema (or a global option file): nothing can be read
        return [], [*errors, DirError(Path(os.path.abspath(root)), exc)]
    for d in dirs:
        if not d.is_target:
            continue
        try:
            hosts = d.hosts()
            if d.config.get_bool("first-only"):
                hosts = hosts[:1]
            for host in hosts:
                params = conn_params(d, host, passwords)
                value = d.config.get("schema").strip()
                if value == "*" or (len(value) > 2 and value[0] == value[-1] == "/"):
                    available = await server_schemas(params)
                    names = d.schema_names(available.copy, host=host)
                else:
                    names = d.schema_names(None, host=host)
                if d.config.get_bool("first-only"):
                    names = names[:1]
                found += [(Target(environment, str(host), params, n, str(d.path)), d) for n in names]
        except SchemadError as exc:
            errors.append(DirError(d.path, exc))
    return found, errors
