"""Table diffs: (before Table, after Table, modifiers) -> CREATE, DROP or ALTER TABLE.

`diff_tables` compares two canonical, introspected tables and returns the
clauses that turn `before` (the live table) into `after` (the desired one),
in Skeema's order: table charset, column drops, modifies (with FIRST/AFTER),
adds, primary key, secondary indexes, foreign keys, checks, engine,
AUTO_INCREMENT, create options, comment, then partitioning (last, no comma).

Pure code: no I/O and no config reading (options arrive in
`StatementModifiers`).  Renames are never inferred: a renamed column is a
DROP plus an ADD, as in Skeema, unless the file says `@renamed from=old`
(the desired model's `renamed_from`, see schemad.diff.renames): then it is
RENAME COLUMN / CHANGE COLUMN, an index RENAME KEY, a table
`ALTER TABLE old RENAME TO new`.  An index whose definition is unchanged under
a new name becomes RENAME KEY without one.  A generated column that switches
kind (VIRTUAL <-> STORED, regular <-> generated), which MODIFY cannot do, is
dropped and re-added in the same ALTER at the same place, with the indexes and
CHECKs that use it.  A table marked unsupported (its SHOW CREATE could not be
reproduced from the model) is never altered.

MariaDB system-versioned tables: versioning is added or dropped as a whole
(ADD / DROP SYSTEM VERSIONING, the drop unsafe: it deletes the history), and
every ALTER of a table versioned on the server runs as `SET STATEMENT
system_versioning_alter_history=KEEP FOR ALTER TABLE ...`, which the server
requires for column changes and which keeps the history rows.  A change to the
ROW START/END columns of a table that stays versioned, or to a `PARTITION BY
SYSTEM_TIME`, is unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from schemad import lazyre
from schemad.diff.clauses import (
    AddCheck,
    AddColumn,
    AddForeignKey,
    AddIndex,
    AlterCheck,
    AlterClause,
    AlterIndexVisibility,
    ChangeAutoIncrement,
    ChangeCharSet,
    ChangeComment,
    ChangeCreateOptions,
    ChangeEngine,
    ChangeSystemVersioning,
    DropCheck,
    DropColumn,
    DropForeignKey,
    DropIndex,
    ModifyColumn,
    ModifyIndex,
    ModifyPartitions,
    PartitionBy,
    RemovePartitioning,
    RenameIndex,
    foreign_keys_equivalent,
    indexes_equivalent,
    split_create_options,
)
from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.diff.renames import column_renames, index_renames, mentions, renamed_references
from schemad.model.column import Column
from schemad.model.index import Index, IndexKind
from schemad.model.keys import escape_identifier
from schemad.model.partition import SYSTEM_TIME, Partition, Partitioning
from schemad.model.table import Table
from schemad.model.tabletext import strip_auto_increment
from schemad.records import dataclass

# Runs an ALTER TABLE of a system-versioned table with its history kept (MariaDB 10.3.4+).
VERSIONED_ALTER_PREFIX = "SET STATEMENT system_versioning_alter_history=KEEP FOR "


@dataclass(frozen=True, slots=True)
class AlterPart:
    """One ALTER TABLE statement of a TableDiff, with the clauses it carries and how they were rendered."""

    statement: str
    clauses: tuple[AlterClause, ...]
    mods: StatementModifiers  # what the clauses were rendered with (strict index order without a PK)


@dataclass(frozen=True, slots=True)
class TableDiff:
    """One table's difference; for ALTER, the clauses in the order they are emitted.

    An ALTER whose two sides differ in name renames the table (the file's
    `@renamed from=` annotation): its clauses run on the live name, then
    `ALTER TABLE old RENAME TO new` on its own, then the foreign keys it adds
    (split_foreign_key_adds) on the new name.
    """

    kind: DiffKind
    before: Table | None  # None for CREATE
    after: Table | None  # None for DROP
    clauses: tuple[AlterClause, ...] = ()
    supported: bool = True  # False: the DDL cannot be generated (unsupported table or change)
    renamed_already: bool = False  # the FK-adds part of a renamed table: the rename ran before it

    @property
    def name(self) -> str:
        """The live table's name (the desired one for CREATE): the table the statements start on."""
        table = self.after if self.kind is DiffKind.CREATE else self.before
        assert table is not None
        return table.name

    @property
    def renames_table(self) -> bool:
        """An ALTER that renames the table (in this part, not in an earlier one)."""
        return (
            self.kind is DiffKind.ALTER
            and self.before is not None
            and self.after is not None
            and self.before.name != self.after.name
            and not self.renamed_already
        )

    def rename_statement(self) -> str:
        """`ALTER TABLE old RENAME TO new`, never with ALGORITHM= or LOCK=.

        A metadata-only change on its own: with ALGORITHM=COPY (which a table
        copy chooses by itself too) MariaDB 10.11 renames through a copy that
        loses the table's foreign keys under foreign_key_checks=0, and the
        foreign keys naming the table stop following it; alone, the rename
        keeps both (checked on MariaDB 10.11).  RENAME TABLE would do the same,
        but wrappers (alter-wrapper's {CLAUSES}) read an `ALTER TABLE t` head.
        """
        assert self.before is not None and self.after is not None
        old, new = escape_identifier(self.before.name), escape_identifier(self.after.name)
        return f"ALTER TABLE {old} RENAME TO {new}"

    # --- statements --------------------------------------------------------

    def statements(self, mods: StatementModifiers) -> list[str]:
        """The DDL, without trailing semicolons; [] when nothing applies (or unsupported).

        An ALTER may become several statements: FULLTEXT additions after the
        first, and a visibility change of a renamed index, go to ALTERs of
        their own, and foreign keys are added by a final ALTER (a dropped and
        re-added FK name may not appear twice in one ALTER).  A schema-level
        diff should rather use split_foreign_key_adds() to run those last.
        """
        if self.kind is DiffKind.CREATE:
            assert self.after is not None
            table = self.after
            if mods.partitioning is PartitioningMode.REMOVE:
                table = replace(table, partitioning=None)
            return [table.create_statement(mods.flavor, include_auto_inc=not mods.ignore_auto_inc)]
        if self.kind is DiffKind.DROP:
            assert self.before is not None
            return ["DROP TABLE " + escape_identifier(self.before.name)]
        if self.kind is not DiffKind.ALTER or not self.supported:
            return []
        out: list[str] = []
        for part in self.split_foreign_key_adds():
            if part is None:
                continue
            out += [p.statement for p in part._own_parts(mods)]
            if part.renames_table:
                out.append(part.rename_statement())
        return out

    def alter_parts(self, mods: StatementModifiers) -> list[AlterPart]:
        """An ALTER's statements with clauses (as `statements` gives them, in order), each with its clauses.

        [] for CREATE, DROP, or an unsupported diff.  What a caller that judges
        each statement by its clauses (schemad.plan.risk) reads.  A table
        rename (`rename_statement`) has no clause and no part.
        """
        if self.kind is not DiffKind.ALTER or not self.supported:
            return []
        out: list[AlterPart] = []
        for part in self.split_foreign_key_adds():
            if part is not None:
                out += part._own_parts(mods)
        return out

    def _own_parts(self, mods: StatementModifiers) -> list[AlterPart]:
        out: list[AlterPart] = []
        for sub in self.split_conflicts():
            if statement := sub._alter_statement(mods):
                out.append(AlterPart(statement, sub.clauses, sub._effective_mods(mods)))
        return out

    def unsafe_reasons(self, mods: StatementModifiers) -> list[str]:
        """Why the emitted DDL may lose data; [] when safe.  Independent of allow_unsafe."""
        if self.kind is DiffKind.CREATE:
            return []
        if self.kind is DiffKind.DROP:
            return [f"table {escape_identifier(self.name)} would be dropped"]
        eff = self._effective_mods(mods)
        reasons: list[str] = []
        for clause in self.clauses:
            if clause.clause(eff) and (reason := clause.unsafe(eff)):
                reasons.append(reason)
        return reasons

    def unsafe_message(self, mods: StatementModifiers) -> str | None:
        """Skeema's wording of the unsafe error for this diff, or None when it is safe."""
        reasons = self.unsafe_reasons(mods)
        if not reasons:
            return None
        if self.kind is DiffKind.DROP:
            name = escape_identifier(self.name)
            return f"Desired drop of table {name} would cause all of its data to be lost."
        return (
            f"Desired alteration for table {escape_identifier(self.name)} is not safe: {'; '.join(reasons)}."
        )

    def blocked(self, mods: StatementModifiers) -> bool:
        """True when the diff is unsafe and the modifiers do not allow unsafe DDL."""
        return not mods.allow_unsafe and bool(self.unsafe_reasons(mods))

    # --- splitting -----------------------------------------------------------

    def split_foreign_key_adds(self) -> tuple[TableDiff | None, TableDiff | None]:
        """(everything but ADD FOREIGN KEY, only the ADD FOREIGN KEYs).

        The second part runs after every CREATE of the schema diff: new FKs may
        rely on tables, columns or indexes created earlier in the diff.  Either
        part is None when empty; non-ALTER diffs come back whole as the first.
        """
        if self.kind is not DiffKind.ALTER or not self.supported or not self.clauses:
            return self, None
        adds = tuple(c for c in self.clauses if isinstance(c, AddForeignKey))
        others = tuple(c for c in self.clauses if not isinstance(c, AddForeignKey))
        if not adds:
            return self, None
        fks = replace(self, clauses=adds, renamed_already=self.renamed_already or self.renames_table)
        if not others and not self.renames_table:
            return None, fks
        return replace(self, clauses=others), fks

    def split_conflicts(self) -> list[TableDiff]:
        """This ALTER, less clauses that must run in ALTERs of their own, then those.

        Like Skeema: every ADD FULLTEXT after the first (InnoDB builds one per
        ALTER), and the visibility change of an index that is also renamed
        (`ALTER INDEX` cannot name an index renamed in the same statement).
        Also each partition-list operation (ADD / DROP / REORGANIZE PARTITION,
        partitioning=modify-list): the server takes one per ALTER, and nothing
        else with it.
        """
        if self.kind is not DiffKind.ALTER or not self.supported or not self.clauses:
            return [self]
        keep: list[AlterClause] = []
        separate: list[AlterClause] = []
        seen_fulltext = False
        for clause in self.clauses:
            if isinstance(clause, ModifyPartitions) and not clause.for_drop_table:
                separate.append(clause)
                continue
            if isinstance(clause, AddIndex) and clause.index.kind is IndexKind.FULLTEXT:
                if seen_fulltext:
                    separate.append(clause)
                    continue
                seen_fulltext = True
            elif (
                isinstance(clause, ModifyIndex)
                and clause.before.name != clause.after.name
                and clause.before.invisible != clause.after.invisible
            ):
                separate.append(AlterIndexVisibility(clause.after.name, clause.after.invisible, clause))
            keep.append(clause)
        return [replace(self, clauses=tuple(keep))] + [replace(self, clauses=(c,)) for c in separate]

    # --- rendering -------------------------------------------------------------

    def _effective_mods(self, mods: StatementModifiers) -> StatementModifiers:
        # An InnoDB table without a PK is clustered on its first unique NOT NULL key, so the
        # index order is functional there: force strict index order, as Skeema does.
        if not mods.index_order_counts and self.after is not None and _clustered_on_unique(self.after):
            return mods.with_changes(strict_index_order=True)
        return mods

    def _alter_statement(self, mods: StatementModifiers) -> str:
        assert self.before is not None and self.after is not None
        mods = self._effective_mods(mods)
        texts: list[str] = []
        partition_text = ""
        changing_comment = False
        algorithm, lock = mods.alter_algorithm, mods.alter_lock
        for clause in self.clauses:
            text = clause.clause(mods)
            if not text:
                continue
            if isinstance(clause, PartitionBy | RemovePartitioning):
                partition_text = text  # must be last, and takes no comma
                continue
            if isinstance(clause, ModifyPartitions):
                algorithm = lock = ""  # the server allows nothing else beside a partition operation
            if isinstance(clause, ModifyColumn) and clause.renames and algorithm == "copy":
                # MariaDB 10.11 refuses to copy a table while renaming a column of a foreign key,
                # on either side (error 1846), which one table's diff cannot always see; the
                # rename itself is metadata only.  (verify copies: it would refuse the push.)
                algorithm = ""
            if isinstance(clause, ChangeComment):
                changing_comment = True
            texts.append(text)
        if not texts and not partition_text:
            return ""
        # lax-comments: a comment is only changed along with something else.
        if mods.lax_comments and changing_comment and len(texts) == 1 and not partition_text:
            return ""
        prefix = []
        if algorithm:
            prefix.append("ALGORITHM=" + algorithm.upper())
        if lock:
            prefix.append("LOCK=" + lock.upper())
        texts = prefix + texts
        if mods.virtual_validation and mods.flavor.is_mysql and self._touches_virtual_column():
            texts.append("WITH VALIDATION")  # MySQL 5.7+ syntax; MariaDB has no equivalent
        body = ", ".join(texts)
        if body and partition_text:
            body += " "
        name = self.after.name if self.renamed_already else self.before.name
        head = f"ALTER TABLE {escape_identifier(name)} "
        if self.before.system_versioned and mods.flavor.is_mariadb:
            # MariaDB refuses to add, drop or change a column of a system-versioned table unless
            # the session says what becomes of the history (error 4119): KEEP keeps it as it is.
            # Set for this statement only, on every ALTER of such a table, so that the statement
            # runs as printed (by hand, through ddl-wrapper's {DDL}, in verify's replay).
            head = VERSIONED_ALTER_PREFIX + head
        return f"{head}{body}{partition_text}"

    def _touches_virtual_column(self) -> bool:
        for c in self.clauses:
            if isinstance(c, AddColumn) and c.column.is_virtual:
                return True
            if isinstance(c, ModifyColumn) and c.after.is_virtual:
                return True
        return False


