"""Test helpers: load SQL text into the real test server, start another one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.model.keys import escape_identifier
from schemad.sqltext.splitter import StatementKind, split

CORPUS = Path(__file__).parent / "testdata" / "corpus"


async def load_sql(params: ConnParams, schema: str | None, text: str, file: str = "<sql>") -> None:
    """Run every statement of `text` (DELIMITER-aware) on one session, in order."""
    async with Instance(params, pool_size=1) as inst, inst.session() as s:
        await s.execute("SET foreign_key_checks = 0")
        if schema:
            await s.execute(f"USE {escape_identifier(schema)}")
        for stmt in split(text, file):
            if stmt.kind in (StatementKind.NOOP, StatementKind.DELIMITER):
                continue
            await s.execute(stmt.body)


def corpus_files() -> list[Path]:
    order = (CORPUS / "LOAD_ORDER").read_text().split()
    return [CORPUS / name for name in order]


async def load_corpus(params: ConnParams, schema: str) -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in corpus_files())
    await load_sql(params, schema, text)


async def workspace_lock_free(params: ConnParams, temp: str = "_skeema_tmp", timeout: int = 30) -> bool:
    """Wait (up to `timeout` s) until nobody holds the workspace lock of `temp`; whether it came free.

    A workspace's temp schema is dropped on the session that holds
    `GET_LOCK('skeema.<temp>')`, without the command waiting for it: once the
    lock is free, the schema is gone (the next workspace waits the same way).
    """
    async with Instance(params, pool_size=1) as inst, inst.session() as s:
        got = await s.query("SELECT GET_LOCK(%s, %s) AS ok", (f"skeema.{temp}", timeout))
        if got[0]["ok"] != 1:
            return False
        await s.query("SELECT RELEASE_LOCK(%s)", (f"skeema.{temp}",))
        return True


async def temp_schemas_left(params: ConnParams, temp: str = "_skeema_tmp", timeout: int = 30) -> list[str]:
    """The schemas named like `temp` once nobody holds its workspace lock (see workspace_lock_free)."""
    assert await workspace_lock_free(params, temp, timeout), f"skeema.{temp} still held after {timeout}s"
    async with Instance(params, pool_size=1) as inst:
        return [n for n in await inst.schema_names() if n.startswith(temp)]


@contextlib.contextmanager
def another_server(*options: str) -> Iterator[ConnParams]:
    """A throwaway MariaDB of its own (my.cnf `options` added), as root over TCP; stopped after."""
    from schemad.embedded import EmbeddedServer

    srv = EmbeddedServer(options=options)
    srv.start()
    try:
        yield ConnParams(host="127.0.0.1", port=srv.port, user="root")
    finally:
        srv.stop()
