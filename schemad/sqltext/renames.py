"""`@renamed from=old` annotations in a table's statements, and the desired model that carries them.

sqldef's syntax, read in Skeema-layout files too (it is only a comment):
`-- @renamed from=old` or `/* @renamed from=old */`, the old name bare,
"double-quoted", `backticked` or 'single-quoted'.  What an annotation renames
is where it stands:

* before the opening parenthesis of CREATE TABLE, or inside it before the
  first definition, or after the closing one: the table
  (`CREATE TABLE users /* @renamed from=accounts */ (`,
  `CREATE TABLE users ( -- @renamed from=accounts`);
* anywhere after a column or index definition starts and before the next
  one does: that column or index (`name text, -- @renamed from=username`,
  `KEY k2 (a) /* @renamed from=k1 */,`);
* in a standalone `CREATE INDEX new /* @renamed from=old */ ON t (..)` or
  `ALTER TABLE t ADD KEY new (..) -- @renamed from=old` (folded into the
  table, see schemad.fs.logical): that index.

Annotations on a primary key, a foreign key or a CHECK are not renames
schemad can plan, and are ignored.  The server drops comments, so
:func:`annotate_renames` puts each annotation on the desired model (the
workspace's introspected tables) as `renamed_from`; the differ decides
whether it applies (schemad.diff.renames).  Text only: comments are found
with the splitter's lexemes and definitions with the masked text; nothing is
rendered or rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from enum import StrEnum

from schemad import lazyre
from schemad.model.keys import ObjectType
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.records import dataclass
from schemad.sqltext.classify import MASKED_IDENT, mask
from schemad.sqltext.splitter import Statement

__all__ = [
    "RenameAnnotation",
    "RenameKind",
    "annotate_renames",
    "carry_renames",
    "find_renames",
    "statement_renames",
]


class RenameKind(StrEnum):
    TABLE = "table"
    COLUMN = "column"
    INDEX = "index"


@dataclass(frozen=True, slots=True)
class RenameAnnotation:
    """One `@renamed from=` annotation: what it stands on and the name it was renamed from."""

    kind: RenameKind
    name: str  # the desired (new) name of the table, column or index
    renamed_from: str
    offset: int  # where the comment starts in the statement text that was searched


# Quoted text (skipped) or a plain comment (group 1); version-gated comments are code.
_LEXEME = lazyre.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`"""
    r"|(/\*(?!M?!).*?\*/|--(?=\s)[^\n]*|\#[^\n]*)",
    re.S,
)
_ANNOTATION = lazyre.compile(
    r"""@renamed\s+from\s*=\s*(?:"((?:[^"]|"")*)"|`((?:[^`]|``)*)`|'((?:[^'\\]|'')*)'|([\w$]+))""",
    re.I,
)
_IDENT = lazyre.compile(MASKED_IDENT)
_TABLE_HEAD = lazyre.compile(
    rf"\s*create\s+(?:or\s+replace\s+)?(?:temporary\s+)?table\s+(?:if\s+not\s+exists\s+)?"
    rf"({MASKED_IDENT})(?:\s*\.\s*({MASKED_IDENT}))?",
    re.I,
)
_CREATE_INDEX = lazyre.compile(
    rf"\s*create\s+(?:or\s+replace\s+)?(?:(?:unique|fulltext|spatial)\s+)?index\s+(?:if\s+not\s+exists\s+)?"
    rf"({MASKED_IDENT})",
    re.I,
)
_ALTER_HEAD = lazyre.compile(
    rf"\s*alter\s+(?:online\s+)?(?:ignore\s+)?table\s+{MASKED_IDENT}(?:\s*\.\s*{MASKED_IDENT})?", re.I
)
# The start of an index or constraint definition (after ADD, in an ALTER); `name` is the index's.
_KEY_ITEM = lazyre.compile(
    rf"(?:add\s+)?(?:constraint(?:\s+(?!primary\b|unique\b|foreign\b|check\b)(?P<cname>{MASKED_IDENT}))?\s+)?"
    rf"(?P<kind>primary\s+key|foreign\s+key|check|unique(?:\s+(?:key|index))?|(?:fulltext|spatial)(?:\s+(?:key|index))?"
    rf"|key|index)(?:\s+(?!using\b)(?P<name>{MASKED_IDENT}))?",
    re.I,
)
_PERIOD = lazyre.compile(r"period\s+for\b", re.I)


def _unquote(raw: str) -> str:
    if raw.startswith("`"):
        return raw[1:-1].replace("``", "`")
    return raw


