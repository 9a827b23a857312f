"""What an online-schema-change tool leaves on a table: found, listed, and dropped only on request.

The names each tool gives its objects for a change of table `t`, as their
sources build them:

* pt-online-schema-change copies the table into `_<t>_new` (more leading
  underscores when that name is taken, cut to 64 characters), keeps it in
  step with three triggers on the live table named `pt_osc_<schema>_<t>_ins`,
  `_upd` and `_del` (non-word characters of the prefix turned into `_`, the
  prefix cut to 60 characters), and renames the original to `_<t>_old`.
* gh-ost writes into `_<t>_gho`, logs to `_<t>_ghc`, checkpoints to
  `_<t>_ghk` and renames the original to `_<t>_del` (`_<t>_<YYYYMMDDhhmmss>_del`
  with --timestamp-old-table, `_<t>_rev_del` when reverting); the base name
  is cut so the whole fits 64 characters.
* Spirit writes into `_<t>_new`, checkpoints to `_<t>_chkpnt` (and, for
  atomic multi-table changes, the shared `_spirit_checkpoint`), renames the
  original to `_<t>_old` (`_<t>_old_<YYYYMMDD_hhmmss>` with
  --skip-drop-after-cutover), and gates a deferred cut-over on the schema's
  `_spirit_sentinel`; the base name is cut as gh-ost's.

`_<t>_new` and `_<t>_old` are both pt-osc's and Spirit's: `prefer` says
whose they are when the caller knows which tool ran.

Each object has a role (`role_of`): the tool's *copy* (what it writes into),
*scaffolding* (triggers, changelog, checkpoint and sentinel tables: only a
running tool needs them) or the *original* renamed away at the swap (after a
swap that is the only copy of the old data).

A tool stopped part-way may leave any of these behind: killed (SIGKILL, a
crash of the daemon's host), or on purpose: pt-online-schema-change 3.x, on
SIGTERM or SIGINT, runs its clean-up but deliberately keeps its triggers and
`_<t>_new`, gh-ost keeps its tables for a later `--initially-drop-*` run and
Spirit keeps its copy and checkpoint to resume.  A tool that succeeded may
leave its renamed original (gh-ost without --ok-to-drop-table, pt-osc with
--no-drop-old-table, Spirit with --skip-drop-after-cutover).
`find_leftovers` looks for exactly those names next to one table;
`scan_leftovers` for them next to every table of a schema.

`drop_scaffolding` removes, after a stop schemad itself caused, the
triggers (and, unless told to keep them, the copy tables) that appeared
while the tool ran: triggers first, since until they go every write to the
live table is done twice.  It never drops what was there before the tool
started nor a renamed original.  `drop_leftovers` is the explicit clean-up
an operator asks for: triggers first, then tables, each statement's outcome
reported; it refuses a renamed original while the table itself is missing.
Nothing here knows the names a tool was told to use instead
(`--new-table-name`, gh-ost's `--force-table-names`).
"""

from __future__ import annotations

import contextlib
from enum import StrEnum

from schemad import lazyre
from schemad.apply.progress import Tool
from schemad.connection.instance import Instance
from schemad.errors import DatabaseError
from schemad.records import dataclass

__all__ = [
    "SPIRIT_CHECKPOINT",
    "SPIRIT_SENTINEL",
    "Cleanup",
    "Leftover",
    "LeftoverKind",
    "LeftoverRole",
    "drop_leftovers",
    "drop_scaffolding",
    "find_leftovers",
    "leftover_names",
    "role_of",
    "scaffolding",
    "scan_leftovers",
]

_MAX_NAME = 64  # MySQL/MariaDB identifier length
_PT_OSC_TRIES = 10  # pt-osc adds a leading `_` up to this many more times when a name is taken

#: Spirit's per-schema tables, whatever table it changes.
SPIRIT_SENTINEL = "_spirit_sentinel"
SPIRIT_CHECKPOINT = "_spirit_checkpoint"


class LeftoverKind(StrEnum):
    TABLE = "table"
    TRIGGER = "trigger"


class LeftoverRole(StrEnum):
    """What a leftover was to the tool."""

    COPY = "copy"  # the new table the tool writes into
    SCAFFOLDING = "scaffolding"  # triggers, changelog, checkpoint, sentinel: only a running tool needs it
    ORIGINAL = "original"  # the table as it was, renamed away at the swap


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


