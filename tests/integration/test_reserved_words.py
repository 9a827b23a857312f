"""The MariaDB reserved-word list is the server's: checked against the test server itself.

Every listed word must fail as an unquoted column name (a syntax error), and
every other keyword the server binary knows must work unquoted.
"""

from __future__ import annotations

import re
from pathlib import Path

from schemad.connection.instance import Instance
from schemad.embedded.server import find_server_binaries
from schemad.errors import DatabaseError, SchemadError
from schemad.lint.rules.reserved_words import reserved_words
from schemad.model.flavor import MARIADB_10_11, Flavor, Vendor

SYNTAX_ERROR = 1064


def candidates() -> set[str]:
    """Our words for both flavors, plus every upper-case token in the server binary (its keyword table)."""
    words = set(reserved_words(MARIADB_10_11)) | set(reserved_words(Flavor(Vendor.MYSQL, 8, 0)))
    try:
        binary = Path(find_server_binaries().server).read_bytes()
    except (SchemadError, OSError):
        return words
    return words | {
        m.decode().lower() for m in re.findall(rb"(?<![A-Za-z0-9_])[A-Z][A-Z0-9_]{1,30}(?=\0)", binary)
    }


async def test_mariadb_list_matches_the_server(instance: Instance, schema: str) -> None:
    if not (await instance.flavor()).is_mariadb:
        return  # the MySQL list comes from its manual; this server can't check it
    rejected: set[str] = set()
    async with instance.session() as s:
        await s.execute(f"USE `{schema}`")
        for i, word in enumerate(sorted(candidates())):
            try:
                await s.execute(f"CREATE TEMPORARY TABLE t{i} ({word} int)")
            except DatabaseError as exc:
                if exc.errno == SYNTAX_ERROR:
                    rejected.add(word)
    ours = set(reserved_words(await instance.flavor()))
    assert sorted(rejected - ours) == []  # reserved on the server, missing from the list
    assert sorted(ours - rejected) == []  # listed, yet the server takes it unquoted
