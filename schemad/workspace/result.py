"""What a workspace run gives back, and the run that has nothing to send to the server.

Apart from schemad.workspace.tempschema (which runs statements) so that a
caller whose every file is a fixed point gets its empty result without
loading the machinery that runs, caches and introspects statements.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from schemad.model.keys import ObjectKey
from schemad.model.schema import Schema
from schemad.records import dataclass
from schemad.workspace.scratch import WorkspaceOptions, check_scratch

__all__ = ["Creatable", "StatementFailure", "WorkspaceResult", "nothing_to_run"]


class Creatable(Protocol):
    """What the workspace needs of a parsed CREATE statement (sqltext's Statement is one)."""

    @property
    def key(self) -> ObjectKey | None: ...

    @property
    def body(self) -> str: ...  # the object's whole text: own_body, then the folded statements'

    @property
    def own_body(self) -> str: ...  # this statement alone, as it is sent

    @property
    def folded(self) -> Sequence[Creatable]: ...  # a table's standalone index statements, run after it

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...

    @property
    def col(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StatementFailure:
    """A statement the server rejected (or the guard refused), placed where Skeema's lint places it.

    `line` is the line of the error in the file: the statement's first line,
    or for a syntax error the line the server's `at line N` points at
    (schemad.workspace.errorline).  `column` is the statement's column when
    the error is placed on its first line, None on a later line (the server
    names no column), so `str()` reads `file:line:col: ...` or `file:line: ...`.
    """

    key: ObjectKey
    file: str
    line: int
    message: str  # the server's error text
    errno: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}" if self.column is not None else str(self.line)
        return f"{self.file}:{where}: {self.key}: {self.message}"


@dataclass(frozen=True, slots=True)
class WorkspaceResult:
    schema: Schema  # as introspected, renamed to the logical schema's name
    failures: tuple[StatementFailure, ...]


def nothing_to_run(
    options: WorkspaceOptions,
    home: Collection[str],
    schema_name: str,
    char_set: str,
    collation: str,
    refused: Iterable[StatementFailure] = (),
) -> WorkspaceResult:
    """The result of a run with nothing for the server to build (every file a fixed point, or refused).

    No temp schema, whose set-up and drop would cost more than the rest of a
    no-change diff; the workspace options are still checked, as a run would.
    """
    check_scratch(options, home, char_set, collation)
    empty = Schema(name=schema_name, char_set=char_set, collation=collation)
    return WorkspaceResult(schema=empty, failures=tuple(sorted(refused, key=lambda f: (f.file, f.line))))