def pre_drop_alters(table: Table) -> list[TableDiff]:
    """ALTERs dropping all partitions but one of a RANGE/LIST table about to be dropped.

    Dropping partitions one by one holds the data dictionary lock for shorter
    than one DROP TABLE of a big partitioned table (Skeema's PreDropAlters).
    """
    part = table.partitioning
    if part is None or part.sub_method or not part.method.startswith(("RANGE", "LIST")):
        return []
    unpartitioned = replace(table, partitioning=None)
    return [
        TableDiff(DiffKind.ALTER, table, unpartitioned, (ModifyPartitions((p.name,), for_drop_table=True),))
        for p in part.partitions[:-1]
    ]


###### diff_tables ######


def diff_tables(before: Table | None, after: Table | None, mods: StatementModifiers) -> TableDiff | None:
    """The difference turning `before` (live) into `after` (desired); None = nothing to do.

    With partitioning=remove the desired side is taken as unpartitioned.  An
    ALTER whose clauses all render empty under `mods` (cosmetic-only changes,
    a comment under lax-comments, a RANGE partition-list change...) is None too.
    """
    if after is not None and mods.partitioning is PartitioningMode.REMOVE and after.partitioning:
        after = replace(after, partitioning=None)
    if before is None:
        return None if after is None else TableDiff(DiffKind.CREATE, None, after)
    if after is None:
        return TableDiff(DiffKind.DROP, before, None)
    if before.unsupported or after.unsupported:
        # The model of an unsupported table is known to be incomplete: DDL generated from it
        # could silently lose what the model misses.  Only the server's own text can tell
        # that nothing changed (the AUTO_INCREMENT counter aside).
        if before.show_create and after.show_create:
            old_text = strip_auto_increment(before.show_create)
            if before.name != after.name:  # a rename alone needs no model: the texts tell
                old_text = _with_table_name(old_text, before.name, after.name)
            if old_text == strip_auto_increment(after.show_create):
                return None if before.name == after.name else TableDiff(DiffKind.ALTER, before, after)
        elif before == after:
            return None
        return TableDiff(DiffKind.ALTER, before, after, (), supported=False)
    if before == after:
        return None

    clauses, supported = _alter_clauses(before, after, mods.partitioning)
    if not clauses:
        if replace(before, name=after.name) == after:
            return TableDiff(DiffKind.ALTER, before, after)  # a table rename, nothing else
        # The models differ, yet nothing above describes how: refuse rather than guess.
        return TableDiff(DiffKind.ALTER, before, after, (), supported=False)
    diff = TableDiff(DiffKind.ALTER, before, after, tuple(clauses), supported)
    if diff.supported and not diff.statements(mods):
        return None
    return diff