def _aux(table: str, suffix: str) -> str:
    """gh-ost's getSafeTableName / Spirit's AuxTableName: `_<table><suffix>`, the table cut to fit 64."""
    return "_" + table[: max(0, _MAX_NAME - 1 - len(suffix))] + suffix


# Timestamped originals: gh-ost --timestamp-old-table, Spirit --skip-drop-after-cutover.
_GHOST_STAMPED = lazyre.compile(r"_(?P<base>.*)_\d{14}_del")
_SPIRIT_STAMPED = lazyre.compile(r"_(?P<base>.*)_old_\d{8}_\d{6}")


def _table_names(table: str, prefer: Tool | None = None) -> dict[str, tuple[Tool, LeftoverRole]]:
    """Table name -> (tool, role) of every fixed name the tools give their tables for `table`.

    A name two tools share goes to `prefer` if it is one of them, else to the
    first listed (pt-osc).  A name that could be a copy and an original at
    once (a cut `_new` equal to a cut `_old`) counts as an original.
    """
    tables: dict[str, tuple[Tool, LeftoverRole]] = {}

    def add(name: str, tool: Tool, role: LeftoverRole) -> None:
        first = tables.get(name)
        if first is None:
            tables[name] = (tool, role)
            return
        owner = tool if prefer is tool else first[0]
        keep = LeftoverRole.ORIGINAL if LeftoverRole.ORIGINAL in (first[1], role) else first[1]
        tables[name] = (owner, keep)

    for suffix, role in (("_new", LeftoverRole.COPY), ("_old", LeftoverRole.ORIGINAL)):
        for underscores in range(1, _PT_OSC_TRIES + 2):
            add(("_" * underscores + table + suffix)[:_MAX_NAME], Tool.PT_OSC, role)
    for suffix, role in (
        ("_gho", LeftoverRole.COPY),
        ("_ghc", LeftoverRole.SCAFFOLDING),
        ("_ghk", LeftoverRole.SCAFFOLDING),
        ("_del", LeftoverRole.ORIGINAL),
        ("_rev_del", LeftoverRole.ORIGINAL),
    ):
        add(_aux(table, suffix), Tool.GH_OST, role)
    for suffix, role in (
        ("_new", LeftoverRole.COPY),
        ("_chkpnt", LeftoverRole.SCAFFOLDING),
        ("_old", LeftoverRole.ORIGINAL),
    ):
        add(_aux(table, suffix), Tool.SPIRIT, role)
    tables.pop(table, None)  # a cut name can't be the table itself
    return tables


def _stamped(name: str, table: str) -> tuple[Tool, LeftoverRole] | None:
    """A timestamped original of `table` (gh-ost `_t_<ts>_del`, Spirit `_t_old_<ts>`), if `name` is one."""
    for pattern, tool in ((_GHOST_STAMPED, Tool.GH_OST), (_SPIRIT_STAMPED, Tool.SPIRIT)):
        m = pattern.fullmatch(name)
        if m is None:
            continue
        base = m["base"]
        # The base is the table, or the table cut so the whole name is 64 characters long.
        if base == table or (len(name) == _MAX_NAME and base and table.startswith(base)):
            return tool, LeftoverRole.ORIGINAL
    return None


def leftover_names(schema: str, table: str) -> tuple[dict[str, Tool], dict[str, Tool]]:
    """The fixed names the tools would give their tables and triggers for a change of `schema`.`table`.

    Returns (table name -> tool, trigger name -> tool).  Timestamped originals
    and Spirit's per-schema tables are not in it (see `find_leftovers`).
    """
    tables = {name: tool for name, (tool, _) in _table_names(table).items()}
    prefix = _pt_osc_trigger_prefix(schema, table)
    triggers = {f"{prefix}_{op}": Tool.PT_OSC for op in ("ins", "upd", "del")}
    return tables, triggers


def _match_table(name: str, table: str, prefer: Tool | None) -> tuple[Tool, LeftoverRole] | None:
    """Whose (and what) table `name` is among the tools' tables for a change of `table`; case-insensitive."""
    index = _index([table], prefer)
    found = index.get(name.lower())
    if found is not None:
        return found[0], found[1]
    return _stamped(name, table) or _stamped(name.lower(), table.lower())


def _index(tables: list[str], prefer: Tool | None) -> dict[str, tuple[Tool, LeftoverRole, str]]:
    """Lower-cased fixed name -> (tool, role, table) for changes of `tables`; the first claim wins."""
    index: dict[str, tuple[Tool, LeftoverRole, str]] = {}
    for table in tables:
        for name, (tool, role) in _table_names(table, prefer).items():
            index.setdefault(name.lower(), (tool, role, table))
    return index


