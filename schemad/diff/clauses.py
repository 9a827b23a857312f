"""ALTER TABLE clauses: one small frozen type per clause, joined in `AlterClause`.

Each clause knows its SQL, `clause(mods)`, which returns "" when the
modifiers suppress it (a cosmetic-only change without exact-match, a comment
under lax-comments, a partitioning change the `partitioning` mode does not
apply...), and its danger, `unsafe(mods)`, which returns the reason it may
lose data or None.  Reasons are reported whatever `allow_unsafe` says: the
planner decides what to do with them (allow-unsafe, safe-below-size).

The safety rules are Skeema's (table_alter_clause.go, ModifyColumn.Unsafe),
plus two of schemad's: a generated column that changes kind is dropped and
re-added (DropColumn.replaced_by), and a column renamed by a `@renamed`
annotation in the file becomes RENAME COLUMN / CHANGE COLUMN (ModifyColumn
whose two sides differ in name).  Renames are never inferred here: the
differ pairs the columns.  Pure code: no I/O, no config reading.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from schemad import lazyre
from schemad.diff.modifiers import PartitioningMode, StatementModifiers
from schemad.model.column import Column
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import Flavor
from schemad.model.index import Index
from schemad.model.keys import escape_identifier, escape_string
from schemad.model.partition import Partition, Partitioning
from schemad.records import dataclass

# Bytes per character, for comparing string lengths across types.  Charset
# changes are unsafe anyway, so this only has to rank char/varchar against
# the *text types of the same charset.  Unknown charsets count as 1.
CHARSET_MAX_BYTES: dict[str, int] = {
    "big5": 2,
    "cp932": 2,
    "eucjpms": 3,
    "euckr": 2,
    "gb18030": 4,
    "gb2312": 2,
    "gbk": 2,
    "sjis": 2,
    "ucs2": 2,
    "ujis": 3,
    "utf16": 4,
    "utf16le": 4,
    "utf32": 4,
    "utf8": 3,
    "utf8mb3": 3,
    "utf8mb4": 4,
}


def charset_max_bytes(charset: str | None) -> int:
    """Maximum bytes of one character (latin1, ascii, binary and other 8-bit sets: 1)."""
    return CHARSET_MAX_BYTES.get(charset or "", 1)


def _normalize_utf8(name: str | None) -> str:
    # "utf8" became "utf8mb3" (MariaDB 10.6, MySQL 8.0.29); both spellings are one charset.
    text = name or ""
    if text == "utf8" or text.startswith("utf8_"):
        return "utf8mb3" + text[4:]
    return text


def charsets_equivalent(a: str | None, b: str | None) -> bool:
    return _normalize_utf8(a) == _normalize_utf8(b)


###### Column types (parsed on demand from the server's spelling) ######

_COMPRESSED_RE = lazyre.compile(r"\s*/\*M!100301 COMPRESSED\*/")
_INT_RANGES: dict[str, tuple[int, int]] = {
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "mediumint": (-(2**23), 2**23 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_TEXT_BYTES = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295}
_BLOB_BYTES = {"tinyblob": 255, "blob": 65535, "mediumblob": 16777215, "longblob": 4294967295}


class ColumnType(NamedTuple):
    """A column type split into parts: `decimal(10,2) unsigned` -> base, size, scale, unsigned."""

    base: str
    size: int = 0  # length, display width, precision or fsp, by base; 0 = not given
    scale: int = 0
    unsigned: bool = False
    zerofill: bool = False
    values: str = ""  # enum/set value list as printed, without the outer parentheses
    text: str = ""  # the whole spelling, compression marker removed

    @classmethod
    def parse(cls, spelling: str) -> ColumnType:
        text = _COMPRESSED_RE.sub("", spelling).strip()
        rest = text
        zerofill = rest.endswith(" zerofill")
        rest = rest.removesuffix(" zerofill")
        unsigned = rest.endswith(" unsigned")
        rest = rest.removesuffix(" unsigned")
        base, paren, args = rest.partition("(")
        if not paren:
            return cls(base.strip(), unsigned=unsigned, zerofill=zerofill, text=text)
        args = args[: args.rfind(")")] if ")" in args else args
        if base in ("enum", "set"):
            return cls(base, values=args, text=text)
        size_text, _, scale_text = args.partition(",")
        return cls(
            base,
            size=int(size_text) if size_text.strip().isdigit() else 0,
            scale=int(scale_text) if scale_text.strip().isdigit() else 0,
            unsigned=unsigned,
            zerofill=zerofill,
            text=text,
        )

    @property
    def int_range(self) -> tuple[int, int] | None:
        rng = _INT_RANGES.get(self.base)
        if rng is None:
            return None
        return (0, rng[1] - rng[0]) if self.unsigned else rng

    @property
    def has_display_width(self) -> bool:
        return self.size > 0 and (self.base in _INT_RANGES or self.base == "year")

    def string_max_bytes(self, charset: str | None) -> int | None:
        if self.base in _TEXT_BYTES:
            return _TEXT_BYTES[self.base]
        if self.base in ("char", "varchar"):
            return self.size * charset_max_bytes(charset)
        return None

    def binary_max_bytes(self) -> int | None:
        if self.base in _BLOB_BYTES:
            return _BLOB_BYTES[self.base]
        if self.base in ("binary", "varbinary"):
            return self.size
        if self.base == "vector":  # MariaDB 11.7+: 4-byte floats
            return self.size * 4
        return None

    def equivalent(self, other: ColumnType) -> bool:
        """Identical, or differing only in whether an int/year display width is shown."""
        if (self.base, self.unsigned, self.zerofill, self.scale, self.values) != (
            other.base,
            other.unsigned,
            other.zerofill,
            other.scale,
            other.values,
        ):
            return False
        return self.size == other.size or self.has_display_width != other.has_display_width


def columns_equivalent(a: Column, b: Column) -> bool:
    """Equal, or differing only cosmetically (int display width shown on one side only)."""
    if a == b:
        return True
    ta, tb = ColumnType.parse(a.type), ColumnType.parse(b.type)
    if ta == tb or not ta.equivalent(tb):
        return False
    return replace(a, type=b.type) == b


def _position(first: bool, after: str | None) -> str:
    if first:
        return " FIRST"
    if after is not None:
        return " AFTER " + escape_identifier(after)
    return ""


###### ChangeCharSet ######


@dataclass(frozen=True, slots=True)
class ChangeCharSet:
    """A change of the table's default character set and/or collation."""

    before_char_set: str
    before_collation: str
    char_set: str
    collation: str

    def clause(self, mods: StatementModifiers) -> str:
        # Each collation names its charset; utf8_/utf8mb3_ spellings differ only across versions.
        if _normalize_utf8(self.before_collation) == _normalize_utf8(self.collation):
            return ""
        return f"DEFAULT CHARACTER SET = {self.char_set} COLLATE = {self.collation}"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None  # existing columns keep their charset; only new defaults change


