"""ALTER TABLE risk: the cheapest algorithm the server will accept for each ALTER, and why.

Given one table's ALTER (a `TableDiff` from the diff engine), the flavor and
the live table (the diff's `before`), `predict_alter` says, for every
statement the diff emits, which algorithm the server takes: `INSTANT`
(metadata only), `NOCOPY` (INPLACE without a table rebuild), `INPLACE` (with a
table rebuild) or `COPY`, the least restrictive LOCK it allows with it, and
the rule row and clause that decide it.  A statement costs what its most
expensive clause costs, except where a combination rule says otherwise.
`check_forced` answers what Skeema's `alter-algorithm` / `alter-lock` options
do to such a statement: whether the server refuses it, or what it does instead.

Every rule is one row of `RULES`: clause kind + condition -> algorithm and
lock, for a flavor range, with the manual section it comes from.  Rows are
tried in order and the first whose flavor, kind and condition match decides.

- MariaDB rows (10.6+) follow the KB pages "InnoDB Online DDL Operations with
  the INSTANT / NOCOPY / INPLACE Alter Algorithm" and are each verified on a
  real 10.11 server by tests/integration/test_alter_algorithms.py (run with the
  predicted ALGORITHM= and accepted, with the next cheaper one and refused).
  Where the server and the KB disagree the server wins, and the row says so.
- MySQL rows (8.0/8.4) follow the Reference Manual 17.12.1 "Online DDL
  Operations" (same number in both manuals).  They are NOT verified here: the
  suite runs MariaDB only.  Rows for operations the manual does not list are
  marked "not in 17.12.1" and are conservative (never cheaper than believed).

What this module will not do: any I/O (pure: model and diff in, values out),
read configuration, or choose a route (alter-wrapper or direct) -- the planner
does that with these predictions and the table sizes.  Known blind spots, all
invisible in the model: a hidden FTS_DOC_ID column left by a dropped FULLTEXT
index (instant column changes then need a rebuild), the server's
innodb_default_row_format (DYNAMIC is assumed when no ROW_FORMAT is shown),
MySQL's 64-row-versions limit on instant column changes, and MariaDB 11.2+'s
online COPY (LOCK=NONE with COPY is predicted refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import field, replace
from enum import IntEnum, StrEnum

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
    ColumnType,
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
    charset_max_bytes,
    charsets_equivalent,
    indexes_equivalent,
    split_create_options,
)
from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.table_diff import TableDiff
from schemad.model.column import Column, Generated
from schemad.model.flavor import Flavor, Vendor
from schemad.model.index import Index, IndexKind
from schemad.model.table import Table
from schemad.records import dataclass

__all__ = [
    "NO_RULE",
    "RULES",
    "Algorithm",
    "ClauseKind",
    "Decision",
    "FlavorRange",
    "Forced",
    "Lock",
    "Op",
    "Prediction",
    "Rule",
    "TableFacts",
    "check_forced",
    "predict_alter",
]


class Algorithm(IntEnum):
    """How the server runs an ALTER, cheapest first (comparisons are by cost)."""

    #: Metadata only: no data is read or written.
    INSTANT = 0
    #: INPLACE without a table rebuild (MariaDB's ALGORITHM=NOCOPY), e.g. building one index.
    NOCOPY = 1
    #: INPLACE with a rebuild of the clustered index: every row is rewritten, DML may continue.
    INPLACE = 2
    #: The table is copied row by row into a new one; writes are blocked meanwhile.
    COPY = 3

    @property
    def label(self) -> str:
        return _LABELS[self]

    def keyword(self, flavor: Flavor) -> str:
        """The ALGORITHM= value asking for at least this algorithm (MySQL has no NOCOPY)."""
        if self is Algorithm.NOCOPY and not flavor.is_mariadb:
            return "INPLACE"
        return self.name


_LABELS = {
    Algorithm.INSTANT: "INSTANT",
    Algorithm.NOCOPY: "INPLACE without rebuild",
    Algorithm.INPLACE: "INPLACE with table rebuild",
    Algorithm.COPY: "COPY",
}


class Lock(IntEnum):
    """The LOCK= levels, least restrictive first."""

    NONE = 0
    SHARED = 1
    EXCLUSIVE = 2


class ClauseKind(StrEnum):
    """What one elementary change is.  A ModifyColumn yields one per aspect that changes."""

    ADD_COLUMN = "AddColumn"
    DROP_COLUMN = "DropColumn"
    MOVE_COLUMN = "ModifyColumn:position"  # FIRST / AFTER
    COLUMN_TYPE = "ModifyColumn:type"  # data type, charset, compression, generation, AUTO_INCREMENT added
    COLUMN_COLLATION = "ModifyColumn:collation"  # beyond the utf8mb3 -> utf8mb4 spelling
    COLUMN_NULL = "ModifyColumn:null"  # NOT NULL -> NULL
    COLUMN_NOT_NULL = "ModifyColumn:not-null"  # NULL -> NOT NULL
    COLUMN_DEFAULT = "ModifyColumn:default"
    COLUMN_ATTRIBUTE = "ModifyColumn:attribute"  # comment, ON UPDATE, visibility, CHECK, name case...
    ADD_INDEX = "AddIndex"
    DROP_INDEX = "DropIndex"
    RENAME_INDEX = "RenameIndex"
    INDEX_VISIBILITY = "AlterIndexVisibility"
    REBUILD_SAME_INDEX = "ModifyIndex:equivalent"  # DROP + ADD of an index identical in function
    ADD_FOREIGN_KEY = "AddForeignKey"
    DROP_FOREIGN_KEY = "DropForeignKey"
    ADD_CHECK = "AddCheck"
    DROP_CHECK = "DropCheck"
    ALTER_CHECK = "AlterCheck"
    ENGINE = "ChangeEngine"
    AUTO_INCREMENT = "ChangeAutoIncrement"
    TABLE_OPTION = "ChangeCreateOptions"  # one op per option changed
    TABLE_COMMENT = "ChangeComment"
    TABLE_CHARSET = "ChangeCharSet"
    SYSTEM_VERSIONING = "ChangeSystemVersioning"  # MariaDB; no row: assumed to copy (ADD only copies)
    PARTITION_BY = "PartitionBy"
    REMOVE_PARTITIONING = "RemovePartitioning"
    DROP_PARTITION = "ModifyPartitions"
    ADD_PARTITION = "ModifyPartitions:add"  # partitioning=modify-list: a new partition at the end
    REORGANIZE_PARTITION = "ModifyPartitions:reorganize"  # the named partitions' rows move
    STATEMENT = "statement"  # combination rules, judged over every clause of one ALTER


@dataclass(frozen=True, slots=True)
class Op:
    """One elementary change of an ALTER clause, what the rules are written against."""

    kind: ClauseKind
    sql: str  # the clause text it comes from, for reasons
    clause: AlterClause | None = None  # None for STATEMENT
    column: Column | None = None  # column added, dropped, or (MODIFY) as it becomes
    old_column: Column | None = None  # MODIFY: the column as it is
    index: Index | None = None  # index added or dropped; ModifyIndex: as it becomes
    option: str = ""  # TABLE_OPTION: the option name, upper case, without backticks


@dataclass(frozen=True, slots=True)
class TableFacts:
    """What the rules may know about the live table and the statement around a clause."""

    flavor: Flavor
    live: Table
    desired: Table | None
    engine: str
    row_format: str  # effective: ROW_FORMAT shown, else COMPRESSED with KEY_BLOCK_SIZE, else DYNAMIC
    has_fulltext: bool  # a FULLTEXT index exists (or an earlier statement of the diff added one)
    clustering_index: str | None  # no PK: the UNIQUE all-NOT-NULL index InnoDB clusters on
    pk_columns: frozenset[str]  # lower-case names
    indexed_columns: frozenset[str]  # in some secondary index
    fulltext_columns: frozenset[str]
    foreign_key_checks: bool  # the DDL session's foreign_key_checks
    ops: tuple[Op, ...]  # every change of the statement
    decisions: tuple[Decision, ...] = ()  # per-op decisions (set for STATEMENT rules)


Condition = Callable[[Op, TableFacts], bool]


@dataclass(frozen=True, slots=True)
class FlavorRange:
    """A vendor and a version range [since, until)."""

    vendor: Vendor  # MYSQL also covers Percona Server
    since: tuple[int, int, int]
    until: tuple[int, int, int] | None = None

    def contains(self, flavor: Flavor) -> bool:
        vendor_ok = flavor.is_mariadb if self.vendor is Vendor.MARIADB else flavor.is_mysql
        version = (flavor.major, flavor.minor, flavor.patch)
        return vendor_ok and version >= self.since and (self.until is None or version < self.until)

    def __str__(self) -> str:
        text = f"{self.vendor.value} {'.'.join(map(str, self.since))}+"
        if self.until is not None:
            text = text[:-1] + " to <" + ".".join(map(str, self.until))
        return text


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table: clause kind + condition -> algorithm and lock."""

    id: str
    flavors: FlavorRange
    kinds: tuple[ClauseKind, ...]
    condition: str  # the condition in words
    algorithm: Algorithm
    lock: Lock  # the least restrictive LOCK= accepted with `algorithm`
    source: str  # the manual section it comes from
    when: Condition = field(repr=False, compare=False)
    ignores: tuple[Algorithm, ...] = ()  # cheaper ALGORITHM= values the server accepts and copies anyway
    takes_algorithm: bool = True  # False: the statement may carry no ALGORITHM=/LOCK= at all
    note: str = ""  # where the server differs from the manual, or why the row is conservative

    @property
    def clause(self) -> str:
        return "/".join(k.value for k in self.kinds)


