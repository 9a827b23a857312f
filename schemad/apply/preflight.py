"""Pre-flight checks before an online schema change starts: what would make the tool fail or hurt.

`preflight(inst, schema, table, tool, ...)` asks the server, just before a
known tool (`apply.osc.tool_of`) runs, and returns findings; a finding with
`refuse=True` means the change must not start (the statement fails with
the reasons, nothing runs).  The daemon also runs them when a push is
submitted (a 422 `preflight_failed` lists them; a dry run shows them).

Each check, what refuses, and for which tools:

* `key`: the table has neither a PRIMARY KEY nor a UNIQUE KEY (all three);
* `long_transactions`: an InnoDB transaction older than `max_trx_age`
  seconds is open; 0 turns the check off (all three);
* `metadata_lock_waiters`: sessions wait for a metadata lock on the table
  (performance_schema when its MDL instrument is on, else the processlist's
  "Waiting for table metadata lock" of sessions in the schema or whose
  statement names the table) (all three);
* `triggers`: the table has triggers (gh-ost and Spirit refuse them;
  pt-osc too unless its command has --preserve-triggers);
* `binlog`: log_bin off, binlog_format not ROW or binlog_row_image not
  FULL (gh-ost and Spirit read the binary log);
* `disk`: less free space than the table's size where the data directory
  is, when the server reports it (MariaDB's information_schema.DISKS);
  skipped quietly when it does not (all three).

A check the server cannot answer (privileges, a missing table) gives a
non-refusing note saying so; only `disk` is silent when unanswerable.
This module reads, never writes, and knows nothing of jobs or the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from typing import Any

from schemad.apply.progress import Tool
from schemad.connection.instance import Instance
from schemad.errors import DatabaseError, SchemadError
from schemad.records import dataclass

__all__ = ["CHECKS", "Finding", "PreflightRefused", "parse_skip", "preflight"]

#: The checks, by name (what osc-skip-checks lists).
CHECKS = ("key", "long_transactions", "metadata_lock_waiters", "triggers", "binlog", "disk")


@dataclass(frozen=True, slots=True)
class Finding:
    """One pre-flight check's outcome on one table."""

    check: str  # key, long_transactions, metadata_lock_waiters, triggers, binlog, disk
    refuse: bool  # True: the online change must not start
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "refuse": self.refuse, "message": self.message}


class PreflightRefused(SchemadError):
    """A pre-flight check refused the online schema change; `findings` says why."""

    def __init__(self, table: str, tool: Tool, findings: tuple[Finding, ...]) -> None:
        reasons = "; ".join(str(f) for f in findings if f.refuse)
        super().__init__(f"{tool} on `{table}` refused by pre-flight checks: {reasons}")
        self.table = table
        self.tool = tool
        self.findings = findings


_KEY_SQL = (
    "SELECT COUNT(*) AS n FROM information_schema.statistics"
    " WHERE table_schema = %s AND table_name = %s AND non_unique = 0"
)
_TRX_SQL = (
    "SELECT trx_mysql_thread_id AS thread, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age"
    " FROM information_schema.innodb_trx"
    " WHERE trx_started < NOW() - INTERVAL %s SECOND AND trx_mysql_thread_id <> CONNECTION_ID()"
    " ORDER BY trx_started"
)
_PS_MDL_ON_SQL = (
    "SELECT @@global.performance_schema AS ps, (SELECT enabled FROM performance_schema.setup_instruments"
    " WHERE name = 'wait/lock/metadata/sql/mdl') AS mdl"
)
_PS_MDL_SQL = (
    "SELECT COUNT(*) AS n FROM performance_schema.metadata_locks"
    " WHERE lock_status = 'PENDING' AND object_schema = %s AND object_name = %s"
)
_PROCESSLIST_MDL_SQL = (
    "SELECT COUNT(*) AS n FROM information_schema.processlist"
    " WHERE state = 'Waiting for table metadata lock' AND (db = %s OR INSTR(info, %s) > 0)"
)
_TRIGGERS_SQL = (
    "SELECT trigger_name AS name FROM information_schema.triggers"
    " WHERE event_object_schema = %s AND event_object_table = %s ORDER BY trigger_name"
)
_BINLOG_SQL = (
    "SELECT @@global.log_bin AS log_bin, @@global.binlog_format AS fmt, @@global.binlog_row_image AS img"
)
_SIZE_SQL = (
    "SELECT COALESCE(data_length, 0) + COALESCE(index_length, 0) AS size FROM information_schema.tables"
    " WHERE table_schema = %s AND table_name = %s"
)
_DISKS_SQL = (
    "SELECT path AS path, available AS available FROM information_schema.disks"  # MariaDB plugin, KiB
)


