"""The statements of one directory's *.sql files, keyed by the object they create.

:class:`LogicalSchema` is what a schema dir *declares*: every ``CREATE`` found in its
*.sql files, keyed by :class:`~schemad.model.keys.ObjectKey` (type + name, so a table
and a procedure may share a name), plus what could not be used (unknown statements,
unsupported CREATEs) so the caller can warn, and the ``USE`` commands so the caller can
check them against the dir's ``schema`` option.  Objects matching the dir's ``ignore-*``
regexes are dropped here, as Skeema does at parse time.

Standalone index and constraint statements (``CREATE INDEX i ON t``, ``ALTER TABLE t
ADD KEY|CONSTRAINT|..``: FOLDABLE statements, as mysqldump, Rails' structure.sql and
migrations write them) are folded into their table: the Statement under the table's
key in ``creates`` carries them in ``folded``, in the order read, whichever file or
side of the CREATE they are in (a schemad addition; Skeema ignores them with a
warning, losing the index).  Those on a table no managed CREATE of the dir defines are
``unfolded``, for the caller to warn about and ignore; those on an ignored table are
dropped with it.  That the statements hold nothing but index and constraint clauses
is the workspace guard's to check, not this module's.

INSERT statements are seed data (schemad.sqltext.inserts): each is read strictly
here, so a form push would not accept is an SQLFileError at its file:line for
every command; those on an ignored table are dropped.  They are never run here, nor
handed to a workspace: only push runs them (schemad.plan.seeds decides when).

What it will not do: interpret the CREATE statements (a workspace does that, by running
them), choose which files belong to the dir (the caller lists them), read options, or
fill in ``char_set``/``collation`` (the caller takes them from ``.skeema``).  Statements
keep their exact text; nothing here rewrites SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from schemad.errors import DuplicateDefinitionError, SQLFileError
from schemad.fs.splitmemo import SplitMemo, split_files
from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass
from schemad.sqltext.references import trigger_table
from schemad.sqltext.splitter import Statement, StatementKind, split

if TYPE_CHECKING:
    from schemad.sqltext.inserts import SeedInsert

__all__ = ["IgnoreRule", "LogicalSchema", "read_sql"]


class IgnoreRule(Protocol):
    """The dir's ignore-* options as one rule (introspect.filters.Filters is one)."""

    def ignores(self, type_: ObjectType, name: str, *, on_table: str | None = None) -> bool: ...


# A rule, or one pattern per object type (each matching its own type's names only).
IgnorePatterns = Mapping[ObjectType, re.Pattern[str]] | IgnoreRule


