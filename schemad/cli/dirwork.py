"""Shared by format and lint: a schema dir's statements run in the workspace of its first host.

Both commands need the same steps (parse the dir, pick the server, resolve
the schema defaults, run the workspace with the config's options and the
canonical cache); diff/push go through the planner instead, which reads the
same DirOptions and runs the same workspace.for_dir.
"""

from __future__ import annotations

from dataclasses import replace

from schemad.cli.common import log, warn_unsupported
from schemad.connection.instance import Instance
from schemad.errors import ConfigError
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema
from schemad.fs.splitmemo import split_memo
from schemad.introspect.privileges import resolve_strip_definer
from schemad.model.flavor import Flavor
from schemad.plan.dir_options import DirOptions, conn_params
from schemad.records import dataclass
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.for_dir import for_dir
from schemad.workspace.result import WorkspaceResult


@dataclass(frozen=True, slots=True)
class DirWorkspace:
    logical: LogicalSchema  # the dir's parsed files
    result: WorkspaceResult  # what the server made of them
    flavor: Flavor
    opts: DirOptions  # the dir's options, as the run read them (strip_definer resolved)


async def run_dir(
    d: Dir,
    command: str,
    passwords: dict[str, str],
    cache: CanonicalCache | None,
    *,
    refuse_qualified: bool = False,
) -> DirWorkspace:
    """Parse `d`, run its CREATEs in the workspace of its first host, return both sides.

    With `refuse_qualified`, a CREATE naming its schema (`db`.`t`) is a
    ConfigError: commands that rewrite files can't place such statements.
    """
    cfg = d.config
    cfg.check_values()  # a bad value in this dir's .skeema, with its file:line, before any work
    opts = DirOptions.from_dir(d, passwords=passwords)
    logical = LogicalSchema.from_files(d.sql_files(), ignore=opts.ignore, memo=split_memo(cfg))
    for stmt in logical.unparsed:
        log.warning("%s: unable to parse statement; left as is", stmt.location)
    warn_unsupported(logical)
    qualified = [s for s in logical.creates.values() if s.schema is not None]
    if refuse_qualified and qualified:
        raise ConfigError(
            f"{qualified[0].location}: {command} cannot rewrite schema-qualified names; remove the qualifier"
        )
    hosts = d.hosts()
    if not hosts:
        # The caller names the dir ("Skipping DIR: ..."), so the message doesn't.
        raise ConfigError(f"no host configured for environment {d.environment}; {command} needs a server")
    params = conn_params(d, hosts[0], passwords)
    async with Instance(params) as inst:
        variables = await inst.variables()
        flavor = await inst.flavor()
        # strip-definer unset: decided by what this server lets the dir's user do.
        opts = replace(opts, strip_definer=await resolve_strip_definer(opts.strip_definer, inst))
    result = await for_dir(
        params,
        logical.creates.values(),
        opts,
        schema_name=d.name,
        fallback=(variables["character_set_server"], variables["collation_server"]),
        cache=opts.cache_for(cache),
        # The names the dir's `schema` spells out: a file may qualify its CREATEs with any of them.
        home=opts.home,
        strip_definer=bool(opts.strip_definer),
    )
    return DirWorkspace(logical, result, flavor, opts)
