"""pull's part in seed data: the INSERT statements of a schema dir, after its CREATEs are written.

Only tables whose files already hold INSERTs are touched (Skeema's seed
views, `_seed_<table>`, are not read: the INSERTs themselves say which tables
carry seed data).  With `update-seed-inserts`, such a table's INSERTs are
rewritten from its live rows (schemad.introspect.seedrows), in statements
of at most ROWS_PER_INSERT rows; a table with no row, or with more than
SEED_ROW_LIMIT, keeps its INSERTs as written, with a warning.  Always: the
INSERTs of a table the server no longer has go with its CREATE.
"""

from __future__ import annotations

from collections.abc import Collection

from schemad.cli.common import filters, log
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.fs.dir import Dir
from schemad.fs.dumper import DumpResult, read_dir_statements
from schemad.fs.seeddump import rewrite_seeds, seeded_tables
from schemad.introspect.introspector import introspect_schema
from schemad.introspect.seedrows import SEED_ROW_LIMIT, read_seed_rows
from schemad.model.keys import ObjectType
from schemad.sqltext.inserts import render_insert

__all__ = ["ROWS_PER_INSERT", "pull_seeds"]

ROWS_PER_INSERT = 500  # rows per written INSERT: one statement stays far below max_allowed_packet


async def pull_seeds(d: Dir, params: ConnParams, schema: str, live: Collection[str]) -> DumpResult | None:
    """Rewrite (with update-seed-inserts) or drop the dir's INSERTs; None when its files have none."""
    tables = seeded_tables(read_dir_statements(d.path))
    if not tables:
        return None
    f = filters(d.config)

    def ignored(name: str) -> bool:
        return f.ignores(ObjectType.TABLE, name)

    texts: dict[str, list[str]] = {}
    wanted = [t for t in tables if t in live and not ignored(t)]
    if d.config.get_bool("update-seed-inserts") and wanted:
        async with Instance(params) as inst:
            models = await introspect_schema(inst, schema, only_tables=wanted)
            for table in models.tables:
                if table.name not in wanted:
                    continue
                seed = await read_seed_rows(inst, schema, table)
                if seed is None:
                    log.warning(
                        "%s: table %s has more than %d rows; its INSERTs were left as they are",
                        d.path,
                        table.name,
                        SEED_ROW_LIMIT,
                    )
                elif not seed.rows:
                    log.warning(
                        "%s: table %s has no rows; its INSERTs were left as they are", d.path, table.name
                    )
                else:
                    rows = seed.rows
                    texts[table.name] = [
                        render_insert(table.name, seed.columns, rows[i : i + ROWS_PER_INSERT])
                        for i in range(0, len(rows), ROWS_PER_INSERT)
                    ]
    return rewrite_seeds(d.path, texts, live, ignored)