def _with_table_name(create: str, old: str, new: str) -> str:
    head = "CREATE TABLE " + escape_identifier(old)
    return (
        "CREATE TABLE " + escape_identifier(new) + create[len(head) :] if create.startswith(head) else create
    )


def _alter_clauses(
    before: Table, after: Table, partitioning: PartitioningMode
) -> tuple[list[AlterClause], bool]:
    renames = column_renames(before, after)
    # The server rewrites every reference to a renamed column itself: compare with that.
    before = renamed_references(before, renames)
    clauses: list[AlterClause] = []
    # First, so that columns added or modified without a charset take the new default.
    if (before.char_set, before.collation) != (after.char_set, after.collation):
        clauses.append(ChangeCharSet(before.char_set, before.collation, after.char_set, after.collation))
    column_clauses, switched = _column_clauses(before, after, renames)
    clauses += column_clauses

    def uses_switched(idx: Index | None) -> bool:
        return idx is not None and any(p.column is not None and _key(p.column) in switched for p in idx.parts)

    # When the table's KEY_BLOCK_SIZE changes, the server pins the old value on every
    # existing index (`KEY k (a) KEY_BLOCK_SIZE=8`) unless the index is rebuilt in the
    # same ALTER, so rebuild those the desired table shows without one.
    old_kbs = split_create_options(before.create_options).get("KEY_BLOCK_SIZE")
    repin = old_kbs is not None and old_kbs != split_create_options(after.create_options).get(
        "KEY_BLOCK_SIZE"
    )
    old_pk, new_pk = before.primary_key, after.primary_key
    if (
        old_pk != new_pk
        or (repin and old_pk and new_pk and new_pk.key_block_size is None)
        or uses_switched(old_pk)
        or uses_switched(new_pk)
    ):
        if old_pk is not None:
            clauses.append(DropIndex(old_pk))
        if new_pk is not None:
            clauses.append(AddIndex(new_pk))
    # Indexes and CHECKs on a column dropped and re-added go and come back with it.
    rebuild_indexes = {i.name for i in after.secondary_indexes if uses_switched(i)}
    clauses += _index_clauses(before.secondary_indexes, after.secondary_indexes, repin, rebuild_indexes)
    clauses += _foreign_key_clauses(before, after)
    clauses += _check_clauses(before, after, {c.name for c in after.checks if mentions(c.clause, switched)})
    if before.engine != after.engine:
        clauses.append(ChangeEngine(after.engine))
    old_auto, new_auto = before.auto_increment or 1, after.auto_increment or 1
    if old_auto != new_auto and any(c.auto_increment for c in after.columns):
        clauses.append(ChangeAutoIncrement(old_auto, new_auto))
    if before.create_options != after.create_options:
        clauses.append(ChangeCreateOptions(before.create_options, after.create_options))
    if before.comment != after.comment:
        clauses.append(ChangeComment(after.comment))
    versioning = _versioning_clauses(before, after)
    if versioning is None:
        return clauses, False
    clauses += versioning
    partition_clauses, supported = _partition_clauses(before.partitioning, after.partitioning, partitioning)
    clauses += partition_clauses
    return clauses, supported


