"""alter-wrapper / ddl-wrapper: run a plan's DDL through an external tool instead of directly.

Skeema's rules: `alter-wrapper` takes ALTER TABLE statements of tables whose
size is at least `alter-wrapper-min-size` (and then ALGORITHM=/LOCK= are left
out of that DDL when the min size is above 0); `ddl-wrapper` takes every other
DDL.  The command is built with shellout (escaping, masking) and run as a
managed subprocess (runner): a non-zero exit fails that statement with the
tail of the tool's output.  `diff` prints the masked command as `\\! <cmd>`.

Credentials stay off the tool's command line and out of its environment when
the template lets them: `{DEFAULTSFILE}` is a temporary option file written
just before the tool starts and removed when it ends (however it ends), and
`MYSQL_PWD` is not inherited unless the template reads `$MYSQL_PWD` itself.
A template that puts `{PASSWORD}`/`{PASSWORDX}` on the command line still
works; `WrapperPlanner.warnings` says so, and callers log it once per push.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from schemad.apply.clientcnf import client_option_file, ghost_misreads
from schemad.apply.executor import DDLExecutor
from schemad.apply.runner import LogLine, run_managed
from schemad.apply.shellout import (
    DEFAULTSFILE,
    WrapperCommand,
    passes_mysql_pwd,
    password_on_command_line,
    uses_defaults_file,
    wrapper_variables,
)
from schemad.diff.schema_diff import Step
from schemad.diff.table_diff import DiffKind
from schemad.introspect.connopts import ConnParams
from schemad.model.keys import ObjectType

_ALGO_LOCK_RE = re.compile(r"^(ALTER TABLE `(?:[^`]|``)+` )(?:ALGORITHM=\w+, )?(?:LOCK=\w+, )?")
_GH_OST = re.compile(r"(?<![\w-])gh-ost(?![\w-])")

#: The environment variable a wrapper inherits only when its template reads it.
MYSQL_PWD = "MYSQL_PWD"


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

    def route(self, step: Step) -> tuple[str, str] | None:
        """The option (`alter-wrapper` or `ddl-wrapper`) and template that run `step`; None: run directly."""
        cfg = self.cfg
        size = self.sizes.get(step.key.name, 0) if step.key.type is ObjectType.TABLE else 0
        if step.is_alter_table and cfg.alter_wrapper and size >= cfg.alter_wrapper_min_size:
            return "alter-wrapper", cfg.alter_wrapper
        if cfg.ddl_wrapper:
            return "ddl-wrapper", cfg.ddl_wrapper
        return None

    def command_for(self, step: Step, *, defaults_file: str | None = None) -> WrapperCommand | None:
        """The command that runs `step`, or None when it runs directly.

        Without `defaults_file`, a template's `{DEFAULTSFILE}` stays pending:
        the command can be printed but not run.
        """
        routed = self.route(step)
        if routed is None:
            return None
        option, template = routed
        cfg = self.cfg
        table = step.key.type is ObjectType.TABLE
        size = self.sizes.get(step.key.name, 0) if table else 0
        sql = step.sql
        if option == "alter-wrapper" and cfg.alter_wrapper_min_size > 0:
            sql = _ALGO_LOCK_RE.sub(r"\1", sql)  # the tool chooses how to copy
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
        if defaults_file is None:
            return WrapperCommand.from_template(template, variables, pending=(DEFAULTSFILE,))
        variables[DEFAULTSFILE] = defaults_file
        return WrapperCommand.from_template(template, variables)

    def warnings(self, steps: Iterable[Step]) -> tuple[str, ...]:
        """Advice about the templates these steps run through; never contains a secret.

        A template with `{PASSWORD}`/`{PASSWORDX}` shows the password to every
        local user for as long as the tool runs; a gh-ost template with
        `{DEFAULTSFILE}` cannot carry a user or password gh-ost's --conf
        reader misreads.
        """
        used: dict[str, str] = {}
        for step in steps:
            routed = self.route(step)
            if routed is not None:
                used.setdefault(routed[1], routed[0])
        notes: list[str] = []
        for template, option in used.items():
            if password_on_command_line(template):
                notes.append(
                    f"{option} puts the password on the tool's command line ({{PASSWORD}} or"
                    " {PASSWORDX}): every local user can read it (ps, /proc/PID/cmdline) while the tool"
                    " runs. Use {DEFAULTSFILE} instead, e.g. pt-online-schema-change"
                    " D={SCHEMA},t={TABLE},F={DEFAULTSFILE} or gh-ost --conf={DEFAULTSFILE}"
                )
            if (
                uses_defaults_file(template)
                and _GH_OST.search(template)
                and (ghost_misreads(self.params.user) or ghost_misreads(self.params.password))
            ):
                notes.append(
                    f"{option} gives gh-ost {{DEFAULTSFILE}}, but the user or password contains a"
                    " character gh-ost's --conf reader cannot read back (\" \\ # ; a control character,"
                    " or ${...}); gh-ost will fail to log in"
                )
        return tuple(notes)


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
        routed = self.planner.route(step)
        if routed is None:
            await self.inner.execute(step)
            return
        template = routed[1]
        with contextlib.ExitStack() as files:
            defaults_file = None
            if uses_defaults_file(template):
                defaults_file = str(files.enter_context(client_option_file(self.planner.params)))
            cmd = self.planner.command_for(step, defaults_file=defaults_file)
            assert cmd is not None  # routed
            try:
                result = await run_managed(
                    cmd,
                    timeout=self.planner.cfg.timeout,
                    on_line=self.on_line,
                    cancel=self.cancel,
                    on_start=self.on_start,
                    env=self.env,
                    unset_env=() if passes_mysql_pwd(template) else (MYSQL_PWD,),
                )
            finally:
                if self.on_end is not None:
                    self.on_end()
        result.check()
