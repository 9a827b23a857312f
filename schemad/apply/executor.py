"""Execute a plan's statements on the target, one at a time, stopping at the first failure.

`DDLExecutor` is the I/O edge (STYLE rule 7): `DirectExecutor` runs DDL over
one held connection; `FakeExecutor` records statements for tests of the
orchestration.  `execute_plan` holds the per-schema push lock for the whole
run so two pushes to one schema (two CLIs, or CLI and daemon) never
interleave, and returns a record saying exactly which statements ran.

The whole push runs on one connection opened without multi-statements, so a
statement is exactly one statement on the server, whatever its text holds
(a seed INSERT comes from a file).  A table's seed INSERTs (DiffKind.INSERT)
run only after asking the table, on that connection and right before the
first of them, whether it has a row: a table that got rows since the plan
was made is refused, never inserted into.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import field
from enum import StrEnum
from typing import Protocol

from schemad.connection.instance import Instance, Session
from schemad.connection.params import ConnParams
from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.errors import DatabaseError, SchemadError
from schemad.model.keys import ObjectType, escape_identifier
from schemad.records import dataclass


class StepStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"
    NOT_RUN = "not_run"  # an earlier statement failed, or the push was cancelled


@dataclass(frozen=True, slots=True)
class StepResult:
    sql: str
    status: StepStatus
    error: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class PushRecord:
    schema: str
    results: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status is StepStatus.DONE for r in self.results)


class PushLockError(SchemadError):
    """Another push holds the schema's push lock."""


def push_lock_name(schema: str) -> str:
    # GET_LOCK names are limited to 64 characters; long schema names are hashed.
    name = f"schemad.push.{schema}"
    return name if len(name) <= 64 else "schemad.push." + hashlib.sha256(schema.encode()).hexdigest()[:40]


class SeedRefused(SchemadError):
    """A seed INSERT's table has rows at push time: the INSERT is not run."""


class DDLExecutor(Protocol):
    async def execute(self, step: Step) -> None: ...


class FakeExecutor:
    """Records statements instead of running them; fails on the statements it is told to."""

    def __init__(self, fail_on: set[str] | None = None) -> None:
        self.executed: list[str] = []
        self.fail_on = fail_on or set()

    async def execute(self, step: Step) -> None:
        if step.sql in self.fail_on:
            raise DatabaseError("fake failure", sql=step.sql)
        self.executed.append(step.sql)


# sql_mode flags that change how a statement's string literals are read.
_QUOTING_MODES = frozenset({"NO_BACKSLASH_ESCAPES", "ANSI_QUOTES"})


class DirectExecutor:
    """Runs DDL on one held session: foreign_key_checks=0 (like Skeema), in the target schema."""

    def __init__(self, session: Session, schema: str, *, foreign_key_checks: bool = False) -> None:
        self.session = session
        self.schema = schema
        self.foreign_key_checks = foreign_key_checks
        self._in_schema = False
        self._seeding: set[str] = set()  # tables found empty before this run's first INSERT into them
        self._sql_mode: str | None = None  # the session's sql_mode, once a seed INSERT needed it

    async def execute(self, step: Step) -> None:
        if step.key.type is not ObjectType.DATABASE and not self._in_schema:
            await self.session.execute(f"USE {escape_identifier(self.schema)}")
            self._in_schema = True
        if step.kind is DiffKind.INSERT:
            await self._seed(step)
            return
        adds_fk = step.is_alter_table and " FOREIGN KEY " in step.sql and self.foreign_key_checks
        if adds_fk:
            await self.session.execute("SET foreign_key_checks = 1")
        try:
            await self.session.execute(step.sql)
        finally:
            if adds_fk:
                await self.session.execute("SET foreign_key_checks = 0")

    async def _seed(self, step: Step) -> None:
        table = escape_identifier(step.key.name)
        # Asked before the table's first INSERT of this run; its next ones follow on rows it put there.
        if step.key.name not in self._seeding:
            if await self.session.query(f"SELECT 1 AS x FROM {table} LIMIT 1"):
                raise SeedRefused(f"table {table} already has rows: its seed INSERT was not run")
            self._seeding.add(step.key.name)
        # The INSERT was read with the default quoting (backslash escapes, '...' and "..." strings);
        # under a session sql_mode of NO_BACKSLASH_ESCAPES or ANSI_QUOTES the server would read the
        # same text differently from the check that admitted it (a `\'` ending a string early), so
        # it runs with those two modes off, and the session's mode is put back for what follows.
        if self._sql_mode is None:  # the session's own mode, read once: it is put back after each INSERT
            rows = await self.session.query("SELECT @@SESSION.sql_mode AS m")
            self._sql_mode = str(rows[0]["m"]) if rows else ""
        mode = self._sql_mode
        plain = ",".join(m for m in mode.split(",") if m and m not in _QUOTING_MODES)
        if plain == mode:
            await self.session.execute(step.sql)
            return
        await self.session.execute("SET SESSION sql_mode = %s", (plain,))
        try:
            await self.session.execute(step.sql)
        finally:
            await self.session.execute("SET SESSION sql_mode = %s", (mode,))


async def _acquire(session: Session, schema: str, timeout: int) -> None:
    name = push_lock_name(schema)
    got = await session.query("SELECT GET_LOCK(%s, %s) AS ok", (name, timeout))
    if got and got[0]["ok"] == 1:
        return
    holder = await session.query(
        "SELECT p.user AS user, p.host AS host, p.id AS id FROM information_schema.processlist p"
        " WHERE p.id = IS_USED_LOCK(%s)",
        (name,),
    )
    who = (
        f"connection {holder[0]['id']} ({holder[0]['user']}@{holder[0]['host']})"
        if holder
        else "another session"
    )
    raise PushLockError(
        f"another push to schema {schema} is running ({who} holds lock {name}); gave up after {timeout}s"
    )


async def execute_plan(
    params: ConnParams,
    schema: str,
    steps: list[Step],
    *,
    foreign_key_checks: bool = False,
    lock_timeout: int = 30,
    executor: DDLExecutor | None = None,
    on_step: Callable[[int, int, Step], None] | None = None,
    wrap: Callable[[DDLExecutor], DDLExecutor] | None = None,
) -> PushRecord:
    """Run `steps` in order under the schema's push lock; stop at the first failure."""
    record = PushRecord(schema=schema)
    async with (
        Instance(params.with_session(foreign_key_checks="0"), pool_size=1) as inst,
        inst.connection(multi=False) as conn,
    ):
        s = Session(inst, conn)
        await _acquire(s, schema, lock_timeout)
        try:
            run: DDLExecutor = executor or DirectExecutor(s, schema, foreign_key_checks=foreign_key_checks)
            if wrap is not None:
                run = wrap(run)
            failed = False
            for i, step in enumerate(steps, 1):
                if on_step is not None and not failed:
                    on_step(i, len(steps), step)
                if failed:
                    record.results.append(StepResult(step.sql, StepStatus.NOT_RUN))
                    continue
                start = time.monotonic()
                try:
                    await run.execute(step)
                except SchemadError as exc:
                    failed = True
                    record.results.append(
                        StepResult(step.sql, StepStatus.FAILED, str(exc), time.monotonic() - start)
                    )
                    continue
                record.results.append(StepResult(step.sql, StepStatus.DONE, None, time.monotonic() - start))
        finally:
            await s.query("SELECT RELEASE_LOCK(%s)", (push_lock_name(schema),))
    return record