###### system versioning (MariaDB) ######


def _versioning_clauses(before: Table, after: Table) -> list[AlterClause] | None:
    """ADD / DROP SYSTEM VERSIONING; None when the change cannot be made.

    The explicit ROW START/END columns of a table versioned on both sides
    cannot change: MariaDB refuses to MODIFY them (error 4134), and going
    between explicit and implicit ones would mean dropping the versioning,
    and the history with it.  Those tables are reported as unsupported.
    """
    if before.system_versioned and after.system_versioned:
        return [] if before.period_columns == after.period_columns else None
    if not before.system_versioned and not after.system_versioned:
        return []
    if not after.system_versioned:
        return [ChangeSystemVersioning(add=False)]
    period = after.period_columns
    return [ChangeSystemVersioning(add=True, period=(period[0].name, period[1].name) if period else None)]


###### columns ######


def _key(name: str) -> str:
    return name.lower()  # column names are case-insensitive on both MySQL and MariaDB


def _switches_kind(old: Column, new: Column) -> bool:
    """VIRTUAL <-> STORED, regular <-> generated: what MODIFY cannot do (see DropColumn)."""
    return old.generated != new.generated


def _column_clauses(
    before: Table, after: Table, renames: dict[str, str]
) -> tuple[list[AlterClause], set[str]]:
    """The column clauses, and the (lower-case) desired names of the columns dropped and re-added.

    `renames` maps live (lower-case) names to desired ones (schemad.diff.renames).
    """
    old_by_name = {_key(c.name): c for c in before.columns}
    new_by_name = {_key(c.name): c for c in after.columns}
    # Each desired column that continues a live one: by name, or by the file's annotation.
    origin: dict[str, Column] = {}
    for old_key, new_name in renames.items():
        origin[_key(new_name)] = old_by_name[old_key]
    for k, old in old_by_name.items():
        if k in new_by_name and k not in renames and k not in origin:
            origin[k] = old
    switched = {k for k, old in origin.items() if _switches_kind(old, new_by_name[k])}
    kept = {k: old for k, old in origin.items() if k not in switched}
    kept_old = {_key(old.name) for old in kept.values()}
    unique = _unique_columns_in_both(before, after)

    replaced_by = {_key(origin[k].name): new_by_name[k] for k in switched}
    clauses: list[AlterClause] = [
        DropColumn(c, replaced_by.get(_key(c.name))) for c in before.columns if _key(c.name) not in kept_old
    ]

    # Columns that keep their relative order stay put: those on a longest increasing
    # subsequence of old positions, taken in the new order.  Every other common column
    # moves right after its new predecessor, which keeps the MODIFY count minimal.
    old_common = [c for c in before.columns if _key(c.name) in kept_old]
    new_common = [c for c in after.columns if _key(c.name) in kept]
    old_pos = {_key(c.name): n for n, c in enumerate(old_common)}
    stay = _longest_increasing_subsequence([old_pos[_key(kept[_key(c.name)].name)] for c in new_common])
    for n, new in enumerate(new_common):
        old = kept[_key(new.name)]
        moved = n not in stay
        if moved or old != new:
            clauses.append(
                ModifyColumn(
                    before=old,
                    after=new,
                    table_collation=after.collation,
                    first=moved and n == 0,
                    position_after=new_common[n - 1].name if moved and n > 0 else None,
                    in_unique_index=_key(new.name) in unique,
                )
            )

    # New columns keep their place only if some existing column follows them; a column
    # re-added under another kind is new here, so it comes back where it was.
    existed = [_key(c.name) in kept for c in after.columns]
    for n, col in enumerate(after.columns):
        if existed[n]:
            continue
        positioned = any(existed[n + 1 :])
        clauses.append(
            AddColumn(
                column=col,
                table_collation=after.collation,
                first=positioned and n == 0,
                after=after.columns[n - 1].name if positioned and n > 0 else None,
            )
        )
    return clauses, switched


