"""The connection layer against the real test server."""

from __future__ import annotations

import pytest

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import ConnectError, DatabaseError
from schemad.model.flavor import Vendor
from tests.conftest import DBServer


async def test_flavor_and_variables(instance: Instance) -> None:
    flavor = await instance.flavor()
    assert flavor.vendor in (Vendor.MARIADB, Vendor.MYSQL, Vendor.PERCONA)
    assert flavor.major >= 5
    variables = await instance.variables()
    assert "sql_mode" in variables


async def test_query_errors_carry_errno(instance: Instance) -> None:
    with pytest.raises(DatabaseError) as info:
        await instance.query("SELECT * FROM no_such_schema.no_such_table")
    assert info.value.errno == 1146
    # a failed query does not poison the pool
    assert (await instance.query("SELECT 1 AS one"))[0]["one"] == 1


async def test_unreachable_server_names_address_not_password() -> None:
    params = ConnParams(host="127.0.0.1", port=1, user="u", password="s3cr3t-pw")
    inst = Instance(params, connect_timeout=2)
    with pytest.raises(ConnectError) as info:
        await inst.query("SELECT 1")
    msg = str(info.value)
    assert "127.0.0.1:1" in msg
    assert "s3cr3t-pw" not in msg and "s3cr3t-pw" not in repr(info.value)
    assert "s3cr3t-pw" not in repr(params)


async def test_unix_socket_connection(server: DBServer) -> None:
    if not server.socket:
        pytest.fail("the suite's own server always has a socket")
    async with Instance(server.socket_params) as inst:
        rows = await inst.query("SELECT @@socket AS s")
    assert rows[0]["s"] == server.socket
