"""temp-schema-binlog covers all of a workspace's DDL: its tables and its own CREATE/DROP DATABASE.

On a server with a binary log, `auto` (a privileged user) and `off` keep
everything the workspace does out of the binlog, as Skeema does; `on`
writes all of it.  Read with SHOW BINLOG EVENTS once the workspace lock is
free (the temp schema is dropped after the workspace ends).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.fs.logical import LogicalSchema
from schemad.workspace.scratch import WorkspaceOptions
from schemad.workspace.tempschema import exec_statements
from tests.helpers import another_server, temp_schemas_left

FILES = {
    "parent.sql": "CREATE TABLE parent (id int PRIMARY KEY);\n",
    "child.sql": "CREATE TABLE child (id int PRIMARY KEY, p int, FOREIGN KEY (p) REFERENCES parent (id));\n",
}


@pytest.fixture(scope="module")
def binlogged() -> Iterator[ConnParams]:
    with another_server("log-bin=mysql-bin", "server-id=1", "binlog-format=ROW") as params:
        yield params


@pytest.fixture
async def fresh_binlog(binlogged: ConnParams) -> AsyncIterator[Instance]:
    async with Instance(binlogged, pool_size=1) as inst:
        await inst.execute("RESET MASTER")
        yield inst


async def _workspace_events(
    inst: Instance, params: ConnParams, binlog: str, reuse: bool = False
) -> list[str]:
    result = await exec_statements(
        params,
        LogicalSchema.from_texts(FILES).creates.values(),
        schema_name="app",
        char_set="utf8mb4",
        collation="utf8mb4_general_ci",
        options=WorkspaceOptions(binlog=binlog, reuse=reuse),
    )
    assert not result.failures and {t.name for t in result.schema.tables} == {"parent", "child"}
    assert await temp_schemas_left(params) == ([] if not reuse else ["_skeema_tmp"])
    rows = await inst.query("SHOW BINLOG EVENTS")
    return [str(r["Info"]) for r in rows if "_skeema_tmp" in str(r["Info"]) or "parent" in str(r["Info"])]


@pytest.mark.parametrize("binlog", ["auto", "off"])
async def test_nothing_of_the_workspace_reaches_the_binlog(
    fresh_binlog: Instance, binlogged: ConnParams, binlog: str
) -> None:
    assert await _workspace_events(fresh_binlog, binlogged, binlog) == []


async def test_nothing_of_a_reused_temp_schema_reaches_the_binlog(
    fresh_binlog: Instance, binlogged: ConnParams
) -> None:
    # reuse-temp-schema: the first run creates the schema, the second empties it table by table.
    assert await _workspace_events(fresh_binlog, binlogged, "auto", reuse=True) == []
    assert await _workspace_events(fresh_binlog, binlogged, "auto", reuse=True) == []
    await fresh_binlog.execute("DROP DATABASE _skeema_tmp")


async def test_on_writes_all_of_it(fresh_binlog: Instance, binlogged: ConnParams) -> None:
    events = await _workspace_events(fresh_binlog, binlogged, "on")
    assert any("CREATE DATABASE IF NOT EXISTS `_skeema_tmp`" in e for e in events), events
    assert sum("CREATE TABLE" in e.upper() for e in events) == 2, events
    assert any("DROP DATABASE IF EXISTS `_skeema_tmp`" in e for e in events), events
