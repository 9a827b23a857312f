"""Seed data: the INSERT statements of a schema dir's *.sql files, read strictly, and written back.

A file's INSERT is run on a live server by push (Skeema's `inserts=seed`), so
only one plain form is accepted, and anything else is an SQLFileError at the
statement's file:line::

    INSERT [IGNORE] INTO [schema.]table [(col, ...)] VALUE[S] (v, ...)[, (v, ...) ...]

where every value is a literal (a quoted string, optionally after a charset
introducer or N; a number, with an optional sign; 0x.., X'..', 0b.., b'..';
NULL, TRUE, FALSE, DEFAULT) or a call of a few functions that read no table
(`NOW()`, `UNHEX('..')`, `JSON_OBJECT(..)`, ...) on such values.  No
subquery, no column or variable reference, no `ON DUPLICATE KEY UPDATE`, no
`INSERT .. SELECT`, no `REPLACE`, nothing after the last row: a statement
that holds one of them, or a `;` (a second statement under another
DELIMITER), is refused.

What it will not do: check the values against the column types (the server
does, at push), or decide which schema a qualifier may name (the planner
knows the target).  `render_insert` writes the INSERT that pull's
`update-seed-inserts` puts in a file, from values already spelled as literals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from schemad import lazyre
from schemad.errors import SQLFileError
from schemad.model.keys import escape_identifier
from schemad.model.table import Table
from schemad.records import dataclass
from schemad.sqltext.classification import StatementKind
from schemad.sqltext.splitter import Statement

__all__ = [
    "SAFE_FUNCTIONS",
    "SeedInsert",
    "check_insert",
    "parse_insert",
    "render_insert",
]

#: Functions a seed value may call: they read no table, no variable, and return at once.
SAFE_FUNCTIONS = frozenset(
    {
        "now",
        "current_timestamp",
        "utc_timestamp",
        "curdate",
        "current_date",
        "curtime",
        "current_time",
        "unhex",
        "from_base64",
        "json_object",
        "json_array",
        "uuid",
    }
)
# Bare keywords that are values on their own (`DEFAULT` keeps the column's default).
_WORD_VALUES = frozenset({"null", "true", "false", "default", "current_timestamp", "current_date"})

_TOKEN = lazyre.compile(
    r"""(?P<ws>\s+|/\*(?!M?!).*?\*/|\#[^\n]*|--(?=\s|\Z)[^\n]*)
      | (?P<str>(?:_[A-Za-z0-9]+|[Nn])?'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
      | (?P<hex>[Xx]'[0-9A-Fa-f]*'|0x[0-9A-Fa-f]+(?![\w$])|[Bb]'[01]*'|0b[01]+(?![\w$]))
      | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w$]))
      | (?P<ident>`(?:[^`]|``)+`)
      | (?P<word>[A-Za-z_$][\w$]*)
      | (?P<punct>[(),.+\-;])
      | (?P<bad>.)""",
    re.X | re.S,
)


@dataclass(frozen=True, slots=True)
class SeedInsert:
    """One accepted INSERT: its table, column list and the number of values in each row."""

    statement: Statement
    table: str
    schema: str | None  # the qualifier of `schema`.`table`, if written
    columns: tuple[str, ...] | None  # None: no column list (every column, in table order)
    row_widths: tuple[int, ...]  # values per row, in order
    ignore: bool  # INSERT IGNORE

    @property
    def rows(self) -> int:
        return len(self.row_widths)


class _Refused(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        assert kind is not None
        if kind == "ws":
            continue
        out.append((kind, m[0]))
    return out


def _name(tok: tuple[str, str]) -> str:
    kind, text = tok
    if kind == "ident":
        return text[1:-1].replace("``", "`")
    if kind == "word":
        return text
    raise _Refused(f"expected a name, found {text!r}")


class _Reader:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise _Refused("the statement ends too early")
        if tok[0] == "bad":
            raise _Refused(f"unexpected character {tok[1]!r}")
        self.i += 1
        return tok

    def word(self) -> str | None:
        tok = self.peek()
        return tok[1].lower() if tok is not None and tok[0] == "word" else None

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok[1].lower() != text:
            raise _Refused(f"expected {text.upper()}, found {tok[1]!r}")

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] in ("punct", "word") and tok[1].lower() == text


