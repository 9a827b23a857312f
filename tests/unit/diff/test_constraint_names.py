"""Issue 12.7 (part), pure: a CHECK renamed in letter case only, and the index an unnamed FK leaves behind.

The same cases converge on the real server in tests/integration/test_peer_cases_converge.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemad.diff.modifiers import StatementModifiers
from schemad.diff.table_diff import diff_tables
from schemad.model.column import Column
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import MARIADB_10_11
from schemad.model.index import Index, IndexKind, IndexPart
from schemad.model.table import Table

MODS = StatementModifiers(MARIADB_10_11)
ID = Column("id", "int(11)", nullable=False)
A = Column("a", "int(11)", default="NULL")
PK = Index("PRIMARY", IndexKind.PRIMARY, (IndexPart("id"),))


def _table(**kw: object) -> Table:
    return replace(Table("t", (ID, A), primary_key=PK), **kw)  # type: ignore[arg-type]


def _sql(before: Table, after: Table, mods: StatementModifiers = MODS) -> list[str]:
    diff = diff_tables(before, after, mods)
    return [] if diff is None else diff.statements(mods)


# ///// CHECK names ////////////////////////////////////////////////////////////////////////////////


def test_check_renamed_in_case_only_is_dropped_and_added() -> None:
    before = _table(checks=(Check("chk_a", "`a` > 0"),))
    after = _table(checks=(Check("Chk_a", "`a` > 0"),))
    assert _sql(before, after) == [
        "ALTER TABLE `t` DROP CONSTRAINT `chk_a`, ADD CONSTRAINT `Chk_a` CHECK (`a` > 0)"
    ]


def test_check_renamed_otherwise_stays_cosmetic() -> None:
    """Schema change tools rename checks: a new name alone is still not a change (Skeema's rule)."""
    before = _table(checks=(Check("chk_a", "`a` > 0"),))
    after = _table(checks=(Check("_chk_a_new", "`a` > 0"),))
    assert _sql(before, after) == []
    assert _sql(before, after, MODS.with_changes(exact_match=True)) == [
        "ALTER TABLE `t` DROP CONSTRAINT `chk_a`, ADD CONSTRAINT `_chk_a_new` CHECK (`a` > 0)"
    ]


def test_case_only_rename_is_not_taken_as_another_checks_rename() -> None:
    """`chk_a` -> `CHK_A` is real; `chk_b` -> `other` (same expression) stays cosmetic."""
    before = _table(checks=(Check("chk_a", "`a` > 0"), Check("chk_b", "`a` > 0")))
    after = _table(checks=(Check("CHK_A", "`a` > 0"), Check("other", "`a` > 0")))
    assert _sql(before, after) == [
        "ALTER TABLE `t` DROP CONSTRAINT `chk_a`, ADD CONSTRAINT `CHK_A` CHECK (`a` > 0)"
    ]


# ///// the index of an unnamed FK ////////////////////////////////////////////////////////////////

AUTHOR = Column("author_id", "bigint(20) unsigned", default="NULL")
AUTHOR_KEY = Index("author_id", IndexKind.PLAIN, (IndexPart("author_id"),))


def _posts(parent: str, **kw: object) -> Table:
    fk = ForeignKey("posts_ibfk_1", ("author_id",), "", parent, ("id",), **kw)  # type: ignore[arg-type]
    return Table("posts", (ID, AUTHOR), primary_key=PK, secondary_indexes=(AUTHOR_KEY,), foreign_keys=(fk,))


def test_unnamed_fk_to_another_table_keeps_its_index() -> None:
    assert _sql(_posts("users"), _posts("admins")) == [
        "ALTER TABLE `posts` DROP FOREIGN KEY `posts_ibfk_1`, RENAME KEY `author_id` TO `author_id`",
        "ALTER TABLE `posts` ADD CONSTRAINT `posts_ibfk_1` FOREIGN KEY (`author_id`)"
        " REFERENCES `admins` (`id`)",
    ]


def test_cosmetic_fk_change_touches_no_index() -> None:
    """RESTRICT <-> NO ACTION renders nothing, so it must not rename anything either (it would loop)."""
    assert _sql(_posts("users"), _posts("users", on_delete="NO ACTION")) == []


@pytest.mark.parametrize(
    "after_keys",
    [
        (Index("author_id", IndexKind.PLAIN, (IndexPart("author_id", prefix=None, descending=True),)),),
        (Index("other", IndexKind.PLAIN, (IndexPart("author_id"),)),),
        (Index("first", IndexKind.PLAIN, (IndexPart("id"),)), AUTHOR_KEY),
    ],
    ids=["index changes", "index renamed", "index moves"],
)
def test_index_with_its_own_clause_gets_no_rename(after_keys: tuple[Index, ...]) -> None:
    after = replace(_posts("admins"), secondary_indexes=after_keys)
    sql = " ".join(_sql(_posts("users"), after))
    assert "RENAME KEY `author_id` TO `author_id`" not in sql


@pytest.mark.parametrize("index_name", ["fk_author", "author_id"])
def test_named_fk_needs_nothing(index_name: str) -> None:
    """A named FK's generated index takes the FK's name; an index named otherwise was declared."""

    def posts(parent: str) -> Table:
        fk = ForeignKey("fk_author", ("author_id",), "", parent, ("id",))
        key = Index(index_name, IndexKind.PLAIN, (IndexPart("author_id"),))
        return Table("posts", (ID, AUTHOR), primary_key=PK, secondary_indexes=(key,), foreign_keys=(fk,))

    assert "RENAME KEY" not in " ".join(_sql(posts("users"), posts("admins")))


def test_unnamed_fk_replaced_by_a_named_one_keeps_the_index() -> None:
    """The old FK's generated index would otherwise become `fk_author`."""
    after = replace(
        _posts("admins"), foreign_keys=(ForeignKey("fk_author", ("author_id",), "", "admins", ("id",)),)
    )
    assert _sql(_posts("users"), after)[0] == (
        "ALTER TABLE `posts` DROP FOREIGN KEY `posts_ibfk_1`, RENAME KEY `author_id` TO `author_id`"
    )
