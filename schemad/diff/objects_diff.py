"""Diffs of the non-table objects: views, procedures, functions, triggers, events.

Pure: two model objects in, the statements that turn the first into the
second out, each with its safety verdict.  Tables live in table_diff.py.

MariaDB can replace every one of these in a single statement
(`CREATE OR REPLACE`), so a changed object is never dropped first there; on
MySQL a changed routine, trigger or event is dropped and created again, which
Skeema counts as unsafe (a brief window without the object).  Characteristic-
only routine changes become `ALTER PROCEDURE|FUNCTION`.  Creation metadata
(sql_mode, database collation) only counts with compare-metadata.  A desired
object without definer (its file gave none, under strip-definer) matches any
live definer, and its CREATE leaves DEFINER out.
"""

from __future__ import annotations

from dataclasses import replace

from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import StatementModifiers
from schemad.model.event import Event
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier, escape_string
from schemad.model.routine import Routine
from schemad.model.trigger import Trigger
from schemad.model.view import View
from schemad.records import dataclass

AnyObject = View | Routine | Trigger | Event

# Object types whose CREATE holds a body that may contain `;`.
COMPOUND_TYPES = frozenset({ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER, ObjectType.EVENT})


@dataclass(frozen=True, slots=True)
class ObjectStatement:
    """One statement of an object diff."""

    key: ObjectKey
    kind: DiffKind
    sql: str
    unsafe: str | None = None  # why it can lose data or behaviour; None when safe

    @property
    def compound(self) -> bool:
        """Printed inside a `DELIMITER //` block."""
        return self.kind is not DiffKind.DROP and self.key.type in COMPOUND_TYPES


def _drop(key: ObjectKey) -> str:
    return f"DROP {key.type.sql} {escape_identifier(key.name)}"


def _or_replace(create: str) -> str:
    assert create.startswith("CREATE ")
    return "CREATE OR REPLACE " + create[len("CREATE ") :]


def _comparable(obj: AnyObject, mods: StatementModifiers) -> AnyObject:
    if isinstance(obj, Routine) and not mods.compare_metadata:
        return replace(obj, sql_mode="", db_collation="")
    if isinstance(obj, Trigger | Event) and not mods.compare_metadata:
        return replace(obj, sql_mode="")
    return obj


def _routine_alter(before: Routine, after: Routine) -> str | None:
    """`ALTER PROCEDURE|FUNCTION` when only characteristics differ, else None."""
    same_core = replace(before, data_access=after.data_access, security=after.security, comment=after.comment)
    if same_core != after:
        return None
    parts = []
    if before.data_access != after.data_access:
        parts.append(after.data_access.value)
    if before.security != after.security:
        parts.append(f"SQL SECURITY {after.security.value}")
    if before.comment != after.comment:
        parts.append(f"COMMENT {escape_string(after.comment)}")
    return f"ALTER {after.type.value} {escape_identifier(after.name)} " + " ".join(parts)


def diff_object(
    before: AnyObject | None, after: AnyObject | None, mods: StatementModifiers
) -> list[ObjectStatement]:
    """Statements turning `before` (live) into `after` (desired); [] when equal."""
    flavor = mods.flavor
    if before is None and after is None:
        return []
    if after is None:
        assert before is not None
        return [
            ObjectStatement(before.key, DiffKind.DROP, _drop(before.key), f"{before.key} would be dropped")
        ]
    key = after.key
    create = after.create_statement(flavor)
    if before is None:
        return [ObjectStatement(key, DiffKind.CREATE, create)]
    if not after.definer:
        before = replace(before, definer="")  # none given: whoever the live definer is, it is not a change
    if isinstance(before, Event) and isinstance(after, Event) and after.recurring and after.starts is None:
        # The file gives no STARTS: the server filled in its creation time, which is no difference.
        before = replace(before, starts=None)
    if _comparable(before, mods) == _comparable(after, mods):
        return []
    if isinstance(before, Routine) and isinstance(after, Routine):
        alter = _routine_alter(before, after)
        if alter is not None:
            return [ObjectStatement(key, DiffKind.ALTER, alter)]
        signature = before.params != after.params or before.returns != after.returns
        reason = f"{key} changes its parameters or return type; callers may break" if signature else None
        if flavor.is_mariadb:
            return [ObjectStatement(key, DiffKind.ALTER, _or_replace(create), reason)]
        gap = reason or f"{key} is dropped and re-created; it is missing in between"
        return [
            ObjectStatement(key, DiffKind.DROP, _drop(key), gap),
            ObjectStatement(key, DiffKind.CREATE, create, gap),
        ]
    if isinstance(after, View):
        # Views can always be replaced in place, on every flavor.
        return [ObjectStatement(key, DiffKind.ALTER, _or_replace(create))]
    if flavor.is_mariadb:
        return [ObjectStatement(key, DiffKind.ALTER, _or_replace(create))]
    gap = f"{key} is dropped and re-created; it is missing in between"
    return [
        ObjectStatement(key, DiffKind.DROP, _drop(key), gap),
        ObjectStatement(key, DiffKind.CREATE, create, gap),
    ]