###### Columns ######


@dataclass(frozen=True, slots=True)
class DropColumn:
    """DROP COLUMN; with `replaced_by`, the first half of a column re-added under another kind.

    MODIFY cannot turn a VIRTUAL column into a STORED one or back, nor a
    regular column into a generated one or back (MariaDB error 1907, "This is
    not yet supported for generated columns"; MySQL refuses most of them
    too), so such a column is dropped and re-added in the same ALTER.
    """

    column: Column
    replaced_by: Column | None = None  # the desired column re-added in the same ALTER (a kind switch)

    def clause(self, mods: StatementModifiers) -> str:
        return "DROP COLUMN " + escape_identifier(self.column.name)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        old, new, name = self.column, self.replaced_by, escape_identifier(self.column.name)
        if new is not None:
            if old.generated is not None and new.generated is not None:
                return None  # VIRTUAL <-> STORED: the server computes the values again
            if old.generated is None:
                return f"column {name} would be dropped: it becomes a generated column"
            # Its values were computed; re-added as a regular column it starts out empty
            # (NULL or its default), which is not what keeping the column would suggest.
            return f"generated column {name} becomes a regular column: its values would not be kept"
        # A virtual column holds no data: dropping it is trivially undone.
        if old.is_virtual:
            return None
        return f"column {name} would be dropped"


@dataclass(frozen=True, slots=True)
class AddColumn:
    column: Column
    table_collation: str  # the desired table's default, which decides the CHARACTER SET clause
    first: bool = False
    after: str | None = None  # name of the column it follows; None with first=False = at the end

    def clause(self, mods: StatementModifiers) -> str:
        definition = self.column.definition(mods.flavor, self.table_collation)
        return "ADD COLUMN " + definition + _position(self.first, self.after)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


