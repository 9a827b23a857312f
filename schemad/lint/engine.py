"""The lint engine: run the rules over a schema and place the notes in the files.

:func:`lint_schema` is pure: model in, sorted :class:`Note` values out.  :func:`locate`
only searches a statement's text that the caller already has; it opens no files.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from schemad import lazyre
from schemad.lint.options import LintOptions, Severity
from schemad.lint.rule import Rule
from schemad.lint.rules import ALL_RULES
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey
from schemad.model.schema import Schema
from schemad.records import dataclass

__all__ = ["Note", "Source", "lint_located", "lint_schema", "locate"]


@dataclass(frozen=True, slots=True)
class Note:
    """One problem a rule found in one object."""

    rule: str  # rule name without `lint-`, e.g. "pk"
    severity: Severity
    key: ObjectKey
    message: str
    file: str | None = None  # filled by locate()
    line: int | None = None  # 1-based; filled by locate()
    column: int | None = None  # 1-based; filled by locate()
    locator: str | None = None  # identifier or clause keyword to point at; None: the statement


def lint_schema(
    schema: Schema,
    flavor: Flavor,
    opts: LintOptions,
    *,
    only: Collection[ObjectKey] | None = None,
    rules: Iterable[Rule] = ALL_RULES,
) -> list[Note]:
    """Every note of every rule that is not ignored, over all objects or just the keys in `only`.

    Notes are sorted by object key, then rule name; a rule's notes on one object keep its order.
    """
    active = [(rule, opts.severity(rule.name)) for rule in rules]
    active = sorted(((r, s) for r, s in active if s is not Severity.IGNORE), key=lambda rs: rs[0].name)
    notes: list[Note] = []
    for key, obj in sorted(schema.objects().items()):
        if only is not None and key not in only:
            continue
        for rule, severity in active:
            for message, locator in rule.check(schema, obj, opts, flavor):
                notes.append(Note(rule.name, severity, key, message, locator=locator))
    return notes


# Clause keywords a statement may spell another way.
_ALIASES = {"CHARSET": ("CHARSET", "CHARACTER SET")}
_NAME_CHAR = lazyre.compile(r"[\w$]")


def _pattern(text: str) -> re.Pattern[str]:
    """Case-insensitive match of `text` quoted with backticks, or bare between name boundaries."""
    body = "".join(r"\s+" if ch == " " else r"\s*=" if ch == "=" else re.escape(ch) for ch in text)
    bare = body
    if _NAME_CHAR.match(text[0]):
        bare = r"(?<![\w$`])" + bare
    if _NAME_CHAR.match(text[-1]):
        bare += r"(?![\w$`])"
    quoted = "`" + re.escape(text.replace("`", "``")) + "`"
    return re.compile(f"{quoted}|{bare}", re.I)


def _position(text: str, offset: int, first_line: int, first_col: int) -> tuple[int, int]:
    line = first_line + text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    if line == first_line:
        column += first_col - 1  # the statement may start mid-line
    return line, column


def locate(note: Note, statement_text: str, file: str, first_line: int, first_col: int = 1) -> Note:
    """`note` with file, line and column of its locator in the statement's text.

    `first_line` and `first_col` are where the statement starts in its file.
    The locator is looked for after the CREATE head (the first mention of the
    object's name); without a locator, or when it is not found, the note points
    at the statement's first line.
    """
    placed = _at_locator(note, statement_text, file, first_line, first_col, after_head=True)
    return placed or _at_start(note, statement_text, file, first_line, first_col)


def _at_start(note: Note, text: str, file: str, first_line: int, first_col: int) -> Note:
    """`note` at the statement's first non-blank character, never past its first line."""
    lead = len(text) - len(text.lstrip())
    if "\n" in text[:lead]:
        lead = 0  # never leave the first line
    return replace(note, file=file, line=first_line, column=first_col + lead)


def _at_locator(
    note: Note, text: str, file: str, first_line: int, first_col: int, *, after_head: bool
) -> Note | None:
    """`note` placed at its locator in `text` (after the object's name, if `after_head`); None: not there."""
    if note.locator is None:
        return None
    head = _pattern(note.key.name).search(text) if after_head else None
    for spelling in _ALIASES.get(note.locator.upper(), (note.locator,)):
        m = _pattern(spelling).search(text, head.end() if head else 0)
        if m:
            line, column = _position(text, m.start(), first_line, first_col)
            return replace(note, file=file, line=line, column=column)
    return None


def _placed(note: Note, s: Source) -> Note:
    """`note` placed in its object's statement, or in the folded statement that holds its locator.

    An index added by a standalone `CREATE INDEX` / `ALTER TABLE .. ADD`
    (folded into its table) is not in the table's own text: a note about it
    points at the statement that wrote it, where an editor shows it.
    """
    placed = _at_locator(note, s.text, s.file, s.line, s.col, after_head=True)
    if placed is None:
        for f in s.folded:
            placed = _at_locator(note, f.text, f.file, f.line, f.col, after_head=False)
            if placed is not None:
                break
    return placed or _at_start(note, s.text, s.file, s.line, s.col)


class Source(Protocol):
    """Where an object's statement is: its text and its start in a file (sqltext's Statement is one)."""

    @property
    def text(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...

    @property
    def col(self) -> int: ...

    @property
    def folded(self) -> Sequence[Source]:
        """A table's standalone index statements (fs.logical folds them into it)."""
        ...


def lint_located(
    schema: Schema,
    flavor: Flavor,
    opts: LintOptions,
    sources: Mapping[ObjectKey, Source],
    *,
    only: Collection[ObjectKey] | None = None,
) -> list[Note]:
    """lint_schema, each note placed in its object's statement (notes without a source stay unplaced)."""
    out = []
    for note in lint_schema(schema, flavor, opts, only=only):
        s = sources.get(note.key)
        out.append(_placed(note, s) if s is not None else note)
    return out