def _longest_increasing_subsequence(values: Sequence[int]) -> set[int]:
    """Positions (into `values`) of one longest strictly increasing subsequence."""
    tails: list[int] = []  # tails[k] = position of the smallest tail of an increasing run of length k+1
    prev: list[int] = [-1] * len(values)
    for i, v in enumerate(values):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if values[tails[mid]] < v:
                lo = mid + 1
            else:
                hi = mid
        if lo > 0:
            prev[i] = tails[lo - 1]
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    out: set[int] = set()
    i = tails[-1] if tails else -1
    while i >= 0:
        out.add(i)
        i = prev[i]
    return out


def _unique_columns_in_both(before: Table, after: Table) -> set[str]:
    """Columns in a unique index (or PK) present, by name, on both sides."""

    def uniques(t: Table) -> dict[str, Index]:
        return {i.name: i for i in t.indexes if i.is_unique}

    old, new = uniques(before), uniques(after)
    out: set[str] = set()
    for name in old.keys() & new.keys():
        for idx in (old[name], new[name]):
            out |= {_key(p.column) for p in idx.parts if p.column is not None}
    return out


def _clustered_on_unique(table: Table) -> bool:
    if table.engine != "InnoDB" or table.primary_key is not None:
        return False
    cols = {_key(c.name): c for c in table.columns}

    def not_null(idx: Index) -> bool:
        for p in idx.parts:
            col = cols.get(_key(p.column)) if p.column is not None else None
            if col is None or col.nullable:
                return False
        return True

    return any(i.kind is IndexKind.UNIQUE and not_null(i) for i in table.secondary_indexes)