# Every tool names its tables with a leading `_`; LIKE's `\\_` is a literal underscore.
_TABLES_SQL = (
    "SELECT table_name AS name FROM information_schema.tables"
    " WHERE table_schema = %s AND table_name LIKE '\\_%%'"
)
_ALL_TABLES_SQL = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = %s"
_TRIGGERS_SQL = (
    "SELECT trigger_name AS name, event_object_table AS tbl FROM information_schema.triggers"
    " WHERE trigger_schema = %s"
)


async def find_leftovers(
    inst: Instance, schema: str, table: str, *, prefer: Tool | None = None
) -> tuple[Leftover, ...]:
    """The tools' tables and triggers for a change of `schema`.`table` that exist now.

    Spirit's per-schema `_spirit_sentinel` / `_spirit_checkpoint` are listed
    too (with `table` as the table).  Tables first, then triggers, each sorted
    by name.  `prefer` decides whose a name two tools share is.
    """
    rows = await inst.query(_TABLES_SQL, [schema])
    triggers = await inst.query(_TRIGGERS_SQL + " AND event_object_table = %s", [schema, table])
    return _collect(schema, [table], [str(r["name"]) for r in rows], triggers, prefer, shared_to=table)


async def scan_leftovers(inst: Instance, schema: str) -> tuple[Leftover, ...]:
    """Everything in `schema` named as a tool names what it makes for a change of a table there.

    A table counts when the table it would have been made for exists (a
    renamed original with no table beside it cannot be told from a table
    of that name); `_spirit_sentinel`/`_spirit_checkpoint` count alone
    (their table is ""), pt-osc triggers by the table they are on.  A
    name pt-osc and Spirit share is reported as pt-osc's.
    """
    rows = await inst.query(_ALL_TABLES_SQL, [schema])
    names = [str(r["name"]) for r in rows]
    triggers = await inst.query(_TRIGGERS_SQL, [schema])
    return _collect(schema, names, [n for n in names if n.startswith("_")], triggers, None, shared_to="")


def _collect(
    schema: str,
    tables: list[str],
    names: list[str],
    triggers: list[dict[str, object]],
    prefer: Tool | None,
    *,
    shared_to: str,
) -> tuple[Leftover, ...]:
    """The leftovers among `names` (tables) and `triggers` for a change of any of `tables`.

    Spirit's per-schema tables are attributed to `shared_to`.
    """
    index = _index(tables, prefer)
    by_lower = {t.lower(): t for t in tables}
    found: list[Leftover] = []
    for name in names:
        lowered = name.lower()
        if lowered in _SPIRIT_SHARED:
            found.append(Leftover(LeftoverKind.TABLE, schema, name, Tool.SPIRIT, shared_to))
            continue
        hit = index.get(lowered)
        if hit is not None and hit[2].lower() != lowered:
            found.append(Leftover(LeftoverKind.TABLE, schema, name, hit[0], hit[2]))
            continue
        for pattern in (_GHOST_STAMPED, _SPIRIT_STAMPED):
            m = pattern.fullmatch(lowered)
            if m is None:
                continue
            base = by_lower.get(m["base"])
            if base is None and len(name) == _MAX_NAME:  # a cut base: the only table it can be cut from
                cut = [t for t in tables if t.lower().startswith(m["base"]) and m["base"]]
                base = cut[0] if len(cut) == 1 else None
            stamped = _stamped(lowered, base.lower()) if base is not None else None
            if base is not None and stamped is not None:
                found.append(Leftover(LeftoverKind.TABLE, schema, name, stamped[0], base))
                break
    found.sort(key=lambda x: x.name)
    wanted = set(by_lower)
    trig: list[Leftover] = []
    for row in triggers:
        name, on = str(row["name"]), str(row["tbl"])
        if on.lower() not in wanted:
            continue
        _, names_for = leftover_names(schema, on)
        if name.lower() in {n.lower() for n in names_for}:
            trig.append(Leftover(LeftoverKind.TRIGGER, schema, name, Tool.PT_OSC, on))
    return (*found, *sorted(trig, key=lambda x: x.name))


_SPIRIT_SHARED = frozenset({SPIRIT_SENTINEL, SPIRIT_CHECKPOINT})


