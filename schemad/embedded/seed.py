"""Create the schemas of a repo tree on a server from their *.sql files.

Used by `schemad serve --embedded` to give the throwaway server the bundled
example repo's schemas.  It only creates what is missing (CREATE DATABASE
IF NOT EXISTS, then the objects of an empty schema); it never alters or
drops anything, so it is not a push.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir
from schemad.fs.logical import LogicalSchema
from schemad.model.keys import escape_identifier
from schemad.workspace.result import StatementFailure
from schemad.workspace.scratch import check_charset_names
from schemad.workspace.tempschema import admit_all, run_creates

log = logging.getLogger(__name__)


async def seed_repo(
    params: ConnParams, repo: Path, environment: str, sources: ConfigSources | None = None
) -> list[StatementFailure]:
    """Create every target dir's schema of `repo` that does not exist yet on `params`' server."""
    failures: list[StatementFailure] = []
    async with Instance(params) as admin:
        existing = set(await admin.schema_names())
        for d in Dir.walk(repo, environment, sources=sources):
            if not d.is_target:
                continue
            for name in d.schema_names(lambda: sorted(existing)):
                if name in existing:
                    continue
                charset = d.config.get("default-character-set") or "utf8mb4"
                collation = d.config.get("default-collation") or "utf8mb4_general_ci"
                check_charset_names(charset, collation)
                await admin.execute(
                    f"CREATE DATABASE {escape_identifier(name)} CHARACTER SET {charset} COLLATE {collation}"
                )
                logical = LogicalSchema.from_files(d.sql_files())
                target = replace(params.with_session(foreign_key_checks="0"), database=name)
                # The same guard as the workspace's (names stay in this schema); events stay live.
                admitted, refused = admit_all(logical.creates.values(), (name,), disable_events=False)
                failures += refused
                async with Instance(target) as inst:
                    failures += await run_creates(inst, admitted)
                existing.add(name)
                log.info("created schema %s from %s (%d objects)", name, d.path, len(logical.creates))
    return failures


DEMO_DRIFT = "ALTER TABLE `shop`.`products` DROP KEY `ft_title`"


async def make_demo_drift(params: ConnParams) -> bool:
    """The hand change `make run` starts with, so its diff and push have something to show.

    Drops an index of the example repo's `shop.products` (a safe change to
    push back); False when the example schema is not there.
    """
    async with Instance(params) as admin:
        rows = await admin.query(
            "SELECT 1 AS x FROM information_schema.statistics"
            " WHERE table_schema = 'shop' AND table_name = 'products' AND index_name = 'ft_title'"
        )
        if not rows:
            return False
        await admin.execute(DEMO_DRIFT)
    log.info("demo: ran `%s` by hand; the diff puts the index back", DEMO_DRIFT)
    return True