def _supports_rename_column(flavor: Flavor) -> bool:
    return flavor.min_mysql(8) or flavor.min_mariadb(10, 5)


@dataclass(frozen=True, slots=True)
class ModifyColumn:
    """A column present on both sides whose definition, position and/or name changed.

    The two sides differ in name only when the file renamed the column with a
    `@renamed from=` annotation: then it renders as `RENAME COLUMN` (MySQL 8.0+,
    MariaDB 10.5+) when nothing else changes, else as `CHANGE COLUMN`, which
    keeps the data and is unsafe only when the type change is.
    """

    before: Column
    after: Column
    table_collation: str
    first: bool = False
    position_after: str | None = None  # set only when the column moves
    in_unique_index: bool = False  # in a unique index/PK present (by name) on both sides

    @property
    def moves(self) -> bool:
        return self.first or self.position_after is not None

    @property
    def renames(self) -> bool:
        """The column gets another name (not just another letter case)."""
        return self.before.name.lower() != self.after.name.lower()

    def clause(self, mods: StatementModifiers) -> str:
        before = self.before
        if mods.lax_comments and before.comment != self.after.comment:
            # A comment alone never triggers a MODIFY; if one is emitted anyway it carries the new comment.
            before = replace(before, comment=self.after.comment)
            if not self.moves and before == self.after:
                return ""
        if self.moves and mods.lax_column_order and before == self.after:
            return ""
        if (
            not mods.column_cosmetics_count
            and (not self.moves or mods.lax_column_order)
            and columns_equivalent(before, self.after)
        ):
            return ""
        definition = self.after.definition(mods.flavor, self.table_collation)
        position = _position(self.first, self.position_after)
        if self.renames:
            old, new = escape_identifier(self.before.name), escape_identifier(self.after.name)
            if (
                not self.moves
                and _supports_rename_column(mods.flavor)
                and replace(self.before, name=self.after.name) == self.after
            ):
                return f"RENAME COLUMN {old} TO {new}"
            return f"CHANGE COLUMN {old} {definition}{position}"
        return "MODIFY COLUMN " + definition + position

    def unsafe(self, mods: StatementModifiers) -> str | None:
        old, new = self.before, self.after
        name = escape_identifier(old.name)
        generic = f"modification to column {name} may require lossy data conversion"
        if old.is_virtual:  # nothing stored, nothing to lose
            return None
        # Only a text-to-text change can re-encode; a change of type family is judged below
        # (where MariaDB's varchar(39) -> inet6 and the like are safe).
        if old.char_set and new.char_set and not charsets_equivalent(old.char_set, new.char_set):
            return generic
        if self.in_unique_index and _normalize_utf8(old.collation) != _normalize_utf8(new.collation):
            return f"collation change for column {name} affects equality comparisons in unique index"
        return _type_change_unsafe(name, old, new, mods.flavor, generic)


def _type_change_unsafe(name: str, old: Column, new: Column, flavor: Flavor, generic: str) -> str | None:
    ot, nt = ColumnType.parse(old.type), ColumnType.parse(new.type)
    if ot.equivalent(nt):
        return None

    # Size or attribute changes within one base type (float -> double counts as one).
    if ot.base == nt.base or (ot.base == "float" and nt.base == "double"):
        if ot.base == "decimal":
            if nt.size < ot.size or nt.scale < ot.scale or (nt.unsigned and not ot.unsigned):
                return generic
            return None
        if ot.base in ("bit", "time", "timestamp", "datetime"):
            return generic if nt.size < ot.size else None  # bit length or fractional seconds
        if ot.base in ("enum", "set"):
            # Only appending keeps the numeric value of every existing member.
            if nt.values != ot.values and not nt.values.startswith(ot.values + ","):
                return (
                    f"modification to column {name}'s {ot.base} value list may require careful "
                    "coordination with application-side query changes"
                )
            return None
        if ot.base in ("float", "double"):
            # No (M,D) means the hardware maximum: going to it is safe, leaving it is not.
            if nt.unsigned and not ot.unsigned:
                return generic
            if nt.size == 0:
                return None
            if ot.size == 0 or nt.size < ot.size or nt.scale < ot.scale:
                return generic
            return None

    # Integers: the new range must cover the old one (signed <-> unsigned included).
    old_range, new_range = ot.int_range, nt.int_range
    if old_range is not None and new_range is not None:
        if old_range[0] < new_range[0] or old_range[1] > new_range[1]:
            return generic
        return None

    # char/varchar/*text: compare maximum bytes.
    old_bytes, new_bytes = ot.string_max_bytes(old.char_set), nt.string_max_bytes(new.char_set)
    if old_bytes is not None and new_bytes is not None:
        return generic if new_bytes < old_bytes else None

    # MariaDB convenience types convert losslessly to/from their binary or text spelling.
    if (
        _conversion_between(ot, nt, "inet6", "binary(16)", "char(39)", "varchar(39)")
        or _conversion_between(ot, nt, "inet4", "binary(4)", "char(15)", "varchar(15)")
        or _conversion_between(
            ot, nt, "uuid", "binary(16)", "char(32)", "varchar(32)", "char(36)", "varchar(36)"
        )
    ):
        return None
    if ot.base == "inet4" and nt.base == "inet6" and flavor.min_mariadb(11, 3):
        return None

    # binary/varbinary/*blob/vector: shrinking is unsafe, and so is any change to or
    # from fixed binary(n) (right zero-padding changes big-endian values), vectors aside.
    old_bin, new_bin = ot.binary_max_bytes(), nt.binary_max_bytes()
    if old_bin is not None and new_bin is not None:
        if new_bin < old_bin:
            return generic
        if (ot.base == "binary" and nt.base != "vector") or (nt.base == "binary" and ot.base != "vector"):
            return (
                f"modification to column {name} may have unintended effects due to "
                "zero-padding behavior of binary type"
            )
        return None

    return generic  # any other change crosses type families


