"""Classify one SQL statement from its first few tokens.

Given the text of a single statement (as cut by :mod:`schemad.sqltext.splitter`), say
what it is: a ``CREATE`` of a table, view, procedure, function, trigger or event (with
the object's unquoted name and optional schema qualifier), a standalone index or
constraint statement to fold into its table's CREATE (``FOLDABLE``: ``CREATE
[UNIQUE|FULLTEXT|SPATIAL] INDEX i ON t``, ``ALTER TABLE t ADD {INDEX|KEY|UNIQUE|
FULLTEXT|SPATIAL|CONSTRAINT|FOREIGN KEY|PRIMARY KEY|CHECK}``, with the table's name), a
``USE db`` command, an ``INSERT``/``REPLACE`` (seed data, with its table when the head
reads ``INSERT [IGNORE] INTO [db.]t``), or something else (``UNKNOWN``: the caller warns
"Unable to parse statement").  A FOLDABLE statement is only recognised from its head; what
follows (the other clauses of an ALTER) is for the workspace guard to check.

The head of the statement is tokenized with sqlglot's MySQL tokenizer (in
:mod:`schemad.sqltext.heads`, imported on first use), then walked by hand through
``CREATE [OR REPLACE] [ALGORITHM=..] [DEFINER=..] [SQL SECURITY ..]
[TEMPORARY|AGGREGATE] <type> [IF NOT EXISTS] [schema.]name``.  If sqlglot cannot
tokenize the text, a small regex does the same job.  The simplest head of all,
``CREATE TABLE name (`` with a plain or backticked name, is read by a strict regex
first (sqlglot reads it the same way; tests compare them): a run whose files all
start so never imports sqlglot.

It will NOT parse the SQL grammar: nothing past the object name is interpreted, except
for the few keyword checks behind :func:`unsupported_reason` (``CREATE TABLE .. LIKE``,
``.. SELECT``, UDFs).  The authoritative reading of a CREATE is the
server's, after running it in a workspace.  Version-gated comments (``/*!50100 .. */``,
``/*M!100301 .. */``) are read as if their version always applied.

Results are remembered by exact text (:func:`classify` is deterministic): the
workspace guard judges the same statement text the splitter classified, and
gets the splitter's answer.  An earlier run's answer, kept by the split memo
(schemad.fs.splitmemo), can be handed in with :func:`claim`; it is used only
once the regex reading of the text agrees with it (see :func:`claim`).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator

from schemad import lazyre
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.classification import (
    CREATE_TYPES,
    STORED_PROGRAM_TYPES,
    Classification,
    StatementKind,
)

__all__ = [
    "MASKED_IDENT",
    "STORED_PROGRAM_TYPES",
    "Classification",
    "StatementKind",
    "claim",
    "classify",
    "classify_regex",
    "forget",
    "has_begin",
    "mask",
    "remembered",
    "unsupported_reason",
    "unwrap_versioned",
    "versioned_comments",
]


_UNKNOWN_RE = Classification(StatementKind.UNKNOWN, via="regex")

# ---------------------------------------------------------------------------------------------------
# Length-preserving rewrites.  Offsets found in a rewritten text are valid in the original.

# One quoted string/identifier or comment; group `x` is the wrapper of a version-gated comment.  An
# unclosed one runs to the end of the text (the splitter has already refused such files; this keeps
# a bad input linear instead of rescanning the rest of it from every quote).
_QUOTE_PATTERN = (
    r"""'(?:[^'\\]++|\\.|'')*+(?:'|\Z)"""
    r"""|"(?:[^"\\]++|\\.|"")*+(?:"|\Z)"""
    r"|`(?:[^`]++|``)*+(?:`|\Z)"
)
_QUOTES = lazyre.compile(_QUOTE_PATTERN, re.S)
_LEXEME = lazyre.compile(
    _QUOTE_PATTERN + r"|(?P<x>/\*M?!\d*)(?P<xbody>.*?)(?P<xend>\*/|\Z)"
    r"|/\*.*?(?:\*/|\Z)"
    r"|\#[^\n]*+"
    r"|--(?=\s)[^\n]*+|--\Z",
    re.S,
)


