"""Shared fixtures: one real database server for the whole run.

Unless SCHEMAD_TEST_DSN is set (mysql://user:pass@host:port/), the session
starts its own throwaway MariaDB (temp datadir, own socket and port) and stops
it at the end, also on Ctrl-C.  Tests that need a database take `server` /
`instance` / `schema`; none of them is ever skipped for lack of a server: a
missing binary is an error (`make test` installs it first).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.embedded import EmbeddedServer
from tests.workspace_log import workspace_violations


@dataclass(frozen=True)
class DBServer:
    params: ConnParams  # TCP parameters
    socket: str | None  # unix socket, when the suite started the server itself

    @property
    def socket_params(self) -> ConnParams:
        assert self.socket, "no unix socket for an external SCHEMAD_TEST_DSN server"
        return ConnParams(
            host="localhost", socket=self.socket, user=self.params.user, password=self.params.password
        )


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The canonical-form cache of CLI runs lives in the test session's temp dir, never ~/.cache."""
    old = os.environ.get("SCHEMAD_CACHE_DIR")
    os.environ["SCHEMAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("SCHEMAD_CACHE_DIR", None)
    else:
        os.environ["SCHEMAD_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def server() -> Iterator[DBServer]:
    dsn = os.environ.get("SCHEMAD_TEST_DSN")
    if dsn:
        params = ConnParams.from_dsn(dsn)
        yield DBServer(params=params, socket=params.socket)
        return
    srv = EmbeddedServer()
    general_log = srv.root / "general.log"
    try:
        srv.start()
        params = ConnParams(host="127.0.0.1", port=srv.port, user="root")
        asyncio.run(_enable_general_log(params, general_log))
        yield DBServer(params=params, socket=srv.socket)
        # Across every workspace run of the session: nothing but the temp schema was written.
        bad = workspace_violations(general_log.read_text(errors="replace")) if general_log.exists() else []
        assert not bad, "workspace connections wrote outside their temp schema:\n" + "\n".join(bad[:20])
    finally:
        srv.stop()


async def _enable_general_log(params: ConnParams, path: Path) -> None:
    async with Instance(params) as inst:
        await inst.execute(
            "SET GLOBAL general_log_file = %s, log_output = 'FILE', general_log = ON", (str(path),)
        )


@pytest.fixture
async def instance(server: DBServer) -> AsyncIterator[Instance]:
    inst = Instance(server.params)
    try:
        yield inst
    finally:
        await inst.close()


_schema_counter = itertools.count(1)


@pytest.fixture
async def schema(instance: Instance) -> AsyncIterator[str]:
    """A fresh, empty schema (dropped afterwards)."""
    name = f"t_{os.getpid()}_{next(_schema_counter)}"
    await instance.execute(f"DROP DATABASE IF EXISTS `{name}`")
    await instance.execute(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        await instance.execute(f"DROP DATABASE IF EXISTS `{name}`")
