"""The sqlglot path of :func:`schemad.sqltext.classify.classify`: a statement's head, token by token.

Kept apart so that sqlglot (about 0.1 s to import) loads only when a statement
is classified: a run whose files all come from the split memo never needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlglot import Token, TokenType
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import TokenError

from schemad import lazyre
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.classification import CREATE_TYPES, UNKNOWN, Classification, StatementKind

__all__ = ["NeedMore", "Untokenizable", "parse_head"]


class Untokenizable(Exception):
    """sqlglot's tokenizer rejects the head (e.g. it ends inside a quote or comment)."""


_TOKENIZERS = threading.local()  # sqlglot tokenizers keep per-call state: one per thread


def _tokenize(text: str) -> list[Token]:
    tok = getattr(_TOKENIZERS, "tok", None)
    if tok is None:
        tok = _TOKENIZERS.tok = MySQL.Tokenizer()
    tokens: list[Token] = tok.tokenize(text)
    return tokens


_WORDLIKE = lazyre.compile(r"[\w$]+")
_QUOTED = (TokenType.STRING, TokenType.IDENTIFIER)


class NeedMore(Exception):
    """The head was cut too short to decide; retry with a longer one."""


class _Cursor:
    """Tokens of a head; reading past the end of a truncated head asks for a longer one.

    Unless the head was cut at a token boundary, its last token may be a cut-off word and
    counts as past the end.
    """

    __slots__ = ("limit", "src", "tokens", "truncated")

    def __init__(self, tokens: Sequence[Token], src: str, truncated: bool, clean_cut: bool) -> None:
        self.tokens = tokens
        self.src = src
        self.truncated = truncated
        self.limit = len(tokens) - 1 if truncated and not clean_cut else len(tokens)

    def get(self, i: int) -> Token | None:
        if i >= self.limit:
            if self.truncated:
                raise NeedMore
            return None
        return self.tokens[i]

    def word(self, i: int) -> str | None:
        """Upper-cased text of an unquoted token (multi-word tokens like `SQL SECURITY` normalised)."""
        t = self.get(i)
        if t is None or t.token_type in _QUOTED:
            return None
        return " ".join(t.text.upper().split())

    def name(self, i: int) -> str | None:
        """The unquoted identifier at `i`: `backticked`, "ANSI quoted", or a bare word."""
        t = self.get(i)
        if t is None:
            return None
        if t.token_type is TokenType.IDENTIFIER or (
            t.token_type is TokenType.STRING and self.src[t.start] == '"'
        ):
            return t.text  # sqlglot has already undone `` / "" / \" escapes
        if t.token_type is TokenType.STRING:
            return None  # 'single quoted' is never an identifier
        return t.text if _WORDLIKE.fullmatch(t.text) else None

    def is_text(self, i: int, text: str) -> bool:
        t = self.get(i)
        return t is not None and t.token_type not in _QUOTED and t.text == text


def _skip_definer(c: _Cursor, i: int) -> int | None:
    """Index just past a DEFINER value starting at `i` (`user@host`, CURRENT_USER(), role), or None."""
    w = c.word(i)
    if w in ("CURRENT_USER", "CURRENT_ROLE"):
        i += 1
        if c.is_text(i, "(") and c.is_text(i + 1, ")"):
            i += 2
        return i
    if c.get(i) is None:
        return None
    i += 1
    t = c.get(i)
    if t is not None and t.text.startswith("@"):
        # An unquoted host such as 127.0.0.1 comes out as several tokens; they touch each other.
        i += 1 if len(t.text) > 1 else 2
        while (t := c.get(i)) is not None and t.start == c.tokens[i - 1].end + 1:
            i += 1
    return i


_USE_ARG = lazyre.compile(r"[^\s;]+")


def _use(c: _Cursor) -> Classification:
    """USE is a client command: its argument may be quoted any way, or a bare run like `my-db`."""
    t = c.get(1)
    if t is None:
        return UNKNOWN
    if t.token_type in _QUOTED:
        return Classification(StatementKind.USE, schema=t.text)
    m = _USE_ARG.match(c.src, t.start)
    if m is not None and c.truncated and m.end() >= len(c.src):
        raise NeedMore
    return Classification(StatementKind.USE, schema=m[0]) if m else UNKNOWN


