"""scratch_schema(): the temp schema as a context manager (the workspace's and verify's).

Skeema's `GET_LOCK('skeema.<temp-schema>')` is held for the whole use; a
pre-existing temp schema is only dropped when none of its tables holds rows;
the schema is dropped (or, with reuse-temp-schema, emptied) on every exit
path, errors and cancellation included, mostly without waiting for the DROP
(see _drop_in_background); workspace sessions run with
foreign_key_checks=0 and, per temp-schema-binlog, sql_log_bin=0.

Which server holds the temp schema is the `workspace` option
(:func:`workspace_server`): the target itself (temp-schema, the default; or
the server of the `temp-schema-environment`: workspace/offload.py), a
local throwaway server (local, a schemad addition: workspace/local.py) or a
Docker container (docker: workspace/docker.py).  The last two never create
anything on the target, and fail rather than fall back to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import replace
from enum import StrEnum

from schemad import lazyre
from schemad.connection.instance import Instance, Session
from schemad.connection.params import ConnParams
from schemad.errors import ConfigError, DatabaseError, SchemadError
from schemad.model.keys import escape_identifier
from schemad.records import dataclass


class WorkspaceKind(StrEnum):
    """The `workspace` option: which server runs the temp schema."""

    TEMP_SCHEMA = "temp-schema"  #: the target's own server (Skeema's default)
    LOCAL = "local"  #: a throwaway server from the local binaries (schemad addition)
    DOCKER = "docker"  #: a Docker container (Skeema's workspace=docker)


@dataclass(frozen=True, slots=True)
class WorkspaceOptions:
    temp_schema: str = "_skeema_tmp"
    concurrency: int = 5  # temp-schema-threads
    reuse: bool = False  # reuse-temp-schema: keep the schema, drop only its objects
    lock_timeout: int = 30  # seconds to wait for the workspace lock
    binlog: str = "auto"  # temp-schema-binlog: on | off | auto
    kind: WorkspaceKind = WorkspaceKind.TEMP_SCHEMA  # workspace
    local_idle: float = 300.0  # local-workspace-idle, seconds
    docker_image: str = ""  # docker-image ("" = the flavor's image)
    docker_cleanup: str = "none"  # docker-cleanup: none | stop | destroy
    flavor: str = ""  # the dir's `flavor` option (workspace=docker's image when set)
    environment: str = ""  # temp-schema-environment, when it moves the temp schema off the target
    server: ConnParams | None = None  # that environment's server (None: the target's own)


def preflight(values: Iterable[str]) -> None:
    """ConfigError when a `workspace` value among `values` names a kind this machine can't provide.

    workspace=docker needs the docker command and a daemon that answers;
    workspace=local needs local server binaries.  Checked once per command,
    before any target runs, so such a run stops at once (exit 78) instead of
    failing target by target; values that are not a kind are left to the
    dir's own option check.
    """
    kinds = {v.strip().lower() for v in values}
    if WorkspaceKind.DOCKER.value in kinds:
        from schemad.workspace.docker import require_docker

        require_docker()
    if WorkspaceKind.LOCAL.value in kinds:
        from schemad.workspace.local import local_flavor

        local_flavor()


@contextlib.asynccontextmanager
async def workspace_server(params: ConnParams, opts: WorkspaceOptions) -> AsyncIterator[ConnParams]:
    """How to reach the server that holds the workspace of target `params`, under `opts.kind`.

    temp-schema: `params` itself, or with temp-schema-environment (`opts.server`)
    that environment's server, with the target's session settings and refused
    (ConfigError) unless it is the target's flavor.  local / docker: a server
    of their own, set up to print what the target would (same flavor and
    major.minor, its session settings, its account).  All three only read the
    target when they run elsewhere, and raise rather than fall back to it.
    """
    if opts.kind is WorkspaceKind.TEMP_SCHEMA and opts.server is not None:
        from schemad.workspace.offload import offloaded

        yield await offloaded(params, opts.server, opts.environment)
    elif opts.kind is WorkspaceKind.TEMP_SCHEMA:
        yield params
    elif opts.kind is WorkspaceKind.LOCAL:
        from schemad.workspace.local import local_workspace

        async with local_workspace(params, idle=opts.local_idle) as local:
            yield local
    else:
        from schemad.workspace.docker import docker_workspace

        async with docker_workspace(
            params, image=opts.docker_image, cleanup=opts.docker_cleanup, flavor=opts.flavor
        ) as box:
            yield box


_SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
_WORD = lazyre.compile(r"[A-Za-z0-9_]+")


def check_charset_names(char_set: str, collation: str) -> None:
    """ConfigError unless both are plain names: they come from files and go into CREATE DATABASE unquoted."""
    for option, value in (("default-character-set", char_set), ("default-collation", collation)):
        if not _WORD.fullmatch(value):
            raise ConfigError(f"{option}={value!r} is not a character set or collation name")


def _check_temp_schema(temp: str, home: Collection[str]) -> None:
    """The temp schema is dropped after use: never a schema the workspace stands for, nor a system one."""
    if not temp or temp.lower() in _SYSTEM_SCHEMAS or temp in home:
        raise ConfigError(
            f"temp-schema={temp!r} names a schema schemad would drop; choose another temp-schema"
        )


def check_scratch(opts: WorkspaceOptions, home: Collection[str], char_set: str, collation: str) -> None:
    """What scratch_schema refuses before anything runs (ConfigError), for callers that may not need one."""
    _check_temp_schema(opts.temp_schema, home)
    check_charset_names(char_set, collation)


async def _ensure_empty_and_drop(admin: Instance, ddl: Session, name: str, *, keep_schema: bool) -> None:
    """Drop schema `name` (keep_schema: only its objects), refusing when a table holds rows.

    The reads go through `admin`'s pool; the DROPs run on `ddl` (the lock's
    session, which has foreign_key_checks=0 and the workspace's sql_log_bin).
    """
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
        await ddl.execute(f"DROP DATABASE IF EXISTS {q}")
        return
    for r in rows:
        await ddl.execute(f"DROP TABLE {q}.{escape_identifier(r['t'])}")
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
            await ddl.execute(f"DROP {kind} IF EXISTS {q}.{escape_identifier(r['n'])}")


async def _cleanup(admin: Instance, ddl: Session, temp: str, reuse: bool) -> None:
    if reuse:
        await _ensure_empty_and_drop(admin, ddl, temp, keep_schema=True)
    else:
        await ddl.execute(f"DROP DATABASE IF EXISTS {escape_identifier(temp)}")


async def _binlog_off(admin: Instance, mode: str) -> bool:
    """Whether workspace sessions should set sql_log_bin=0 (Skeema's temp-schema-binlog).

    `on` replicates workspace DDL; `off` never does (and needs the privilege);
    `auto` turns it off when the binary log is on and the user may do so.
    """
    if mode == "on":
        return False
    if mode == "off":
        return True
    rows = await admin.query("SELECT @@log_bin AS on_")
    if not rows or not int(rows[0]["on_"] or 0):
        return False
    try:
        async with admin.session() as s:
            await s.execute("SET SESSION sql_log_bin = 0")
    except DatabaseError:
        return False  # not privileged: the workspace DDL is replicated, as Skeema does then
    return True


@contextlib.asynccontextmanager
async def scratch_schema(
    params: ConnParams,
    *,
    char_set: str,
    collation: str,
    options: WorkspaceOptions | None = None,
    home: Collection[str] = (),
) -> AsyncIterator[Instance]:
    """An Instance whose connections use a fresh, empty temp schema (foreign_key_checks=0).

    ConfigError before anything runs when the temp schema is one of `home`
    (the schemas the workspace stands for) or a system schema, or when the
    charset names are not plain names.
    """
    async with workspace(params, char_set=char_set, collation=collation, options=options, home=home) as w:
        yield await w.schema()


class Workspace:
    """The workspace's server with its session settings; the temp schema is made on first need.

    `probe` has the workspace sessions' settings and no default database: the
    flavor and the canonical cache's server fingerprint are read on it, so a
    run whose every statement the cache knows takes no lock and creates and
    drops no schema.  `schema()` makes the temp schema (lock, checks, CREATE
    DATABASE) the first time it is called; it is dropped when the block ends.
    """

    def __init__(
        self,
        server: ConnParams,
        admin: Instance,
        session: dict[str, str],
        opts: WorkspaceOptions,
        charset: tuple[str, str],
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.opts = opts
        self.probe = Instance(replace(server.with_session(**session), database=None), pool_size=1)
        self._server, self._admin, self._session = server, admin, session
        self.char_set, self.collation = charset
        self._stack = stack
        self._ws: Instance | None = None

    @property
    def used(self) -> bool:
        """Whether the temp schema was made (and so the admin connections are _scratch_on's)."""
        return self._ws is not None

    async def schema(self) -> Instance:
        if self._ws is None:
            self._ws = await self._stack.enter_async_context(
                _scratch_on(
                    self._server, self._admin, self._session, self.opts, self.char_set, self.collation
                )
            )
        return self._ws


@contextlib.asynccontextmanager
async def workspace(
    params: ConnParams,
    *,
    char_set: str,
    collation: str,
    options: WorkspaceOptions | None = None,
    home: Collection[str] = (),
) -> AsyncIterator[Workspace]:
    """The workspace of target `params` (see Workspace); refusals as scratch_schema's."""
    opts = options or WorkspaceOptions()
    check_scratch(opts, home, char_set, collation)
    async with workspace_server(params, opts) as server:
        admin = Instance(replace(server, database=None), pool_size=4)
        w: Workspace | None = None
        try:
            session = {"foreign_key_checks": "0"}
            if await _binlog_off(admin, opts.binlog):
                session["sql_log_bin"] = "0"
            async with contextlib.AsyncExitStack() as stack:
                w = Workspace(server, admin, session, opts, (char_set, collation), stack)
                try:
                    yield w
                finally:
                    await w.probe.close()
        finally:
            if w is None or not w.used:  # else _scratch_on closed it, or handed it to a background drop
                await admin.close()


@contextlib.asynccontextmanager
async def _scratch_on(
    params: ConnParams,
    admin: Instance,
    session: dict[str, str],
    opts: WorkspaceOptions,
    char_set: str,
    collation: str,
) -> AsyncIterator[Instance]:
    temp = opts.temp_schema
    # Connections open lazily, on the first statement, after the schema exists.
    ws = Instance(replace(params.with_session(**session), database=temp), pool_size=max(1, opts.concurrency))
    held = contextlib.AsyncExitStack()  # the lock's session (taken over by _drop_in_background)
    handed_over = False
    where = (params.address, temp)
    try:
        # A drop of this temp schema this process still runs: its lock is ours to wait for
        # without spending lock_timeout on it.
        await wait_for_background_drops(where)
        lock = await held.enter_async_context(admin.session())
        got = await lock.query("SELECT GET_LOCK(%s, %s) AS ok", (f"skeema.{temp}", opts.lock_timeout))
        if not got or got[0]["ok"] != 1:
            raise SchemadError(
                f"{params.address}: could not get workspace lock skeema.{temp} within "
                f"{opts.lock_timeout}s: another schemad or Skeema is using temp schema {temp}"
            )
        try:
            # The temp schema's own DDL runs on the lock's session, with the workspace's
            # settings: temp-schema-binlog keeps CREATE/DROP DATABASE out of the binlog too.
            await lock.execute("SET SESSION " + ", ".join(f"{k} = {v}" for k, v in session.items()))
            if await admin.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (temp,)):
                await _ensure_empty_and_drop(admin, lock, temp, keep_schema=opts.reuse)
            await lock.execute(
                f"CREATE DATABASE IF NOT EXISTS {escape_identifier(temp)} "
                f"CHARACTER SET {char_set} COLLATE {collation}"
            )
            yield ws
        finally:
            await ws.close()  # before dropping: open connections would hold metadata locks
            if _drops_in_background(params, opts):
                await _drop_in_background(lock, where, held.pop_all(), admin)
                handed_over = True
            else:
                with contextlib.suppress(Exception):
                    await asyncio.shield(_cleanup(admin, lock, temp, opts.reuse))
                with contextlib.suppress(Exception):
                    await lock.query("SELECT RELEASE_LOCK(%s)", (f"skeema.{temp}",))
    finally:
        await ws.close()
        await held.aclose()  # empty once handed over
        if not handed_over:
            await admin.close()


# Drops still running, by (server address, temp schema); a reference keeps each task alive.
_BACKGROUND: dict[tuple[str, str], set[asyncio.Task[None]]] = {}


def _drops_in_background(params: ConnParams, opts: WorkspaceOptions) -> bool:
    """Whether the temp schema is dropped without waiting for the DROP (see _drop_in_background).

    Not with reuse-temp-schema (its objects are dropped one by one, after a
    check), not on a Docker workspace (docker-cleanup may stop the container
    under the DROP), and not through an SSH tunnel (the tunnel closes with the
    command, perhaps before the DROP has crossed it).
    """
    return not opts.reuse and opts.kind is not WorkspaceKind.DOCKER and params.ssh is None


async def _drop_in_background(
    lock: Session, where: tuple[str, str], held: contextlib.AsyncExitStack, admin: Instance
) -> None:
    """Drop the temp schema without waiting for it, keeping its lock until it is gone.

    Nobody needs the schema gone but the next workspace, and a DROP DATABASE
    takes ~0.1 s at 100 tables and ~1 s at 1,000 on disk: the command goes on
    (or exits and prints its answer) meanwhile.  The DROP runs on the session
    that holds `GET_LOCK('skeema.<temp>')`, so the lock is released only once
    the schema is gone, by RELEASE_LOCK or by the session ending (the server
    finishes a statement whose client left, then ends the session): the next
    workspace on that server, in this process or another, schemad's or
    Skeema's, waits for it in its GET_LOCK as for any other user of the temp
    schema (one of this process waits for the task itself first).  If the DROP
    never reaches the server (the process is killed first), the next workspace
    finds the schema and drops it after checking it holds no rows, as it would
    after any crash.

    The task owns `held` (the lock's session) and `admin`; this returns once
    the task has sent its DROP (one step of the event loop: the driver writes
    a statement before it awaits the reply).
    """
    temp = where[1]

    async def run() -> None:
        try:
            with contextlib.suppress(Exception):
                await lock.execute(f"DROP DATABASE IF EXISTS {escape_identifier(temp)}")
                await lock.query("SELECT RELEASE_LOCK(%s)", (f"skeema.{temp}",))
        finally:
            # Cancelled at the end of an asyncio.run(): the driver closes the connection
            # mid-reply; the server still completes the DROP and then ends the session.
            try:
                await held.aclose()
                await admin.close()
            except BaseException as exc:
                admin.abort()  # failed or cancelled while closing: no socket may be left open
                if not isinstance(exc, Exception):
                    raise

    task = asyncio.get_running_loop().create_task(run(), name=f"drop {temp}")
    tasks = _BACKGROUND.setdefault(where, set())
    tasks.add(task)

    def forget(t: asyncio.Task[None]) -> None:
        tasks.discard(t)
        if not tasks and _BACKGROUND.get(where) is tasks:
            del _BACKGROUND[where]

    task.add_done_callback(forget)
    await asyncio.sleep(0)


async def wait_for_background_drops(where: tuple[str, str] | None = None) -> None:
    """Wait for the temp schemas this event loop is still dropping: those of `where`, or every one."""
    loop = asyncio.get_running_loop()

    def mine() -> list[asyncio.Task[None]]:
        groups = list(_BACKGROUND.values()) if where is None else [_BACKGROUND.get(where, set())]
        return [t for ts in groups for t in ts if t.get_loop() is loop]

    while tasks := mine():
        await asyncio.gather(*tasks, return_exceptions=True)