def _conversion_between(ot: ColumnType, nt: ColumnType, base: str, *others: str) -> bool:
    if ot.base == base:
        return nt.text in others
    if nt.base == base:
        return ot.text in others
    return False


###### Indexes ######


def indexes_equivalent(a: Index, b: Index) -> bool:
    """Same function: kind, parts and options; name, comment and visibility aside."""
    return (a.kind, a.parts, a.using, a.key_block_size, a.parser) == (
        b.kind,
        b.parts,
        b.using,
        b.key_block_size,
        b.parser,
    )


def _supports_rename_key(flavor: Flavor) -> bool:
    return flavor.min_mysql(5, 7) or flavor.min_mariadb(10, 5)


@dataclass(frozen=True, slots=True)
class DropIndex:
    """DROP PRIMARY KEY or DROP KEY; also the first half of a rebuilt index."""

    index: Index

    def clause(self, mods: StatementModifiers) -> str:
        if self.index.name == "PRIMARY":
            return "DROP PRIMARY KEY"
        return "DROP KEY " + escape_identifier(self.index.name)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class AddIndex:
    """ADD PRIMARY KEY / UNIQUE KEY / KEY / FULLTEXT KEY / SPATIAL KEY."""

    index: Index

    def clause(self, mods: StatementModifiers) -> str:
        return "ADD " + self.index.definition(mods.flavor.is_mariadb)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class RenameIndex:
    """RENAME KEY (MySQL 5.7+, MariaDB 10.5+); "" on older servers."""

    old_name: str
    new_name: str

    def clause(self, mods: StatementModifiers) -> str:
        if not _supports_rename_key(mods.flavor):
            return ""
        return f"RENAME KEY {escape_identifier(self.old_name)} TO {escape_identifier(self.new_name)}"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class AlterIndexVisibility:
    """MariaDB `ALTER INDEX x [NOT] IGNORED` (10.6+) / MySQL `ALTER INDEX x [IN]VISIBLE` (8.0+)."""

    name: str
    invisible: bool
    linked_rename: ModifyIndex | None = None  # set when split from a rename (see TableDiff)

    def clause(self, mods: StatementModifiers) -> str:
        # Split from a rename that the modifiers turn into a rebuild: the re-ADD already
        # carries the visibility.
        if self.linked_rename is not None and self.linked_rename.rebuilds(mods):
            return ""
        head = "ALTER INDEX " + escape_identifier(self.name)
        if mods.flavor.min_mysql(8):
            return head + (" INVISIBLE" if self.invisible else " VISIBLE")
        if mods.flavor.min_mariadb(10, 6):
            return head + (" IGNORED" if self.invisible else " NOT IGNORED")
        return ""

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class ModifyIndex:
    """A secondary index present on both sides (maybe renamed) that changed or must move.

    Renders, depending on the modifiers and flavor, as a DROP + re-ADD pair, a
    RENAME KEY, an ALTER INDEX, or nothing (order-only change without
    strict-index-order, comment-only change under lax-comments).
    """

    before: Index
    after: Index
    # The previous changed index in the CREATE order: if it is rebuilt (moved to the end)
    # under strict index order, this one must follow it.  Rebuilding propagates down the
    # chain, so the previous link alone stands for every earlier change.
    previous: ModifyIndex | None = None
    reorder_due_to_move: bool = False  # an earlier index was added or moved: strict order must rebuild
    force_rebuild: bool = False  # the table's KEY_BLOCK_SIZE changes (see table_diff._alter_clauses)

    def parts(
        self, mods: StatementModifiers
    ) -> tuple[DropIndex | AddIndex | RenameIndex | AlterIndexVisibility, ...]:
        """The primitive clauses this change becomes under `mods`."""
        if self.rebuilds(mods):
            return (DropIndex(self.before), AddIndex(self.after))
        if self.before.name != self.after.name:
            # A visibility change as well goes to its own ALTER (see TableDiff.split_conflicts).
            return (RenameIndex(self.before.name, self.after.name),)
        if self.before.invisible != self.after.invisible:
            return (AlterIndexVisibility(self.after.name, self.after.invisible),)
        return ()

    def rebuilds(self, mods: StatementModifiers) -> bool:
        if self.force_rebuild or not indexes_equivalent(self.before, self.after):
            return True
        if self.before.comment != self.after.comment and not mods.lax_comments:
            return True
        if mods.index_order_counts:
            if self.reorder_due_to_move:
                return True
            if self.previous is not None and self.previous.rebuilds(mods):
                return True
        return self.before.name != self.after.name and not _supports_rename_key(mods.flavor)

    def clause(self, mods: StatementModifiers) -> str:
        return ", ".join(text for part in self.parts(mods) if (text := part.clause(mods)))

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


