"""SchemaDiff: every statement that turns a live schema into the desired one, in a legal order.

Pure.  The order (Skeema's, extended to views, triggers and events):

1. `CREATE DATABASE` / `ALTER DATABASE` (charset, collation);
2. drops of views and triggers that go away (a dropped table takes its
   triggers with it, and a view may read a table about to change);
3. per existing table, by name: `DROP TABLE`, or its ALTER(s) without
   foreign-key additions (then, for a table the files rename with a
   `@renamed from=` annotation, `ALTER TABLE old RENAME TO new`);
4. `CREATE TABLE`s;
5. ALTERs that only add foreign keys: "the FKs may rely on tables, columns or
   indexes that are being newly created earlier in the diff";
6. procedures, then functions (a view or trigger may call them);
7. views, created or replaced so that a view comes after the views it reads;
8. triggers, then events.

Tables that differ but whose CREATE the model cannot reproduce are listed in
`unsupported` and get no statement, as in Skeema.  Every statement of a
renamed table is keyed by its live name (the table the statements start on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.objects_diff import AnyObject, ObjectStatement, diff_object
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.model.schema import Schema
from schemad.model.table import Table
from schemad.model.view import View
from schemad.records import dataclass

if TYPE_CHECKING:
    from schemad.diff.table_diff import TableDiff


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of a plan, with what an executor or printer needs to know about it."""

    key: ObjectKey
    kind: DiffKind
    sql: str
    unsafe: str | None = None  # the reason it can lose data; None when safe
    compound: bool = False  # print inside `DELIMITER //`
    table_diff: TableDiff | None = None  # for table statements: alter-wrapper variables, sizes

    @property
    def is_alter_table(self) -> bool:
        return self.key.type is ObjectType.TABLE and self.kind is DiffKind.ALTER


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    schema: str
    steps: tuple[Step, ...]
    unsupported: tuple[ObjectKey, ...] = ()

    @property
    def unsafe_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.unsafe)

    def __bool__(self) -> bool:
        return bool(self.steps or self.unsupported)


def _table_steps(diff: TableDiff, mods: StatementModifiers) -> list[Step]:
    key = ObjectKey(ObjectType.TABLE, diff.name)
    reasons = diff.unsafe_reasons(mods)
    unsafe = "; ".join(reasons) if reasons else None
    if diff.kind is DiffKind.CREATE and diff.after is not None:
        # A new table runs the server's canonical text, never a re-rendering that adds clauses.
        sqls = [diff.after.statement_to_create(mods.flavor, include_auto_inc=not mods.ignore_auto_inc)]
    else:
        sqls = diff.statements(mods)
    return [Step(key, diff.kind, sql, unsafe, table_diff=diff) for sql in sqls]


def _object_steps(stmts: list[ObjectStatement]) -> list[Step]:
    return [Step(s.key, s.kind, s.sql, s.unsafe, compound=s.compound) for s in stmts]


def _view_order(views: list[View]) -> list[View]:
    """Views ordered so that each follows the views its definition mentions."""
    by_name = {v.name: v for v in views}
    refs = {
        v.name: {
            n for n in by_name if n != v.name and re.search(re.escape(escape_identifier(n)), v.definition)
        }
        for v in views
    }
    ordered: list[View] = []
    done: set[str] = set()

    def visit(name: str, path: frozenset[str]) -> None:
        if name in done or name in path:
            return
        for dep in sorted(refs[name]):
            visit(dep, path | {name})
        done.add(name)
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, frozenset())
    return ordered


def _tables(before: Schema, after: Schema, mods: StatementModifiers) -> tuple[list[Step], list[ObjectKey]]:
    """Table drops and alters, then creates, then the alters' new foreign keys; and what cannot be altered."""
    steps: list[Step] = []
    unsupported: list[ObjectKey] = []
    if not before.tables and not after.tables:
        return steps, unsupported
    # The table differ and its clause types load only when there are tables to compare.
    from schemad.diff.table_diff import diff_tables, pre_drop_alters

    old_tables = {t.name: t for t in before.tables}
    new_tables = {t.name: t for t in after.tables}
    renamed = _with_renamed_parents(before, after, old_tables, new_tables)  # live name -> desired name
    fk_adds: list[TableDiff] = []
    for name in sorted(old_tables):
        diff = diff_tables(old_tables[name], new_tables.get(renamed.get(name, name)), mods)
        if diff is None:
            continue
        if not diff.supported:
            unsupported.append(ObjectKey(ObjectType.TABLE, name))
            continue
        if diff.kind is DiffKind.DROP:
            # Skeema drops all but one RANGE/LIST partition first, so the big DROP is cheap.
            for pre in pre_drop_alters(old_tables[name]) if not mods.skip_pre_drop_alters else []:
                steps += _table_steps(pre, mods)
        main, fks = diff.split_foreign_key_adds()
        if main is not None:
            steps += _table_steps(main, mods)
        if fks is not None:
            fk_adds.append(fks)
    for name in sorted(set(new_tables) - set(old_tables) - set(renamed.values())):
        created = diff_tables(None, new_tables[name], mods)
        if created is not None:
            steps += _table_steps(created, mods)
    for fks in fk_adds:
        steps += _table_steps(fks, mods)
    return steps, unsupported