def _unwrap_match(m: re.Match[str]) -> str:
    if m["x"] is None:
        return m[0]
    return " " * len(m["x"]) + m["xbody"] + " " * len(m["xend"])


def unwrap_versioned(text: str) -> str:
    """Blank out the `/*!NNNNN` and `*/` wrappers of version-gated comments, keeping their content."""
    if "/*!" not in text and "/*M!" not in text:
        return text
    return _LEXEME.sub(_unwrap_match, text)


def versioned_comments(text: str, end: int | None = None) -> list[tuple[int, str]]:
    """(offset, opener) of each version-gated comment starting before `end`.

    The opener is `/*!`, `/*!50100` or `/*M!100301`; quoted text and plain comments are skipped.
    """
    if "/*!" not in text and "/*M!" not in text:
        return []
    out = []
    for m in _LEXEME.finditer(text, 0, len(text) if end is None else end):
        if m["x"] is not None:
            out.append((m.start(), m["x"]))
    return out


def _mask_match(m: re.Match[str]) -> str:
    # Called for every quoted name of a statement: the common case (a quote) is tested first.
    s = m[0]
    q = s[0]
    if q == "`" or q == "'" or q == '"':
        return q + "_" * (len(s) - 1)  # as _mask_quote
    if m["x"] is not None:
        # Comments don't nest (the first */ closes), so only quotes can be inside.
        return " " * len(m["x"]) + _QUOTES.sub(_mask_quote, m["xbody"]) + " " * len(m["xend"])
    return " " * len(s)


#: An identifier in mask()ed text: a backtick quote keeps its opening backtick and the rest
#: (closing backtick included) becomes underscores; other quoted text can't look like a name.
MASKED_IDENT = r"(?:`_+|[\w$]+)"


def _mask_quote(m: re.Match[str]) -> str:
    return m[0][0] + "_" * (len(m[0]) - 1)


def mask(text: str) -> str:
    """`text` with comments blanked, quoted contents replaced by `_`, versioned comments unwrapped.

    Keywords and delimiters left in the result are real code.  Same length as `text`.
    """
    return _LEXEME.sub(_mask_match, text)


_BEGIN = lazyre.compile(r"(?<![\w$])begin(?![\w$])", re.I)


def has_begin(text: str) -> bool:
    """Whether `text` has a BEGIN keyword outside quotes and comments (a compound body)."""
    return "begin" in text.lower() and _BEGIN.search(mask(text)) is not None


def _windows(text: str) -> Iterator[tuple[int, bool]]:
    """Head lengths to try, each with whether the head's last token is surely complete.

    sqlglot's tokenizer costs about 0.5 us per character, so the head is kept short.  Most
    CREATEs name their object right before the first `(` ("CREATE TABLE `t` (",
    "CREATE DEFINER=`u`@`%` PROCEDURE `p`("): cut there first, then widen.
    """
    paren = text.find("(", 0, 240)
    if paren >= 0:
        yield paren + 1, True  # a cut right after `(` splits no token (or tokenizing fails)
    n = 64
    while n < len(text):
        if n > paren + 1:
            yield n, False
        n *= 4
    yield len(text), True


# ///// the memo /////////////////////////////////////////////////////////////////////////////////////

_MEMO_SIZE = 1 << 14  # texts; the oldest is forgotten first
_memo: dict[str, Classification] = {}  # text -> classify(text), computed in this process
_claims: dict[str, Classification] = {}  # text -> what an earlier run said, not yet checked
_memo_lock = threading.Lock()


