"""StatementModifiers: every option that changes the DDL the diff engine emits.

One immutable value built by the caller (CLI, planner, verifier) from its
configuration and passed down explicitly; diff code never reads config files,
the environment or globals.  Mirrors Skeema's `tengo.StatementModifiers`.
This module does no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Any

from schemad.model.flavor import Flavor
from schemad.records import dataclass


class PartitioningMode(StrEnum):
    """Skeema's `partitioning` option."""

    #: Partition an unpartitioned table, never de- or re-partition (default).
    KEEP = "keep"
    #: Strip partitioning from the desired side and de-partition live tables.
    REMOVE = "remove"
    #: Apply every supported partitioning difference, re-partitioning included.
    MODIFY = "modify"
    #: schemad addition: all of `modify`, plus RANGE/LIST partition lists (ADD, DROP and
    #: REORGANIZE PARTITION) of tables whose method and expression stay the same.
    MODIFY_LIST = "modify-list"

    @property
    def manages_lists(self) -> bool:
        """Whether RANGE/LIST partitions are added, dropped and reorganized (Skeema never does)."""
        return self is PartitioningMode.MODIFY_LIST


ALTER_ALGORITHMS = frozenset({"", "inplace", "copy", "instant", "nocopy", "default"})
ALTER_LOCKS = frozenset({"", "none", "shared", "exclusive", "default"})


@dataclass(frozen=True, slots=True)
class StatementModifiers:
    """Options that change emitted DDL; the defaults are Skeema's push defaults."""

    flavor: Flavor
    allow_unsafe: bool = False  # the planner's decision input; clauses report reasons regardless
    exact_match: bool = False  # also apply cosmetic differences (index order, FK/check names, ...)
    lax_column_order: bool = False  # ignore column-position-only changes
    lax_comments: bool = False  # ignore comment-only changes (table, column, index)
    alter_algorithm: str = ""  # prepend ALGORITHM=<x> to every ALTER TABLE
    alter_lock: str = ""  # prepend LOCK=<x> to every ALTER TABLE
    partitioning: PartitioningMode = PartitioningMode.KEEP
    compare_metadata: bool = False  # routines only: creation-time sql_mode / collation count
    virtual_validation: bool = False  # alter-validate-virtual: WITH VALIDATION (MySQL only)
    strict_index_order: bool = False  # verify: relative order of secondary indexes counts
    strict_check_order: bool = False  # verify: relative order and names of checks count (MariaDB)
    strict_fk_order: bool = False  # verify: FK names and RESTRICT vs NO ACTION count (FK order = name order)
    skip_auto_inc_lower: bool = (
        True  # AUTO_INCREMENT is only ever raised, "only if the file's value is higher"
    )
    ignore_auto_inc: bool = False  # never emit AUTO_INCREMENT, neither in CREATE nor ALTER
    skip_pre_drop_alters: bool = False  # no DROP PARTITION statements before a DROP TABLE

    def __post_init__(self) -> None:
        # Accept plain strings from config code, but refuse values that would emit bad DDL.
        object.__setattr__(self, "partitioning", PartitioningMode(self.partitioning))
        object.__setattr__(self, "alter_algorithm", self.alter_algorithm.lower())
        object.__setattr__(self, "alter_lock", self.alter_lock.lower())
        if self.alter_algorithm not in ALTER_ALGORITHMS:
            raise ValueError(f"invalid alter-algorithm {self.alter_algorithm!r}")
        if self.alter_lock not in ALTER_LOCKS:
            raise ValueError(f"invalid alter-lock {self.alter_lock!r}")

    def with_changes(self, **changes: Any) -> StatementModifiers:
        """A copy with some fields replaced (the value itself is immutable)."""
        return replace(self, **changes)

    # --- derived switches: one place decides what "strict" means -----------

    @property
    def index_order_counts(self) -> bool:
        return self.exact_match or self.strict_index_order

    @property
    def check_cosmetics_count(self) -> bool:
        """Check renames and (on MariaDB, where it is visible) check reordering."""
        return self.exact_match or self.strict_check_order

    @property
    def fk_cosmetics_count(self) -> bool:
        """FK renames and RESTRICT vs NO ACTION."""
        return self.exact_match or self.strict_fk_order

    @property
    def column_cosmetics_count(self) -> bool:
        """Presence/absence of an int display width (MySQL 8.0.19+ drops them)."""
        return self.exact_match