def _value(r: _Reader, depth: int = 0) -> None:
    kind, text = r.next()
    if kind == "punct" and text in "+-":
        kind, text = r.next()
        if kind != "num":
            raise _Refused(f"a sign must be followed by a number, found {text!r}")
        return
    if kind in ("str", "hex", "num"):
        while kind == "str" and (nxt := r.peek()) is not None and nxt[0] == "str":
            r.next()  # adjacent strings concatenate
        return
    if kind == "word":
        low = text.lower()
        if r.at("("):
            if low not in SAFE_FUNCTIONS:
                raise _Refused(f"function {text}() is not allowed in seed data")
            if depth > 8:
                raise _Refused("function calls nested too deep")
            r.next()
            if not r.at(")"):
                _value(r, depth + 1)
                while r.at(","):
                    r.next()
                    _value(r, depth + 1)
            r.expect(")")
            return
        if low in _WORD_VALUES:
            return
        if low == "select":
            raise _Refused("subqueries are not allowed in seed data")
    if kind == "punct" and text == "(":
        raise _Refused("subqueries and parenthesised expressions are not allowed in seed data")
    raise _Refused(f"{text!r} is not a literal value")


def _parse(text: str) -> tuple[str, str | None, tuple[str, ...] | None, tuple[int, ...], bool]:
    r = _Reader(_tokens(text))
    if r.word() == "replace":
        raise _Refused("REPLACE is not accepted; write INSERT [IGNORE] INTO")
    r.expect("insert")
    ignore = r.word() == "ignore"
    if ignore:
        r.next()
    if r.word() != "into":
        raise _Refused("only INSERT [IGNORE] INTO <table> ... VALUES is accepted (no LOW_PRIORITY, DELAYED)")
    r.next()
    first = _name(r.next())
    schema, table = None, first
    if r.at("."):
        r.next()
        schema, table = first, _name(r.next())
    columns: tuple[str, ...] | None = None
    if r.at("("):
        r.next()
        names = [_name(r.next())]
        while r.at(","):
            r.next()
            names.append(_name(r.next()))
        r.expect(")")
        columns = tuple(names)
    word = r.word()
    if word in ("select", "with", "table"):
        raise _Refused("INSERT ... SELECT is not accepted; list the rows with VALUES")
    if word == "set":
        raise _Refused("INSERT ... SET is not accepted; list the rows with VALUES")
    if word not in ("values", "value"):
        found = r.peek()
        raise _Refused(f"expected VALUES, found {found[1] if found else 'the end'!r}")
    r.next()
    widths = []
    while True:
        r.expect("(")
        width = 0
        if not r.at(")"):
            _value(r)
            width = 1
            while r.at(","):
                r.next()
                _value(r)
                width += 1
        r.expect(")")
        widths.append(width)
        if not r.at(","):
            break
        r.next()
    rest = r.peek()
    if rest is not None:
        if rest[1] == ";":
            raise _Refused("more than one statement (a `;` inside it); write one INSERT per statement")
        if rest[1].lower() == "on":
            raise _Refused("ON DUPLICATE KEY UPDATE is not accepted in seed data")
        raise _Refused(f"unexpected {rest[1]!r} after the last row")
    return table, schema, columns, tuple(widths), ignore


def parse_insert(stmt: Statement) -> SeedInsert:
    """The INSERT `stmt` holds, or SQLFileError at its file:line saying what is not accepted."""
    assert stmt.kind is StatementKind.INSERT
    body = stmt.own_body
    try:
        table, schema, columns, widths, ignore = _parse(body)
    except _Refused as e:
        raise SQLFileError(f"seed INSERT refused: {e}", file=stmt.file, line=stmt.line) from None
    return SeedInsert(stmt, table, schema, columns, widths, ignore)


def check_insert(ins: SeedInsert, table: Table | None) -> str | None:
    """Why `ins` cannot fill `table` (None: the table the dir defines is missing), or None when it can."""
    if table is None:
        return f"INSERT into table {escape_identifier(ins.table)}, which no CREATE TABLE of this dir defines"
    if ins.columns is not None:
        seen: set[str] = set()
        for name in ins.columns:
            col = table.column(name)
            if col is None:
                where = escape_identifier(table.name)
                return f"column {escape_identifier(name)} does not exist in table {where}"
            if col.generated is not None:
                return f"column {escape_identifier(name)} is generated; it cannot be given a value"
            if name.lower() in seen:
                return f"column {escape_identifier(name)} is listed twice"
            seen.add(name.lower())
        want = len(ins.columns)
    else:
        want = len(table.columns)
    for n, width in enumerate(ins.row_widths, 1):
        if width != want:
            return f"row {n} has {width} value(s) for {want} column(s)"
    return None


def render_insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """`INSERT INTO t (cols) VALUES` with one row per line, values already literals; no delimiter."""
    cols = ", ".join(escape_identifier(c) for c in columns)
    lines = ",\n".join("(" + ", ".join(row) + ")" for row in rows)
    return f"INSERT INTO {escape_identifier(table)} ({cols}) VALUES\n{lines}"
