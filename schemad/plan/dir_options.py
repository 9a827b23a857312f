"""A dir's options, read once: `DirOptions.from_dir(d)`, plus its connection parameters per host.

Every command and the daemon read a schema dir's options here (the ignore-*
filters, lint, workspace, plan, wrapper, default charset/collation, no-cache,
verify, the schema names it spells out), so no two callers read one option
two ways.  This module stays light: commands which only read texts (init,
pull) import it for `conn_params` and `filters` without loading the planner,
sqlglot and the workspace (~90 ms of start-up); the types of the other
options are imported when `from_dir` runs.  It reads no files and asks no
server: the values come from the dir's resolved `Config`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemad.connection.params import ConnParams, parse_connect_options
from schemad.errors import ConfigError, SchemadError
from schemad.fs.cascade import Config
from schemad.fs.dir import Dir, HostPort
from schemad.introspect.filters import Filters
from schemad.model.keys import ObjectType

if TYPE_CHECKING:
    from schemad.diff.modifiers import StatementModifiers
    from schemad.lint.options import LintOptions
    from schemad.plan.planner import PlanOptions
    from schemad.plan.routes import WrapperConfig
    from schemad.workspace.cache import CanonicalCache
    from schemad.workspace.scratch import WorkspaceOptions

__all__ = ["DirOptions", "conn_params", "duration", "filters", "patterns_by_type"]


@dataclass(frozen=True, slots=True)
class DirOptions:
    """Every option of one dir that shapes its workspace, plan and lint, read from its config once."""

    filters: Filters  # ignore-table / ignore-proc / ignore-func
    lint: LintOptions  # lint-* and allow-* (Skeema's defaults where unset)
    lint_plan: bool  # diff/push lint the objects they change (`lint`, and not --brief)
    workspace: WorkspaceOptions  # workspace, temp-schema*, reuse-temp-schema, docker-*, local-workspace-idle
    mods: StatementModifiers  # the flavor is a placeholder: the server's is set when planning
    safe_below_size: int  # bytes; unsafe table DDL is allowed below it
    char_set: str  # default-character-set ("" = the live schema's or the server's)
    collation: str  # default-collation ("" = likewise)
    no_cache: bool  # never use the canonical cache
    verify: bool  # replay generated ALTER TABLEs on copies of the live tables (`verify`, and not --brief)
    wrappers: WrapperConfig  # alter-wrapper / ddl-wrapper (the planner adds a target's environment and dir)
    home: tuple[str, ...]  # the schema names the `schema` option spells out (see own_schema_names)

    @classmethod
    def from_dir(cls, d: Dir) -> DirOptions:
        """Read `d`'s options; a value its option's type refuses is a ConfigError."""
        from schemad.diff.modifiers import PartitioningMode, StatementModifiers
        from schemad.lint.options import LintOptions
        from schemad.model.flavor import MARIADB_10_11
        from schemad.plan.routes import WrapperConfig
        from schemad.workspace.scratch import WorkspaceKind, WorkspaceOptions

        cfg = d.config
        brief = cfg.get_bool("brief")
        lint_names = [o.name for o in cfg.registry if o.name.startswith(("lint-", "allow-"))]
        return cls(
            filters=filters(cfg),
            lint=LintOptions.from_values({n: cfg.get(n) for n in lint_names}),
            lint_plan=cfg.get_bool("lint") and not brief,
            workspace=WorkspaceOptions(
                temp_schema=cfg.get("temp-schema"),
                concurrency=cfg.get_int("temp-schema-threads"),
                reuse=cfg.get_bool("reuse-temp-schema"),
                binlog=cfg.get_enum("temp-schema-binlog"),
                kind=WorkspaceKind(cfg.get_enum("workspace")),
                local_idle=duration(cfg, "local-workspace-idle"),
                docker_image=cfg.get("docker-image").strip(),
                docker_cleanup=cfg.get_enum("docker-cleanup"),
                flavor=cfg.get("flavor").strip(),
            ),
            mods=StatementModifiers(
                flavor=MARIADB_10_11,
                allow_unsafe=cfg.get_bool("allow-unsafe") or brief,
                exact_match=cfg.get_bool("exact-match"),
                lax_column_order=cfg.get_bool("lax-column-order"),
                lax_comments=cfg.get_bool("lax-comments"),
                alter_algorithm=cfg.get_enum("alter-algorithm"),
                alter_lock=cfg.get_enum("alter-lock"),
                partitioning=PartitioningMode(cfg.get_enum("partitioning")),
                compare_metadata=cfg.get_bool("compare-metadata"),
                virtual_validation=cfg.get_bool("alter-validate-virtual"),
            ),
            safe_below_size=cfg.get_size("safe-below-size"),
            char_set=cfg.get("default-character-set"),
            collation=cfg.get("default-collation"),
            no_cache=cfg.get_bool("no-cache"),
            verify=cfg.get_bool("verify") and not brief,
            wrappers=WrapperConfig(
                alter_wrapper=cfg.get("alter-wrapper"),
                ddl_wrapper=cfg.get("ddl-wrapper"),
                alter_wrapper_min_size=cfg.get_size("alter-wrapper-min-size"),
            ),
            home=own_schema_names(d),
        )

    @property
    def ignore(self) -> dict[ObjectType, re.Pattern[str]]:
        """The ignore-* patterns by object type, as LogicalSchema takes them."""
        return patterns_by_type(self.filters)

    def cache_for(self, cache: CanonicalCache | None) -> CanonicalCache | None:
        """`cache` unless the dir says no-cache."""
        return None if self.no_cache else cache

    def plan_options(self, cache: CanonicalCache | None) -> PlanOptions:
        """What the planner takes: these options with the canonical cache (dropped under no-cache)."""
        from schemad.plan.planner import PlanOptions

        return PlanOptions(
            mods=self.mods,
            safe_below_size=self.safe_below_size,
            char_set=self.char_set,
            collation=self.collation,
            workspace=self.workspace,
            filters=self.filters,
            verify=self.verify,
            cache=self.cache_for(cache),
            lint=self.lint if self.lint_plan else None,
            wrappers=self.wrappers,
        )


def conn_params(d: Dir, host: HostPort, password_cache: dict[str, str]) -> ConnParams:
    """How to reach `host` with `d`'s user, password and connect-options (the password resolved now)."""
    cfg = d.config
    return ConnParams(
        host=host.host,
        port=host.port,
        socket=host.socket or None,
        user=d.user(host),
        password=d.password(host, cache=password_cache),
        connect_options=tuple(parse_connect_options(cfg.get("connect-options")).items()),
    )


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(cfg: Config, name: str) -> float:
    """Option `name` as seconds: `90`, `30s`, `5m`, `1h`, `500ms`; ConfigError naming it otherwise."""
    value = cfg.get(name)
    m = _DURATION.fullmatch(value)
    if m is None:
        raise ConfigError(f"option {name}: {value!r} is not a duration (like 30s, 5m or 1h)")
    return float(m[1]) * _UNIT_SECONDS[(m[2] or "s").lower()]


def filters(cfg: Config) -> Filters:
    """The ignore-* options alone: what init and pull need to introspect, without the rest of DirOptions."""
    return Filters(
        table=cfg.get_regex("ignore-table"),
        proc=cfg.get_regex("ignore-proc"),
        func=cfg.get_regex("ignore-func"),
    )


def patterns_by_type(f: Filters) -> dict[ObjectType, re.Pattern[str]]:
    """The ignore-* patterns of `f` by object type, as LogicalSchema takes them."""
    pairs = ((ObjectType.TABLE, f.table), (ObjectType.PROCEDURE, f.proc), (ObjectType.FUNCTION, f.func))
    return {t: p for t, p in pairs if p is not None}


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
