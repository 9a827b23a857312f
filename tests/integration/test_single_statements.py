"""Connections opened with multi=False run one statement per call on the server, whatever the text holds.

asyncmy asks for CLIENT_MULTI_STATEMENTS at every handshake; the Instance turns
it off again (COM_SET_OPTION) on the connections that take text from files.
"""

from __future__ import annotations

import pytest

from schemad.connection.instance import Instance
from schemad.errors import DatabaseError


async def test_a_hidden_second_statement_is_a_syntax_error(instance: Instance, schema: str) -> None:
    await instance.execute(f"CREATE TABLE `{schema}`.a (id int); CREATE TABLE `{schema}`.b (id int)")
    with pytest.raises(DatabaseError) as exc:
        await instance.execute_one(f"INSERT INTO `{schema}`.a VALUES (1); DROP TABLE `{schema}`.b")
    assert exc.value.errno == 1064
    tables = await instance.query(f"SHOW TABLES FROM `{schema}`")
    assert sorted(r[next(iter(r))] for r in tables) == ["a", "b"]
    assert await instance.query(f"SELECT * FROM `{schema}`.a") == []
    # A compound body is one statement, and the multi-statement connections still batch.
    await instance.execute_one(f"CREATE PROCEDURE `{schema}`.p() BEGIN SELECT 1; SELECT 2; END")
    assert len(await instance.query_many(["SELECT 1 AS x", "SELECT 2 AS x"])) == 2
