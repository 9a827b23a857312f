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

import os
import re
from typing import TYPE_CHECKING

from schemad import lazyre
from schemad.connection.params import ConnParams, parse_connect_options
from schemad.connection.sshopts import SshRoute, parse_ssh_host
from schemad.errors import ConfigError, SchemadError
from schemad.fs.cascade import Config, LayerKind
from schemad.fs.dir import Dir, HostPort
from schemad.introspect.filters import Filters
from schemad.model.keys import ObjectType
from schemad.plan.tls_options import tls_settings
from schemad.records import dataclass

if TYPE_CHECKING:
    from schemad.diff.modifiers import StatementModifiers
    from schemad.lint.options import LintOptions
    from schemad.plan.planner import PlanOptions
    from schemad.plan.routes import WrapperConfig
    from schemad.workspace.cache import CanonicalCache
    from schemad.workspace.scratch import WorkspaceOptions

__all__ = [
    "DirOptions",
    "conn_params",
    "duration",
    "filters",
    "patterns_by_type",
    "strip_definer_setting",
    "workspace_server",
]


@dataclass(frozen=True, slots=True)
class DirOptions:
    """Every option of one dir that shapes its workspace, plan and lint, read from its config once."""

    filters: Filters  # ignore-table / -proc / -func / -view / -trigger / -event
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
    strip_definer: bool | None = None  # None: unset, resolved per server (see introspect.privileges)
    update_views: bool = False  # pull/lint/format rewrite existing CREATE VIEW statements
    inserts: str = "seed"  # seed: diff/push run the files' INSERTs on new or empty tables; none: never

    @classmethod
    def from_dir(cls, d: Dir, *, passwords: dict[str, str] | None = None) -> DirOptions:
        """Read `d`'s options; a value its option's type refuses is a ConfigError.

        `passwords` caches prompted or command-made passwords (user@host) for
        the temp-schema-environment's server, resolved here (see workspace_server).
        """
        from schemad.diff.modifiers import PartitioningMode, StatementModifiers
        from schemad.lint.options import LintOptions
        from schemad.model.flavor import MARIADB_10_11
        from schemad.plan.routes import WrapperConfig
        from schemad.workspace.scratch import WorkspaceKind, WorkspaceOptions

        cfg = d.config
        brief = cfg.get_bool("brief")
        offload = workspace_server(d, {} if passwords is None else passwords)
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
                environment=cfg.get("temp-schema-environment").strip() if offload is not None else "",
                server=offload,
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
                timeout=duration(cfg, "wrapper-timeout") or None,
            ),
            home=own_schema_names(d),
            strip_definer=strip_definer_setting(cfg),
            update_views=cfg.get_bool("update-views"),
            inserts=cfg.get_enum("inserts"),
        )

    @property
    def ignore(self) -> Filters:
        """The ignore-* options as LogicalSchema takes them (its `ignore=`)."""
        return self.filters

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
            strip_definer=self.strip_definer,
            inserts=self.inserts,
        )


def conn_params(d: Dir, host: HostPort, password_cache: dict[str, str]) -> ConnParams:
    """How to reach `host` with `d`'s user, password, connect-options, ssh and TLS (password resolved now)."""
    cfg = d.config
    return ConnParams(
        host=host.host,
        port=host.port,
        socket=host.socket or None,
        user=d.user(host),
        password=d.password(host, cache=password_cache),
        connect_options=tuple(parse_connect_options(cfg.get("connect-options")).items()),
        ssh=ssh_route(cfg),
        tls=tls_settings(cfg),
    )


def ssh_route(cfg: Config) -> SshRoute | None:
    """The `ssh` / `ssh-to-db` route (None when neither is set); ConfigError naming a malformed `ssh`."""
    bastion_text = cfg.expand("ssh").strip()
    to_db = cfg.get_bool("ssh-to-db")
    if not bastion_text and not to_db:
        return None
    source = cfg.source("ssh")
    return SshRoute(
        bastion=parse_ssh_host(bastion_text, source=source) if bastion_text else None,
        to_db=to_db,
        known_hosts=_path_option(cfg, "ssh-known-hosts"),
        identity=_path_option(cfg, "ssh-identity-file"),
    )


def _path_option(cfg: Config, name: str) -> str:
    """A file name option with ~ expanded; a relative one is relative to the .skeema file that set it."""
    value = os.path.expanduser(cfg.expand(name).strip())
    setting = cfg.setting(name)
    if value and not os.path.isabs(value) and setting.kind in (LayerKind.DIR_FILE, LayerKind.GLOBAL_FILE):
        value = os.path.join(os.path.dirname(setting.source.rsplit(":", 1)[0]), value)
    return value


def workspace_server(d: Dir, password_cache: dict[str, str]) -> ConnParams | None:
    """The server of `d`'s temp-schema-environment, or None when the temp schema stays on the target.

    Only with workspace=temp-schema (Skeema: docker ignores it; so does
    local) and an environment other than `d`'s own.  That environment's
    options are read from the same files for the same dir (its section
    overrides the sectionless lines, the command line overrides both), and its
    first host is used.  ConfigError naming the option when it has no host.
    """
    cfg = d.config
    name = cfg.get("temp-schema-environment").strip()
    if not name or name == d.environment or cfg.get_enum("workspace") != "temp-schema":
        return None
    other = d.in_environment(name)
    hosts = other.hosts()
    if not hosts:
        raise ConfigError(
            f"temp-schema-environment={name} ({cfg.source('temp-schema-environment')}): "
            f"no host is configured for environment [{name}] in {d.path}"
        )
    return conn_params(other, hosts[0], password_cache)


_DURATION = lazyre.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", re.IGNORECASE)
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
        view=cfg.get_regex("ignore-view"),
        trigger=cfg.get_regex("ignore-trigger"),
        event=cfg.get_regex("ignore-event"),
    )


def strip_definer_setting(cfg: Config) -> bool | None:
    """strip-definer as set; None when unset (its default depends on the server: introspect.privileges)."""
    return cfg.get_bool("strip-definer") if cfg.is_set("strip-definer") else None


def patterns_by_type(f: Filters) -> dict[ObjectType, re.Pattern[str]]:
    """Each ignore-* pattern of `f` under its own object type alone.

    Not the whole rule: ignore-table also leaves out views and the triggers of
    the tables it matches, which only `f.ignores` (LogicalSchema's `ignore=f`) applies.
    """
    pairs = (
        (ObjectType.TABLE, f.table),
        (ObjectType.PROCEDURE, f.proc),
        (ObjectType.FUNCTION, f.func),
        (ObjectType.VIEW, f.view),
        (ObjectType.TRIGGER, f.trigger),
        (ObjectType.EVENT, f.event),
    )
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