def _put(table: dict[str, Classification], text: str, c: Classification) -> None:
    with _memo_lock:
        if text not in table and len(table) >= _MEMO_SIZE:
            del table[next(iter(table))]
        table[text] = c


def forget() -> None:
    """Drop every remembered answer and claim (for tests that change how classify reads)."""
    with _memo_lock:
        _memo.clear()
        _claims.clear()


def remembered(text: str) -> Classification | None:
    """What :func:`classify` gave for exactly `text` in this process, if it still remembers."""
    return _memo.get(text)


def claim(text: str, c: Classification) -> None:
    """Say that an earlier run's :func:`classify` gave `c` for exactly `text` (the split memo's row).

    Nothing is checked here, and nothing is paid for a claim nobody asks
    about.  When :func:`classify` is asked about `text`, the claim is taken
    only if the regex reading of the text (:func:`classify_regex`, which
    needs no sqlglot) gives the same kind, key, qualifier and name span;
    otherwise the text is classified afresh.  So a claim can save the
    sqlglot path, never change an answer the regex reading contradicts.
    """
    if c.kind in (StatementKind.CREATE, StatementKind.FOLDABLE):
        _put(_claims, text, c)


def _same_reading(a: Classification, b: Classification) -> bool:
    return (a.kind, a.key, a.schema, a.name_span) == (b.kind, b.key, b.schema, b.name_span)


def classify(text: str) -> Classification:
    """Classify one statement's text (leading whitespace/comments allowed, no delimiter needed)."""
    c = _memo.get(text)
    if c is not None:
        return c
    c = _simple_table(text)  # a head match, cheaper than checking a claim against the whole text
    if c is None and _INSERT_WORD.match(text):
        c = _insert_head(text)
    if c is None:
        told = _claims.get(text)
        if told is not None and _same_reading(classify_regex(text), told):
            c = told
            with _memo_lock:
                _claims.pop(text, None)
        else:
            c = _read_head(text)
    _put(_memo, text, c)
    return c


# The simplest head, and the commonest in hand-written files: `CREATE TABLE name (`, the name bare
# (ASCII, not starting with a digit) or in backticks (no backtick or newline in it), nothing but
# whitespace between the words.  sqlglot's reading of such a head is always this one (a test
# compares the two for every sqlglot keyword as the name), so it is read without the tokenizer.
_SIMPLE_TABLE = lazyre.compile(
    r"CREATE[ \t\r\n]+TABLE[ \t\r\n]+(?:`(?P<quoted>[^`\n]+)`|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))[ \t\r\n]*\(",
    re.I | re.A,
)


def _simple_table(text: str) -> Classification | None:
    """The reading of a `CREATE TABLE name (` head (see _SIMPLE_TABLE), or None for any other text."""
    m = _SIMPLE_TABLE.match(text)
    if m is None:
        return None
    if m["quoted"] is not None:
        name, span = m["quoted"], (m.start("quoted") - 1, m.end("quoted") + 1)
    else:
        name, span = m["bare"], m.span("bare")
    return Classification(StatementKind.CREATE, ObjectKey(ObjectType.TABLE, name), None, span, via="regex")


# Seed data: any statement starting INSERT or REPLACE is one (sqltext.inserts refuses the forms it does
# not accept, at the statement's file:line); the table is read from `INSERT [IGNORE] INTO [db.]t`.
_INSERT_WORD = lazyre.compile(r"(?:INSERT|REPLACE)(?![\w$])", re.I)
_INSERT_HEAD = lazyre.compile(
    rf"INSERT\s+(?:IGNORE\s+)?INTO\s+(?P<n1>{MASKED_IDENT})(?:\s*\.\s*(?P<n2>{MASKED_IDENT}))?(?![\w$])", re.I
)


