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

`drop_scaffolding` removes, after a stop schemad itself caused, the
triggers and copy tables that appeared while the tool ran (triggers first:
until they go, every write to the live table is done twice).  It never
drops what was there before the tool started (someone else's run, or a
copy an operator keeps), nor a renamed original (`_<t>_old`, `_<t>_del`:
after a swap that is the only copy of the old data).  It does not know the
names a tool was told to use instead (`--new-table-name`, gh-ost's
`--timestamp-old-table`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import StrEnum

from schemad.apply.progress import Tool
from schemad.connection.instance import Instance
from schemad.errors import DatabaseError

__all__ = ["Leftover", "LeftoverKind", "drop_scaffolding", "find_leftovers", "leftover_names", "scaffolding"]

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
        """The statement that removes it."""
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


def _table_names(table: str) -> dict[str, tuple[Tool, bool]]:
    """Table name -> (tool, whether it is a copy the tool writes into: not a renamed original).

    A name that could be both (a cut `_new` equal to a cut `_old`) counts as an original.
    """
    tables: dict[str, tuple[Tool, bool]] = {}

    def add(name: str, tool: Tool, copy: bool) -> None:
        first = tables.setdefault(name, (tool, copy))
        tables[name] = (first[0], first[1] and copy)

    for suffix in ("_new", "_old"):
        for underscores in range(1, _PT_OSC_TRIES + 2):
            add(("_" * underscores + table + suffix)[:_MAX_NAME], Tool.PT_OSC, suffix == "_new")
    for suffix in ("_gho", "_ghc", "_del"):
        name = f"_{table}{suffix}"
        if len(name) <= _MAX_NAME:  # gh-ost refuses to start when a name would be longer
            add(name, Tool.GH_OST, suffix != "_del")
    tables.pop(table, None)  # a cut name can't be the table itself
    return tables


def leftover_names(schema: str, table: str) -> tuple[dict[str, Tool], dict[str, Tool]]:
    """The names the tools would give their tables and triggers for a change of `schema`.`table`.

    Returns (table name -> tool, trigger name -> tool).
    """
    tables = {name: tool for name, (tool, _) in _table_names(table).items()}
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


def scaffolding(x: Leftover) -> bool:
    """Whether `x` only serves a running tool: a trigger or a copy table, not a renamed original."""
    if x.kind is LeftoverKind.TRIGGER:
        return True
    roles: dict[str, bool] = {}
    for name, (_, copy) in _table_names(x.table).items():  # compared without case, as the server may
        roles[name.lower()] = roles.get(name.lower(), True) and copy
    return roles.get(x.name.lower(), False)


async def drop_scaffolding(
    inst: Instance,
    schema: str,
    table: str,
    before: tuple[Leftover, ...],
    *,
    keep_triggers: bool = False,
    keep_tables: bool = False,
) -> tuple[tuple[Leftover, ...], tuple[Leftover, ...]]:
    """Drop the triggers and copy tables a stopped tool created on `schema`.`table`.

    Call only once the tool's processes are gone.  `before` is what
    `find_leftovers` found before the tool started: none of it is touched.
    `keep_triggers`/`keep_tables` leave a kind alone (the template asked the
    tool to keep it); no table is dropped while a trigger of the tool is
    still on `table` (kept, there before, or its DROP failed).  Returns (dropped,
    in the order dropped; still there, in `find_leftovers` order); a failed
    DROP leaves its object in the second.
    DatabaseError only when the server cannot be asked at all.
    """
    known = {(x.kind, x.name.lower()) for x in before}
    now = await find_leftovers(inst, schema, table)

    def ours(x: Leftover) -> bool:
        return (x.kind, x.name.lower()) not in known and scaffolding(x)

    dropped: list[Leftover] = []
    # Triggers first: while they exist every write to the live table also goes to the copy.
    if not keep_triggers:
        for x in now:
            if x.kind is LeftoverKind.TRIGGER and ours(x):
                with contextlib.suppress(DatabaseError):
                    await inst.execute(x.drop_sql())
                    dropped.append(x)
    # A copy goes only once no trigger writes into it: dropping it under a trigger fails every write.
    triggers_left = any(x.kind is LeftoverKind.TRIGGER and x not in dropped for x in now)
    if not keep_tables and not triggers_left:
        for x in now:
            if x.kind is LeftoverKind.TABLE and ours(x):
                with contextlib.suppress(DatabaseError):
                    await inst.execute(x.drop_sql())
                    dropped.append(x)
    return tuple(dropped), tuple(x for x in now if x not in dropped)