def role_of(x: Leftover) -> LeftoverRole:
    """What `x` was to the tool (a trigger is scaffolding)."""
    if x.kind is LeftoverKind.TRIGGER:
        return LeftoverRole.SCAFFOLDING
    if x.name.lower() in _SPIRIT_SHARED:
        return LeftoverRole.SCAFFOLDING
    match = _match_table(x.name, x.table, x.tool)
    return LeftoverRole.ORIGINAL if match is None else match[1]


def scaffolding(x: Leftover) -> bool:
    """Whether `x` only serves a running tool (a trigger, a copy, a changelog/checkpoint/sentinel table).

    A renamed original is not: after a swap it is the only copy of the old data.
    """
    return role_of(x) is not LeftoverRole.ORIGINAL


async def drop_scaffolding(
    inst: Instance,
    schema: str,
    table: str,
    before: tuple[Leftover, ...],
    *,
    keep_triggers: bool = False,
    keep_tables: bool = False,
    prefer: Tool | None = None,
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
    now = await find_leftovers(inst, schema, table, prefer=prefer)

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


@dataclass(frozen=True, slots=True)
class Cleanup:
    """What `drop_leftovers` did: each object dropped, refused (and why) or whose DROP failed."""

    dropped: tuple[Leftover, ...] = ()  # in the order dropped
    refused: tuple[tuple[Leftover, str], ...] = ()  # kept on purpose, with the reason
    failed: tuple[tuple[Leftover, str], ...] = ()  # the server refused the DROP, with its error
    gone: tuple[Leftover, ...] = ()  # listed, but no longer there

    @property
    def statements(self) -> tuple[str, ...]:
        """The DROP statements that ran."""
        return tuple(x.drop_sql() for x in self.dropped)


async def drop_leftovers(inst: Instance, listed: tuple[Leftover, ...]) -> Cleanup:
    """Drop the listed leftovers that still exist: the explicit clean-up an operator asks for.

    Only objects found again now (`find_leftovers` on their table, by name)
    are touched.  pt-osc triggers go first (until they do, every write to the
    table also writes into the copy); a table while one of its table's
    triggers remains is refused, and so is a renamed original whose table is
    missing (it may be the only copy of the data).  A DROP the server refuses
    is reported, not raised.  DatabaseError only when the server cannot be
    asked at all.
    """
    dropped: list[Leftover] = []
    refused: list[tuple[Leftover, str]] = []
    failed: list[tuple[Leftover, str]] = []
    gone: list[Leftover] = []
    by_table: dict[tuple[str, str], list[Leftover]] = {}
    for x in listed:
        by_table.setdefault((x.schema, x.table), []).append(x)
    for (schema, table), wanted in by_table.items():
        names = {(x.kind, x.name.lower()) for x in wanted}
        present = await find_leftovers(inst, schema, table, prefer=wanted[0].tool) if table else ()
        if not table:  # a per-schema table (Spirit's), listed without a table
            rows = await inst.query(_TABLES_SQL, [schema])
            present = tuple(
                Leftover(LeftoverKind.TABLE, schema, str(r["name"]), Tool.SPIRIT, "")
                for r in rows
                if str(r["name"]).lower() in _SPIRIT_SHARED
            )
        now = [x for x in present if (x.kind, x.name.lower()) in names]
        found = {(x.kind, x.name.lower()) for x in now}
        gone += [x for x in wanted if (x.kind, x.name.lower()) not in found]
        exists = bool(table) and bool(
            await inst.query(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                [schema, table],
            )
        )
        for x in now:
            if x.kind is LeftoverKind.TRIGGER:
                try:
                    await inst.execute(x.drop_sql())
                    dropped.append(x)
                except DatabaseError as exc:
                    failed.append((x, str(exc)))
        triggers_left = [x for x, _ in failed if x.kind is LeftoverKind.TRIGGER and x.table == table]
        for x in now:
            if x.kind is not LeftoverKind.TABLE:
                continue
            if triggers_left:
                refused.append((x, f"a trigger on `{table}` still writes into it: {triggers_left[0].name}"))
                continue
            if role_of(x) is LeftoverRole.ORIGINAL and table and not exists:
                refused.append((x, f"`{table}` itself is missing: this may be the only copy of its data"))
                continue
            try:
                await inst.execute(x.drop_sql())
                dropped.append(x)
            except DatabaseError as exc:
                failed.append((x, str(exc)))
    return Cleanup(tuple(dropped), tuple(refused), tuple(failed), tuple(gone))
