"""for_dir(): one schema dir's CREATEs run in the workspace with that dir's settings.

The one way from a dir to a workspace: diff/push (the planner), format and
lint, the daemon's desired side and its lint endpoint, and the language
server all run their statements through here, so the dir's default
charset/collation (else the live schema's or the server's), its workspace
options and the canonical cache are applied the same way everywhere.  It
reads no option file (the caller's plan.dir_options.DirOptions did), picks
no server and parses nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from schemad.connection.params import ConnParams
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.definers import has_definer_clause
from schemad.sqltext.renames import rename_conflicts
from schemad.workspace.result import Creatable, StatementFailure, WorkspaceResult, nothing_to_run
from schemad.workspace.scratch import WorkspaceOptions

if TYPE_CHECKING:
    from schemad.workspace.cache import CanonicalCache

__all__ = ["DirSettings", "for_dir"]

# Object types with a definer.
_STORED = frozenset(
    {ObjectType.VIEW, ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER, ObjectType.EVENT}
)


class DirSettings(Protocol):
    """What for_dir reads of a dir's options (plan's DirOptions, and the PlanOptions made of it)."""

    @property
    def char_set(self) -> str: ...  # default-character-set; "" = the fallback's

    @property
    def collation(self) -> str: ...  # default-collation; "" = the fallback's

    @property
    def workspace(self) -> WorkspaceOptions: ...


async def for_dir(
    params: ConnParams,
    statements: Iterable[Creatable],
    settings: DirSettings,
    *,
    schema_name: str,
    fallback: tuple[str, str],
    cache: CanonicalCache | None,
    home: Collection[str] | None = None,
    strip_definer: bool = False,
) -> WorkspaceResult:
    """Run `statements` (a dir's CREATEs) in the workspace on `params`' server, with `settings`.

    `fallback` is the (charset, collation) used where the dir sets no
    default-character-set / default-collation: the live schema's or the
    server's.  `cache` is the canonical cache, None under the dir's no-cache
    (DirOptions.cache_for).  `home` is the schema names a qualified CREATE
    may use (default: `schema_name`); the result's schema is named
    `schema_name`.  With `strip_definer` (the dir's strip-definer, "unset"
    resolved by the caller), a view, routine, trigger or event whose CREATE
    gives no DEFINER comes back without definer (see _any_definer).
    """
    statements = list(statements)
    char_set, collation = settings.char_set or fallback[0], settings.collation or fallback[1]
    if not statements:  # every file a fixed point: the runner, cache and guard are not even loaded
        home = (schema_name,) if home is None else home
        return nothing_to_run(settings.workspace, home, schema_name, char_set, collation)
    from schemad.workspace.tempschema import exec_statements

    result = await exec_statements(
        params,
        statements,
        schema_name=schema_name,
        home=home,
        char_set=char_set,
        collation=collation,
        options=settings.workspace,
        cache=cache,
    )
    if strip_definer:
        result = _any_definer(result, statements)
    conflicts = _rename_conflicts(result, statements)
    if not conflicts:
        return result
    failures = sorted((*result.failures, *conflicts), key=lambda f: (f.file, f.line))
    return replace(result, failures=tuple(failures))


def _any_definer(result: WorkspaceResult, statements: list[Creatable]) -> WorkspaceResult:
    """Objects whose CREATE names no definer, without the workspace user the server gave them.

    The workspace connection's user is no choice of the files: the diff then
    matches any live definer and the CREATE it emits leaves DEFINER out, so
    the target server picks the connecting user (schemad.diff.objects_diff).
    """
    bare = {
        s.key
        for s in statements
        if s.key is not None and s.key.type in _STORED and not has_definer_clause(s.own_body)
    }
    if not bare:
        return result
    sch = result.schema
    schema = replace(
        sch,
        views=tuple(v.without_definer() if v.key in bare else v for v in sch.views),
        routines=tuple(r.without_definer() if r.key in bare else r for r in sch.routines),
        triggers=tuple(t.without_definer() if t.key in bare else t for t in sch.triggers),
        events=tuple(e.without_definer() if e.key in bare else e for e in sch.events),
        _objects={},
    )
    return replace(result, schema=schema)


def _rename_conflicts(result: WorkspaceResult, statements: list[Creatable]) -> list[StatementFailure]:
    """A `@renamed from=old` annotation whose table still declares `old`: a failure at the annotation."""
    out: list[StatementFailure] = []
    for stmt in statements:
        if stmt.key is None or stmt.key.type is not ObjectType.TABLE or "@renamed" not in stmt.body.lower():
            continue
        for part in (stmt, *stmt.folded):
            for table, a, why in rename_conflicts(result.schema, {stmt.key.name: part.own_body}):
                line = part.line + part.own_body[: a.offset].count("\n")
                out.append(
                    StatementFailure(
                        key=ObjectKey(ObjectType.TABLE, table), file=part.file, line=line, message=why
                    )
                )
    return out
