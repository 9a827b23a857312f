"""Split the text of a *.sql file into statements, losslessly.

``split(text, file)`` cuts a file the way the mysql client would, and returns
:class:`Statement` values whose texts concatenate back to the input exactly, so a
statement can be edited in place and the file rewritten byte for byte elsewhere.

Rules (those of Skeema's ``tengo`` parser, which follow the mysql client):

* A statement ends at the delimiter in force (``;`` until a ``DELIMITER xx`` command
  changes it; multi-character delimiters such as ``//`` and ``$$`` work), found outside
  quotes (``'..'`` and ``".."`` with backslash and doubled-quote escapes, ```..```
  with doubled backticks) and comments (``-- `` + whitespace, ``#``, ``/* */``).
  Version-gated comments ``/*!50100 .. */`` / ``/*M!100301 .. */`` are statement text,
  not comments, and are opaque: a delimiter inside one does not end the statement.
* Whitespace and comments before a statement form a separate NOOP statement; the one
  newline right after a delimiter belongs to the statement it ends.  A stray delimiter
  with no statement before it is a NOOP too.
* ``DELIMITER xx`` (first word of a statement, case-insensitive) runs to the end of its
  line; ``USE db`` ends at the delimiter or at the end of its line.
* A last statement without a delimiter still counts; whitespace and comments after its
  last token become a trailing NOOP (Skeema keeps them in the statement).
* In a file with no DELIMITER command, a CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT whose
  body has a BEGIN runs to the end of the file, so a lone routine written without
  DELIMITER lines still reads as one statement (Skeema does the same).

An unterminated quote or ``/*`` comment raises :class:`~schemad.errors.SplitError`
naming the file and the line where it started.

What it will not do: parse SQL.  Each statement is only classified from its first few
tokens by :mod:`schemad.sqltext.classify`; the server is the judge of the rest.
``NO_BACKSLASH_ESCAPES`` and ``ANSI_QUOTES`` are not modelled (backslashes always escape
inside strings, and ``"..."`` is a string, or a name right where a name is expected).
"""

from __future__ import annotations

import re
from functools import lru_cache

from schemad import lazyre
from schemad.errors import SplitError
from schemad.model.keys import ObjectKey, escape_identifier
from schemad.records import dataclass
from schemad.sqltext.classify import (
    STORED_PROGRAM_TYPES,
    StatementKind,
    classify,
    has_begin,
    mask,
    unsupported_reason,
)