@dataclass(frozen=True, slots=True)
class Decision:
    """The rule row one change matched."""

    op: Op
    rule: Rule


@dataclass(frozen=True, slots=True)
class Forced:
    """What an `alter-algorithm` / `alter-lock` value does to one predicted statement."""

    algorithm: str  # as configured ("" = not set)
    lock: str
    refused: bool  # the server answers error 1845/1846 (or 1064 for NOCOPY on MySQL)
    reason: str  # why it is refused, or what the server does instead; "" when nothing to say


@dataclass(frozen=True, slots=True)
class Prediction:
    """How the server will run one ALTER statement of a diff."""

    statement: str  # as the diff emits it under the modifiers given
    algorithm: Algorithm  # the cheapest the server accepts
    lock: Lock  # the least restrictive LOCK= it accepts with that algorithm
    rule: Rule  # the row that decides the algorithm
    clause: str  # the clause(s) that decide it, as SQL
    lock_rule: Rule  # the row that decides the lock
    decisions: tuple[Decision, ...]
    forced: Forced | None = None  # set when the modifiers carry alter-algorithm / alter-lock

    @property
    def reason(self) -> str:
        """A one-line explanation naming the deciding clause and rule row."""
        return f"{self.algorithm.label}: {self.clause} -- {self.rule.condition} [{self.rule.id}]"


###### Facts about tables and columns ######


def _name(text: str | None) -> str:
    return (text or "").lower()


def _row_format(table: Table) -> str:
    options = {
        k.strip("`").upper(): v.strip("'").upper()
        for k, v in split_create_options(table.create_options).items()
    }
    if "ROW_FORMAT" in options and options["ROW_FORMAT"] != "DEFAULT":
        return options["ROW_FORMAT"]
    if options.get("KEY_BLOCK_SIZE", "0") not in ("0", ""):
        return "COMPRESSED"  # InnoDB implies it from KEY_BLOCK_SIZE
    return "DYNAMIC"  # innodb_default_row_format's default; the model cannot see the server's


def _index_columns(indexes: tuple[Index, ...]) -> frozenset[str]:
    return frozenset(_name(p.column) for i in indexes for p in i.parts if p.column is not None)


def _clustering_index(table: Table) -> str | None:
    if table.primary_key is not None:
        return None
    for index in table.secondary_indexes:
        if index.kind is IndexKind.UNIQUE and _all_not_null(index, table):
            return index.name
    return None


def _all_not_null(index: Index, table: Table | None) -> bool:
    if table is None:
        return False
    for part in index.parts:
        column = table.column(part.column) if part.column is not None else None
        if column is None or column.nullable:
            return False
    return True


def _utf8mb4_spelling(name: str | None) -> str:
    """utf8 / utf8mb3 charsets and collations spelled as their utf8mb4 counterpart."""
    text = _name(name)
    for old in ("utf8mb3", "utf8"):
        if text == old:
            return "utf8mb4"
        if text.startswith(old + "_"):
            return "utf8mb4_" + text[len(old) + 1 :]
    return text


def _charset_upgrade(old: Column, new: Column) -> bool:
    return _name(old.char_set) in ("utf8", "utf8mb3") and _name(new.char_set) == "utf8mb4"


def _charset_kept_or_upgraded(old: Column, new: Column) -> bool:
    return charsets_equivalent(old.char_set, new.char_set) or _charset_upgrade(old, new)


def _varchar_bytes(column: Column) -> int | None:
    t = ColumnType.parse(column.type)
    if t.base == "varchar":
        return t.size * charset_max_bytes(column.char_set)
    if t.base == "varbinary":
        return t.size
    return None


def _varchar_extension(op: Op) -> tuple[int, int] | None:
    """(old, new) maximum bytes when a VARCHAR/VARBINARY only grows (charset kept or upgraded)."""
    old, new = op.old_column, op.column
    if old is None or new is None or _generation(old) != _generation(new) or old.compressed != new.compressed:
        return None
    if new.auto_increment and not old.auto_increment:
        return None
    if ColumnType.parse(old.type).base != ColumnType.parse(new.type).base:
        return None
    if not _charset_kept_or_upgraded(old, new):
        return None
    old_bytes, new_bytes = _varchar_bytes(old), _varchar_bytes(new)
    if old_bytes is None or new_bytes is None or new_bytes < old_bytes:
        return None
    return old_bytes, new_bytes


def _same_length_bytes(op: Op) -> bool:
    """The VARCHAR length prefix keeps its size: 1 byte up to 255 bytes, 2 above (MySQL)."""
    ext = _varchar_extension(op)
    if ext is None or op.old_column is None or op.column is None:
        return False
    if not charsets_equivalent(op.old_column.char_set, op.column.char_set):
        return False
    return (ext[0] <= 255) == (ext[1] <= 255)


def _instant_varchar_extension(op: Op, facts: TableFacts) -> bool:
    """MariaDB: a length increase InnoDB can take without touching rows (KB byte rules)."""
    ext = _varchar_extension(op)
    if ext is None:
        return False
    old_bytes, new_bytes = ext
    return old_bytes <= 127 or new_bytes <= 255 or old_bytes >= 256


def _enum_append(op: Op) -> bool:
    """ENUM/SET values appended at the end, the storage size kept, nothing else changed."""
    old, new = op.old_column, op.column
    if old is None or new is None or _generation(old) != _generation(new):
        return False
    if not charsets_equivalent(old.char_set, new.char_set) or old.compressed != new.compressed:
        return False
    ot, nt = ColumnType.parse(old.type), ColumnType.parse(new.type)
    if ot.base != nt.base or ot.base not in ("enum", "set") or not nt.values.startswith(ot.values + ","):
        return False
    before, after = _count_values(ot.values), _count_values(nt.values)
    if ot.base == "enum":
        return (before <= 255) == (after <= 255)  # 1 byte up to 255 members, 2 above
    return _set_bytes(before) == _set_bytes(after)


def _count_values(values: str) -> int:
    count, quoted, i = 0, False, 0
    while i < len(values):
        ch = values[i]
        if ch == "'":
            if quoted and values[i + 1 : i + 2] == "'":
                i += 1  # an escaped quote
            else:
                quoted = not quoted
                count += 0 if quoted else 1
        i += 1
    return count


def _set_bytes(members: int) -> int:
    size = (members + 7) // 8
    return 8 if size > 4 else size  # 1, 2, 3, 4 or 8 bytes


def _utf8mb4_upgrade(op: Op, facts: TableFacts) -> bool:
    """CHAR/TEXT types (not VARCHAR: see the length rules) going from utf8mb3 to utf8mb4."""
    old, new = op.old_column, op.column
    if old is None or new is None or not _charset_upgrade(old, new):
        return False
    if _generation(old) != _generation(new) or old.compressed != new.compressed:
        return False
    ot, nt = ColumnType.parse(old.type), ColumnType.parse(new.type)
    if (ot.base, ot.size) != (nt.base, nt.size):
        return False
    if ot.base == "char":
        return facts.row_format != "REDUNDANT"  # fixed-width there: the bytes cannot grow
    return ot.base in ("tinytext", "text", "mediumtext", "longtext")


