"""SplitMemo: how a *.sql file's text splits into statements, remembered on disk.

Splitting is cheap, but classifying each statement's head needs sqlglot,
whose import alone costs about 0.1 s: more than everything else a no-change
diff of a small repo does.  The split depends only on the file's text and on
the splitter's code, so this memo keys it by a sha256 over both and keeps
it in ``split.sqlite3`` beside the canonical cache
(:func:`schemad.cachefile.cache_dir`).  A run whose files are all known
never imports sqlglot.

Values are JSON (offsets into the text, never code): a damaged or forged
row can at worst describe a wrong split, and every row is checked against
the text it is used for (statement ends strictly increasing, the last at the
end of the text) before use.  A row that fails the check is a miss.  Like
the canonical cache it is never fatal: any error turns it off for the run
with one warning.  It stores nothing for a file that does not split
(SplitError): the error is reported from a fresh split every time.

A CREATE's row also says how the classifier read the statement as it is sent
(its `own_body`), when that reading was at hand: the workspace guard judges
that text, and :func:`schemad.sqltext.classify.claim` lets it skip sqlglot
(the claim is checked against the regex reading before use).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import schemad
import schemad.sqltext
from schemad.cachefile import CacheFile, cache_dir, sources_digest
from schemad.fs.cascade import Config
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.classify import Classification, claim, classify_regex, remembered
from schemad.sqltext.splitter import Statement, StatementKind, split

__all__ = ["SplitMemo", "canonical_table_split", "shared_memo", "split_files", "split_memo"]

FORMAT_VERSION = 2  # 2: a CREATE's row says how its own_body classifies
_FILE_NAME = "split.sqlite3"
_TABLE = f"splits_v{FORMAT_VERSION}"


@functools.cache
def _code_digest() -> str:
    """schemad's version and the sources that decide a split: the splitter, classifier, keys."""
    files = sorted(Path(schemad.sqltext.__file__ or "").parent.glob("*.py"))
    keys = Path(schemad.__file__ or "").parent / "model" / "keys.py"
    return f"{schemad.__version__}+{sources_digest([*files, keys])}"


def _key(text: str) -> str:
    h = hashlib.sha256(_code_digest().encode())
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


_CLAIMED = (StatementKind.CREATE, StatementKind.FOLDABLE)  # what the workspace guard classifies again


def _own_reading(s: Statement) -> str | None:
    """How classify() read `s.own_body` in this process (its `via`), if that is `s`'s own classification.

    The splitter classifies the statement's text up to its delimiter, which
    is `own_body` unless whitespace comes before the delimiter: then (or
    when this process never classified it) None, and nothing is claimed.
    """
    if s.kind not in _CLAIMED:
        return None
    c = remembered(s.own_body)
    if c is None or (c.kind, c.key, c.schema, c.name_span) != (s.kind, s.key, s.schema, s.name_span):
        return None
    return c.via


def _encode(statements: Sequence[Statement]) -> bytes:
    rows = []
    end = 0
    for s in statements:
        end += len(s.text)
        key = None if s.key is None else [s.key.type.value, s.key.name]
        span = None if s.name_span is None else list(s.name_span)
        head = [end, s.line, s.col, s.delimiter, s.kind.value, key, s.schema, s.default_schema, span]
        rows.append([*head, _own_reading(s)])
    return json.dumps(rows, separators=(",", ":")).encode()


def _decode(blob: bytes, file: str, text: str) -> list[Statement] | None:
    """The statements a row describes for `text`, or None when it does not fit the text."""
    try:
        rows: list[list[Any]] = json.loads(blob)
        out: list[Statement] = []
        start = 0
        claims: list[tuple[str, Classification]] = []
        for end, line, col, delimiter, kind, key, schema, default_schema, span, via in rows:
            if not (isinstance(end, int) and start < end <= len(text)):
                return None
            s = Statement(
                file,
                int(line),
                int(col),
                text[start:end],
                str(delimiter),
                StatementKind(kind),
                None if key is None else ObjectKey(ObjectType(key[0]), str(key[1])),
                None if schema is None else str(schema),
                None if default_schema is None else str(default_schema),
                None if span is None else (int(span[0]), int(span[1])),
            )
            out.append(s)
            if via in ("sqlglot", "regex") and s.kind in _CLAIMED:
                claims.append((s.own_body, Classification(s.kind, s.key, s.schema, s.name_span, via=via)))
            start = end
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if start != len(text):
        return None
    for body, c in claims:
        claim(body, c)
    return out


class SplitMemo:
    """The on-disk memo of :func:`schemad.sqltext.splitter.split` results, by file text."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else cache_dir() / _FILE_NAME
        self._file = CacheFile(self.path, _TABLE, "split memo")
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"SplitMemo({str(self.path)!r})"

    def lookup(self, pairs: Sequence[tuple[str, str]]) -> list[list[Statement] | None]:
        """For each (file, text): its statements as remembered, or None (not known)."""
        keys = [_key(text) for _, text in pairs]
        blobs = self._file.read(keys)
        out = [
            None if (blob := blobs.get(k)) is None else _decode(blob, file, text)
            for k, (file, text) in zip(keys, pairs, strict=True)
        ]
        self.hits += sum(x is not None for x in out)
        self.misses += sum(x is None for x in out)
        return out

    def store(self, items: Sequence[tuple[str, Sequence[Statement]]]) -> None:
        """Remember (text, its statements) pairs."""
        if items and self._file.ok:
            self._file.write([(_key(text), _encode(statements)) for text, statements in items])

    def close(self) -> None:
        self._file.close()


def canonical_table_split(file: str, text: str, key: ObjectKey) -> list[Statement] | None:
    """What `split` gives for a file schemad writes with one table's canonical CREATE, without sqlglot.

    `text` must be ``<SHOW CREATE TABLE text>;\n`` for `key` (the form
    `init`, `pull` and `format` write); the head is read by the classifier's
    regex path, which agrees with the sqlglot path on such text.  None when
    `text` is not of that form (the caller then just does not remember it).
    """
    if key.type is not ObjectType.TABLE or not text.startswith("CREATE TABLE ") or not text.endswith(";\n"):
        return None
    # The name comes before the first `(` (a name holding one just fails the check below).
    paren = text.find("(")
    c = classify_regex(text[: paren + 1] if paren > 0 else text[:-2])
    if c.kind is not StatementKind.CREATE or c.key != key or c.schema is not None or c.name_span is None:
        return None
    return [Statement(file, 1, 1, text, ";", StatementKind.CREATE, key, None, None, c.name_span)]


@functools.cache
def shared_memo() -> SplitMemo:
    """The memo of this process (one SQLite connection, opened on first use)."""
    return SplitMemo()


def split_memo(cfg: Config) -> SplitMemo | None:
    """The memo a command with options `cfg` uses: none with --no-cache."""
    return None if cfg.get_bool("no-cache") else shared_memo()


def split_files(pairs: Sequence[tuple[str, str]], memo: SplitMemo | None) -> list[list[Statement]]:
    """`split` each (file, text), taking what `memo` remembers and storing what it did not.

    Raises SplitError for the first file that does not split (after storing the others' splits).
    """
    known = memo.lookup(pairs) if memo is not None else [None] * len(pairs)
    out: list[list[Statement]] = []
    fresh: list[tuple[str, Sequence[Statement]]] = []
    try:
        for (file, text), statements in zip(pairs, known, strict=True):
            if statements is None:
                statements = split(text, file)
                fresh.append((text, statements))
            out.append(statements)
    finally:
        if memo is not None:
            memo.store(fresh)
    return out