@dataclass(slots=True)
class LogicalSchema:
    """Everything the *.sql files of one directory declare.  Treat as read-only once built."""

    creates: dict[ObjectKey, Statement] = field(default_factory=dict)  # the objects to manage
    unsupported: dict[ObjectKey, Statement] = field(default_factory=dict)  # CREATEs to ignore on both sides
    unparsed: list[Statement] = field(default_factory=list)  # UNKNOWN statements, for warnings
    uses: list[Statement] = field(default_factory=list)  # USE commands, to check against `schema`
    files: dict[str, list[Statement]] = field(default_factory=dict)  # every statement, per file, in order
    standalone: list[Statement] = field(default_factory=list)  # FOLDABLE statements, in order read
    _standalone_on: dict[ObjectKey, list[Statement]] = field(default_factory=dict, repr=False)  # by table
    seeds: list[SeedInsert] = field(default_factory=list)  # INSERT statements, in order read
    char_set: str | None = None  # filled by the caller from default-character-set
    collation: str | None = None  # filled by the caller from default-collation

    @classmethod
    def from_files(
        cls, files: Iterable[Path], *, ignore: IgnorePatterns | None = None, memo: SplitMemo | None = None
    ) -> LogicalSchema:
        """Read, split and collect `files` (in the order given; UTF-8, a BOM is kept as text).

        `memo` remembers splits across runs (see :mod:`schemad.fs.splitmemo`).
        Raises SplitError (unterminated quote/comment, bad DELIMITER), DuplicateDefinitionError,
        or SQLFileError when a file can't be read or isn't UTF-8.
        """
        result = cls()
        pairs = [(str(path), read_sql(path)) for path in files]
        for (file, _), statements in zip(pairs, split_files(pairs, memo), strict=True):
            result.add_statements(file, statements, ignore=ignore)
        return result

    @classmethod
    def from_texts(cls, texts: Mapping[str, str], *, ignore: IgnorePatterns | None = None) -> LogicalSchema:
        """Like :meth:`from_files`, from file name -> contents (for tests and the API)."""
        result = cls()
        for name, text in texts.items():
            result.add_file(name, text, ignore=ignore)
        return result

    def add_file(self, file: str, text: str, *, ignore: IgnorePatterns | None = None) -> None:
        """Split `text` (the contents of `file`) and add each of its statements."""
        self.add_statements(file, split(text, file), ignore=ignore)

    def add_statements(
        self, file: str, statements: list[Statement], *, ignore: IgnorePatterns | None = None
    ) -> None:
        """Add the statements `file` splits into, in order."""
        self.files[file] = statements
        for stmt in statements:
            self.add_statement(stmt, ignore=ignore)

    @property
    def unfolded(self) -> list[Statement]:
        """FOLDABLE statements on a table that no CREATE in `creates` defines: to warn about, and ignore."""
        return [s for s in self.standalone if s.key not in self.creates]

    def add_statement(self, stmt: Statement, *, ignore: IgnorePatterns | None = None) -> None:
        """File one statement under the right heading; a second CREATE of one object is fatal."""
        if stmt.kind is StatementKind.USE:
            self.uses.append(stmt)
        elif stmt.kind is StatementKind.INSERT:
            from schemad.sqltext.inserts import parse_insert  # only for repos with INSERT files

            seed = parse_insert(stmt)  # refuses every form but the plain one, at file:line
            if not _ignored(ObjectKey(ObjectType.TABLE, seed.table), stmt, ignore):
                self.seeds.append(seed)
        elif stmt.kind is StatementKind.UNKNOWN:
            self.unparsed.append(stmt)
        elif stmt.kind is StatementKind.FOLDABLE and stmt.key is not None:
            key = stmt.key
            if _ignored(key, stmt, ignore):
                return
            self.standalone.append(stmt)
            self._standalone_on.setdefault(key, []).append(stmt)
            create = self.creates.get(key)
            if create is not None:
                self.creates[key] = replace(create, folded=(*create.folded, stmt))
        elif stmt.kind is StatementKind.CREATE and stmt.key is not None:
            key = stmt.key
            if _ignored(key, stmt, ignore):
                return
            first = self.creates.get(key) or self.unsupported.get(key)
            if first is not None:
                raise DuplicateDefinitionError(
                    f"{key} defined multiple times in same directory: "
                    f"{first.file}:{first.line} and {stmt.file}:{stmt.line}",
                    file=stmt.file,
                    line=stmt.line,
                )
            if stmt.unsupported_reason is None:
                earlier = self._standalone_on.get(key)  # read before the CREATE
                self.creates[key] = replace(stmt, folded=tuple(earlier)) if earlier else stmt
            else:
                self.unsupported[key] = stmt


def _ignored(key: ObjectKey, stmt: Statement, ignore: IgnorePatterns | None) -> bool:
    """Whether the dir's ignore-* options leave `key` out (a trigger also by its table's name)."""
    if ignore is None:
        return False
    if isinstance(ignore, Mapping):
        pattern = ignore.get(key.type)
        return pattern is not None and bool(pattern.search(key.name))
    on = trigger_table(stmt.body) if key.type is ObjectType.TRIGGER else None
    return ignore.ignores(key.type, key.name, on_table=on[1] if on is not None else None)


def read_sql(path: Path) -> str:
    """A *.sql file's text; SQLFileError naming the file (and line) when unreadable or not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SQLFileError(f"cannot read file: {e.strerror or e}", file=path) from e
    try:
        # Plain utf-8, not utf-8-sig: a BOM stays in the text (as a NOOP) so rewrites keep it.
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SQLFileError("file is not valid UTF-8", file=path, line=line) from e
