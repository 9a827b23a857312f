"""Write introspected objects into a schema directory's *.sql files.

Used by init, pull and format.  Existing statements are edited in place,
wherever they live (multi-object files and custom file names survive); new
objects go to `<name>.sql`; statements of objects that no longer exist are
removed, and a file left with nothing but whitespace, comments and client
commands is deleted.  With `fold_standalone`, the standalone index and
constraint statements (CREATE INDEX, ALTER TABLE .. ADD ..) on the tables
written are removed too, wherever they are: the CREATE written already has
what they add (format's comes from the workspace, which ran them; pull's
from the live server).  Files whose text would not change are not written, so
their bytes and timestamps stay as they were.  Without `update_views` a view
already in a file is never rewritten (only removed when it is gone); with
`strip_definer` stored objects are written without DEFINER.  Deciding *what*
the canonical text is belongs to the caller (introspection or a workspace);
this module only places text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from schemad import lazyre
from schemad.errors import CannotCreateError
from schemad.model.definer import strip_definer_clause
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.tabletext import strip_auto_increment
from schemad.records import dataclass

if TYPE_CHECKING:
    from schemad.fs.splitmemo import SplitMemo
    from schemad.model.schema import SchemaObject
    from schemad.sqltext.splitter import Statement

# Characters Skeema removes from object names to make file names.
_UNSAFE_FILENAME_RE = lazyre.compile(r"""[\s.\\/"'`:*?|~#&<>{}\[\]()-]""")
_COMPOUND_TYPES = frozenset({ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER, ObjectType.EVENT})
# The AUTO_INCREMENT table option (`AUTO_INCREMENT [=] n`), as opposed to the column attribute.
_AUTO_INC_VALUE_RE = lazyre.compile(r"\bAUTO_INCREMENT(?:\s*=\s*|\s+)(\d+)", re.I)
# Object types in the order they are written into a shared file.
_TYPE_ORDER = {t: i for i, t in enumerate(ObjectType)}


def file_name_for(name: str) -> str:
    """`<name>.sql` with the characters Skeema strips removed (`symbols.sql` if none remain)."""
    base = _UNSAFE_FILENAME_RE.sub("", name)
    return f"{base or 'symbols'}.sql"


@dataclass(frozen=True, slots=True)
class DumpOptions:
    include_auto_inc: bool = False  # keep AUTO_INCREMENT=n in table files
    strip_partitioning: bool = False  # omit PARTITION BY clauses
    keep_renames: bool = False  # format/lint: a rewritten table keeps its `@renamed from=` annotations
    strip_definer: bool = False  # omit the DEFINER clause of views, routines, triggers and events
    update_views: bool = True  # False: a CREATE VIEW already in a file is left as it is (update-views)


@dataclass(slots=True)
class DumpResult:
    written: list[Path] = field(default_factory=list)  # created or changed
    deleted: list[Path] = field(default_factory=list)
    unchanged: int = 0  # files left byte-identical

    @property
    def changed(self) -> bool:
        return bool(self.written or self.deleted)


def canonical_text(
    obj: SchemaObject, flavor: Flavor, opts: DumpOptions, previous: Statement | None = None
) -> str:
    """The CREATE text written to a file for `obj`, without a delimiter.

    The server's own SHOW CREATE text is used when known, so unsupported
    objects are still written exactly as the server prints them.
    """
    text = getattr(obj, "show_create", "") or obj.create_statement(flavor)
    if obj.key.type is ObjectType.TABLE:
        keep = opts.include_auto_inc
        if previous is not None and not keep:
            # Like Skeema: a file that already pins AUTO_INCREMENT above 1 keeps it.
            m = _AUTO_INC_VALUE_RE.search(previous.body)
            keep = bool(m and int(m[1]) > 1)
        if not keep:
            text = strip_auto_increment(text)
        if opts.strip_partitioning:
            for marker in ("\n PARTITION BY ", "\n/*!50100 PARTITION BY ", "\n/*!50500 PARTITION BY "):
                if marker in text:
                    text = text[: text.index(marker)]
    elif opts.strip_definer:
        text = strip_definer_clause(text)
    return text


def wrap_new(key: ObjectKey, create: str) -> str:
    """Text of a statement appended to a file: `;`-terminated, or a DELIMITER block for routines."""
    if key.type in _COMPOUND_TYPES:
        return f"DELIMITER //\n{create}//\nDELIMITER ;\n"
    return f"{create};\n"


def _replace_text(stmt: Statement, key: ObjectKey, create: str) -> str:
    if stmt.delimiter == ";" and key.type in _COMPOUND_TYPES and ";" in create:
        return wrap_new(key, create)
    return f"{create}{stmt.delimiter}\n"


def _is_empty(stmts: Iterable[Statement]) -> bool:
    from schemad.sqltext.splitter import StatementKind

    return all(s.kind in (StatementKind.NOOP, StatementKind.DELIMITER) for s in stmts)


