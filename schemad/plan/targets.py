"""Where a repo's schema dirs point: the targets of one environment, and the options of each.

Shared by the CLI (diff/push) and the daemon so that both read a Skeema
tree the same way: a target is environment x server x schema name x dir,
and every option that shapes a plan (StatementModifiers, workspace,
ignore-* filters) is read from the dir's config here, in one place.
Passwords are resolved here too (static, `$VAR`, backtick command) and are
only ever held in ConnParams, never logged.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from schemad.connection.params import ConnParams
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.errors import ConfigError, SchemadError
from schemad.fs.cascade import Config, ConfigSources
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema
from schemad.lint.options import LintOptions
from schemad.model.flavor import MARIADB_10_11
from schemad.plan.dir_options import conn_params, filters, ignore_patterns
from schemad.plan.planner import PlanOptions, Target
from schemad.plan.routes import WrapperConfig
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.scratch import WorkspaceOptions
from schemad.workspace.tempschema import WorkspaceResult, exec_statements

__all__ = [
    "DirError",
    "conn_params",
    "discover_targets",
    "filters",
    "ignore_patterns",
    "lint_options",
    "plan_options",
    "run_dir_workspace",
    "workspace_options",
]


def lint_options(d: Dir) -> LintOptions:
    """The dir's lint-* and allow-* options (Skeema's defaults where unset)."""
    cfg = d.config
    names = [o.name for o in cfg.registry if o.name.startswith(("lint-", "allow-"))]
    return LintOptions.from_values({n: cfg.get(n) for n in names})


def workspace_options(cfg: Config) -> WorkspaceOptions:
    """Skeema's temp-schema, temp-schema-threads, reuse-temp-schema and temp-schema-binlog."""
    return WorkspaceOptions(
        temp_schema=cfg.get("temp-schema"),
        concurrency=cfg.get_int("temp-schema-threads"),
        reuse=cfg.get_bool("reuse-temp-schema"),
        binlog=cfg.get_enum("temp-schema-binlog"),
    )


def plan_options(d: Dir, cache: CanonicalCache | None) -> PlanOptions:
    """Every option of `d` that shapes its plan (the flavor is the server's, set when planning)."""
    cfg = d.config
    mods = StatementModifiers(
        flavor=MARIADB_10_11,
        allow_unsafe=cfg.get_bool("allow-unsafe") or cfg.get_bool("brief"),
        exact_match=cfg.get_bool("exact-match"),
        lax_column_order=cfg.get_bool("lax-column-order"),
        lax_comments=cfg.get_bool("lax-comments"),
        alter_algorithm=cfg.get_enum("alter-algorithm"),
        alter_lock=cfg.get_enum("alter-lock"),
        partitioning=PartitioningMode(cfg.get_enum("partitioning")),
        compare_metadata=cfg.get_bool("compare-metadata"),
        virtual_validation=cfg.get_bool("alter-validate-virtual"),
    )
    return PlanOptions(
        mods=mods,
        safe_below_size=cfg.get_size("safe-below-size"),
        char_set=cfg.get("default-character-set"),
        collation=cfg.get("default-collation"),
        workspace=workspace_options(cfg),
        filters=filters(cfg),
        verify=cfg.get_bool("verify") and not cfg.get_bool("brief"),
        cache=None if cfg.get_bool("no-cache") else cache,
        # Skeema: diff/push lint the objects they change; --brief skips it.
        lint=lint_options(d) if cfg.get_bool("lint") and not cfg.get_bool("brief") else None,
        wrappers=wrapper_config(d),
    )


def wrapper_config(d: Dir) -> WrapperConfig:
    """The dir's alter-wrapper / ddl-wrapper options (the planner adds the target's environment and dir)."""
    cfg = d.config
    return WrapperConfig(
        alter_wrapper=cfg.get("alter-wrapper"),
        ddl_wrapper=cfg.get("ddl-wrapper"),
        alter_wrapper_min_size=cfg.get_size("alter-wrapper-min-size"),
    )


async def run_dir_workspace(
    d: Dir,
    logical: LogicalSchema,
    params: ConnParams,
    server_charset: tuple[str, str],
    cache: CanonicalCache | None,
) -> WorkspaceResult:
    """Run a dir's CREATEs in the workspace on `params`' server, with the dir's defaults and options.

    `server_charset` is the server's (character_set_server, collation_server),
    used where the dir sets no default-character-set / default-collation.
    """
    cfg = d.config
    return await exec_statements(
        params,
        logical.creates.values(),
        schema_name=d.name,
        home=own_schema_names(d),
        char_set=cfg.get("default-character-set") or server_charset[0],
        collation=cfg.get("default-collation") or server_charset[1],
        cache=None if cfg.get_bool("no-cache") else cache,
        options=workspace_options(cfg),
    )


def own_schema_names(d: Dir) -> tuple[str, ...]:
    """The schema names a dir's `schema` option spells out, without asking a server or a shell.

    A CREATE qualified with one of them may run in the workspace (qualifier
    removed); `*`, `/regex/` and backtick commands give none, so only
    unqualified names run there.
    """
    setting = d.config.setting("schema")
    if setting.quote == "`" or not setting.value:
        return ()
    try:
        return tuple(d.schema_names())
    except SchemadError:
        return ()


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
