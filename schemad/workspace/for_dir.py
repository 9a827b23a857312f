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
from typing import Protocol

from schemad.connection.params import ConnParams
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.scratch import WorkspaceOptions
from schemad.workspace.tempschema import Creatable, WorkspaceResult, exec_statements

__all__ = ["DirSettings", "for_dir"]


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
) -> WorkspaceResult:
    """Run `statements` (a dir's CREATEs) in the workspace on `params`' server, with `settings`.

    `fallback` is the (charset, collation) used where the dir sets no
    default-character-set / default-collation: the live schema's or the
    server's.  `cache` is the canonical cache, None under the dir's no-cache
    (DirOptions.cache_for).  `home` is the schema names a qualified CREATE
    may use (default: `schema_name`); the result's schema is named
    `schema_name`.
    """
    return await exec_statements(
        params,
        statements,
        schema_name=schema_name,
        home=home,
        char_set=settings.char_set or fallback[0],
        collation=settings.collation or fallback[1],
        options=settings.workspace,
        cache=cache,
    )