def _write(path: Path, text: str, *, replace: bool) -> None:
    """Write a file; an existing one is replaced atomically (temp file + rename)."""
    try:
        if not replace:
            with open(path, "x", encoding="utf-8") as f:
                f.write(text)
            return
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise CannotCreateError(f"cannot write {path}: {exc.strerror}") from None


def read_dir_statements(directory: Path) -> dict[Path, list[Statement]]:
    """Split every *.sql file directly inside `directory`."""
    from schemad.sqltext.splitter import split  # not needed (nor imported) by init

    out: dict[Path, list[Statement]] = {}
    for path in sorted(directory.glob("*.sql")):
        if path.is_file():
            out[path] = split(path.read_text(encoding="utf-8-sig"), str(path))
    return out


def dump_objects(
    directory: Path,
    objects: Mapping[ObjectKey, SchemaObject],
    flavor: Flavor,
    opts: DumpOptions | None = None,
    *,
    existing: Mapping[Path, list[Statement]] | None = None,
    ignored: Callable[[ObjectKey], bool] = lambda key: False,
    memo: SplitMemo | None = None,
    fold_standalone: bool = False,
) -> DumpResult:
    """Make the *.sql files of `directory` hold exactly `objects` (ignored keys are left alone).

    With `fold_standalone`, every standalone index statement (FOLDABLE) on a
    table that is not ignored is removed: the table's CREATE in `objects`
    holds what it adds (or the table is gone).  A file written with nothing
    but one table's CREATE is entered in `memo`, so that the next diff reads
    it without classifying it again.
    """
    opts = opts or DumpOptions()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CannotCreateError(f"cannot create directory {directory}: {exc.strerror}") from None
    from schemad.sqltext.splitter import StatementKind, split

    files: dict[Path, list[Statement]] = {
        p: list(s) for p, s in (existing if existing is not None else read_dir_statements(directory)).items()
    }
    new_text: dict[Path, list[str]] = {p: [s.text for s in stmts] for p, stmts in files.items()}
    located: dict[ObjectKey, tuple[Path, int]] = {}
    made_by: dict[tuple[Path, int], ObjectKey] = {}  # chunks holding one object's statement
    folded: dict[ObjectKey, list[str]] = {}  # texts of the standalone statements folded away, per table
    for path, stmts in files.items():
        for i, s in enumerate(stmts):
            if s.kind is StatementKind.CREATE and s.key is not None:
                located.setdefault(s.key, (path, i))
            elif (
                fold_standalone
                and s.kind is StatementKind.FOLDABLE
                and s.key is not None
                and not ignored(s.key)
            ):
                new_text[path][i] = ""
                folded.setdefault(s.key, []).append(s.own_body)

    # Edit or remove what is already there.
    for key, (path, i) in located.items():
        if ignored(key):
            continue
        stmt = files[path][i]
        obj = objects.get(key)
        if obj is None:
            new_text[path][i] = ""
            continue
        if key.type is ObjectType.VIEW and not opts.update_views:
            continue  # hand-formatted views stay; the server's one-line text would replace them
        text = canonical_text(obj, flavor, opts, stmt)
        if opts.keep_renames and key.type is ObjectType.TABLE:
            from schemad.sqltext.renames import carry_renames

            text = carry_renames(text, [stmt.own_body, *folded.get(key, ())])
        new_text[path][i] = _replace_text(stmt, key, text)
        made_by[path, i] = key

    # Append new objects to their default files; names differing only in case share one.
    by_lower = {p.name.lower(): p for p in files}
    for key in sorted(objects, key=lambda k: (_TYPE_ORDER[k.type], k.name)):
        if key in located or ignored(key):
            continue
        name = file_name_for(key.name)
        path = by_lower.setdefault(name.lower(), directory / name)
        chunks = new_text.setdefault(path, [])
        if chunks and chunks[-1] and not "".join(chunks).endswith("\n"):
            chunks.append("\n")
        made_by[path, len(chunks)] = key
        chunks.append(wrap_new(key, canonical_text(objects[key], flavor, opts)))

    result = DumpResult()
    known: list[tuple[str, list[Statement]]] = []
    for path, chunks in new_text.items():
        text = "".join(chunks)
        old = "".join(s.text for s in files.get(path, []))
        if path in files and text == old:
            result.unchanged += 1
            continue
        existed = path in files
        if existed and _is_empty(split(text, str(path))):
            path.unlink(missing_ok=True)
            result.deleted.append(path)
            continue
        _write(path, text, replace=existed or path.exists())
        result.written.append(path)
        filled = [i for i, chunk in enumerate(chunks) if chunk]
        if memo is not None and len(filled) == 1 and (path, filled[0]) in made_by:
            from schemad.fs.splitmemo import canonical_table_split

            written = canonical_table_split(str(path), text, made_by[path, filled[0]])
            if written is not None:
                known.append((text, written))
    if memo is not None:
        memo.store(known)
    return result
