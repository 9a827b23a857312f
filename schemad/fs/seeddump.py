"""Rewrite the seed INSERTs of a schema dir's *.sql files (pull).

`seeded_tables` lists the tables whose files hold INSERT statements.
`rewrite_seeds` puts each given table's new INSERT text where its first
INSERT stood (in whichever file) and removes its others; it removes the
INSERTs of tables the server no longer has too (pull has just removed
their CREATE), unless ignored.  Everything else in the files, comments
included, stays byte for byte; a file whose text would not change is not
written, one left with nothing but whitespace and comments is deleted.
Deciding the new text is the caller's (it reads the live rows).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from schemad.errors import CannotCreateError
from schemad.fs.dumper import DumpResult, read_dir_statements
from schemad.sqltext.splitter import Statement, StatementKind, split

__all__ = ["rewrite_seeds", "seeded_tables"]


def _table(stmt: Statement) -> str | None:
    return stmt.key.name if stmt.kind is StatementKind.INSERT and stmt.key is not None else None


def seeded_tables(files: Mapping[Path, list[Statement]]) -> list[str]:
    """Tables with at least one INSERT in `files`, in the order first met."""
    out: dict[str, None] = {}
    for stmts in files.values():
        for s in stmts:
            name = _table(s)
            if name is not None:
                out.setdefault(name, None)
    return list(out)


def rewrite_seeds(
    directory: Path,
    texts: Mapping[str, Sequence[str]],
    live: Collection[str],
    ignored: Callable[[str], bool] = lambda name: False,
) -> DumpResult:
    """Give each table of `texts` its new INSERTs (bodies, no delimiter); drop those of tables not `live`."""
    files = read_dir_statements(directory)
    result = DumpResult()
    placed: set[str] = set()
    for path, stmts in files.items():
        chunks = [s.text for s in stmts]
        for i, s in enumerate(stmts):
            name = _table(s)
            if name is None or ignored(name):
                continue
            if name in texts:
                chunks[i] = "" if name in placed else "".join(f"{b}{s.delimiter}\n" for b in texts[name])
                placed.add(name)
            elif name not in live:
                chunks[i] = ""
        text = "".join(chunks)
        if text == "".join(s.text for s in stmts):
            result.unchanged += 1
        elif all(s.kind in (StatementKind.NOOP, StatementKind.DELIMITER) for s in split(text, str(path))):
            path.unlink(missing_ok=True)
            result.deleted.append(path)
        else:
            _write(path, text)
            result.written.append(path)
    return result


def _write(path: Path, text: str) -> None:
    """Replace a file atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise CannotCreateError(f"cannot write {path}: {exc.strerror}") from None