###### Foreign keys ######


def _rule(rule: str) -> str:
    # RESTRICT, NO ACTION and no rule at all behave identically in MySQL and MariaDB.
    return "RESTRICT" if rule == "NO ACTION" else rule


def foreign_keys_equivalent(a: ForeignKey, b: ForeignKey) -> bool:
    """Same function: columns, parent and actions (RESTRICT = NO ACTION); names aside."""
    return (
        a.columns == b.columns
        and a.referenced_schema == b.referenced_schema
        and a.referenced_table == b.referenced_table
        and a.referenced_columns == b.referenced_columns
        and _rule(a.on_delete) == _rule(b.on_delete)
        and _rule(a.on_update) == _rule(b.on_update)
    )


@dataclass(frozen=True, slots=True)
class DropForeignKey:
    foreign_key: ForeignKey
    cosmetic_only: bool = False  # part of a rename or RESTRICT <-> NO ACTION change

    def clause(self, mods: StatementModifiers) -> str:
        if self.cosmetic_only and not mods.fk_cosmetics_count:
            return ""
        return "DROP FOREIGN KEY " + escape_identifier(self.foreign_key.name)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class AddForeignKey:
    foreign_key: ForeignKey
    cosmetic_only: bool = False

    def clause(self, mods: StatementModifiers) -> str:
        if self.cosmetic_only and not mods.fk_cosmetics_count:
            return ""
        return "ADD " + self.foreign_key.definition()

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


###### Checks ######


@dataclass(frozen=True, slots=True)
class DropCheck:
    """DROP CONSTRAINT (MariaDB) / DROP CHECK (MySQL) of a table-level check."""

    check: Check
    reorder_only: bool = False  # dropped and re-added only to restore the order (MariaDB shows it)
    rename_only: bool = False  # dropped because the same check is re-added under another name

    def clause(self, mods: StatementModifiers) -> str:
        if not _check_change_applies(self.reorder_only, self.rename_only, mods):
            return ""
        noun = "CONSTRAINT" if mods.flavor.is_mariadb else "CHECK"
        return f"DROP {noun} {escape_identifier(self.check.name)}"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class AddCheck:
    check: Check
    reorder_only: bool = False
    rename_only: bool = False

    def clause(self, mods: StatementModifiers) -> str:
        if not _check_change_applies(self.reorder_only, self.rename_only, mods):
            return ""
        return "ADD " + self.check.definition()

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