###### secondary indexes ######


def _index_clauses(
    before: Sequence[Index], after: Sequence[Index], repin: bool, rebuild: set[str]
) -> list[AlterClause]:
    """`rebuild`: desired index names to drop and re-add whatever else (their column is re-added)."""
    old_by_name = {i.name: i for i in before}
    new_by_name = {i.name: i for i in after}
    clauses: list[AlterClause] = []

    # Pair each old index with its new self: same name, the file's `@renamed from=`, or
    # else an equivalent index that only exists under a new name (a rename).  Each
    # candidate is claimed once.
    annotated = {old: new for new, old in index_renames(before, after).items()}  # old name -> new name
    matched: dict[str, Index] = {}  # new name -> old index
    still_there: list[Index] = []  # old indexes that survive, in old order
    for old in before:
        if old.name in new_by_name:
            matched[old.name] = old
        elif old.name in annotated:
            matched[annotated[old.name]] = old
        else:
            candidate = next(
                (
                    new
                    for new in after
                    if new.name not in old_by_name
                    and new.name not in matched
                    and new.name not in annotated.values()
                    and indexes_equivalent(new, old)
                ),
                None,
            )
            if candidate is None:
                clauses.append(DropIndex(old))
                continue
            matched[candidate.name] = old
        still_there.append(old)

    previous: ModifyIndex | None = None
    reorder_due_to_move = False
    # Once an index is re-added for its re-added column, the later ones are too: the server
    # appends a re-added index, and this rebuild is the differ's doing, not a change in the file.
    rebuilding = False
    for n, new in enumerate(after):
        rebuilding = rebuilding or new.name in rebuild
        old_or_none = matched.get(new.name)
        if old_or_none is None:
            clauses.append(AddIndex(new))
            reorder_due_to_move = True  # with strict order, everything after it must move
            continue
        old = old_or_none
        force = (repin and new.key_block_size is None) or rebuilding
        if old != new or reorder_due_to_move or previous is not None or force:
            mi = ModifyIndex(old, new, previous, reorder_due_to_move, force)
            clauses.append(mi)
            previous = mi
        # The relative order of surviving indexes changed here: this one may stay, but
        # with strict order every later one has to be rebuilt behind it.
        if not reorder_due_to_move and n < len(still_there) and still_there[n].name != old.name:
            reorder_due_to_move = True
    return clauses


###### foreign keys ######


def _foreign_key_clauses(before: Table, after: Table) -> list[AlterClause]:
    old_by_name = {fk.name: fk for fk in before.foreign_keys}
    new_by_name = {fk.name: fk for fk in after.foreign_keys}
    drops: list[AlterClause] = []
    adds: list[AddForeignKey] = []
    for old in before.foreign_keys:
        new = new_by_name.get(old.name)
        if new is None:
            # Cosmetic when an equivalent FK exists on the other side under another name.
            cosmetic = any(foreign_keys_equivalent(old, other) for other in after.foreign_keys)
            drops.append(DropForeignKey(old, cosmetic))
        elif old != new:
            cosmetic = foreign_keys_equivalent(old, new)  # e.g. RESTRICT <-> NO ACTION only
            drops.append(DropForeignKey(old, cosmetic))
            adds.append(AddForeignKey(new, cosmetic))
    for new in after.foreign_keys:
        if new.name not in old_by_name:
            cosmetic = any(foreign_keys_equivalent(new, other) for other in before.foreign_keys)
            adds.append(AddForeignKey(new, cosmetic))
    drops += _keep_backing_indexes(before, after, adds)
    return drops + adds


_UNNAMED_FK = lazyre.compile(r"_ibfk_\d+$")  # the name InnoDB gives an FK declared without one


