"""The alter-wrapper / ddl-wrapper a target's push runs through, for the CLI and the daemon alike.

Kept out of `service.jobs` so that the one-shot CLI does not load the
daemon's job machinery (and prometheus-client) to push.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemad.connection.instance import Instance
from schemad.diff.schema_diff import Step
from schemad.fs.dir import Dir
from schemad.model.keys import ObjectType
from schemad.plan.planner import Target, table_sizes
from schemad.plan.routes import WrapperConfig, WrapperPlanner

__all__ = ["wrapper_planner"]


async def wrapper_planner(target: Target, d: Dir, steps: Sequence[Step]) -> WrapperPlanner | None:
    """The dir's alter-wrapper / ddl-wrapper for these steps (None when neither is set).

    Table sizes are read only when a size option or placeholder needs them.
    """
    cfg = d.config
    wcfg = WrapperConfig(
        alter_wrapper=cfg.get("alter-wrapper"),
        ddl_wrapper=cfg.get("ddl-wrapper"),
        alter_wrapper_min_size=cfg.get_size("alter-wrapper-min-size"),
        environment=target.environment,
        dir_path=target.dir_path,
    )
    if not wcfg.active:
        return None
    sizes: dict[str, int] = {}
    templates = (wcfg.alter_wrapper + wcfg.ddl_wrapper).upper()
    if wcfg.alter_wrapper_min_size > 0 or "{SIZE}" in templates or "{SIZEX}" in templates:
        tables = sorted({s.key.name for s in steps if s.key.type is ObjectType.TABLE})
        async with Instance(target.params) as inst:
            sizes = await table_sizes(inst, target.schema, tables)
    return WrapperPlanner(wcfg, target.params, target.schema, sizes)