__all__ = ["Statement", "StatementKind", "split"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, client command, or run of whitespace/comments of a *.sql file."""

    file: str
    line: int  # 1-based line of the first character
    col: int  # 1-based column (in characters) of the first character; a leading BOM is not counted
    text: str  # exact original text, including the delimiter and the newline after it
    delimiter: str  # the delimiter in force; for a DELIMITER command, the one it sets
    kind: StatementKind
    key: ObjectKey | None = None  # for CREATE: object type and unquoted name
    schema: str | None = None  # CREATE's schema qualifier (`db`.t), or the target of USE
    default_schema: str | None = None  # target of the last USE before this statement in the file
    name_span: tuple[int, int] | None = None  # [start, end) of the `[schema.]name` clause in `text`
    # A table's CREATE only: the FOLDABLE statements of its dir on it, in file order (set by
    # fs.logical.LogicalSchema; the splitter never sets it).
    folded: tuple[Statement, ...] = ()

    @property
    def location(self) -> str:
        """`file:line:col`, for messages."""
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def own_body(self) -> str:
        """This one statement, as sent to a server: its text without delimiter and surrounding whitespace."""
        body = self.text.strip()
        if self.kind is not StatementKind.DELIMITER and self.delimiter and body.endswith(self.delimiter):
            body = body[: -len(self.delimiter)].rstrip()
        return body

    @property
    def body(self) -> str:
        """The object's definition as the files give it: `own_body`, then each `folded` statement.

        Without folded statements (every object but a table with standalone
        index statements) this is `own_body`.  With them, the statements are
        joined with `;` and a newline: the text a table's definition depends
        on (the canonical cache's key, the planner's "file = live SHOW
        CREATE" test), never sent to a server as one statement.
        """
        body = self.own_body
        if self.folded:
            body += "".join(f";\n{f.own_body}" for f in self.folded)
        return body

    @property
    def summary(self) -> str:
        """The statement's head, up to its first parenthesis, whitespace collapsed (for messages)."""
        body = self.own_body
        paren = mask(body).find("(")
        head = " ".join((body[:paren] if paren >= 0 else body).split())
        return head if len(head) <= 100 else head[:99] + "…"

    @property
    def unqualified_body(self) -> str:
        """`own_body` with a schema-qualified name replaced by the bare name (for running in a workspace)."""
        body = self.own_body
        if (
            self.schema is None
            or self.key is None
            or self.name_span is None
            or self.kind not in (StatementKind.CREATE, StatementKind.INSERT)
        ):
            return body
        start, end = self.name_span  # a statement's text starts at its first token, as its body does
        return body[:start] + escape_identifier(self.key.name) + body[end:]

    @property
    def compound(self) -> bool:
        """A stored program whose body needs a non-`;` DELIMITER when written to a file."""
        if (
            self.kind is not StatementKind.CREATE
            or self.key is None
            or self.key.type not in STORED_PROGRAM_TYPES
        ):
            return False
        body = self.own_body
        return ";" in mask(body) or has_begin(body)

    @property
    def unsupported_reason(self) -> str | None:
        """Why this CREATE can't be managed (e.g. `CREATE TABLE .. LIKE`), or None if it can."""
        if self.kind is not StatementKind.CREATE or self.key is None or self.name_span is None:
            return None
        return unsupported_reason(self.own_body, self.key, self.name_span)


# ---------------------------------------------------------------------------------------------------
# Scanning.  Each step is one C-level regex match over a whole run of text; Python only sees
# statement boundaries, never characters.

# Whitespace and comments (not version-gated ones) at the start of a statement.
_FILLER = lazyre.compile(r"(?:[\s\ufeff]++|\#[^\n]*+|--(?=\s)[^\n]*+|--\Z|/\*(?!M?!)(?s:.*?)\*/)*+")

_QUOTED = r"""'(?:[^'\\]++|(?s:\\.)|'')*+'|"(?:[^"\\]++|(?s:\\.)|"")*+"|`(?:[^`]++|``)*+`"""
_COMMENT = r"/\*(?s:.*?)\*/|\#[^\n]*+|--(?=\s)[^\n]*+|--\Z"


@lru_cache(maxsize=64)
def _body_regex(delimiter: str | None, stop_at_newline: bool) -> re.Pattern[str]:
    """A regex consuming statement text up to (not including) the delimiter or an unclosed quote/comment.

    With `delimiter` None it runs to the end of the text; with `stop_at_newline` it also stops
    before a newline outside quotes and comments (for the USE command).
    """
    special = "'\"`/#-" + ("\n" if stop_at_newline else "") + (delimiter[0] if delimiter else "")
    special_class = "".join("\\" + ch if ch in "\\]^-[" else ch for ch in dict.fromkeys(special))
    lone = "/\\-" + (re.escape(delimiter[0]) if delimiter else "")
    not_delim = f"(?!{re.escape(delimiter)})" if delimiter else ""
    atom = (
        f"[^{special_class}]++"
        f"|{_QUOTED}"
        f"|{_COMMENT}"
        # a `/`, `-` or the delimiter's first character that starts no comment and no delimiter
        rf"|{not_delim}(?!/\*|--(?:\s|\Z))[{lone}]"
    )
    return re.compile(f"(?:{atom})*+")


_DELIMITER_CMD = lazyre.compile(r"delimiter(?=[ \t]|\r?\n|\Z)", re.I)
_DELIMITER_ARG = lazyre.compile(
    r"""[ \t]*+(?:(?P<q>['"`])(?P<quoted>[^\n]*?)(?P=q)|(?P<bare>\S+))?[^\n]*+\n?"""
)
_NOT_DELIMITER_START = ("'", '"', "`", "#", "/*", "--")
_USE_CMD = lazyre.compile(r"use(?![\w$])", re.I)
_CREATE = lazyre.compile(r"create(?![\w$])", re.I)
_STORED_WORDS = ("procedure", "function", "trigger", "event")
# Comments (group c) after the last token; quotes and version-gated comments are code, and matched so
# that comment markers inside them are skipped.
_LEXEME = lazyre.compile(rf"{_QUOTED}|/\*M?!(?s:.*?)\*/|(?P<c>{_COMMENT})")


def _span_end(regex: re.Pattern[str], text: str, pos: int) -> int:
    """End of `regex` (a `(...)*+` that always matches, maybe empty) matched at `pos`."""
    m = regex.match(text, pos)
    assert m is not None
    return m.end()


def _after_newline(text: str, i: int) -> int:
    """`i`, moved past one newline (LF or CRLF) if one starts there."""
    if text.startswith("\n", i):
        return i + 1
    if text.startswith("\r\n", i):
        return i + 2
    return i


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _unclosed(text: str, pos: int, file: str) -> SplitError:
    ch = text[pos]
    what = "Comment starting with /*" if ch == "/" else ("Identifier" if ch == "`" else "String") + f" ({ch})"
    return SplitError(f"{what} is never closed", file=file, line=_line_of(text, pos))


def _code_end(text: str, start: int, end: int) -> int:
    """End of the last token of text[start:end] that is not whitespace or a comment."""
    comments = [m.span() for m in _LEXEME.finditer(text, start, end) if m["c"] is not None]
    stop = len(text[start:end].rstrip()) + start
    while comments and stop > start:
        c_start, c_end = comments.pop()
        if c_start < stop <= c_end:
            stop = len(text[start:c_start].rstrip()) + start
        elif c_end < stop:
            break
    return stop


def _runs_to_eof(text: str, start: int, stop: int) -> bool:
    """Skeema's leniency for a stored program with BEGIN..END in a file without DELIMITER lines."""
    # Cheap substring tests first: this runs for every CREATE TABLE of a typical file.
    if not _CREATE.match(text, start):
        return False
    lowered = text[start:stop].lower()
    if "begin" not in lowered or not any(w in lowered[:400] for w in _STORED_WORDS):
        return False
    head = text[start:stop]
    key = classify(head).key
    return key is not None and key.type in STORED_PROGRAM_TYPES and has_begin(head)


def split(text: str, file: str = "") -> list[Statement]:
    """Split `text` (the contents of `file`) into statements.  ``"".join(s.text ...) == text``.

    Raises SplitError for an unterminated quote or comment, or a bad DELIMITER command.
    """
    out: list[Statement] = []
    n = len(text)
    pos = 0
    delimiter = ";"
    explicit_delimiter = False  # a DELIMITER command was seen: no leniency for BEGIN..END
    default_schema: str | None = None
    line, counted_to = 1, 0  # line number of position `counted_to`
    bom = text.startswith("\ufeff")

    while pos < n:
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        col = pos - text.rfind("\n", 0, pos)
        if bom and line == 1 and pos > 0:
            col -= 1

        # Whitespace and comments before a statement: a NOOP of their own.
        end = _span_end(_FILLER, text, pos)
        if end > pos:
            out.append(Statement(file, line, col, text[pos:end], delimiter, StatementKind.NOOP))
            pos = end
            continue

        # A delimiter with nothing before it.
        if text.startswith(delimiter, pos):
            end = _after_newline(text, pos + len(delimiter))
            out.append(Statement(file, line, col, text[pos:end], delimiter, StatementKind.NOOP))
            pos = end
            continue

        # DELIMITER xx: the first word after it, to the end of the line.
        m = _DELIMITER_CMD.match(text, pos)
        if m is not None:
            arg = _DELIMITER_ARG.match(text, m.end())
            assert arg is not None  # every part is optional
            new = arg["quoted"] if arg["q"] else arg["bare"]
            if not new:
                raise SplitError("DELIMITER must be followed by a delimiter string", file=file, line=line)
            # mysql refuses a backslash; quote/comment starters and spaces could never be matched
            if "\\" in new or new.startswith(_NOT_DELIMITER_START) or any(c.isspace() for c in new):
                raise SplitError(f"unusable delimiter {new!r}", file=file, line=line)
            end = arg.end()
            out.append(Statement(file, line, col, text[pos:end], new, StatementKind.DELIMITER))
            delimiter, explicit_delimiter, pos = new, True, end
            continue

        # A statement, or a USE command (which a newline also ends).
        end = code_end = pos
        is_use = _USE_CMD.match(text, pos) is not None
        stop = _span_end(_body_regex(delimiter, is_use), text, pos)
        if stop < n and text.startswith(delimiter, stop):
            if is_use or explicit_delimiter or delimiter != ";" or not _runs_to_eof(text, pos, stop):
                code_end = stop
                end = _after_newline(text, stop + len(delimiter))
            else:  # BEGIN..END without DELIMITER lines: the rest of the file
                stop = _span_end(_body_regex(None, False), text, stop)
        elif is_use and text.startswith("\n", stop):
            code_end, end = stop, stop + 1
        if stop == n:  # no delimiter before the end: trailing whitespace/comments become a NOOP
            code_end = _code_end(text, pos, n)
            end = _after_newline(text, code_end)
        elif end <= pos:
            raise _unclosed(text, stop, file)  # the scan stopped at a quote or /* it could not close
        assert end > pos, "a statement starts with a token, so it is never empty"

        c = classify(text[pos:code_end])
        if c.kind is StatementKind.USE:
            default_schema = c.schema
        out.append(
            Statement(
                file,
                line,
                col,
                text[pos:end],
                delimiter,
                c.kind,
                c.key,
                c.schema,
                default_schema,
                c.name_span,
            )
        )
        pos = end
    return out