def _keep_backing_indexes(before: Table, after: Table, adds: Sequence[AddForeignKey]) -> list[AlterClause]:
    """`RENAME KEY k TO k` for each kept index an added FK will use, which an old FK may have generated.

    MariaDB 10.11 marks the index it creates for a foreign key declared without
    one as generated (named after the FK's first column when the FK has no
    name: `KEY author_id`).  Adding an FK named `posts_ibfk_1` later creates
    a new generated index named after the FK and drops the old generated one,
    so `KEY author_id` became `KEY posts_ibfk_1`, where a fresh table (the
    desired side) keeps `author_id`, and the next diff wanted a RENAME KEY.
    Renaming the index to its own name (metadata only; a no-op on MySQL,
    which reuses an index it can) makes it an ordinary index that the new FK
    uses as it is.  Only for an index whose columns are exactly those of an
    unnamed FK the table already had (`<table>_ibfk_<n>`: a named FK's
    generated index takes the FK's name, so it never differs) that is the
    same, at the same place, on both sides (so no index clause rebuilds it).
    """
    fk_columns = {
        tuple(c.lower() for c in fk.columns) for fk in before.foreign_keys if _UNNAMED_FK.search(fk.name)
    }
    out: list[AlterClause] = []
    kept: set[str] = set()
    for add in adds:
        fk = add.foreign_key
        cols = tuple(c.lower() for c in fk.columns)
        if add.cosmetic_only or cols not in fk_columns:
            continue
        for n, idx in enumerate(before.secondary_indexes):
            plain = all(p.column is not None and not p.prefix and not p.descending for p in idx.parts)
            if (
                idx.kind is IndexKind.PLAIN
                and plain
                and tuple(_key(p.column or "") for p in idx.parts) == cols
                and idx.name != fk.name
                and idx.name not in kept
                and before.secondary_indexes[: n + 1] == after.secondary_indexes[: n + 1]
            ):
                kept.add(idx.name)
                out.append(RenameIndex(idx.name, idx.name))
    return out


###### checks ######


def _check_clauses(before: Table, after: Table, rebuild: set[str]) -> list[AlterClause]:
    """`rebuild`: desired check names to drop and re-add even when unchanged (their column is re-added)."""
    old_by_name = {c.name: c for c in before.checks}
    new_by_name = {c.name: c for c in after.checks}
    clauses: list[AlterClause] = []
    gone = [c for c in before.checks if c.name not in new_by_name]
    arriving = [c for c in after.checks if c.name not in old_by_name]
    renamed_old: set[str] = set()
    renamed_new: set[str] = set()
    # A name that differs in letter case only is what the file says, not what a schema
    # change tool made of it: that rename is real (drop + add), never skipped as cosmetic.
    recased = {c.name.lower() for c in gone} & {c.name.lower() for c in arriving}
    for old in gone:  # same expression under a new name = a rename (cosmetic)
        if old.name.lower() in recased:
            continue
        new_or_none = next(
            (
                c
                for c in arriving
                if c.name not in renamed_new
                and c.name.lower() not in recased
                and (c.clause, c.enforced) == (old.clause, old.enforced)
            ),
            None,
        )
        if new_or_none is not None:
            renamed_old.add(old.name)
            renamed_new.add(new_or_none.name)
    for old in gone:
        clauses.append(DropCheck(old, rename_only=old.name in renamed_old))

    still_there = [c for c in before.checks if c.name in new_by_name]
    reorder = False
    rebuilding = False  # as for indexes: after a check re-added for its column, the later ones follow
    for n, new in enumerate(after.checks):
        rebuilding = rebuilding or new.name in rebuild
        old_or_none = old_by_name.get(new.name)
        if old_or_none is None:
            clauses.append(AddCheck(new, rename_only=new.name in renamed_new))
            reorder = True
        elif old_or_none.clause != new.clause or rebuilding:
            clauses += [DropCheck(old_or_none), AddCheck(new)]
            reorder = True
        elif old_or_none.enforced != new.enforced:
            clauses.append(AlterCheck(new.name, new.enforced))
        elif reorder:
            clauses += [DropCheck(old_or_none, reorder_only=True), AddCheck(new, reorder_only=True)]
        elif n < len(still_there) and still_there[n].name != new.name:
            reorder = True  # this one can stay; the later ones move behind it
    return clauses


###### partitioning ######


def _partition_clauses(
    before: Partitioning | None, after: Partitioning | None, mode: PartitioningMode
) -> tuple[list[AlterClause], bool]:
    if before is None and after is None:
        return [], True
    if before is None:
        assert after is not None
        return [PartitionBy(after)], True
    if after is None:
        return [RemovePartitioning()], True
    if before == after:
        return [], True
    if SYSTEM_TIME in (before.method, after.method):
        # A system-versioned table's history partitions (MariaDB): LIMIT / INTERVAL, HISTORY
        # partitions added by AUTO, another method...  Ignored with the other re-partitionings
        # under keep; refused (reported by name) where partitioning differences are applied.
        return ([ModifyPartitions()], True) if mode is PartitioningMode.KEEP else ([], False)
    if (before.method, before.expression, before.sub_method, before.sub_expression) != (
        after.method,
        after.expression,
        after.sub_method,
        after.sub_expression,
    ):
        return [PartitionBy(after, repartition=True)], True
    # HASH/KEY count changes cannot be generated.
    if not before.method.startswith(("RANGE", "LIST")):
        return [], False
    if replace(before, partitions=after.partitions) == after:
        # Only the list differs: ADD / DROP / REORGANIZE PARTITION, which render only under
        # partitioning=modify-list; elsewhere the list is left to whatever rotates partitions.
        return partition_list_changes(before, after), True
    # The subpartitioning's declared form (SUBPARTITIONS n...) changes: no list operation does
    # that.  Skeema ignores it with the list; a mode that manages lists cannot.
    return ([], False) if mode.manages_lists else ([ModifyPartitions()], True)


