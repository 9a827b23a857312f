"""The alter-wrapper / ddl-wrapper a daemon push runs its statements through, with sizes read now.

The daemon's diff is planned without table sizes (size-dependent routes are
`pending`); when a job runs, this reads the sizes the dir's wrapper options
need and builds the same WrapperPlanner the CLI's plan carries.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemad.connection.instance import Instance
from schemad.diff.schema_diff import Step
from schemad.fs.dir import Dir
from schemad.model.keys import ObjectType
from schemad.plan.dir_options import DirOptions
from schemad.plan.planner import Target, table_sizes, target_wrapper_config
from schemad.plan.routes import WrapperPlanner

__all__ = ["wrapper_planner"]


async def wrapper_planner(target: Target, d: Dir, steps: Sequence[Step]) -> WrapperPlanner | None:
    """The dir's alter-wrapper / ddl-wrapper for these steps (None when neither is set)."""
    wcfg = target_wrapper_config(target, DirOptions.from_dir(d).wrappers)
    if wcfg is None:
        return None
    sizes: dict[str, int] = {}
    if wcfg.needs_sizes:
        tables = sorted({s.key.name for s in steps if s.key.type is ObjectType.TABLE})
        async with Instance(target.params) as inst:
            sizes = await table_sizes(inst, target.schema, tables)
    return WrapperPlanner(wcfg, target.params, target.schema, sizes)