def _check_change_applies(reorder_only: bool, rename_only: bool, mods: StatementModifiers) -> bool:
    # Online schema change tools rename checks, so names only count when asked; the
    # relative order of checks can only be seen (and changed) on MariaDB.
    if rename_only:
        return mods.check_cosmetics_count
    if reorder_only:
        return mods.check_cosmetics_count and mods.flavor.is_mariadb
    return True


@dataclass(frozen=True, slots=True)
class AlterCheck:
    """MySQL 8.0.16+ `ALTER CHECK x [NOT] ENFORCED` (MariaDB has no NOT ENFORCED)."""

    name: str
    enforced: bool

    def clause(self, mods: StatementModifiers) -> str:
        status = "ENFORCED" if self.enforced else "NOT ENFORCED"
        return f"ALTER CHECK {escape_identifier(self.name)} {status}"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


###### Table options ######


@dataclass(frozen=True, slots=True)
class ChangeEngine:
    engine: str

    def clause(self, mods: StatementModifiers) -> str:
        return "ENGINE=" + self.engine

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return "storage engine changes have significant operational implications"


@dataclass(frozen=True, slots=True)
class ChangeAutoIncrement:
    before: int  # next value on the live table (1 when not shown)
    after: int  # next value in the desired definition (1 when not given)

    def clause(self, mods: StatementModifiers) -> str:
        if mods.ignore_auto_inc or (mods.skip_auto_inc_lower and self.after <= self.before):
            return ""
        return f"AUTO_INCREMENT = {self.after}"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


# Values that make an option disappear from SHOW CREATE TABLE; anything else is reset
# with DEFAULT, which also works for MariaDB engine attributes (`PAGE_COMPRESSED`=DEFAULT).
_OPTION_DEFAULTS = {
    "MIN_ROWS": "0",
    "MAX_ROWS": "0",
    "AVG_ROW_LENGTH": "0",
    "PACK_KEYS": "DEFAULT",
    "STATS_PERSISTENT": "DEFAULT",
    "STATS_AUTO_RECALC": "DEFAULT",
    "STATS_SAMPLE_PAGES": "DEFAULT",
    "CHECKSUM": "0",
    "DELAY_KEY_WRITE": "0",
    "ROW_FORMAT": "DEFAULT",
    "KEY_BLOCK_SIZE": "0",
    "COMPRESSION": "''",  # '' removes the clause entirely ('None' would stay)
}


def split_create_options(options: tuple[str, ...]) -> dict[str, str]:
    """`("ROW_FORMAT=DYNAMIC", "`PAGE_COMPRESSED`='1'")` -> {"ROW_FORMAT": "DYNAMIC", ...}."""
    out: dict[str, str] = {}
    for item in options:
        # Keys are bare words or backticked attribute names; split at the first '=' after the key.
        end = item.index("`", 1) + 1 if item.startswith("`") else 0
        eq = item.find("=", end)
        if eq > 0:
            out[item[:eq]] = item[eq + 1 :]
    return out


@dataclass(frozen=True, slots=True)
class ChangeCreateOptions:
    """ROW_FORMAT, KEY_BLOCK_SIZE, STATS_*, `PAGE_COMPRESSED`...: changed, added, or reset."""

    before: tuple[str, ...]  # `NAME=value` items as Table.create_options holds them
    after: tuple[str, ...]

    def clause(self, mods: StatementModifiers) -> str:
        old, new = split_create_options(self.before), split_create_options(self.after)
        items: list[str] = []
        for key, value in old.items():
            if key not in new:
                items.append(f"{key}={_OPTION_DEFAULTS.get(key, 'DEFAULT')}")
            elif new[key] != value:
                items.append(f"{key}={new[key]}")
        items += [f"{key}={value}" for key, value in new.items() if key not in old]
        return " ".join(items)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class ChangeComment:
    """The table comment.  Under lax-comments TableDiff drops it when it is the only change."""

    comment: str

    def clause(self, mods: StatementModifiers) -> str:
        return "COMMENT " + escape_string(self.comment)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


###### System versioning (MariaDB) ######


