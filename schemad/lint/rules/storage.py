"""Storage rules: engine (allow-engine) and compression (allow-compression).

InnoDB compression modes are named as Skeema names them: ``page`` for MariaDB
PAGE_COMPRESSED, ``<n>kb`` for KEY_BLOCK_SIZE=n, ``8kb`` for ROW_FORMAT=COMPRESSED
without a KEY_BLOCK_SIZE (half the default 16k page), ``none`` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from schemad import lazyre
from schemad.lint.options import LintOptions
from schemad.lint.rule import Finding, Rule, for_type
from schemad.model.flavor import Flavor
from schemad.model.keys import escape_identifier as q
from schemad.model.schema import Schema
from schemad.model.table import Table

__all__ = ["COMPRESSION", "ENGINE", "compression_mode"]

_PAGE_RE = lazyre.compile(r"^`?PAGE_COMPRESSED`?\s*=\s*'?(1|ON)'?$", re.I)
_KBS_RE = lazyre.compile(r"^KEY_BLOCK_SIZE\s*=\s*(\d+)$", re.I)
_COMPRESSED_RE = lazyre.compile(r"^ROW_FORMAT\s*=\s*COMPRESSED$", re.I)


def compression_mode(table: Table) -> tuple[str, str | None]:
    """The table's InnoDB compression mode and the clause keyword that sets it."""
    opts = table.create_options
    if any(_PAGE_RE.match(o) for o in opts):
        return "page", "PAGE_COMPRESSED"
    for o in opts:
        if m := _KBS_RE.match(o):
            return f"{m[1]}kb", "KEY_BLOCK_SIZE"
    if any(_COMPRESSED_RE.match(o) for o in opts):
        return "8kb", "ROW_FORMAT"
    return "none", None


def _engine(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    if table.engine.lower() not in opts.allow_engine:
        allowed = ", ".join(sorted(opts.allow_engine))
        yield f"table {q(table.name)} uses storage engine {table.engine}; allow-engine is {allowed}", "ENGINE"


def _compression(schema: Schema, table: Table, opts: LintOptions, flavor: Flavor) -> Iterator[Finding]:
    if table.engine.lower() != "innodb":
        return
    mode, clause = compression_mode(table)
    if mode not in opts.allow_compression:
        allowed = ", ".join(sorted(opts.allow_compression))
        yield f"table {q(table.name)} uses compression {mode}; allow-compression is {allowed}", clause


ENGINE = Rule("engine", for_type(Table, _engine), "storage engine not allowed")
COMPRESSION = Rule("compression", for_type(Table, _compression), "compression not allowed")
