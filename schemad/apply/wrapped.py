"""alter-wrapper / ddl-wrapper: run a plan's DDL through an external tool instead of directly.

Skeema's rules: `alter-wrapper` takes ALTER TABLE statements of tables whose
size is at least `alter-wrapper-min-size` (and then ALGORITHM=/LOCK= are left
out of that DDL when the min size is above 0); `ddl-wrapper` takes every other
DDL.  The command is built with shellout (escaping, masking) and run as a
managed subprocess (runner): a non-zero exit fails that statement with the
tail of the tool's output.  `diff` prints the masked command as `\\! <cmd>`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from schemad.apply.executor import DDLExecutor
from schemad.apply.runner import LogLine, run_managed
from schemad.apply.shellout import WrapperCommand, wrapper_variables
from schemad.diff.schema_diff import Step
from schemad.diff.table_diff import DiffKind
from schemad.introspect.connopts import ConnParams
from schemad.model.keys import ObjectType

_ALGO_LOCK_RE = re.compile(r"^(ALTER TABLE `(?:[^`]|``)+` )(?:ALGORITHM=\w+, )?(?:LOCK=\w+, )?")


@dataclass(frozen=True, slots=True)
class WrapperConfig:
    alter_wrapper: str = ""
    ddl_wrapper: str = ""
    alter_wrapper_min_size: int = 0
    timeout: float | None = None  # seconds; None waits for the tool as long as it runs
    environment: str = ""
    dir_path: str = ""

    @property
    def active(self) -> bool:
        return bool(self.alter_wrapper or self.ddl_wrapper)


def _class(step: Step) -> str:
    return "DATABASE" if step.key.type is ObjectType.DATABASE else step.key.type.sql


class WrapperPlanner:
    """Decides, per step, whether a wrapper runs it and builds the command."""

    def __init__(self, cfg: WrapperConfig, params: ConnParams, schema: str, sizes: Mapping[str, int]) -> None:
        self.cfg = cfg
        self.params = params
        self.schema = schema
        self.sizes = sizes

    def command_for(self, step: Step) -> WrapperCommand | None:
        cfg = self.cfg
        table = step.key.type is ObjectType.TABLE
        size = self.sizes.get(step.key.name, 0) if table else 0
        sql = step.sql
        if step.is_alter_table and cfg.alter_wrapper and size >= cfg.alter_wrapper_min_size:
            template = cfg.alter_wrapper
            if cfg.alter_wrapper_min_size > 0:
                sql = _ALGO_LOCK_RE.sub(r"\1", sql)  # the tool chooses how to copy
        elif cfg.ddl_wrapper:
            template = cfg.ddl_wrapper
        else:
            return None
        p = self.params
        variables = wrapper_variables(
            host=p.host,
            port=None if p.socket else p.port,
            socket=p.socket,
            user=p.user,
            password=p.password,
            schema="" if step.key.type is ObjectType.DATABASE else self.schema,
            environment=cfg.environment,
            ddl=sql,
            stmt_type=step.kind.value.upper() if step.kind is not DiffKind.ALTER else "ALTER",
            object_class=_class(step),
            name=step.key.name,
            size=size,
            connect_options=p.connect_options,
            dir_path=cfg.dir_path or None,
        )
        return WrapperCommand.from_template(template, variables)


class WrappingExecutor:
    """Runs wrapped steps through their tool and the others through `inner`."""

    def __init__(
        self,
        inner: DDLExecutor,
        planner: WrapperPlanner,
        on_line: Callable[[LogLine], None] | None = None,
        *,
        cancel: asyncio.Event | None = None,
        on_start: Callable[[int], None] | None = None,
        on_end: Callable[[], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.inner = inner
        self.planner = planner
        self.on_line = on_line
        self.cancel = cancel  # set: a running tool is stopped (SIGTERM, then SIGKILL)
        self.on_start = on_start  # gets the tool's process group id
        self.on_end = on_end  # the tool ended, however
        self.env = env  # added to the tool's environment

    async def execute(self, step: Step) -> None:
        cmd = self.planner.command_for(step)
        if cmd is None:
            await self.inner.execute(step)
            return
        try:
            result = await run_managed(
                cmd,
                timeout=self.planner.cfg.timeout,
                on_line=self.on_line,
                cancel=self.cancel,
                on_start=self.on_start,
                env=self.env,
            )
        finally:
            if self.on_end is not None:
                self.on_end()
        result.check()
