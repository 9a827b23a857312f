"""scratch_schema(): the temp schema as a context manager, for work other than running CREATEs.

Same guarantees as the CREATE workspace (tempschema.py): Skeema's
`GET_LOCK('skeema.<temp-schema>')` for the whole use, refusal to drop a
pre-existing temp schema that holds rows, and cleanup on every exit path
(errors and cancellation included).  Verify uses it to replay ALTERs on
copies of live tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from schemad.errors import SchemadError
from schemad.introspect.connopts import ConnParams
from schemad.introspect.instance import Instance
from schemad.model.keys import escape_identifier
from schemad.workspace.tempschema import WorkspaceOptions, _cleanup, _ensure_empty_and_drop


@contextlib.asynccontextmanager
async def scratch_schema(
    params: ConnParams, *, char_set: str, collation: str, options: WorkspaceOptions | None = None
) -> AsyncIterator[Instance]:
    """An Instance whose connections use a fresh, empty temp schema (foreign_key_checks=0)."""
    opts = options or WorkspaceOptions()
    temp = opts.temp_schema
    admin = Instance(replace(params, database=None), pool_size=4)
    ws = Instance(
        replace(params.with_session(foreign_key_checks="0"), database=temp),
        pool_size=max(1, opts.concurrency),
    )
    try:
        async with admin.session() as lock:
            got = await lock.query("SELECT GET_LOCK(%s, %s) AS ok", (f"skeema.{temp}", opts.lock_timeout))
            if not got or got[0]["ok"] != 1:
                raise SchemadError(
                    f"{params.address}: could not get workspace lock skeema.{temp} within "
                    f"{opts.lock_timeout}s: another schemad or Skeema is using temp schema {temp}"
                )
            try:
                if await admin.query(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (temp,)
                ):
                    await _ensure_empty_and_drop(admin, temp, keep_schema=opts.reuse)
                await admin.execute(
                    f"CREATE DATABASE IF NOT EXISTS {escape_identifier(temp)} "
                    f"CHARACTER SET {char_set} COLLATE {collation}"
                )
                yield ws
            finally:
                await ws.close()  # before dropping: open connections would hold metadata locks
                with contextlib.suppress(Exception):
                    await asyncio.shield(_cleanup(admin, temp, opts.reuse))
                with contextlib.suppress(Exception):
                    await lock.query("SELECT RELEASE_LOCK(%s)", (f"skeema.{temp}",))
    finally:
        await ws.close()
        await admin.close()