def _insert_head(text: str) -> Classification:
    """An INSERT's kind, with its table's key, qualifier and name span when the head is the plain form."""
    m = _INSERT_HEAD.match(mask(text))
    if m is None:
        return Classification(StatementKind.INSERT, via="regex")
    n1, n2 = text[m.start("n1") : m.end("n1")], m["n2"] and text[m.start("n2") : m.end("n2")]
    schema, name = (_unquote(n1), _unquote(n2)) if n2 else (None, _unquote(n1))
    key = ObjectKey(ObjectType.TABLE, name)
    span = (m.start("n1"), m.end("n2" if n2 else "n1"))
    return Classification(StatementKind.INSERT, key, schema, span, via="regex")


def _read_head(text: str) -> Classification:
    """The sqlglot path: the head tokenized and walked (heads.py), the regex when it can't be tokenized."""
    # sqlglot takes ~0.1 s to import: only a run that classifies anything pays for it.
    from schemad.sqltext import heads

    for n, clean_cut in _windows(text):
        truncated = n < len(text)
        head = unwrap_versioned(text[:n] if truncated else text)
        try:
            return heads.parse_head(head, truncated, clean_cut)
        except heads.NeedMore:
            continue
        except heads.Untokenizable:
            if not truncated:
                return classify_regex(text)
            # else the head ended inside a quote or comment: widen it
    raise AssertionError("unreachable: the last window is the whole text")


# ---------------------------------------------------------------------------------------------------
# The regex fallback, for text sqlglot's tokenizer rejects.

