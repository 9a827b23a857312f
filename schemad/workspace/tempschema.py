"""The temp-schema workspace: run a directory's CREATEs in a scratch schema,
introspect the result, drop it.

This is how schemad learns the canonical form of hand-written SQL: the server
decides, never a parser.  Like Skeema it takes `GET_LOCK('skeema.<temp-schema>')`
for the whole run, so schemad and Skeema can share a server; it refuses to
drop a pre-existing temp schema whose tables hold rows; and it always drops
what it created, also after an error or a cancellation.  It does not diff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from schemad.errors import DatabaseError, SchemadError
from schemad.introspect.connopts import ConnParams
from schemad.introspect.instance import Instance
from schemad.introspect.introspector import introspect_schema
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.model.schema import Schema

# Errors that mean "something this statement needs was not created yet".
_MISSING_OBJECT_ERRNOS = frozenset({1146, 1356, 1305, 1449})


class Creatable(Protocol):
    """What the workspace needs of a parsed CREATE statement."""

    @property
    def key(self) -> ObjectKey | None: ...

    @property
    def body(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StatementFailure:
    key: ObjectKey
    file: str
    line: int
    message: str  # the server's error text
    errno: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


@dataclass(frozen=True, slots=True)
class WorkspaceOptions:
    temp_schema: str = "_skeema_tmp"
    concurrency: int = 5  # temp-schema-threads
    reuse: bool = False  # reuse-temp-schema: keep the schema, drop only its objects
    lock_timeout: int = 30  # seconds to wait for the workspace lock


@dataclass(frozen=True, slots=True)
class WorkspaceResult:
    schema: Schema  # as introspected, renamed to the logical schema's name
    failures: tuple[StatementFailure, ...]


async def _ensure_empty_and_drop(admin: Instance, name: str, *, keep_schema: bool) -> None:
    q = escape_identifier(name)
    rows = await admin.query(
        "SELECT table_name AS t FROM information_schema.tables"
        " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
        (name,),
    )
    checks = await asyncio.gather(
        *(admin.query(f"SELECT 1 FROM {q}.{escape_identifier(r['t'])} LIMIT 1") for r in rows)
    )
    full = [r["t"] for r, c in zip(rows, checks, strict=True) if c]
    if full:
        raise SchemadError(
            f"{admin.params.address}: temp schema {name} already exists and table {full[0]} holds rows; "
            "refusing to drop it (choose another temp-schema)"
        )
    if not keep_schema:
        await admin.execute(f"DROP DATABASE IF EXISTS {q}")
        return
    async with admin.session() as s:
        await s.execute("SET foreign_key_checks = 0")
        for r in rows:
            await s.execute(f"DROP TABLE {q}.{escape_identifier(r['t'])}")
    for kind, sql in (
        ("VIEW", "SELECT table_name AS n FROM information_schema.views WHERE table_schema = %s"),
        (
            "PROCEDURE",
            "SELECT routine_name AS n FROM information_schema.routines WHERE routine_schema = %s"
            " AND routine_type = 'PROCEDURE'",
        ),
        (
            "FUNCTION",
            "SELECT routine_name AS n FROM information_schema.routines WHERE routine_schema = %s"
            " AND routine_type = 'FUNCTION'",
        ),
        ("EVENT", "SELECT event_name AS n FROM information_schema.events WHERE event_schema = %s"),
    ):
        for r in await admin.query(sql, (name,)):
            await admin.execute(f"DROP {kind} IF EXISTS {q}.{escape_identifier(r['n'])}")


async def _run_all(ws: Instance, stmts: Sequence[Creatable]) -> list[BaseException | None]:
    async def one(s: Creatable) -> BaseException | None:
        try:
            await ws.execute(s.body)
        except DatabaseError as exc:
            return exc
        return None

    return list(await asyncio.gather(*(one(s) for s in stmts)))


def _failure(s: Creatable, exc: BaseException) -> StatementFailure:
    assert s.key is not None
    errno = exc.errno if isinstance(exc, DatabaseError) else None
    text = str(exc)
    # Drop the "host:port: Error N: " prefix: the file:line is the useful location here.
    if isinstance(exc, DatabaseError) and errno is not None:
        text = text.split(f"Error {errno}: ", 1)[-1]
    return StatementFailure(key=s.key, file=s.file, line=s.line, message=text, errno=errno)


async def run_creates(ws: Instance, statements: Iterable[Creatable]) -> list[StatementFailure]:
    """Run CREATE statements on `ws` (whose connections use the target schema) in a legal order.

    Tables first (with foreign_key_checks=0 their order is irrelevant), then
    views in passes until no more succeed (a view may read another view),
    then routines, triggers and events, which may need the tables.  Every
    statement the server rejects becomes a StatementFailure; the rest still run.
    """
    by_type: dict[ObjectType, list[Creatable]] = {}
    for s in statements:
        if s.key is not None:
            by_type.setdefault(s.key.type, []).append(s)
    failures: list[StatementFailure] = []
    for group in (
        [ObjectType.TABLE],
        [ObjectType.VIEW],
        [ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER, ObjectType.EVENT],
    ):
        pending = [s for t in group for s in by_type.get(t, [])]
        while pending:
            errors = await _run_all(ws, pending)
            retry = [
                s
                for s, e in zip(pending, errors, strict=True)
                if isinstance(e, DatabaseError) and e.errno in _MISSING_OBJECT_ERRNOS
            ]
            done = [(s, e) for s, e in zip(pending, errors, strict=True) if s not in retry]
            failures += [_failure(s, e) for s, e in done if e is not None]
            if retry and len(retry) < len(pending):
                pending = retry  # some succeeded: what they created may be what the others need
                continue
            failures += [_failure(s, e) for s, e in zip(pending, errors, strict=True) if s in retry and e]
            break
    return failures


async def exec_statements(
    params: ConnParams,
    statements: Iterable[Creatable],
    *,
    schema_name: str,
    char_set: str,
    collation: str,
    options: WorkspaceOptions | None = None,
) -> WorkspaceResult:
    """Run CREATE statements in the temp schema and introspect what the server made of them."""
    opts = options or WorkspaceOptions()
    stmts = [s for s in statements if s.key is not None]
    temp = opts.temp_schema
    admin = Instance(replace(params, database=None), pool_size=4)
    ws = Instance(
        replace(params.with_session(foreign_key_checks="0"), database=temp),
        pool_size=max(1, opts.concurrency),
    )
    failures: list[StatementFailure] = []
    schema: Schema | None = None
    try:
        async with admin.session() as lock:
            got = await lock.query("SELECT GET_LOCK(%s, %s) AS ok", (f"skeema.{temp}", opts.lock_timeout))
            if not got or got[0]["ok"] != 1:
                raise SchemadError(
                    f"{params.address}: could not get workspace lock skeema.{temp} within "
                    f"{opts.lock_timeout}s: another schemad or Skeema is using temp schema {temp}"
                )
            try:
                exists = await admin.query(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (temp,)
                )
                if exists:
                    await _ensure_empty_and_drop(admin, temp, keep_schema=opts.reuse)
                await admin.execute(
                    f"CREATE DATABASE IF NOT EXISTS {escape_identifier(temp)} "
                    f"CHARACTER SET {char_set} COLLATE {collation}"
                )
                failures = await run_creates(ws, stmts)
                schema = await introspect_schema(ws, temp)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(_cleanup(admin, temp, opts.reuse))
                with contextlib.suppress(Exception):
                    await lock.query("SELECT RELEASE_LOCK(%s)", (f"skeema.{temp}",))
    finally:
        await ws.close()
        await admin.close()
    assert schema is not None
    schema = replace(schema, name=schema_name, char_set=char_set, collation=collation)
    return WorkspaceResult(schema=schema, failures=tuple(sorted(failures, key=lambda f: (f.file, f.line))))


async def _cleanup(admin: Instance, temp: str, reuse: bool) -> None:
    if reuse:
        await _ensure_empty_and_drop(admin, temp, keep_schema=True)
    else:
        await admin.execute(f"DROP DATABASE IF EXISTS {escape_identifier(temp)}")
