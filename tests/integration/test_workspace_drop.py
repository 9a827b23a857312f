"""A workspace drops its temp schema without waiting, and keeps the workspace lock until it is gone.

A command does not wait for the DROP DATABASE of its temp schema, on the
target (workspace=temp-schema) as on a local throwaway server
(workspace=local): the DROP runs on the session holding
`GET_LOCK('skeema.<temp>')`.  Watched from another connection, the lock is
never free while the schema still exists; a second workspace right after the
first finds an empty schema; a process that exits right after its workspace
leaves neither the schema nor the lock behind.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.connection.sshopts import SshRoute
from schemad.workspace import local
from schemad.workspace.scratch import (
    WorkspaceKind,
    WorkspaceOptions,
    _drops_in_background,
    scratch_schema,
    wait_for_background_drops,
)
from tests.conftest import DBServer

PID = os.getpid()
TABLES = 200  # enough for a DROP DATABASE that takes a while
KINDS = [WorkspaceKind.TEMP_SCHEMA, WorkspaceKind.LOCAL]


def _opts(temp: str, kind: WorkspaceKind, lock_timeout: int = 30) -> WorkspaceOptions:
    return WorkspaceOptions(kind=kind, local_idle=60, temp_schema=temp, lock_timeout=lock_timeout)


def _admin(target: ConnParams, kind: WorkspaceKind) -> Instance:
    """A connection to the server that holds the workspace."""
    if kind is WorkspaceKind.TEMP_SCHEMA:
        return Instance(target, pool_size=1)
    (st,) = [s for p in local.state_dir().glob("*.json") if (s := local.LocalServerState.load(p)) is not None]
    params = ConnParams(host="127.0.0.1", port=st.port, user=local.ADMIN_USER, password=st.password)
    return Instance(params, pool_size=1)


async def _fill(target: ConnParams, temp: str, kind: WorkspaceKind, lock_timeout: int = 30) -> int:
    """A workspace holding TABLES tables, left at once; how many tables it held."""
    async with scratch_schema(
        target, char_set="utf8mb4", collation="utf8mb4_general_ci", options=_opts(temp, kind, lock_timeout)
    ) as ws:
        create = "CREATE TABLE t{} (id int PRIMARY KEY, v varchar(10), KEY (v))"
        await asyncio.gather(*(ws.execute(create.format(i)) for i in range(TABLES)))
        return len(await ws.query("SHOW TABLES"))


_STATE_SQL = (
    "SELECT IS_USED_LOCK(%s) AS locker,"
    " (SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s) AS schema_there"
)


async def _watch_until_free(admin: Instance, temp: str, timeout: float = 30.0) -> list[tuple[bool, bool]]:
    """(lock held, schema exists) samples, read in one statement each, until the lock is free."""
    samples: list[tuple[bool, bool]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = (await admin.query(_STATE_SQL, (f"skeema.{temp}", temp)))[0]
        samples.append((row["locker"] is not None, bool(row["schema_there"])))
        if not samples[-1][0]:
            return samples
        await asyncio.sleep(0.002)
    raise AssertionError(f"skeema.{temp} still held after {timeout}s")


@pytest.mark.parametrize("kind", KINDS)
async def test_the_lock_is_never_free_while_the_schema_is_there(
    server: DBServer, kind: WorkspaceKind
) -> None:
    temp = f"_ws_drop_{PID}"
    assert await _fill(server.params, temp, kind) == TABLES  # starts the local server, if needed
    await wait_for_background_drops()
    async with _admin(server.params, kind) as admin:
        assert await _fill(server.params, temp, kind) == TABLES  # the second finds an empty schema
        samples = await _watch_until_free(admin, temp)
        assert not [s for s in samples if s == (False, True)], "the lock was free with the schema still there"
        assert samples[-1] == (False, False)
    await wait_for_background_drops()


@pytest.mark.parametrize("kind", KINDS)
async def test_the_next_workspace_of_the_process_waits_for_the_drop_not_the_lock(
    server: DBServer, kind: WorkspaceKind
) -> None:
    # lock_timeout=0: GET_LOCK gives up at once while another session holds the lock, so the
    # second workspace gets it only by waiting for the first one's DROP task before asking.
    temp = f"_ws_next_{PID}"
    assert await _fill(server.params, temp, kind) == TABLES
    assert await _fill(server.params, temp, kind, lock_timeout=0) == TABLES
    await wait_for_background_drops()
    async with _admin(server.params, kind) as admin:
        assert await _watch_until_free(admin, temp) == [(False, False)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_process_that_exits_right_after_its_workspace_leaves_nothing(
    server: DBServer, kind: WorkspaceKind
) -> None:
    temp = f"_ws_exit_{PID}"
    p = server.params
    code = textwrap.dedent(f"""
        import asyncio
        from schemad.connection.params import ConnParams
        from schemad.workspace.scratch import WorkspaceKind
        from tests.integration.test_workspace_drop import _fill

        target = ConnParams(host={p.host!r}, port={p.port}, user={p.user!r})
        print(asyncio.run(_fill(target, {temp!r}, WorkspaceKind({kind.value!r}))))
    """)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == str(TABLES)
    assert "Task was destroyed" not in out.stderr and "Traceback" not in out.stderr, out.stderr

    async def check() -> list[tuple[bool, bool]]:
        async with _admin(server.params, kind) as admin:
            return await _watch_until_free(admin, temp)

    samples = asyncio.run(check())
    assert samples[-1] == (False, False)
    assert not [s for s in samples if s == (False, True)]


def test_what_is_dropped_without_waiting() -> None:
    target = ConnParams(host="db.example", port=3306)
    assert _drops_in_background(target, WorkspaceOptions())
    assert _drops_in_background(target, WorkspaceOptions(kind=WorkspaceKind.LOCAL))
    # reuse-temp-schema empties the schema object by object; docker-cleanup may stop the
    # container under a DROP; an SSH tunnel may close before the DROP has crossed it.
    assert not _drops_in_background(target, WorkspaceOptions(reuse=True))
    assert not _drops_in_background(target, WorkspaceOptions(kind=WorkspaceKind.DOCKER))
    tunnelled = replace(target, ssh=SshRoute(to_db=True))
    assert not _drops_in_background(tunnelled, WorkspaceOptions())
