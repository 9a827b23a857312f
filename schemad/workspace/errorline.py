"""Where in a statement the server found its syntax error.

A parse error (1064) ends with `near '<text>' at line N`: `<text>` is what
follows the point of the error (MariaDB cuts it after 80 bytes and marks the
cut with `...`), N the line of that point, counted from 1 at the start of the
statement as sent.  The server counts the newlines of comments but not those
inside quoted strings or names, so N alone is not the line in the file as soon
as a quoted text spans lines: the point is found by the near text, on the
server's line N when the text occurs more than once, and its line in the file
is the count of every newline before it.

The workspace guard may rewrite a statement before it is sent (a qualifier
dropped, an event disabled) but never changes its number of newlines before
any point outside what it rewrote, so a point in the text as sent is on the
same line of the file as in the text as written.
"""

from __future__ import annotations

import re

from schemad import lazyre

__all__ = ["error_offset"]

_NEAR = lazyre.compile(r" near '(?P<near>.*)' at line (?P<line>\d+)\Z", re.S)
_CUT = "..."

# Quoted strings and names (whose newlines the server does not count), and comments, whose
# quotes are not quotes (`-- don't`); a version-gated comment `/*!..*/` is code for the server.
_LEXEME = lazyre.compile(
    r"""(?P<q>'(?:[^'\\]|\\.|'')*+(?:'|\Z)|"(?:[^"\\]|\\.|"")*+(?:"|\Z)|`(?:[^`]|``)*+(?:`|\Z))"""
    r"|/\*(?!M?!).*?(?:\*/|\Z)|\#[^\n]*+|--(?=\s)[^\n]*+",
    re.S,
)


def _server_line_starts(sent: str) -> list[int]:
    """Offset of the first character of each line as the server counts them."""
    starts = [0]
    pos = 0
    for m in _LEXEME.finditer(sent):
        if m["q"] is None:
            continue
        starts += [i + 1 for i in _newlines(sent, pos, m.start())]
        pos = m.end()
    starts += [i + 1 for i in _newlines(sent, pos, len(sent))]
    return starts


def _newlines(text: str, start: int, end: int) -> list[int]:
    out = []
    i = text.find("\n", start, end)
    while i >= 0:
        out.append(i)
        i = text.find("\n", i + 1, end)
    return out


def _occurrences(text: str, sub: str) -> list[int]:
    out = []
    i = text.find(sub)
    while i >= 0:
        out.append(i)
        i = text.find(sub, i + 1)
    return out


def error_offset(sent: str, message: str) -> int | None:
    """The offset in `sent` (a statement as sent) of the syntax error the server's `message` reports.

    None when the message names no line (not a parse error).  When the near
    text can't be found (the message was altered, or the server counted
    lines otherwise), the start of the server's line N is the best guess.
    """
    m = _NEAR.search(message)
    if m is None:
        return None
    near, number = m["near"], int(m["line"])
    if not near:  # the statement ended too soon: the error is at its last token
        return len(sent.rstrip())
    if sent.endswith(near):  # the whole rest of the statement
        return len(sent) - len(near)
    starts = _server_line_starts(sent)
    on_line: tuple[int, int] | None = None
    if 1 <= number <= len(starts):
        on_line = (starts[number - 1], starts[number] if number < len(starts) else len(sent) + 1)
    head = near[: -len(_CUT)] if near.endswith(_CUT) else near
    found = _occurrences(sent, head) if head else []
    if on_line is not None:
        lo, hi = on_line
        mine = [p for p in found if lo <= p < hi]
        if mine:
            return mine[0]
    if len(found) == 1:
        return found[0]
    return on_line[0] if on_line is not None else None