@dataclass(frozen=True, slots=True)
class ChangeSystemVersioning:
    """ADD / DROP SYSTEM VERSIONING of a MariaDB table.

    Added with explicit ROW START/END columns (added by AddColumn in the same
    ALTER), their period is declared first; the server then appends the ROW
    END column to the primary key and unique keys, as the desired table
    shows.  Dropped, the history rows are deleted with it: unsafe.  Its
    explicit period columns are dropped in the same ALTER (MariaDB requires
    it, error 4125).
    """

    add: bool
    period: tuple[str, str] | None = None  # the explicit ROW START and ROW END columns, when adding

    def clause(self, mods: StatementModifiers) -> str:
        if not self.add:
            return "DROP SYSTEM VERSIONING"
        if self.period is None:
            return "ADD SYSTEM VERSIONING"
        start, end = (escape_identifier(c) for c in self.period)
        return f"ADD PERIOD FOR SYSTEM_TIME ({start}, {end}), ADD SYSTEM VERSIONING"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        if self.add:
            return None
        return "system versioning would be removed: the table's history rows would be deleted"


###### Partitioning ######


@dataclass(frozen=True, slots=True)
class PartitionBy:
    """PARTITION BY ...: partition a table, or re-partition one (partitioning=modify, modify-list)."""

    partitioning: Partitioning
    repartition: bool = False  # the table is partitioned already, differently

    def clause(self, mods: StatementModifiers) -> str:
        if mods.partitioning is PartitioningMode.REMOVE:
            return ""
        if self.repartition and mods.partitioning is PartitioningMode.KEEP:
            return ""
        return self.partitioning.definition().strip()

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class RemovePartitioning:
    def clause(self, mods: StatementModifiers) -> str:
        if mods.partitioning is PartitioningMode.KEEP:
            return ""
        return "REMOVE PARTITIONING"

    def unsafe(self, mods: StatementModifiers) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class ModifyPartitions:
    """One partition-list operation of a RANGE/LIST table: DROP, ADD or REORGANIZE PARTITION.

    `drop` alone drops those partitions, with their rows (unsafe); `into`
    alone adds those partitions at the end; both reorganize the partitions
    `drop` names into those of `into`, which moves their rows and fails
    rather than lose one that no longer fits.  The server takes a single
    partition operation per ALTER TABLE, with no other clause and no
    ALGORITHM=/LOCK=, so TableDiff gives each its own statement.

    Planned only under partitioning=modify-list (a schemad addition: Skeema
    leaves partition lists to whatever rotates them, so elsewhere the clause
    renders nothing and only records the difference), except with
    for_drop_table: DROP PARTITION ahead of a DROP TABLE (Skeema's pre-drop).
    """

    drop: tuple[str, ...] = ()  # partition names: dropped, or reorganized when `into` is set
    into: tuple[Partition, ...] = ()  # added (no `drop`), or what `drop` is reorganized into
    method: str = ""  # the table's partitioning method, which decides how `into` reads
    for_drop_table: bool = False

    def clause(self, mods: StatementModifiers) -> str:
        if self.for_drop_table:
            if not self.drop or mods.skip_pre_drop_alters:
                return ""
            return "DROP PARTITION " + _partition_names(self.drop)
        if not mods.partitioning.manages_lists or not (self.drop or self.into):
            return ""
        definitions = "(" + ", ".join(p.definition(self.method) for p in self.into) + ")"
        if self.drop and self.into:
            return f"REORGANIZE PARTITION {_partition_names(self.drop)} INTO {definitions}"
        if self.into:
            return "ADD PARTITION " + definitions
        return "DROP PARTITION " + _partition_names(self.drop)

    def unsafe(self, mods: StatementModifiers) -> str | None:
        if not self.drop or self.into:
            return None  # adding loses nothing; reorganizing fails rather than lose a row
        if self.for_drop_table:
            noun = "a partition" if len(self.drop) == 1 else f"{len(self.drop)} partitions"
            return f"{noun} would be dropped"
        if len(self.drop) == 1:
            return f"partition {_partition_names(self.drop)} would be dropped, with its rows"
        return f"partitions {_partition_names(self.drop)} would be dropped, with their rows"


def _partition_names(names: tuple[str, ...]) -> str:
    return ", ".join(escape_identifier(p) for p in names)


AlterClause = (
    ChangeCharSet
    | DropColumn
    | ModifyColumn
    | AddColumn
    | DropIndex
    | AddIndex
    | RenameIndex
    | AlterIndexVisibility
    | ModifyIndex
    | DropForeignKey
    | AddForeignKey
    | DropCheck
    | AddCheck
    | AlterCheck
    | ChangeEngine
    | ChangeAutoIncrement
    | ChangeCreateOptions
    | ChangeComment
    | ChangeSystemVersioning
    | PartitionBy
    | RemovePartitioning
    | ModifyPartitions
)
"""Any one ALTER TABLE clause."""
