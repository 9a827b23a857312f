"""Verify (Skeema's `verify`, on by default): replay each generated ALTER on a copy of the live table.

In a scratch temp schema every table that the plan alters is created from its
live SHOW CREATE text, the ALTERs run with strict modifiers (cosmetic order
and names count; ALGORITHM=COPY, no LOCK clause), and the result is diffed against
the desired table.  Any remaining difference means the generated DDL would
not produce what the files say: the target is stopped with a clear error
rather than pushing a silently wrong change.
"""

from __future__ import annotations

import asyncio

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.schema_diff import SchemaDiff
from schemad.diff.table_diff import TableDiff, diff_tables
from schemad.errors import SchemadError
from schemad.introspect.tables import load_tables
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.records import dataclass
from schemad.workspace.scratch import WorkspaceOptions, scratch_schema


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    table: str
    message: str

    def __str__(self) -> str:
        return f"table `{self.table}`: {self.message}"


def strict(mods: StatementModifiers) -> StatementModifiers:
    return mods.with_changes(
        strict_index_order=True,
        strict_check_order=True,
        strict_fk_order=True,
        # COPY like Skeema's verifier: MariaDB skips an in-place ALTER that only drops and
        # re-adds identical indexes, so a strict reorder would silently do nothing.
        alter_algorithm="copy",
        alter_lock="",
        allow_unsafe=True,
        lax_column_order=False,
        lax_comments=False,
    )


async def verify_diff(
    params: ConnParams,
    live: Schema,
    desired: Schema,
    diff: SchemaDiff,
    mods: StatementModifiers,
    options: WorkspaceOptions | None = None,
) -> list[VerifyProblem]:
    """Problems found replaying the diff's ALTER TABLEs; [] when every table comes out as desired."""
    names = sorted({s.key.name for s in diff.steps if s.is_alter_table})
    if not names:
        return []
    smods = strict(mods)
    opts = options or WorkspaceOptions()
    # A table the files rename (`@renamed from=`) is desired under its new name.
    pairs = [
        (live.table(n), desired.table(n) or next((t for t in desired.tables if t.renamed_from == n), None))
        for n in names
    ]
    problems: list[VerifyProblem] = []

    async def run(ws: Instance, table: str, part: TableDiff | None) -> None:
        if any(p.table == table for p in problems):
            return
        for sql in part.statements(smods) if part is not None else []:
            try:
                await ws.execute(sql)
            except SchemadError as exc:
                problems.append(VerifyProblem(table, f"generated ALTER failed: {exc}\n{sql}"))
                return

    async def replay_group(ws: Instance, group: list[tuple[Table, Table]]) -> None:
        """The group's live tables, then their ALTERs in the push's order: by name, new FKs last."""
        for before, _ in group:
            await ws.execute(before.show_create or before.create_statement(mods.flavor))
        parts = []
        for before, after in sorted(group, key=lambda p: p[0].name):
            tdiff = diff_tables(before, after, smods)
            parts.append((before.name, *(tdiff.split_foreign_key_adds() if tdiff else (None, None))))
        for table, main, _ in parts:
            await run(ws, table, main)
        for table, _, fk_adds in parts:
            await run(ws, table, fk_adds)

    async with scratch_schema(params, char_set=live.char_set, collation=live.collation, options=opts) as ws:
        # foreign_key_checks=0 here, but an ALTER still locks the tables its foreign keys name: tables
        # linked by one replay one after the other (two ALTERs adding FKs to each other deadlock,
        # error 1213), unlinked groups concurrently over the pool.
        groups = _fk_groups([(b, a) for b, a in pairs if b is not None and a is not None])
        await asyncio.gather(*(replay_group(ws, g) for g in groups))
        wanted = [a.name for _, a in pairs if a is not None]
        result = {t.name: t for t in await load_tables(ws, opts.temp_schema, mods.flavor, wanted)}
    for _, after in pairs:
        if after is None or any(p.table == after.name for p in problems):
            continue
        got = result.get(after.name)
        remaining = diff_tables(got, after, smods) if got is not None else None
        if got is None or remaining is not None:
            detail = "; ".join(remaining.statements(smods)) if remaining is not None else "table missing"
            problems.append(VerifyProblem(after.name, f"after the ALTER it still differs: {detail}"))
    return problems


def _fk_groups(pairs: list[tuple[Table, Table]]) -> list[list[tuple[Table, Table]]]:
    """The (before, after) pairs split into groups that no foreign key (before or after) links."""
    names = {b.name for b, _ in pairs}
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for before, after in pairs:
        for fk in (*before.foreign_keys, *after.foreign_keys):
            if not fk.referenced_schema and fk.referenced_table in names:
                parent[root(fk.referenced_table)] = root(before.name)
    groups: dict[str, list[tuple[Table, Table]]] = {}
    for pair in pairs:
        groups.setdefault(root(pair[0].name), []).append(pair)
    return list(groups.values())