def _generation(column: Column) -> tuple[Generated | None, str | None]:
    return column.generated, column.generation_expr


def _virtual_expression_only(op: Op, facts: TableFacts) -> bool:
    old, new = op.old_column, op.column
    if old is None or new is None or not (old.is_virtual and new.is_virtual):
        return False
    if _name(new.name) in facts.indexed_columns | facts.pk_columns:
        return False
    same_type = ColumnType.parse(old.type).equivalent(ColumnType.parse(new.type))
    return same_type and charsets_equivalent(old.char_set, new.char_set) and old.compressed == new.compressed


def _auto_increment_added(op: Op) -> bool:
    return (
        op.column is not None
        and op.column.auto_increment
        and not (op.old_column is not None and op.old_column.auto_increment)
    )


###### Conditions used by the rows ######


def _always(op: Op, facts: TableFacts) -> bool:
    return True


def _not_innodb(op: Op, facts: TableFacts) -> bool:
    return facts.engine.lower() != "innodb"


def _virtual(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and op.column.is_virtual


def _stored_generated(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and op.column.generated is Generated.STORED


def _generated(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and op.column.generated is not None


def _fulltext_table(op: Op, facts: TableFacts) -> bool:
    return facts.has_fulltext


def _compressed(op: Op, facts: TableFacts) -> bool:
    return facts.row_format == "COMPRESSED"


def _redundant(op: Op, facts: TableFacts) -> bool:
    return facts.row_format == "REDUNDANT"


def _at_end(op: Op, facts: TableFacts) -> bool:
    return isinstance(op.clause, AddColumn) and not op.clause.first and op.clause.after is None


def _column_in_pk(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and _name(op.column.name) in facts.pk_columns


def _column_in_fulltext(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and _name(op.column.name) in facts.fulltext_columns


def _column_indexed(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and _name(op.column.name) in facts.indexed_columns | facts.pk_columns


def _expression_default(op: Op, facts: TableFacts) -> bool:
    return op.column is not None and (op.column.default or "").startswith("(")


def _too_many_columns(op: Op, facts: TableFacts) -> bool:
    added = sum(1 for o in facts.ops if o.kind is ClauseKind.ADD_COLUMN)
    return len(facts.live.columns) + added > 1022


def _index_kind(*kinds: IndexKind) -> Condition:
    return lambda op, facts: op.index is not None and op.index.kind in kinds


def _adds_primary_key(facts: TableFacts) -> bool:
    return any(
        o.kind is ClauseKind.ADD_INDEX and o.index is not None and o.index.kind is IndexKind.PRIMARY
        for o in facts.ops
    )


def _drops_primary_key_alone(op: Op, facts: TableFacts) -> bool:
    primary = op.index is not None and op.index.kind is IndexKind.PRIMARY
    return primary and not _adds_primary_key(facts)


def _becomes_clustering(op: Op, facts: TableFacts) -> bool:
    """A UNIQUE all-NOT-NULL key on a table with neither PK nor such a key: InnoDB clusters on it."""
    if op.index is None or op.index.kind is not IndexKind.UNIQUE:
        return False
    if facts.live.primary_key is not None or facts.clustering_index is not None or _adds_primary_key(facts):
        return False
    return _all_not_null(op.index, facts.desired)


def _drops_clustering(op: Op, facts: TableFacts) -> bool:
    if op.index is None or facts.clustering_index is None or _adds_primary_key(facts):
        return False
    return op.index.name == facts.clustering_index


def _first_fulltext(op: Op, facts: TableFacts) -> bool:
    return op.index is not None and op.index.kind is IndexKind.FULLTEXT and not facts.has_fulltext


def _fk_checks_on(op: Op, facts: TableFacts) -> bool:
    return facts.foreign_key_checks


def _option(*names: str) -> Condition:
    return lambda op, facts: op.option in names


def _charset_changes(op: Op, facts: TableFacts) -> bool:
    clause = op.clause
    return isinstance(clause, ChangeCharSet) and not charsets_equivalent(
        clause.before_char_set, clause.char_set
    )


# MariaDB: column changes InnoDB does instantly by rewriting its metadata record;
# combined with building an index they cost a table rebuild.
_INSTANT_COLUMN_KINDS = (ClauseKind.ADD_COLUMN, ClauseKind.DROP_COLUMN, ClauseKind.MOVE_COLUMN)


def _instant_column_with_index_build(op: Op, facts: TableFacts) -> bool:
    instant_column = any(
        d.op.kind in _INSTANT_COLUMN_KINDS
        and d.rule.algorithm is Algorithm.INSTANT
        and not (d.op.column is not None and d.op.column.is_virtual)
        for d in facts.decisions
    )
    builds_index = any(
        d.rule.algorithm is Algorithm.NOCOPY
        and (
            (d.op.kind is ClauseKind.ADD_INDEX)
            or (d.op.kind is ClauseKind.COLUMN_COLLATION and _column_indexed(d.op, facts))
        )
        for d in facts.decisions
    )
    return instant_column and builds_index


def _rebuild_with_fulltext(op: Op, facts: TableFacts) -> bool:
    return facts.has_fulltext and any(d.rule.algorithm is Algorithm.INPLACE for d in facts.decisions)


def _instant_column_with_non_instant(op: Op, facts: TableFacts) -> bool:
    instant_column = any(
        d.op.kind in (ClauseKind.ADD_COLUMN, ClauseKind.DROP_COLUMN) and d.rule.algorithm is Algorithm.INSTANT
        for d in facts.decisions
    )
    return instant_column and any(d.rule.algorithm is not Algorithm.INSTANT for d in facts.decisions)


###### The rule table ######

MARIADB = FlavorRange(Vendor.MARIADB, (10, 6, 0))  # verified on 10.11
MYSQL = FlavorRange(Vendor.MYSQL, (8, 0, 0))
MYSQL_INSTANT = FlavorRange(Vendor.MYSQL, (8, 0, 12))  # ALGORITHM=INSTANT exists
MYSQL_INSTANT_LAST = FlavorRange(Vendor.MYSQL, (8, 0, 12), (8, 0, 29))  # instant ADD COLUMN only at the end
MYSQL_INSTANT_ANYWHERE = FlavorRange(Vendor.MYSQL, (8, 0, 29))  # instant ADD/DROP COLUMN anywhere

_KB = 'MariaDB KB "InnoDB Online DDL Operations with the {} Alter Algorithm"'
KB_INSTANT = _KB.format("INSTANT")
KB_NOCOPY = _KB.format("NOCOPY")
KB_INPLACE = _KB.format("INPLACE")
KB_OVERVIEW = 'MariaDB KB "InnoDB Online DDL Overview"'
KB_GENERATED = 'MariaDB KB "Generated (Virtual and Persistent/Stored) Columns", Statement Support'
KB_ALTER = 'MariaDB KB "ALTER TABLE", ALGORITHM and LOCK'
KB_PARTITIONS = 'MariaDB KB "Partition Maintenance" (ADD / REORGANIZE PARTITION)'
_MY = 'MySQL 8.0/8.4 Reference Manual 17.12.1 "Online DDL Operations", {}'
MY_INDEX = _MY.format("Index Operations")
MY_PK = _MY.format("Primary Key Operations")
MY_COLUMN = _MY.format("Column Operations")
MY_GENERATED = _MY.format("Generated Column Operations")
MY_FK = _MY.format("Foreign Key Operations")
MY_TABLE = _MY.format("Table Operations")
MY_PARTITION = _MY.format("Partitioning Operations")
MY_OVERVIEW = 'MySQL 8.0/8.4 Reference Manual 17.12 "InnoDB and Online DDL"'
CONSERVATIVE = "not in 17.12.1's tables: conservative"

K = ClauseKind
A = Algorithm
L = Lock

# MariaDB 10.11 refuses ALGORITHM=INPLACE for a change only COPY can do, yet takes INSTANT and
# NOCOPY without a word -- and copies.
_COPIES_ANYWAY = (Algorithm.INSTANT, Algorithm.NOCOPY)
_COPIES_NOTE = "10.11 refuses INPLACE here, but accepts INSTANT and NOCOPY and copies anyway"

# MariaDB metadata-only changes that every engine takes instantly (the .frm is rewritten).
_ANY_ENGINE_METADATA = (
    K.COLUMN_DEFAULT,
    K.COLUMN_ATTRIBUTE,
    K.RENAME_INDEX,
    K.INDEX_VISIBILITY,
    K.TABLE_COMMENT,
    K.DROP_CHECK,
)
_EVERY_KIND = tuple(k for k in ClauseKind if k is not K.STATEMENT)


def _row(
    id: str,
    flavors: FlavorRange,
    kinds: ClauseKind | tuple[ClauseKind, ...],
    condition: str,
    algorithm: Algorithm,
    lock: Lock,
    source: str,
    when: Condition = _always,
    **kw: object,
) -> Rule:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return Rule(id, flavors, kinds, condition, algorithm, lock, source, when, **kw)  # type: ignore[arg-type]


# fmt: off
RULES: tuple[Rule, ...] = (
    # ------------------------------------------------ MariaDB 10.6+ (InnoDB unless said)
    _row("mariadb.engine_change", MARIADB, K.ENGINE, "storage engine changes", A.COPY, L.SHARED, KB_OVERVIEW,
         ignores=_COPIES_ANYWAY, note=_COPIES_NOTE),
    _row("mariadb.partition_by", MARIADB, K.PARTITION_BY, "(re)partitioning", A.COPY, L.SHARED, KB_ALTER,
         ignores=_COPIES_ANYWAY, note=_COPIES_NOTE),
    _row("mariadb.remove_partitioning", MARIADB, K.REMOVE_PARTITIONING, "removing partitioning", A.COPY,
         L.SHARED, KB_ALTER, ignores=_COPIES_ANYWAY, note=_COPIES_NOTE),
    _row("mariadb.drop_partition", MARIADB, K.DROP_PARTITION, "DROP PARTITION: files dropped, no copy",
         A.NOCOPY, L.NONE, KB_ALTER, takes_algorithm=False,
         note="takes no ALGORITHM=/LOCK= (a syntax error), so the diff emits none"),
    _row("mariadb.add_partition", MARIADB, K.ADD_PARTITION,
         "ADD PARTITION (RANGE/LIST): a new empty partition, no existing row copied", A.NOCOPY, L.NONE,
         KB_PARTITIONS, takes_algorithm=False,
         note="takes no ALGORITHM=/LOCK= (a syntax error), so the diff emits none"),
    _row("mariadb.reorganize_partition", MARIADB, K.REORGANIZE_PARTITION,
         "REORGANIZE PARTITION: the rows of the named partitions are copied into the new ones (the other"
         " partitions are not touched)", A.COPY, L.SHARED, KB_PARTITIONS, takes_algorithm=False,
         note="takes no ALGORITHM=/LOCK= (a syntax error), so the diff emits none"),
    _row("mariadb.other_engine.metadata", MARIADB, _ANY_ENGINE_METADATA,
         "non-InnoDB table, metadata-only change", A.INSTANT, L.NONE, KB_ALTER, _not_innodb),
    _row("mariadb.other_engine.enum_append", MARIADB, K.COLUMN_TYPE,
         "non-InnoDB table, ENUM/SET values appended", A.INSTANT, L.NONE, KB_ALTER,
         lambda op, f: _not_innodb(op, f) and _enum_append(op)),
    _row("mariadb.other_engine.copy", MARIADB, _EVERY_KIND, "non-InnoDB table, any other change", A.COPY,
         L.SHARED, KB_ALTER, _not_innodb),
    # columns
    _row("mariadb.add_column.stored_generated", MARIADB, K.ADD_COLUMN, "adding a PERSISTENT generated column",
         A.COPY, L.SHARED, KB_GENERATED, _stored_generated),
    _row("mariadb.add_column.auto_increment", MARIADB, K.ADD_COLUMN, "adding an AUTO_INCREMENT column",
         A.INPLACE, L.SHARED, KB_INPLACE, lambda op, f: op.column is not None and op.column.auto_increment),
    _row("mariadb.add_column.virtual", MARIADB, K.ADD_COLUMN, "adding a VIRTUAL column", A.INSTANT, L.NONE,
         KB_GENERATED, _virtual),
    _row("mariadb.add_column.fulltext_table", MARIADB, K.ADD_COLUMN,
         "table has FULLTEXT (hidden FTS_DOC_ID): rebuilt", A.INPLACE, L.SHARED, KB_INSTANT, _fulltext_table),
    _row("mariadb.add_column.compressed", MARIADB, K.ADD_COLUMN, "ROW_FORMAT=COMPRESSED table: rebuilt",
         A.INPLACE, L.NONE, KB_INSTANT, _compressed),
    _row("mariadb.add_column.instant", MARIADB, K.ADD_COLUMN, "adding a column, any position", A.INSTANT,
         L.NONE, KB_INSTANT),
    _row("mariadb.drop_column.virtual", MARIADB, K.DROP_COLUMN, "dropping a VIRTUAL column", A.INSTANT,
         L.NONE, KB_GENERATED, _virtual),
    _row("mariadb.drop_column.fulltext_table", MARIADB, K.DROP_COLUMN,
         "table has FULLTEXT (hidden FTS_DOC_ID): rebuilt", A.INPLACE, L.SHARED, KB_INSTANT, _fulltext_table),
    _row("mariadb.drop_column.compressed", MARIADB, K.DROP_COLUMN, "ROW_FORMAT=COMPRESSED table: rebuilt",
         A.INPLACE, L.NONE, KB_INSTANT, _compressed),
    _row("mariadb.drop_column.instant", MARIADB, K.DROP_COLUMN, "dropping a column", A.INSTANT, L.NONE,
         KB_INSTANT, note="PERSISTENT generated columns too (server)"),
    _row("mariadb.move_column.generated", MARIADB, K.MOVE_COLUMN, "moving a generated column", A.COPY,
         L.SHARED, KB_GENERATED, _generated),
    _row("mariadb.move_column.fulltext_table", MARIADB, K.MOVE_COLUMN,
         "table has FULLTEXT (hidden FTS_DOC_ID): rebuilt", A.INPLACE, L.SHARED, KB_INSTANT, _fulltext_table),
    _row("mariadb.move_column.compressed", MARIADB, K.MOVE_COLUMN, "ROW_FORMAT=COMPRESSED table: rebuilt",
         A.INPLACE, L.NONE, KB_INSTANT, _compressed),
    _row("mariadb.move_column.instant", MARIADB, K.MOVE_COLUMN, "reordering columns", A.INSTANT, L.NONE,
         KB_INSTANT),
    _row("mariadb.column_type.auto_increment", MARIADB, K.COLUMN_TYPE, "making a column AUTO_INCREMENT",
         A.COPY, L.SHARED, KB_INPLACE, lambda op, f: _auto_increment_added(op)),
    _row("mariadb.column_type.virtual_expression", MARIADB, K.COLUMN_TYPE,
         "new expression of an unindexed VIRTUAL column", A.INSTANT, L.NONE, KB_GENERATED,
         _virtual_expression_only),
    _row("mariadb.column_type.enum_append", MARIADB, K.COLUMN_TYPE,
         "ENUM/SET values appended, storage size kept", A.INSTANT, L.NONE, KB_INSTANT,
         lambda op, f: _enum_append(op)),
    _row("mariadb.column_type.varchar_redundant", MARIADB, K.COLUMN_TYPE,
         "VARCHAR/VARBINARY made longer, ROW_FORMAT=REDUNDANT", A.INSTANT, L.NONE, KB_INSTANT,
         lambda op, f: _redundant(op, f) and _varchar_extension(op) is not None),
    _row("mariadb.column_type.varchar_extend", MARIADB, K.COLUMN_TYPE,
         "VARCHAR/VARBINARY made longer: not from 128-255 bytes to 256+", A.INSTANT, L.NONE, KB_INSTANT,
         _instant_varchar_extension, note="also with utf8mb3 -> utf8mb4 (server)"),
    _row("mariadb.column_type.utf8mb4", MARIADB, K.COLUMN_TYPE, "CHAR/TEXT from utf8mb3 to utf8mb4",
         A.INSTANT, L.NONE, KB_INSTANT, _utf8mb4_upgrade, note="server behaviour; the KB says nothing"),
    _row("mariadb.column_type.other", MARIADB, K.COLUMN_TYPE, "changing the data type or charset", A.COPY,
         L.SHARED, KB_INPLACE),
    _row("mariadb.column_collation.primary_key", MARIADB, K.COLUMN_COLLATION,
         "new collation of a PRIMARY KEY column", A.COPY, L.SHARED, KB_INPLACE, _column_in_pk),
    _row("mariadb.column_collation.fulltext", MARIADB, K.COLUMN_COLLATION,
         "new collation of a FULLTEXT-indexed column: index rebuilt", A.NOCOPY, L.SHARED, KB_NOCOPY,
         _column_in_fulltext),
    _row("mariadb.column_collation.indexed", MARIADB, K.COLUMN_COLLATION,
         "new collation of an indexed column: index rebuilt", A.NOCOPY, L.NONE, KB_NOCOPY, _column_indexed),
    _row("mariadb.column_collation.unindexed", MARIADB, K.COLUMN_COLLATION,
         "new collation of an unindexed column", A.INSTANT, L.NONE, KB_INSTANT),
    _row("mariadb.column_null.redundant", MARIADB, K.COLUMN_NULL, "NOT NULL -> NULL, ROW_FORMAT=REDUNDANT",
         A.INSTANT, L.NONE, KB_INSTANT, _redundant),
    _row("mariadb.column_null.rebuild", MARIADB, K.COLUMN_NULL, "NOT NULL -> NULL: rebuilt", A.INPLACE,
         L.NONE, KB_INPLACE),
    _row("mariadb.column_not_null", MARIADB, K.COLUMN_NOT_NULL, "NULL -> NOT NULL: rebuilt", A.INPLACE,
         L.NONE, KB_INPLACE),
    _row("mariadb.column_default", MARIADB, K.COLUMN_DEFAULT, "setting or dropping a column default",
         A.INSTANT, L.NONE, KB_INSTANT),
    _row("mariadb.column_attribute", MARIADB, K.COLUMN_ATTRIBUTE,
         "column comment, ON UPDATE, visibility, CHECK, AUTO_INCREMENT dropped", A.INSTANT, L.NONE,
         KB_INSTANT),
    # indexes
    _row("mariadb.add_index.primary", MARIADB, K.ADD_INDEX, "adding a PRIMARY KEY: rebuilt", A.INPLACE,
         L.NONE, KB_INPLACE, _index_kind(IndexKind.PRIMARY)),
    _row("mariadb.add_index.clustering", MARIADB, K.ADD_INDEX,
         "first UNIQUE NOT NULL key of a table without PK: InnoDB clusters on it", A.INPLACE, L.NONE,
         KB_INPLACE, _becomes_clustering),
    _row("mariadb.add_index.fulltext_first", MARIADB, K.ADD_INDEX,
         "first FULLTEXT index: rebuilt to add FTS_DOC_ID", A.INPLACE, L.SHARED, KB_NOCOPY, _first_fulltext),
    _row("mariadb.add_index.fulltext", MARIADB, K.ADD_INDEX, "another FULLTEXT index", A.NOCOPY, L.SHARED,
         KB_NOCOPY, _index_kind(IndexKind.FULLTEXT)),
    _row("mariadb.add_index.spatial", MARIADB, K.ADD_INDEX, "adding a SPATIAL index", A.NOCOPY, L.SHARED,
         KB_NOCOPY, _index_kind(IndexKind.SPATIAL)),
    _row("mariadb.add_index.secondary", MARIADB, K.ADD_INDEX, "adding a secondary index", A.NOCOPY, L.NONE,
         KB_NOCOPY),
    _row("mariadb.drop_index.primary_alone", MARIADB, K.DROP_INDEX,
         "dropping the PRIMARY KEY without adding one", A.COPY, L.SHARED, KB_INSTANT,
         _drops_primary_key_alone),
    _row("mariadb.drop_index.primary_replaced", MARIADB, K.DROP_INDEX,
         "replacing the PRIMARY KEY: rebuilt", A.INPLACE, L.NONE, KB_INPLACE, _index_kind(IndexKind.PRIMARY)),
    _row("mariadb.drop_index.clustering", MARIADB, K.DROP_INDEX,
         "dropping the UNIQUE key a table without PK is clustered on", A.COPY, L.SHARED, KB_INPLACE,
         _drops_clustering, note="server behaviour; the KB says nothing"),
    _row("mariadb.drop_index.secondary", MARIADB, K.DROP_INDEX, "dropping a secondary index", A.NOCOPY,
         L.NONE, KB_NOCOPY, note="the server refuses INSTANT (Reason: DROP INDEX)"),
    _row("mariadb.rename_index", MARIADB, K.RENAME_INDEX, "RENAME KEY", A.INSTANT, L.NONE, KB_INSTANT),
    _row("mariadb.index_visibility", MARIADB, K.INDEX_VISIBILITY, "ALTER INDEX [NOT] IGNORED", A.INSTANT,
         L.NONE, KB_INSTANT),
    _row("mariadb.rebuild_same_index", MARIADB, K.REBUILD_SAME_INDEX,
         "DROP + ADD of an index that differs only in name, comment or position", A.INSTANT, L.NONE,
         KB_INSTANT, note="server behaviour: it sees the pair as a rename/comment change"),
    # foreign keys and checks
    _row("mariadb.add_foreign_key.checks_on", MARIADB, K.ADD_FOREIGN_KEY,
         "ADD FOREIGN KEY with foreign_key_checks=1", A.COPY, L.SHARED, KB_NOCOPY, _fk_checks_on),
    _row("mariadb.add_foreign_key", MARIADB, K.ADD_FOREIGN_KEY,
         "ADD FOREIGN KEY with foreign_key_checks=0, index present", A.INSTANT, L.NONE, KB_NOCOPY,
         note="the KB says NOCOPY; the server takes INSTANT when the index exists"),
    _row("mariadb.drop_foreign_key", MARIADB, K.DROP_FOREIGN_KEY, "DROP FOREIGN KEY", A.INSTANT, L.NONE,
         KB_INSTANT),
    _row("mariadb.add_check", MARIADB, K.ADD_CHECK, "ADD CONSTRAINT CHECK: rows validated by a copy",
         A.COPY, L.SHARED, KB_INPLACE),
    _row("mariadb.drop_check", MARIADB, K.DROP_CHECK, "DROP CONSTRAINT (check)", A.INSTANT, L.NONE,
         KB_INSTANT),
    # table options
    _row("mariadb.auto_increment", MARIADB, K.AUTO_INCREMENT, "AUTO_INCREMENT=", A.INSTANT, L.NONE,
         KB_INSTANT),
    _row("mariadb.table_comment", MARIADB, K.TABLE_COMMENT, "table COMMENT", A.INSTANT, L.NONE, KB_INSTANT),
    _row("mariadb.table_charset", MARIADB, K.TABLE_CHARSET, "table default CHARACTER SET / COLLATE",
         A.INSTANT, L.NONE, KB_INSTANT, note="only the default for new columns changes"),
    _row("mariadb.table_option.rebuild", MARIADB, K.TABLE_OPTION,
         "ROW_FORMAT, KEY_BLOCK_SIZE, PAGE_COMPRESSED, ENCRYPTED: rebuilt", A.INPLACE, L.NONE, KB_INSTANT,
         _option("ROW_FORMAT", "KEY_BLOCK_SIZE", "PAGE_COMPRESSED", "ENCRYPTED"),
         note="the KB says PAGE_COMPRESSED=1 is INSTANT; 10.11 rebuilds"),
    _row("mariadb.table_option.metadata", MARIADB, K.TABLE_OPTION,
         "STATS_*, MIN/MAX_ROWS, AVG_ROW_LENGTH, CHECKSUM, PACK_KEYS, DELAY_KEY_WRITE, "
         "PAGE_COMPRESSION_LEVEL",
         A.INSTANT, L.NONE, KB_INSTANT,
         _option("STATS_PERSISTENT", "STATS_AUTO_RECALC", "STATS_SAMPLE_PAGES", "MIN_ROWS", "MAX_ROWS",
                 "AVG_ROW_LENGTH", "CHECKSUM", "PACK_KEYS", "DELAY_KEY_WRITE", "PAGE_COMPRESSION_LEVEL")),
    # combinations (judged over the whole statement)
    _row("mariadb.statement.instant_column_with_index", MARIADB, K.STATEMENT,
         "instant ADD/DROP/reorder of a stored column combined with building an index", A.INPLACE, L.NONE,
         KB_INSTANT, _instant_column_with_index_build,
         note="server behaviour: InnoDB cannot combine the two without a rebuild"),
    _row("mariadb.statement.rebuild_with_fulltext", MARIADB, K.STATEMENT,
         "a rebuild of a table with FULLTEXT needs LOCK=SHARED", A.INPLACE, L.SHARED, KB_NOCOPY,
         _rebuild_with_fulltext),
    # ------------------------------------------------ MySQL 8.0 / 8.4 (InnoDB), not verified here
    _row("mysql.engine_change", MYSQL, K.ENGINE, "storage engine changes", A.COPY, L.SHARED, MY_TABLE),
    _row("mysql.partition_by", MYSQL, K.PARTITION_BY, "PARTITION BY", A.COPY, L.SHARED, MY_PARTITION),
    _row("mysql.remove_partitioning", MYSQL, K.REMOVE_PARTITIONING, "REMOVE PARTITIONING", A.COPY,
         L.SHARED, MY_PARTITION),
    _row("mysql.drop_partition", MYSQL, K.DROP_PARTITION, "DROP PARTITION", A.NOCOPY, L.NONE, MY_PARTITION,
         takes_algorithm=False, note="the diff emits no ALGORITHM=/LOCK= for partition operations"),
    _row("mysql.add_partition", MYSQL, K.ADD_PARTITION, "ADD PARTITION (RANGE/LIST): no existing data copied",
         A.NOCOPY, L.NONE, MY_PARTITION, takes_algorithm=False,
         note="the diff emits no ALGORITHM=/LOCK= for partition operations"),
    _row("mysql.reorganize_partition", MYSQL, K.REORGANIZE_PARTITION,
         "REORGANIZE PARTITION: the named partitions' rows are copied; concurrent DML is not permitted",
         A.COPY, L.SHARED, MY_PARTITION, takes_algorithm=False,
         note="the diff emits no ALGORITHM=/LOCK= for partition operations"),
    _row("mysql.other_engine", MYSQL, _EVERY_KIND, "non-InnoDB table", A.COPY, L.SHARED, MY_OVERVIEW,
         _not_innodb, note="17.12 covers InnoDB only: conservative"),
    # columns
    _row("mysql.add_column.stored_generated", MYSQL, K.ADD_COLUMN, "adding a STORED generated column",
         A.COPY, L.SHARED, MY_GENERATED, _stored_generated),
    _row("mysql.add_column.auto_increment", MYSQL, K.ADD_COLUMN, "adding an AUTO_INCREMENT column",
         A.INPLACE, L.SHARED, MY_COLUMN, lambda op, f: op.column is not None and op.column.auto_increment),
    _row("mysql.add_column.virtual", MYSQL_INSTANT, K.ADD_COLUMN, "adding a VIRTUAL column", A.INSTANT,
         L.NONE, MY_GENERATED, _virtual),
    _row("mysql.add_column.virtual_inplace", MYSQL, K.ADD_COLUMN, "adding a VIRTUAL column (before 8.0.12)",
         A.NOCOPY, L.NONE, MY_GENERATED, _virtual),
    _row("mysql.add_column.not_instant", MYSQL, K.ADD_COLUMN,
         "FULLTEXT or COMPRESSED table, expression default, or over 1022 columns: rebuilt", A.INPLACE, L.NONE,
         MY_COLUMN,
         lambda op, f: _fulltext_table(op, f) or _compressed(op, f) or _expression_default(op, f)
         or _too_many_columns(op, f),
         note="the expression-default limit is server behaviour, not in the manual's list"),
    _row("mysql.add_column.instant", MYSQL_INSTANT_ANYWHERE, K.ADD_COLUMN, "adding a column, any position",
         A.INSTANT, L.NONE, MY_COLUMN),
    _row("mysql.add_column.instant_last", MYSQL_INSTANT_LAST, K.ADD_COLUMN, "adding a column at the end",
         A.INSTANT, L.NONE, MY_COLUMN, _at_end),
    _row("mysql.add_column.inplace", MYSQL, K.ADD_COLUMN, "adding a column: rebuilt", A.INPLACE, L.NONE,
         MY_COLUMN),
    _row("mysql.drop_column.virtual", MYSQL_INSTANT, K.DROP_COLUMN, "dropping a VIRTUAL column", A.INSTANT,
         L.NONE, MY_GENERATED, _virtual),
    _row("mysql.drop_column.not_instant", MYSQL, K.DROP_COLUMN,
         "STORED generated, indexed, or in a FULLTEXT/COMPRESSED table: rebuilt", A.INPLACE, L.NONE,
         MY_COLUMN,
         lambda op, f: _stored_generated(op, f) or _column_indexed(op, f) or _fulltext_table(op, f)
         or _compressed(op, f)),
    _row("mysql.drop_column.instant", MYSQL_INSTANT_ANYWHERE, K.DROP_COLUMN, "dropping a column", A.INSTANT,
         L.NONE, MY_COLUMN),
    _row("mysql.drop_column.inplace", MYSQL, K.DROP_COLUMN, "dropping a column: rebuilt", A.INPLACE, L.NONE,
         MY_COLUMN),
    _row("mysql.move_column.generated", MYSQL, K.MOVE_COLUMN, "moving a generated column", A.COPY, L.SHARED,
         MY_GENERATED, _generated),
    _row("mysql.move_column", MYSQL, K.MOVE_COLUMN, "reordering columns: rebuilt", A.INPLACE, L.NONE,
         MY_COLUMN),
    _row("mysql.column_type.enum_append", MYSQL_INSTANT, K.COLUMN_TYPE,
         "ENUM/SET values appended, storage size kept", A.INSTANT, L.NONE, MY_COLUMN,
         lambda op, f: _enum_append(op)),
    _row("mysql.column_type.varchar_extend", MYSQL, K.COLUMN_TYPE,
         "VARCHAR made longer, length prefix size kept (255-byte boundary)", A.NOCOPY, L.NONE, MY_COLUMN,
         lambda op, f: _same_length_bytes(op)),
    _row("mysql.column_type.other", MYSQL, K.COLUMN_TYPE, "changing the column data type", A.COPY, L.SHARED,
         MY_COLUMN),
    _row("mysql.column_collation", MYSQL, K.COLUMN_COLLATION, "changing the column collation", A.COPY,
         L.SHARED, MY_COLUMN, note="a collation change is a data type change there"),
    _row("mysql.column_null", MYSQL, K.COLUMN_NULL, "making a column NULL: rebuilt", A.INPLACE, L.NONE,
         MY_COLUMN),
    _row("mysql.column_not_null", MYSQL, K.COLUMN_NOT_NULL, "making a column NOT NULL: rebuilt", A.INPLACE,
         L.NONE, MY_COLUMN),
    _row("mysql.column_default", MYSQL_INSTANT, K.COLUMN_DEFAULT, "setting or dropping a column default",
         A.INSTANT, L.NONE, MY_COLUMN),
    _row("mysql.column_attribute", MYSQL, (K.COLUMN_DEFAULT, K.COLUMN_ATTRIBUTE),
         "column comment, ON UPDATE, visibility, CHECK, name case", A.NOCOPY, L.NONE, MY_COLUMN,
         note=CONSERVATIVE),
    # indexes
    _row("mysql.add_index.primary", MYSQL, K.ADD_INDEX, "adding a PRIMARY KEY: rebuilt", A.INPLACE, L.NONE,
         MY_PK, _index_kind(IndexKind.PRIMARY)),
    _row("mysql.add_index.fulltext_first", MYSQL, K.ADD_INDEX, "first FULLTEXT index: rebuilt", A.INPLACE,
         L.SHARED, MY_INDEX, _first_fulltext),
    _row("mysql.add_index.fulltext", MYSQL, K.ADD_INDEX, "another FULLTEXT index", A.NOCOPY, L.SHARED,
         MY_INDEX, _index_kind(IndexKind.FULLTEXT)),
    _row("mysql.add_index.spatial", MYSQL, K.ADD_INDEX, "adding a SPATIAL index", A.NOCOPY, L.SHARED,
         MY_INDEX, _index_kind(IndexKind.SPATIAL)),
    _row("mysql.add_index.secondary", MYSQL, K.ADD_INDEX, "adding a secondary index", A.NOCOPY, L.NONE,
         MY_INDEX),
    _row("mysql.drop_index.primary_alone", MYSQL, K.DROP_INDEX, "dropping the PRIMARY KEY without adding one",
         A.COPY, L.SHARED, MY_PK, _drops_primary_key_alone),
    _row("mysql.drop_index.primary_replaced", MYSQL, K.DROP_INDEX, "replacing the PRIMARY KEY: rebuilt",
         A.INPLACE, L.NONE, MY_PK, _index_kind(IndexKind.PRIMARY)),
    _row("mysql.drop_index.secondary", MYSQL, K.DROP_INDEX, "dropping an index", A.NOCOPY, L.NONE, MY_INDEX),
    _row("mysql.rename_index", MYSQL, K.RENAME_INDEX, "renaming an index", A.NOCOPY, L.NONE, MY_INDEX),
    _row("mysql.index_visibility", MYSQL, K.INDEX_VISIBILITY, "ALTER INDEX [IN]VISIBLE", A.NOCOPY, L.NONE,
         MY_INDEX, note=CONSERVATIVE),
    _row("mysql.rebuild_same_index", MYSQL, K.REBUILD_SAME_INDEX, "DROP + ADD of an index", A.NOCOPY, L.NONE,
         MY_INDEX),
    # foreign keys and checks
    _row("mysql.add_foreign_key.checks_on", MYSQL, K.ADD_FOREIGN_KEY, "ADD FOREIGN KEY, foreign_key_checks=1",
         A.COPY, L.SHARED, MY_FK, _fk_checks_on),
    _row("mysql.add_foreign_key", MYSQL, K.ADD_FOREIGN_KEY, "ADD FOREIGN KEY, foreign_key_checks=0",
         A.NOCOPY, L.NONE, MY_FK),
    _row("mysql.drop_foreign_key", MYSQL, K.DROP_FOREIGN_KEY, "DROP FOREIGN KEY", A.NOCOPY, L.NONE, MY_FK),
    _row("mysql.add_check", MYSQL, (K.ADD_CHECK, K.ALTER_CHECK), "ADD CHECK / ALTER CHECK: rows validated",
         A.COPY, L.SHARED, MY_TABLE, note=CONSERVATIVE),
    _row("mysql.drop_check", MYSQL, K.DROP_CHECK, "DROP CHECK", A.NOCOPY, L.NONE, MY_TABLE,
         note=CONSERVATIVE),
    # table options
    _row("mysql.auto_increment", MYSQL, K.AUTO_INCREMENT, "changing the auto-increment value", A.NOCOPY,
         L.NONE, MY_COLUMN),
    _row("mysql.table_comment", MYSQL, K.TABLE_COMMENT, "table COMMENT", A.NOCOPY, L.NONE, MY_TABLE,
         note=CONSERVATIVE),
    _row("mysql.table_charset.rebuild", MYSQL, K.TABLE_CHARSET, "specifying a new character set: rebuilt",
         A.INPLACE, L.NONE, MY_TABLE, _charset_changes),
    _row("mysql.table_charset", MYSQL, K.TABLE_CHARSET, "specifying a new collation", A.NOCOPY, L.NONE,
         MY_TABLE),
    _row("mysql.table_option.rebuild", MYSQL, K.TABLE_OPTION, "ROW_FORMAT, KEY_BLOCK_SIZE: rebuilt",
         A.INPLACE, L.NONE, MY_TABLE, _option("ROW_FORMAT", "KEY_BLOCK_SIZE")),
    _row("mysql.table_option.stats", MYSQL, K.TABLE_OPTION, "persistent statistics options", A.NOCOPY,
         L.NONE, MY_TABLE, _option("STATS_PERSISTENT", "STATS_AUTO_RECALC", "STATS_SAMPLE_PAGES")),
    # combinations
    _row("mysql.statement.instant_column_mixed", MYSQL, K.STATEMENT,
         "instant ADD/DROP COLUMN combined with a non-instant change: rebuilt", A.INPLACE, L.NONE, MY_COLUMN,
         _instant_column_with_non_instant),
)
# fmt: on

NO_RULE = Rule(
    "none",
    FlavorRange(Vendor.UNKNOWN, (0, 0, 0)),
    _EVERY_KIND,
    "no rule for this change on this flavor: assumed to copy",
    Algorithm.COPY,
    Lock.SHARED,
    "",
    _always,
)
"""What an unknown change (or flavor) is taken to cost."""


###### Breaking clauses into ops ######


def _ops(clause: AlterClause, mods: StatementModifiers) -> Iterator[Op]:
    text = clause.clause(mods)
    if not text:
        return
    if isinstance(clause, ModifyColumn):
        yield from _modify_column_ops(clause, text)
    elif isinstance(clause, ModifyIndex):
        if clause.rebuilds(mods) and indexes_equivalent(clause.before, clause.after):
            yield Op(K.REBUILD_SAME_INDEX, text, clause, index=clause.after)
            return
        for part in clause.parts(mods):
            yield from _ops(part, mods)
    elif isinstance(clause, ChangeCreateOptions):
        old, new = split_create_options(clause.before), split_create_options(clause.after)
        for key in list(old) + [k for k in new if k not in old]:
            if old.get(key) != new.get(key):
                name = key.strip("`").upper()
                yield Op(K.TABLE_OPTION, f"{key}={new.get(key, 'DEFAULT')}", clause, option=name)
    elif isinstance(clause, AddColumn):
        yield Op(K.ADD_COLUMN, text, clause, column=clause.column)
    elif isinstance(clause, DropColumn):
        yield Op(K.DROP_COLUMN, text, clause, column=clause.column)
    elif isinstance(clause, ModifyPartitions):
        if clause.drop and clause.into:
            yield Op(K.REORGANIZE_PARTITION, text, clause)
        else:
            yield Op(K.ADD_PARTITION if clause.into else K.DROP_PARTITION, text, clause)
    elif isinstance(clause, AddIndex | DropIndex):
        yield Op(
            K.ADD_INDEX if isinstance(clause, AddIndex) else K.DROP_INDEX, text, clause, index=clause.index
        )
    else:
        yield Op(_SIMPLE_KINDS[type(clause)], text, clause)


_SIMPLE_KINDS: dict[type, ClauseKind] = {
    RenameIndex: K.RENAME_INDEX,
    AlterIndexVisibility: K.INDEX_VISIBILITY,
    AddForeignKey: K.ADD_FOREIGN_KEY,
    DropForeignKey: K.DROP_FOREIGN_KEY,
    AddCheck: K.ADD_CHECK,
    DropCheck: K.DROP_CHECK,
    AlterCheck: K.ALTER_CHECK,
    ChangeEngine: K.ENGINE,
    ChangeAutoIncrement: K.AUTO_INCREMENT,
    ChangeComment: K.TABLE_COMMENT,
    ChangeCharSet: K.TABLE_CHARSET,
    ChangeSystemVersioning: K.SYSTEM_VERSIONING,
    PartitionBy: K.PARTITION_BY,
    RemovePartitioning: K.REMOVE_PARTITIONING,
    ModifyPartitions: K.DROP_PARTITION,
}


def _modify_column_ops(clause: ModifyColumn, text: str) -> Iterator[Op]:
    old, new = clause.before, clause.after

    def op(kind: ClauseKind) -> Op:
        return Op(kind, text, clause, column=new, old_column=old)

    found = False
    if clause.moves:
        found = True
        yield op(K.MOVE_COLUMN)
    type_changes = (
        not ColumnType.parse(old.type).equivalent(ColumnType.parse(new.type))
        or not charsets_equivalent(old.char_set, new.char_set)
        or old.compressed != new.compressed
        or _generation(old) != _generation(new)
        or (new.auto_increment and not old.auto_increment)
    )
    if type_changes:
        found = True
        yield op(K.COLUMN_TYPE)
    if _utf8mb4_spelling(old.collation) != _utf8mb4_spelling(new.collation):
        found = True
        yield op(K.COLUMN_COLLATION)
    if old.nullable != new.nullable and new.generated is None:
        found = True
        yield op(K.COLUMN_NULL if new.nullable else K.COLUMN_NOT_NULL)
    if old.default != new.default and new.generated is None:
        found = True
        yield op(K.COLUMN_DEFAULT)
    attributes = (old.on_update, old.comment, old.invisible, old.check_clause, old.name) != (
        new.on_update,
        new.comment,
        new.invisible,
        new.check_clause,
        new.name,
    )
    if attributes or (old.auto_increment and not new.auto_increment) or not found:
        yield op(K.COLUMN_ATTRIBUTE)  # also a MODIFY with nothing else to say (cosmetics)


###### Prediction ######


def _rule_for(op: Op, facts: TableFacts) -> Rule:
    for rule in RULES:
        if op.kind in rule.kinds and rule.flavors.contains(facts.flavor) and rule.when(op, facts):
            return rule
    return NO_RULE


def _facts(
    live: Table, desired: Table | None, flavor: Flavor, fk_checks: bool, ops: tuple[Op, ...], fulltext: bool
) -> TableFacts:
    secondary = live.secondary_indexes
    return TableFacts(
        flavor=flavor,
        live=live,
        desired=desired,
        engine=live.engine,
        row_format=_row_format(live),
        has_fulltext=fulltext or any(i.kind is IndexKind.FULLTEXT for i in secondary),
        clustering_index=_clustering_index(live),
        pk_columns=_index_columns((live.primary_key,) if live.primary_key else ()),
        indexed_columns=_index_columns(secondary),
        fulltext_columns=_index_columns(tuple(i for i in secondary if i.kind is IndexKind.FULLTEXT)),
        foreign_key_checks=fk_checks,
        ops=ops,
    )


def _predict(statement: str, facts: TableFacts) -> Prediction:
    decisions = tuple(Decision(op, _rule_for(op, facts)) for op in facts.ops)
    top = max(decisions, key=lambda d: d.rule.algorithm)  # the first of the most expensive
    rule, clause = top.rule, top.op.sql
    applied = [d.rule for d in decisions]
    if rule.takes_algorithm and rule is not NO_RULE:
        judged, statement_op = replace(facts, decisions=decisions), Op(K.STATEMENT, "")
        for row in RULES:
            if K.STATEMENT not in row.kinds or not row.flavors.contains(facts.flavor):
                continue
            if row.when(statement_op, judged):
                applied.append(row)
                if row.algorithm > rule.algorithm:
                    rule, clause = row, " + ".join(dict.fromkeys(d.op.sql for d in decisions))
    lock = max(r.lock for r in applied)
    lock_rule = rule if rule.lock == lock else next(r for r in applied if r.lock == lock)
    return Prediction(statement, rule.algorithm, lock, rule, clause, lock_rule, decisions)


def predict_alter(
    diff: TableDiff, mods: StatementModifiers, *, foreign_key_checks: bool = False
) -> list[Prediction]:
    """One prediction per statement of `diff.statements(mods)`, in the same order.

    The live table is `diff.before`.  `foreign_key_checks` is the DDL session's
    setting (schemad's executor, like Skeema, runs DDL with it off).  When the
    modifiers carry alter-algorithm / alter-lock, each prediction's `forced`
    says what the server makes of them.  Non-ALTER or unsupported diffs: [].
    """
    if diff.kind is not DiffKind.ALTER or not diff.supported or diff.before is None:
        return []
    live, flavor = diff.before, mods.flavor
    out: list[Prediction] = []
    fulltext_added = False  # an earlier statement of this diff added a FULLTEXT index
    # TableDiff's own parts, so that predictions pair with statements() one to one.
    for part in diff.alter_parts(mods):
        ops = tuple(op for clause in part.clauses for op in _ops(clause, part.mods))
        facts = _facts(live, diff.after, flavor, foreign_key_checks, ops, fulltext_added)
        prediction = _predict(part.statement, facts)
        if mods.alter_algorithm or mods.alter_lock:
            prediction = replace(
                prediction, forced=check_forced(prediction, flavor, mods.alter_algorithm, mods.alter_lock)
            )
        out.append(prediction)
        fulltext_added = fulltext_added or any(
            op.kind is K.ADD_INDEX and op.index is not None and op.index.kind is IndexKind.FULLTEXT
            for op in ops
        )
    return out


###### alter-algorithm / alter-lock ######

_REQUEST_RANK = {"instant": Algorithm.INSTANT, "nocopy": Algorithm.NOCOPY, "inplace": Algorithm.INPLACE}


def check_forced(prediction: Prediction, flavor: Flavor, algorithm: str = "", lock: str = "") -> Forced:
    """What the server does with `ALGORITHM=<algorithm>, LOCK=<lock>` prepended to the statement.

    On both vendors ALGORITHM= names the least efficient algorithm accepted:
    anything at or above the predicted cost runs, anything cheaper is refused
    (errors 1845/1846), except COPY, which always copies.  MySQL has no NOCOPY
    (a syntax error) and its INPLACE may rebuild where INSTANT would not; it
    allows only LOCK=DEFAULT with INSTANT.  LOCK= names the most restrictive
    lock acceptable: refused when the algorithm actually used needs more.
    """
    algo, lk = algorithm.lower(), lock.lower()
    if algo not in ("", "default", "copy", *_REQUEST_RANK):
        raise ValueError(f"invalid alter-algorithm {algorithm!r}")
    if lk not in ("", "default", "none", "shared", "exclusive"):
        raise ValueError(f"invalid alter-lock {lock!r}")
    algo = "" if algo == "default" else algo
    lk = "" if lk == "default" else lk
    if not algo and not lk:
        return Forced(algorithm, lock, False, "")
    if not prediction.rule.takes_algorithm:
        return Forced(algorithm, lock, False, "not applied: the diff omits ALGORITHM=/LOCK= here")
    notes: list[str] = []
    used, needed_lock = prediction.algorithm, prediction.lock
    if algo:
        if algo == "nocopy" and not flavor.is_mariadb:
            return Forced(algorithm, lock, True, "MySQL has no ALGORITHM=NOCOPY (syntax error)")
        if algo == "copy":
            if prediction.algorithm < Algorithm.COPY:
                notes.append(f"forces a table copy where {prediction.algorithm.label} would do")
            used = Algorithm.COPY
        else:
            rank = _REQUEST_RANK[algo]
            if algo == "inplace" and not flavor.is_mariadb:
                rank = Algorithm.INPLACE  # MySQL's INPLACE covers both in-place kinds
            if prediction.algorithm > rank:
                if rank not in prediction.rule.ignores:
                    return Forced(
                        algorithm,
                        lock,
                        True,
                        f"ALGORITHM={algo.upper()} is not supported: {prediction.reason}",
                    )
                notes.append(
                    f"ALGORITHM={algo.upper()} is ignored: the server runs {prediction.algorithm.label}"
                )
            elif algo == "inplace" and not flavor.is_mariadb and prediction.algorithm is Algorithm.INSTANT:
                used = Algorithm.INPLACE
                notes.append("MySQL runs it INPLACE (possibly rebuilding) instead of INSTANT")
        if used is Algorithm.COPY:
            needed_lock = max(needed_lock, Lock.SHARED)  # COPY blocks writes (KB overview; 17.12.2)
    if lk:
        if not flavor.is_mariadb and used is Algorithm.INSTANT:
            if algo:
                return Forced(algorithm, lock, True, "MySQL allows only LOCK=DEFAULT with ALGORITHM=INSTANT")
            notes.append(f"with LOCK={lk.upper()} MySQL runs it INPLACE instead of INSTANT")
        elif Lock[lk.upper()] < needed_lock:
            return Forced(
                algorithm,
                lock,
                True,
                f"LOCK={lk.upper()} is not supported: {used.label} needs LOCK={needed_lock.name} "
                f"[{prediction.lock_rule.id if used is prediction.algorithm else 'copy'}]",
            )
    return Forced(algorithm, lock, False, "; ".join(notes))