_NAME = r"""(?:`(?:[^`]|``)+`|"(?:[^"\\]|\\.|"")+"|[\w$]+)"""
_QUOTED_ANY = r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`"""
_DEFINER_PART = rf"(?:{_QUOTED_ANY}|[\w$.%\-]+)"
_HEAD_RE = lazyre.compile(
    rf"""\s*(?:
        USE\s+(?P<db>{_QUOTED_ANY}|[^\s;]+)
      | CREATE\s+(?:OR\s+REPLACE\s+)?
        (?:(?:ALGORITHM\s*=\s*\w+
            | DEFINER\s*=\s*(?:CURRENT_(?:USER|ROLE)(?:\s*\(\s*\))?|{_DEFINER_PART}(?:@{_DEFINER_PART})?)
            | SQL\s+SECURITY\s+\w+
            | TEMPORARY | AGGREGATE
           )\s+)*
        (?P<type>TABLE|VIEW|PROCEDURE|FUNCTION|TRIGGER|EVENT)\s+
        (?:IF\s+NOT\s+EXISTS\s+)?
        (?P<n1>{_NAME})(?:\s*\.\s*(?P<n2>{_NAME}))?
      | CREATE\s+(?:(?:UNIQUE|FULLTEXT|SPATIAL)\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}\s*
        (?:USING\s+\w+\s+)?ON\s+(?P<n1i>{_NAME})(?:\s*\.\s*(?P<n2i>{_NAME}))?
      | ALTER\s+TABLE\s+(?P<n1a>{_NAME})(?:\s*\.\s*(?P<n2a>{_NAME}))?\s*
        ADD\s+(?:INDEX|KEY|UNIQUE|FULLTEXT|SPATIAL|CONSTRAINT|FOREIGN|PRIMARY|CHECK)
    )(?![\w$])""",
    re.I | re.X | re.S,
)
_COMMENTS_ONLY = lazyre.compile(
    r"""'(?:[^'\\]++|\\.|'')*+(?:'|\Z)|"(?:[^"\\]++|\\.|"")*+(?:"|\Z)|`(?:[^`]++|``)*+(?:`|\Z)"""
    r"|(?P<c>/\*.*?(?:\*/|\Z)|\#[^\n]*+|--(?=\s)[^\n]*+)",
    re.S,
)
_UNESCAPES = {"\\0": "\0", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\Z": "\x1a", "\\b": "\b"}
_BACKSLASH = lazyre.compile(r"\\(.)", re.S)


def _unquote(raw: str) -> str:
    q = raw[0]
    if q == "`":
        return raw[1:-1].replace("``", "`")
    if q in "'\"":
        inner = raw[1:-1].replace(q + q, q)
        return _BACKSLASH.sub(lambda m: _UNESCAPES.get(m[0], m[1]), inner)
    return raw


def classify_regex(text: str) -> Classification:
    """:func:`classify` by the fallback regex alone (no sqlglot).

    For text whose form is known, such as a SHOW CREATE TABLE schemad wrote
    itself; :func:`classify` is the general entry point.
    """
    head = _COMMENTS_ONLY.sub(lambda m: " " * len(m[0]) if m["c"] else m[0], unwrap_versioned(text))
    m = _HEAD_RE.match(head)
    if m is None:
        return _UNKNOWN_RE
    if m["db"] is not None:
        return Classification(StatementKind.USE, schema=_unquote(m["db"]), via="regex")
    if m["n1a"] is not None:  # ALTER TABLE: the match ends after ADD's keyword
        kind, otype, suffix = StatementKind.FOLDABLE, ObjectType.TABLE, "a"
    else:
        if re.match(r"\s*\.", head[m.end() :]):
            return _UNKNOWN_RE  # db.t.x
        if m["n1i"] is not None:
            kind, otype, suffix = StatementKind.FOLDABLE, ObjectType.TABLE, "i"
        else:
            kind, otype, suffix = StatementKind.CREATE, CREATE_TYPES[m["type"].upper()], ""
    n1, n2 = f"n1{suffix}", f"n2{suffix}"
    schema, name = (m[n1], m[n2]) if m[n2] is not None else (None, m[n1])
    start, end = m.start(n1), m.end(n2) if m[n2] is not None else m.end(n1)
    return Classification(
        kind,
        ObjectKey(otype, _unquote(name)),
        _unquote(schema) if schema is not None else None,
        (start, end),
        via="regex",
    )


# ---------------------------------------------------------------------------------------------------
# Unsupported CREATEs: parsed fine, but schemad will not manage the object (it is ignored on both
# sides, like Skeema's StatementTypeCreateUnsupported).

_TEMPORARY = lazyre.compile(r"(?<![\w$])TEMPORARY(?![\w$])", re.I)
_LIKE = lazyre.compile(r"\s*\(?\s*LIKE(?![\w$])", re.I)
_SELECT = lazyre.compile(r"(?<![\w$])SELECT(?![\w$])", re.I)
# MariaDB system-versioned tables (WITH SYSTEM VERSIONING) are managed: no word for them here.
_TABLE_WORDS = ("temporary", "like", "select", ";")
_SONAME = lazyre.compile(r"(?<![\w$])SONAME(?![\w$])", re.I)


@functools.lru_cache(maxsize=1 << 16)
def unsupported_reason(body: str, key: ObjectKey, name_span: tuple[int, int]) -> str | None:
    """Why a parsed CREATE can't be managed, or None.  `body` is the statement without delimiter."""
    lowered = body.lower()
    if key.type is ObjectType.TABLE:
        if not any(word in lowered for word in _TABLE_WORDS):
            return None  # the usual case, without the cost of masking
        masked = mask(body)
        before, after = masked[: name_span[0]], masked[name_span[1] :]
        if _TEMPORARY.search(before):
            return "CREATE TEMPORARY TABLE is not supported"
        if _LIKE.match(after):
            return "CREATE TABLE ... LIKE is not supported"
        if _SELECT.search(after):
            return "CREATE TABLE ... SELECT is not supported"
        if ";" in after:
            # Only possible under a custom DELIMITER: almost always a typo, and unsafe to run.
            return "CREATE TABLE containing a semicolon (with a DELIMITER other than ;) is not supported"
    elif key.type is ObjectType.FUNCTION and "soname" in lowered and _SONAME.search(mask(body), name_span[1]):
        return "loadable functions (CREATE FUNCTION ... SONAME) are not managed"
    return None