###### partition lists (partitioning=modify-list) ######


def partition_list_changes(before: Partitioning, after: Partitioning) -> list[AlterClause]:
    """The partition operations turning `before`'s list into `after`'s (same RANGE/LIST method).

    Partitions identical on both sides, in the same relative order, stay;
    between two of them (or before the first, after the last) the live run of
    partitions gives way to the desired run:

    - desired run empty: DROP PARTITION, with the rows (a partition gone from
      the file is dropped, as a rotation does; merging it into its neighbour
      would keep rows that the file no longer has a partition for);
    - live run empty, at the end: ADD PARTITION;
    - otherwise REORGANIZE PARTITION, which moves rows and fails rather than
      lose one.  A RANGE reorganization must cover the range it had (MariaDB
      error 1520), so when the two runs end on different bounds the next kept
      partition joins it; at the end, the last bound may only grow: a lower
      one drops the live run and adds the desired one.

    A partition whose definition changes but whose place does not is its
    own run on both sides (REORGANIZE p INTO (p ...)).  When a partition
    moves across kept ones (LIST order), every run from the first to the
    last is reorganized as one.  Drops come first, then reorganizations,
    then additions: each is an ALTER of its own.
    """
    old, new = before.partitions, after.partitions
    is_range = before.method.startswith("RANGE")
    old_at = {p.name.lower(): n for n, p in enumerate(old)}
    same = [
        (old_at[p.name.lower()], m)
        for m, p in enumerate(new)
        if p.name.lower() in old_at and old[old_at[p.name.lower()]] == p
    ]
    kept = [same[k] for k in sorted(_longest_increasing_subsequence([n for n, _ in same]))]
    runs: list[tuple[int, int, int, int]] = []  # live [start, end), desired [start, end)
    prev_old = prev_new = -1
    for n, m in [*kept, (len(old), len(new))]:
        if prev_old + 1 < n or prev_new + 1 < m:
            runs.append((prev_old + 1, n, prev_new + 1, m))
        prev_old, prev_new = n, m
    if _moves_across_runs(runs, old, new):
        runs = [(runs[0][0], runs[-1][1], runs[0][2], runs[-1][3])]

    drops: list[str] = []
    adds: list[Partition] = []
    reorganizations: list[ModifyPartitions] = []
    for o_start, o_end, n_start, n_end in runs:
        live, desired = list(old[o_start:o_end]), list(new[n_start:n_end])
        at_end = o_end == len(old)
        if not desired:
            drops += [p.name for p in live]
            continue
        if not live and at_end:
            adds += desired
            continue
        if not at_end and (not live or (is_range and live[-1].values != desired[-1].values)):
            live.append(old[o_end])  # the next kept partition: the range stays whole
            desired.append(new[n_end])
        elif is_range and at_end and _range_bound_lower(desired[-1].values, live[-1].values):
            drops += [p.name for p in live]
            adds += desired
            continue
        reorganizations.append(ModifyPartitions(tuple(p.name for p in live), tuple(desired), before.method))
    out: list[AlterClause] = []
    if drops:
        out.append(ModifyPartitions(tuple(drops), method=before.method))
    out += reorganizations
    if adds:
        out.append(ModifyPartitions(into=tuple(adds), method=before.method))
    return out


def _moves_across_runs(
    runs: list[tuple[int, int, int, int]], old: Sequence[Partition], new: Sequence[Partition]
) -> bool:
    """Whether some partition is in one run on the live side and in another on the desired side."""
    live_run = {old[n].name.lower(): r for r, (a, b, _, _) in enumerate(runs) for n in range(a, b)}
    return any(
        live_run.get(new[m].name.lower(), r) != r for r, (_, _, c, d) in enumerate(runs) for m in range(c, d)
    )


_DATE_BOUND_RE = lazyre.compile(r"'\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}(?:\.\d+)?)?'")


def _range_bound_lower(new: str | None, old: str | None) -> bool:
    """Whether the RANGE bound `new` is known to be below `old` (False when they cannot be compared).

    The server prints a RANGE bound as an integer or MAXVALUE, a RANGE
    COLUMNS bound as literals (`'2024-01-01'`, `10,MAXVALUE`); integers,
    MAXVALUE and ISO dates are compared, anything else is left to the server.
    """

    def parts(text: str | None) -> list[tuple[int, int | str]] | None:
        out: list[tuple[int, int | str]] = []
        for item in (text or "").split(","):
            item = item.strip()
            if item == "MAXVALUE":
                out.append((1, 0))
            elif re.fullmatch(r"-?\d+", item):
                out.append((0, int(item)))
            elif _DATE_BOUND_RE.fullmatch(item):
                out.append((0, item))
            else:
                return None
        return out

    a, b = parts(new), parts(old)
    if a is None or b is None or len(a) != len(b):
        return False
    try:
        return a < b
    except TypeError:  # an integer against a date: not comparable here
        return False