def _with_renamed_parents(
    before: Schema, after: Schema, old_tables: dict[str, Table], new_tables: dict[str, Table]
) -> dict[str, str]:
    """The table renames that apply (live name -> desired name), with `old_tables` updated in place.

    Foreign keys follow a renamed parent table or column on the server (the
    rename rewrites them), so the live foreign keys are compared as they will
    read once the renames ran: no foreign key is rebuilt for a rename.
    """
    if not any(t.renamed_from or any(c.renamed_from for c in t.columns) for t in after.tables):
        return {}
    from schemad.diff.renames import column_renames, renamed_parents, table_renames

    renamed = table_renames(before, after)
    columns = {}
    for name, old in old_tables.items():
        new = new_tables.get(renamed.get(name, name))
        if new is not None and (moved := column_renames(old, new)):
            columns[name] = moved
    if renamed or columns:
        for name, old in old_tables.items():
            old_tables[name] = renamed_parents(old, renamed, columns)
    return renamed


def diff_schemas(before: Schema | None, after: Schema, mods: StatementModifiers) -> SchemaDiff:
    """All statements turning `before` (live; None if the schema does not exist) into `after`."""
    steps: list[Step] = []
    db_key = ObjectKey(ObjectType.DATABASE, after.name)
    if before is None:
        steps.append(
            Step(
                db_key,
                DiffKind.CREATE,
                f"CREATE DATABASE {escape_identifier(after.name)} "
                f"CHARACTER SET {after.char_set} COLLATE {after.collation}",
            )
        )
        before = Schema(name=after.name, char_set=after.char_set, collation=after.collation)
    elif (before.char_set, before.collation) != (after.char_set, after.collation):
        steps.append(
            Step(
                db_key,
                DiffKind.ALTER,
                f"ALTER DATABASE {escape_identifier(after.name)} "
                f"CHARACTER SET {after.char_set} COLLATE {after.collation}",
            )
        )

    old, new = before.objects(), after.objects()

    def objects_of(kind: ObjectType, objs: Mapping[ObjectKey, object]) -> dict[str, AnyObject]:
        return {k.name: o for k, o in objs.items() if k.type is kind}  # type: ignore[misc]

    # 2. Views and triggers that go away.
    for kind in (ObjectType.VIEW, ObjectType.TRIGGER):
        gone = sorted(set(objects_of(kind, old)) - set(objects_of(kind, new)))
        for name in gone:
            steps += _object_steps(diff_object(objects_of(kind, old)[name], None, mods))

    # 3-5. Tables (those the planner already found equal are not here at all).
    table_steps, unsupported = _tables(before, after, mods)
    steps += table_steps

    # 6. Routines (drops included).
    for kind in (ObjectType.PROCEDURE, ObjectType.FUNCTION):
        olds, news = objects_of(kind, old), objects_of(kind, new)
        for name in sorted(set(olds) | set(news)):
            steps += _object_steps(diff_object(olds.get(name), news.get(name), mods))

    # 7. Views, dependencies first.
    old_views = objects_of(ObjectType.VIEW, old)
    for view in _view_order(list(after.views)):
        steps += _object_steps(diff_object(old_views.get(view.name), view, mods))

    # 8. Triggers (drops were step 2) and events.
    for kind in (ObjectType.TRIGGER, ObjectType.EVENT):
        olds, news = objects_of(kind, old), objects_of(kind, new)
        for name in sorted(set(olds) | set(news)):
            if kind is ObjectType.TRIGGER and name not in news:
                continue
            steps += _object_steps(diff_object(olds.get(name), news.get(name), mods))

    return SchemaDiff(schema=after.name, steps=tuple(steps), unsupported=tuple(unsupported))