def _annotations(text: str) -> Iterator[tuple[int, str]]:
    """(offset, old name) of each annotation in a plain comment of `text`."""
    for m in _LEXEME.finditer(text):
        if m[1] is None or "@renamed" not in m[1].lower():
            continue
        a = _ANNOTATION.search(m[1])
        if a is None:
            continue
        if a[1] is not None:
            old = a[1].replace('""', '"')
        elif a[2] is not None:
            old = a[2].replace("``", "`")
        elif a[3] is not None:
            old = a[3].replace("''", "'")
        else:
            old = a[4]
        yield m.start(), old


def _items(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) of each comma-separated item of masked[start:end], surrounding whitespace left out."""
    out: list[tuple[int, int]] = []
    depth, item = 0, start
    for i in range(start, end + 1):
        ch = masked[i] if i < end else ","
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            j, k = item, i
            while j < k and masked[j].isspace():
                j += 1
            while k > j and masked[k - 1].isspace():
                k -= 1
            if j < k:
                out.append((j, k))
            item = i + 1
    return out


def _matching_paren(masked: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(masked)):
        if masked[i] == "(":
            depth += 1
        elif masked[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(masked)


def _item_name(text: str, masked: str, at: int) -> tuple[RenameKind, str] | None:
    """What the definition starting at `at` defines: a column or a (named) secondary index; else None."""
    m = _KEY_ITEM.match(masked, at)
    if m is not None and (m.end() == len(masked) or not re.match(r"[\w$`]", masked[m.end() : m.end() + 1])):
        kind = m["kind"].lower()
        if kind.startswith(("primary", "foreign", "check")):
            return None
        span = (
            m.span("name") if m["name"] is not None else m.span("cname") if m["cname"] is not None else None
        )
        return None if span is None else (RenameKind.INDEX, _unquote(text[span[0] : span[1]]))
    if masked[at : at + 4].lower() == "add ":
        return None  # ALTER TABLE .. ADD COLUMN and the like: not folded, not renamed
    if _PERIOD.match(masked, at):
        return None
    ident = _IDENT.match(masked, at)
    return None if ident is None else (RenameKind.COLUMN, _unquote(text[ident.start() : ident.end()]))


def find_renames(text: str) -> tuple[RenameAnnotation, ...]:
    """The annotations of one CREATE TABLE, CREATE INDEX or ALTER TABLE .. ADD statement's text."""
    if "@renamed" not in text.lower():
        return ()
    found = list(_annotations(text))
    if not found:
        return ()
    masked = mask(text)
    out: list[RenameAnnotation] = []

    if (head := _CREATE_INDEX.match(masked)) is not None:
        name = _unquote(text[head.start(1) : head.end(1)])
        return tuple(RenameAnnotation(RenameKind.INDEX, name, old, at) for at, old in found)

    if (head := _TABLE_HEAD.match(masked)) is not None:
        group = 2 if head[2] is not None else 1
        table = _unquote(text[head.start(group) : head.end(group)])
        open_at = masked.find("(", head.end())
        if open_at < 0:
            return ()
        close_at = _matching_paren(masked, open_at)
        starts = [a for a, _ in _items(masked, open_at + 1, close_at)]
    elif (head := _ALTER_HEAD.match(masked)) is not None:
        table, open_at, close_at = None, head.end(), len(masked)
        starts = [a for a, _ in _items(masked, open_at, close_at)]
    else:
        return ()

    for at, old in found:
        inside = open_at < at < close_at
        owner = max((s for s in starts if s < at), default=None) if inside else None
        if owner is None:
            if table is not None:
                out.append(RenameAnnotation(RenameKind.TABLE, table, old, at))
            continue
        named = _item_name(text, masked, owner)
        if named is not None:
            out.append(RenameAnnotation(named[0], named[1], old, at))
    return tuple(out)


def statement_renames(stmt: Statement) -> tuple[RenameAnnotation, ...]:
    """The annotations of a table's CREATE and of the standalone statements folded into it."""
    out = find_renames(stmt.own_body)
    for folded in stmt.folded:
        out += find_renames(folded.own_body)
    return out


def _comment(old: str) -> str | None:
    if "*/" in old:
        return None  # cannot stand in a block comment
    if re.fullmatch(r"[\w$]+", old):
        return f"/* @renamed from={old} */"
    return '/* @renamed from="' + old.replace('"', '""') + '" */'