async def preflight(
    inst: Instance,
    schema: str,
    table: str,
    tool: Tool,
    *,
    max_trx_age: int = 60,
    command: str = "",
    skip: Collection[str] = (),
) -> tuple[Finding, ...]:
    """Every check for an online change of `schema`.`table` by `tool`; see the module docstring.

    `command` is the tool's (masked) command line, for options that change a
    check (`--preserve-triggers`).  Checks named in `skip` do not run (the
    dir's osc-skip-checks).  Only DatabaseError of a lost connection escapes;
    a check the server cannot answer becomes a note.
    """
    out: list[Finding] = []
    if "key" not in skip:
        out += await _check(inst, "key", _key, schema, table, tool)
    if max_trx_age > 0 and "long_transactions" not in skip:
        out += await _check(inst, "long_transactions", _long_trx, max_trx_age)
    if "metadata_lock_waiters" not in skip:
        out += await _check(inst, "metadata_lock_waiters", _mdl_waiters, schema, table)
    if "triggers" not in skip:
        out += await _check(inst, "triggers", _triggers, schema, table, tool, command)
    if tool in (Tool.GH_OST, Tool.SPIRIT) and "binlog" not in skip:
        out += await _check(inst, "binlog", _binlog, tool)
    if "disk" not in skip:
        with contextlib.suppress(DatabaseError, LookupError, TypeError, ValueError):
            out += await _disk(inst, schema, table)  # not reported by this server: skipped quietly
    return tuple(out)


def parse_skip(text: str) -> tuple[frozenset[str], tuple[Finding, ...]]:
    """osc-skip-checks' value: the check names, and a note for each name that is no check."""
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(names - set(CHECKS))
    notes = tuple(
        Finding("osc-skip-checks", False, f"{n!r} is not a pre-flight check (known: {', '.join(CHECKS)})")
        for n in unknown
    )
    return names & frozenset(CHECKS), notes


async def _check(inst: Instance, name: str, fn: Any, *args: Any) -> list[Finding]:
    try:
        found: list[Finding] = await fn(inst, *args)
    except DatabaseError as exc:
        return [Finding(name, False, f"could not be checked: {exc}")]
    return found


async def _key(inst: Instance, schema: str, table: str, tool: Tool) -> list[Finding]:
    rows = await inst.query(_KEY_SQL, [schema, table])
    if int(rows[0]["n"]) > 0:
        return []
    return [Finding("key", True, f"`{table}` has no PRIMARY KEY or UNIQUE KEY: {tool} needs one to copy it")]


async def _long_trx(inst: Instance, max_age: int) -> list[Finding]:
    rows = await inst.query(_TRX_SQL, [max_age])
    if not rows:
        return []
    oldest = rows[0]
    return [
        Finding(
            "long_transactions",
            True,
            f"{len(rows)} transaction(s) open for more than {max_age}s (oldest: thread {oldest['thread']},"
            f" {oldest['age']}s); the tool's metadata locks would queue behind them",
        )
    ]


async def _mdl_waiters(inst: Instance, schema: str, table: str) -> list[Finding]:
    use_ps = False
    try:
        on = await inst.query(_PS_MDL_ON_SQL)
        use_ps = bool(on) and str(on[0]["ps"]) == "1" and str(on[0]["mdl"] or "").upper() == "YES"
    except DatabaseError:
        use_ps = False
    if use_ps:
        n = int((await inst.query(_PS_MDL_SQL, [schema, table]))[0]["n"])
        where = f"a metadata lock on `{table}`"
    else:
        n = int((await inst.query(_PROCESSLIST_MDL_SQL, [schema, table]))[0]["n"])
        where = f"a table metadata lock in `{schema}` or on a statement naming `{table}` (processlist)"
    if n == 0:
        return []
    return [Finding("metadata_lock_waiters", True, f"{n} session(s) are waiting for {where}")]


async def _triggers(inst: Instance, schema: str, table: str, tool: Tool, command: str) -> list[Finding]:
    rows = await inst.query(_TRIGGERS_SQL, [schema, table])
    if not rows:
        return []
    names = ", ".join(str(r["name"]) for r in rows)
    if tool is Tool.PT_OSC and "--preserve-triggers" in command:
        return [
            Finding("triggers", False, f"`{table}` has triggers ({names}); --preserve-triggers keeps them")
        ]
    return [Finding("triggers", True, f"`{table}` has triggers ({names}), which {tool} refuses")]


async def _binlog(inst: Instance, tool: Tool) -> list[Finding]:
    row = (await inst.query(_BINLOG_SQL))[0]
    problems = []
    if str(row["log_bin"]) not in ("1", "ON"):
        problems.append("log_bin is off")
    if str(row["fmt"]).upper() != "ROW":
        problems.append(f"binlog_format is {row['fmt']}, not ROW")
    if str(row["img"]).upper() != "FULL":
        problems.append(f"binlog_row_image is {row['img']}, not FULL")
    if not problems:
        return []
    return [Finding("binlog", True, f"{tool} reads the binary log: " + ", ".join(problems))]


async def _disk(inst: Instance, schema: str, table: str) -> list[Finding]:
    size_rows = await inst.query(_SIZE_SQL, [schema, table])
    if not size_rows:
        return []
    size = int(size_rows[0]["size"])
    datadir = str((await inst.query("SELECT @@datadir AS d"))[0]["d"])
    disks = await inst.query(_DISKS_SQL)
    best: tuple[int, int] | None = None  # (length of the mount path, available bytes)
    for d in disks:
        path = str(d["path"]).rstrip("/") or "/"
        if datadir == path or datadir.startswith(path.rstrip("/") + "/"):
            cand = (len(path), int(d["available"]) * 1024)
            if best is None or cand[0] > best[0]:
                best = cand
    if best is None:
        return []
    free = best[1]
    if free < size:
        return [
            Finding(
                "disk",
                True,
                f"{free} bytes free where the data directory is, less than `{table}`'s {size} bytes",
            )
        ]
    if free < 2 * size:
        return [Finding("disk", False, f"{free} bytes free, less than twice `{table}`'s {size} bytes")]
    return []