def _qualified_name(c: _Cursor, i: int) -> tuple[str | None, str, int, int, int] | None:
    """`[schema.]name` at token `i`: (schema, name, start, end, index of the next token), or None."""
    name = c.name(i)
    if name is None:
        return None
    start = c.tokens[i].start
    end = c.tokens[i].end + 1
    schema = None
    if c.is_text(i + 1, "."):
        qualified = c.name(i + 2)
        if qualified is None or c.is_text(i + 3, "."):
            return None  # not an identifier, or db.t.x
        schema, name = name, qualified
        end = c.tokens[i + 2].end + 1
        return schema, name, start, end, i + 3
    # (Looking at token i+1 above also made sure, on a truncated head, that the name is complete.)
    return schema, name, start, end, i + 1


def _foldable(c: _Cursor, i: int) -> Classification:
    """A FOLDABLE statement on the table named at token `i`, or UNKNOWN."""
    found = _qualified_name(c, i)
    if found is None:
        return UNKNOWN
    schema, name, start, end, _ = found
    return Classification(StatementKind.FOLDABLE, ObjectKey(ObjectType.TABLE, name), schema, (start, end))


_INDEX_KINDS = ("UNIQUE", "FULLTEXT", "SPATIAL")
# What may follow ALTER TABLE t ADD for the statement to be foldable (the guard checks the rest).
_ADD_WORDS = frozenset(
    {"INDEX", "KEY", "UNIQUE", "FULLTEXT", "SPATIAL", "CONSTRAINT", "FOREIGN", "PRIMARY", "CHECK"}
)


def _create_index(c: _Cursor) -> Classification:
    """CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX [IF NOT EXISTS] name [USING type] ON [schema.]table."""
    i = 2 if c.word(1) in _INDEX_KINDS else 1
    if c.word(i) != "INDEX":
        return UNKNOWN
    i += 1
    if c.word(i) == "IF" and c.word(i + 1) == "NOT" and c.word(i + 2) == "EXISTS":
        i += 3
    if c.name(i) is None or c.is_text(i + 1, "."):
        return UNKNOWN
    i += 1
    if c.word(i) == "USING":
        i += 2
    if c.word(i) != "ON":
        return UNKNOWN
    return _foldable(c, i + 1)


def _alter_table_add(c: _Cursor) -> Classification:
    """ALTER TABLE [schema.]table ADD <an index or constraint>."""
    if c.word(1) != "TABLE":
        return UNKNOWN
    found = _qualified_name(c, 2)
    if found is None:
        return UNKNOWN
    i = found[4]
    # sqlglot reads PRIMARY KEY and FOREIGN KEY as one token each: its first word decides.
    if c.word(i) != "ADD" or (c.word(i + 1) or "").split(" ")[0] not in _ADD_WORDS:
        return UNKNOWN
    return _foldable(c, 2)


def _parse(c: _Cursor) -> Classification:
    first = c.word(0)
    if first == "USE":
        return _use(c)
    if first == "ALTER":
        return _alter_table_add(c)
    if first != "CREATE":
        return UNKNOWN
    if c.word(1) in ("INDEX", *_INDEX_KINDS):
        return _create_index(c)
    i = 1
    if c.word(i) == "OR" and c.word(i + 1) == "REPLACE":
        i += 2
    while True:  # clauses allowed between CREATE and the object type, in any order
        w = c.word(i)
        if w == "DEFINER":
            i += 1
            if c.is_text(i, "="):
                i += 1
            j = _skip_definer(c, i)
            if j is None:
                return UNKNOWN
            i = j
        elif w == "ALGORITHM":
            i += 3 if c.is_text(i + 1, "=") else 2
        elif w == "SQL SECURITY":
            i += 2
        elif w == "SQL" and c.word(i + 1) == "SECURITY":
            i += 3
        elif w in ("TEMPORARY", "AGGREGATE"):
            i += 1
        else:
            break
    otype = CREATE_TYPES.get(c.word(i) or "")
    if otype is None:
        return UNKNOWN
    i += 1
    if c.word(i) == "IF" and c.word(i + 1) == "NOT" and c.word(i + 2) == "EXISTS":
        i += 3
    found = _qualified_name(c, i)
    if found is None:
        return UNKNOWN
    schema, name, start, end, _ = found
    return Classification(StatementKind.CREATE, ObjectKey(otype, name), schema, (start, end))


def parse_head(head: str, truncated: bool, clean_cut: bool) -> Classification:
    """Classify a statement from its head (version comments already unwrapped).

    NeedMore: `truncated` and cut too short to decide.  Untokenizable: sqlglot rejects it.
    """
    try:
        tokens = _tokenize(head)
    except TokenError as exc:
        raise Untokenizable(str(exc)) from exc
    return _parse(_Cursor(tokens, head, truncated, clean_cut))
