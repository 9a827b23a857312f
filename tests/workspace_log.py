"""What the workspace sent, read back from the server's general log.

The suite's throwaway server logs every statement.  A workspace connection is
one that connected to (or switched to) a temp schema, known from the
`CREATE DATABASE IF NOT EXISTS `x` CHARACTER SET .. COLLATE ..` that only
scratch_schema() issues.  On such a connection a statement may read anything
but write only the temp schema: a CREATE must pass the workspace guard
unchanged (unqualified names, a trigger on an unqualified table, an event
DISABLE'd, a CREATE INDEX on an unqualified table), ALTER/DROP must name
temp-schema objects, and nothing else that writes (INSERT, UPDATE, GRANT,
...) may appear at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemad.sqltext.classify import StatementKind, classify
from schemad.workspace.guard import Admitted, admit, admit_fold

_ENTRY = re.compile(
    r"^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\s+(\d+) "
    r"(Connect|Query|Quit|Init DB|Prepare|Execute|Close stmt|Field List|Change user|Set option|Reset stmt"
    r"|Statistics|Ping|Kill|Refresh|Processlist|Fetch)\t?(.*)$"
)
_CONNECT_DB = re.compile(r" on (\S*) using ")
_WORKSPACE_DB = re.compile(r"CREATE DATABASE IF NOT EXISTS `((?:[^`]|``)+)` CHARACTER SET \w+ COLLATE \w+")
_USE = re.compile(r"USE\s+`((?:[^`]|``)+)`\s*$", re.I)
_READS = re.compile(
    r"\s*(?:SELECT|SHOW|SET\s+SESSION|SET\s+STATEMENT\s.*\sFOR\s+SELECT|SET\s+\w+\s*=|USE)\b", re.I | re.S
)
# How the diff runs an ALTER of a system-versioned table (MariaDB): the ALTER itself is judged.
_VERSIONED_ALTER = re.compile(
    r"\s*SET\s+STATEMENT\s+system_versioning_alter_history\s*=\s*KEEP\s+FOR\s+(?=ALTER\s)", re.I
)
_ALTER_DROP = re.compile(
    r"\s*(?:ALTER|DROP)\s+(?:TABLE|VIEW|PROCEDURE|FUNCTION|TRIGGER|EVENT)\s+(?:IF\s+EXISTS\s+)?"
    r"(`(?:[^`]|``)+`|\w+)(?:\s*\.\s*(`(?:[^`]|``)+`|\w+))?",
    re.I,
)


@dataclass(frozen=True)
class Entry:
    thread: int
    command: str
    argument: str


def entries(text: str) -> list[Entry]:
    """The log's entries; a statement spanning lines is one entry."""
    out: list[Entry] = []
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            out.append(Entry(int(m[1]), m[2], m[3]))
        elif out and out[-1].command == "Query":
            last = out[-1]
            out[-1] = Entry(last.thread, last.command, last.argument + "\n" + line)
    return out


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def workspace_violations(text: str) -> list[str]:
    """Statements of workspace connections that could write outside their temp schema."""
    found = entries(text)
    temps = {
        _unquote("`" + m[1] + "`")
        for e in found
        if e.command == "Query" and (m := _WORKSPACE_DB.match(e.argument)) is not None
    }
    db: dict[int, str] = {}
    bad: list[str] = []
    for e in found:
        if e.command == "Connect":
            m = _CONNECT_DB.search(e.argument)
            db[e.thread] = m[1] if m else ""
            continue
        if e.command == "Init DB":
            db[e.thread] = e.argument.strip()
            continue
        if e.command != "Query":
            continue
        sql = e.argument
        if (u := _USE.match(sql)) is not None:
            db[e.thread] = _unquote("`" + u[1] + "`")
            continue
        current = db.get(e.thread, "")
        if current not in temps:
            continue
        if (why := _violation(sql, current)) is not None:
            bad.append(f"thread {e.thread} on {current}: {why}: {sql[:200]!r}")
    return bad


def _violation(sql: str, temp: str) -> str | None:
    if _READS.match(sql):
        return None
    if (v := _VERSIONED_ALTER.match(sql)) is not None:
        sql = sql[v.end() :]
    m = _ALTER_DROP.match(sql)
    if m is not None:
        schema = _unquote(m[1]) if m[2] is not None else temp
        return None if schema == temp else f"writes schema {schema}"
    c = classify(sql)
    if c.kind is StatementKind.FOLDABLE and c.key is not None:  # CREATE INDEX .. ON t
        r = admit_fold(key=c.key, body=sql, file="<log>", line=1, home=())
        if not isinstance(r, Admitted):
            return r.reason
        return None if r.body == sql else "not as the workspace guard sends it (qualified name)"
    if c.kind is not StatementKind.CREATE or c.key is None:
        return "not a read, nor a CREATE/ALTER/DROP of the workspace"
    r = admit(key=c.key, body=sql, file="<log>", line=1, home=())
    if not isinstance(r, Admitted):
        return r.reason
    if r.body != sql:
        return "not as the workspace guard sends it (qualified name, or an event not DISABLE'd)"
    return None
