"""workspace=local drops its temp schema without waiting, and keeps the workspace lock until it is gone.

A command does not wait for the DROP DATABASE of its temp schema on the
local server (a throwaway one): the DROP runs on the session holding
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
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.workspace import local
from schemad.workspace.scratch import (
    WorkspaceKind,
    WorkspaceOptions,
    scratch_schema,
    wait_for_background_drops,
)
from tests.conftest import DBServer

PID = os.getpid()
TABLES = 200  # enough for a DROP DATABASE that takes a while


def _opts(temp: str) -> WorkspaceOptions:
    return WorkspaceOptions(kind=WorkspaceKind.LOCAL, local_idle=60, temp_schema=temp)


def _local_admin() -> Instance:
    (st,) = [s for p in local.state_dir().glob("*.json") if (s := local.LocalServerState.load(p)) is not None]
    params = ConnParams(host="127.0.0.1", port=st.port, user=local.ADMIN_USER, password=st.password)
    return Instance(params, pool_size=1)


async def _fill(target: ConnParams, temp: str) -> int:
    """A local workspace holding TABLES tables, left at once; how many tables it held."""
    async with scratch_schema(
        target, char_set="utf8mb4", collation="utf8mb4_general_ci", options=_opts(temp)
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


async def test_the_lock_is_never_free_while_the_schema_is_there(server: DBServer) -> None:
    temp = f"_lw_drop_{PID}"
    assert await _fill(server.params, temp) == TABLES  # starts the local server, if needed
    await wait_for_background_drops()
    async with _local_admin() as admin:
        assert await _fill(server.params, temp) == TABLES  # the second finds an empty schema
        samples = await _watch_until_free(admin, temp)
        assert not [s for s in samples if s == (False, True)], "the lock was free with the schema still there"
        assert samples[-1] == (False, False)
    await wait_for_background_drops()


def test_a_process_that_exits_right_after_its_workspace_leaves_nothing(server: DBServer) -> None:
    temp = f"_lw_exit_{PID}"
    p = server.params
    code = textwrap.dedent(f"""
        import asyncio
        from schemad.connection.params import ConnParams
        from tests.integration.test_local_workspace_drop import _fill

        target = ConnParams(host={p.host!r}, port={p.port}, user={p.user!r})
        print(asyncio.run(_fill(target, {temp!r})))
    """)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == str(TABLES)
    assert "Task was destroyed" not in out.stderr and "Traceback" not in out.stderr, out.stderr

    async def check() -> list[tuple[bool, bool]]:
        async with _local_admin() as admin:
            return await _watch_until_free(admin, temp)

    samples = asyncio.run(check())
    assert samples[-1] == (False, False)
    assert not [s for s in samples if s == (False, True)]