def carry_renames(canonical: str, sources: Iterable[str]) -> str:
    """`canonical` (a CREATE TABLE as the server prints it) with the annotations of `sources` put back.

    For `format` and `lint`, which rewrite a file into the server's form: the
    server drops comments, and a rename not pushed yet must survive that.
    `sources` are the texts the annotations were in (the file's CREATE and
    the standalone statements folded into it).  Each goes back as a block
    comment where :func:`find_renames` reads it again: after the table's name,
    or at the end of the column's or index's definition.  An annotation whose
    object the canonical text does not have is dropped.
    """
    found = [a for text in sources for a in find_renames(text)]
    if not found:
        return canonical
    masked = mask(canonical)
    head = _TABLE_HEAD.match(masked)
    open_at = masked.find("(", head.end()) if head is not None else -1
    if head is None or open_at < 0:
        return canonical
    ends: dict[tuple[RenameKind, str], int] = {}
    for start, end in _items(masked, open_at + 1, _matching_paren(masked, open_at)):
        named = _item_name(canonical, masked, start)
        if named is not None:
            ends.setdefault((named[0], named[1].lower()), end)
    inserts: dict[int, str] = {}
    done: set[tuple[RenameKind, str]] = set()
    for a in found:
        what = (a.kind, "" if a.kind is RenameKind.TABLE else a.name.lower())
        at = head.end() if a.kind is RenameKind.TABLE else ends.get(what)
        comment = _comment(a.renamed_from)
        if at is None or comment is None or what in done:
            continue
        done.add(what)
        inserts[at] = " " + comment
    out = canonical
    for at in sorted(inserts, reverse=True):
        out = out[:at] + inserts[at] + out[at:]
    return out


def _annotated(table: Table, found: Iterable[RenameAnnotation]) -> Table:
    columns = {c.name.lower(): n for n, c in enumerate(table.columns)}
    indexes = {i.name.lower(): n for n, i in enumerate(table.secondary_indexes)}
    cols, idxs = list(table.columns), list(table.secondary_indexes)
    renamed_from = table.renamed_from
    for a in found:  # the first annotation on an object counts
        if a.kind is RenameKind.TABLE:
            if a.name == table.name and renamed_from is None:
                renamed_from = a.renamed_from
        elif a.kind is RenameKind.COLUMN:
            n = columns.get(a.name.lower())
            if n is not None and cols[n].renamed_from is None:
                cols[n] = replace(cols[n], renamed_from=a.renamed_from)
        else:
            n = indexes.get(a.name.lower())
            if n is not None and idxs[n].renamed_from is None:
                idxs[n] = replace(idxs[n], renamed_from=a.renamed_from)
    return replace(table, columns=tuple(cols), secondary_indexes=tuple(idxs), renamed_from=renamed_from)


def annotate_renames(schema: Schema, statements: Iterable[Statement]) -> Schema:
    """`schema` (the desired side, as the workspace made it) with the annotations of `statements`.

    `statements` are the dir's CREATEs (LogicalSchema.creates); each table's
    annotations go on the table of the same name.  An annotation naming no
    column or index of that table is dropped.  The same schema when there is
    no annotation at all.
    """
    found: dict[str, tuple[RenameAnnotation, ...]] = {}
    for stmt in statements:
        if stmt.key is not None and stmt.key.type is ObjectType.TABLE and (a := statement_renames(stmt)):
            found[stmt.key.name] = a
    if not found:
        return schema
    tables = tuple(_annotated(t, found[t.name]) if t.name in found else t for t in schema.tables)
    return replace(schema, tables=tables, _objects={})


def rename_conflicts(schema: Schema, text_of: dict[str, str]) -> list[tuple[str, RenameAnnotation, str]]:
    """Annotations that contradict their own table: the old name is still declared beside the new one.

    `text_of` maps each table name to a text searched for annotations (one
    statement's). Returns (table, annotation, why) for each contradiction,
    e.g. `column user_name /* @renamed from=username */` in a table that still
    declares `username`: no rename can give both (sqldef refuses it too).
    """
    out: list[tuple[str, RenameAnnotation, str]] = []
    tables = {t.name.lower() for t in schema.tables}
    for name, text in text_of.items():
        table = schema.table(name)
        if table is None:
            continue
        for a in find_renames(text):
            old = a.renamed_from.lower()
            if a.kind is RenameKind.TABLE:
                clash = old in tables and old != a.name.lower()
                what = f"table `{a.renamed_from}` is still declared"
            elif a.kind is RenameKind.COLUMN:
                clash = any(c.name.lower() == old for c in table.columns) and old != a.name.lower()
                what = f"column `{a.renamed_from}` is still declared in table `{table.name}`"
            else:
                clash = any(i.name.lower() == old for i in table.secondary_indexes) and old != a.name.lower()
                what = f"index `{a.renamed_from}` is still declared in table `{table.name}`"
            if clash:
                out.append((table.name, a, f"cannot rename `{a.renamed_from}` to `{a.name}`: {what}"))
    return out
