"""Introspection issues a constant number of information_schema queries per schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.introspect.introspector import introspect_schema
from tests.conftest import DBServer
from tests.helpers import load_sql

GEN = Path(__file__).parents[2] / "bench" / "gen_schema.py"


def _generated(n: int, schema: str) -> str:
    out = subprocess.run(
        [sys.executable, str(GEN), "sql", "-n", str(n), "--seed", "1", "--schema", schema, "--create-db"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


async def _counts(server: DBServer, schema: str, n: int) -> tuple[int, int, int]:
    await load_sql(server.params, None, _generated(n, schema))
    async with Instance(server.params) as inst:
        await inst.flavor()
        inst.query_counts.clear()
        result = await introspect_schema(inst, schema)
        counts = dict(inst.query_counts)
        await inst.execute(f"DROP DATABASE `{schema}`")
    assert len(result.tables) == n
    assert not [t.name for t in result.tables if t.unsupported]
    return counts.get("information_schema", 0), counts.get("show create", 0), sum(counts.values())


async def test_information_schema_queries_do_not_grow_with_tables(server: DBServer) -> None:
    small = await _counts(server, "qc_small", 10)
    large = await _counts(server, "qc_large", 1000)
    assert small[0] == large[0]  # information_schema queries: same for 10 and 1,000 tables
    assert small[0] <= 15
    assert small[1] == 10 and large[1] == 1000  # one SHOW CREATE per table
    assert large[2] - large[1] == small[2] - small[1]  # nothing else grows either
