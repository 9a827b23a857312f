"""What an online-schema-change tool leaves on a table when it is stopped part-way.

pt-online-schema-change copies the table into `_<t>_new` (more leading
underscores when that name is taken, cut to 64 characters), keeps it in step
with three triggers on the live table named `pt_osc_<schema>_<table>_ins`,
`_upd` and `_del` (non-word characters of the prefix turned into `_`, the
prefix cut to 60 characters), and renames the original to `_<t>_old` when it
swaps.  gh-ost writes into `_<t>_gho`, logs to `_<t>_ghc` and renames the
original to `_<t>_del`.

A tool stopped part-way may leave any of these behind: killed (SIGKILL, a
crash of the daemon's host), or on purpose: pt-online-schema-change 3.x, on
SIGTERM or SIGINT, runs its clean-up but deliberately keeps its triggers and
`_<t>_new` ("Not dropping ... because the tool was interrupted"), and gh-ost
keeps its tables for a later `--initially-drop-*` run.  `find_leftovers`
looks for exactly those names in information_schema, so that the job record
can say what is there.

This module will not drop anything: whether a trigger still feeds a copy
that someone means to resume is an operator's decision.  It does not know
the names a tool was told to use instead (`--new-table-name`, gh-ost's
`--timestamp-old-table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemad.apply.progress import Tool
from schemad.introspect.instance import Instance

__all__ = ["Leftover", "LeftoverKind", "find_leftovers", "leftover_names"]

_MAX_NAME = 64  # MySQL/MariaDB identifier length
_PT_OSC_TRIES = 10  # pt-osc adds a leading `_` up to this many more times when a name is taken


class LeftoverKind(StrEnum):
    TABLE = "table"
    TRIGGER = "trigger"


@dataclass(frozen=True, slots=True)
class Leftover:
    """A table or trigger that a tool created for a change of `table` and did not remove."""

    kind: LeftoverKind
    schema: str
    name: str
    tool: Tool  # whose naming it matches
    table: str  # the table the tool was changing

    def drop_sql(self) -> str:
        """The statement that removes it (for an operator to run, after checking)."""
        what = "TABLE" if self.kind is LeftoverKind.TABLE else "TRIGGER"
        return f"DROP {what} IF EXISTS {_quote(self.schema)}.{_quote(self.name)}"


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _pt_osc_trigger_prefix(schema: str, table: str) -> str:
    # Perl's s/\W/_/g on the name's UTF-8 bytes: one `_` per byte of anything but [A-Za-z0-9_].
    prefix = "".join(
        c if c.isascii() and (c.isalnum() or c == "_") else "_" * len(c.encode())
        for c in f"pt_osc_{schema}_{table}"
    )
    return prefix[:60]


def leftover_names(schema: str, table: str) -> tuple[dict[str, Tool], dict[str, Tool]]:
    """The names the tools would give their tables and triggers for a change of `schema`.`table`.

    Returns (table name -> tool, trigger name -> tool).
    """
    tables: dict[str, Tool] = {}
    for suffix in ("_new", "_old"):
        for underscores in range(1, _PT_OSC_TRIES + 2):
            tables.setdefault(("_" * underscores + table + suffix)[:_MAX_NAME], Tool.PT_OSC)
    for suffix in ("_gho", "_ghc", "_del"):
        name = f"_{table}{suffix}"
        if len(name) <= _MAX_NAME:  # gh-ost refuses to start when a name would be longer
            tables.setdefault(name, Tool.GH_OST)
    tables.pop(table, None)  # a cut name can't be the table itself
    prefix = _pt_osc_trigger_prefix(schema, table)
    triggers = {f"{prefix}_{op}": Tool.PT_OSC for op in ("ins", "upd", "del")}
    return tables, triggers


_TABLES_SQL = (
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = %s AND table_name IN ({})"
)
_TRIGGERS_SQL = (
    "SELECT trigger_name AS name FROM information_schema.triggers"
    " WHERE trigger_schema = %s AND event_object_table = %s AND trigger_name IN ({})"
)


async def find_leftovers(inst: Instance, schema: str, table: str) -> tuple[Leftover, ...]:
    """The tools' tables and triggers for a change of `schema`.`table` that exist now.

    Tables first, then triggers, each sorted by name.
    """
    tables, triggers = leftover_names(schema, table)
    found_tables = await inst.query(_TABLES_SQL.format(", ".join(["%s"] * len(tables))), [schema, *tables])
    found_triggers = await inst.query(
        _TRIGGERS_SQL.format(", ".join(["%s"] * len(triggers))), [schema, table, *triggers]
    )
    # information_schema may compare names case-insensitively: match the server's spelling back.
    table_tools = {name.lower(): tool for name, tool in tables.items()}
    trigger_tools = {name.lower(): tool for name, tool in triggers.items()}
    out = [
        Leftover(LeftoverKind.TABLE, schema, name, table_tools[name.lower()], table)
        for name in sorted(str(r["name"]) for r in found_tables)
        if name.lower() in table_tools
    ]
    out += [
        Leftover(LeftoverKind.TRIGGER, schema, name, trigger_tools[name.lower()], table)
        for name in sorted(str(r["name"]) for r in found_triggers)
        if name.lower() in trigger_tools
    ]
    return tuple(out)
