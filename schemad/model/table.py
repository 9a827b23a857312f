"""Table: columns, indexes, constraints, options, partitioning, system versioning.

Pure data.  `create_statement(flavor)` renders the canonical CREATE TABLE, i.e.
exactly what the server's SHOW CREATE TABLE prints; `statement_to_create`
is what runs for a new table (the server's own text when the model cannot
reproduce it).  An introspected table
whose rendering differs from the server's text is flagged `unsupported`
(Skeema's UnsupportedDDL): it may be created or dropped, never altered.
"""

from __future__ import annotations

from dataclasses import field

from schemad.model.column import Column, RowPeriod
from schemad.model.constraint import Check, ForeignKey
from schemad.model.flavor import Flavor
from schemad.model.index import Index
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier, escape_string
from schemad.model.partition import Partitioning
from schemad.model.tabletext import strip_auto_increment, strip_partitioning
from schemad.records import dataclass


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    engine: str = "InnoDB"
    char_set: str = "utf8mb4"
    collation: str = "utf8mb4_general_ci"
    primary_key: Index | None = None
    secondary_indexes: tuple[Index, ...] = ()  # in the server's order
    foreign_keys: tuple[ForeignKey, ...] = ()  # in the server's order
    checks: tuple[Check, ...] = ()  # table-level checks; column-level ones live on Column
    create_options: tuple[str, ...] = ()  # other `NAME=value` items (ROW_FORMAT=.., `attr`=..), server order
    comment: str = ""
    auto_increment: int | None = None  # next AUTO_INCREMENT value; rendered only when > 1
    partitioning: Partitioning | None = None
    system_versioned: bool = False  # MariaDB WITH SYSTEM VERSIONING (information_schema: SYSTEM VERSIONED)
    show_create: str = field(default="", compare=False, repr=False)  # server text when introspected
    unsupported: bool = field(default=False, compare=False)  # rendering != server text
    renamed_from: str | None = field(default=None, compare=False)  # the file's `@renamed from=` annotation

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(ObjectType.TABLE, self.name)

    @property
    def indexes(self) -> tuple[Index, ...]:
        return ((self.primary_key,) if self.primary_key else ()) + self.secondary_indexes

    def column(self, name: str) -> Column | None:
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)

    @property
    def period_columns(self) -> tuple[Column, Column] | None:
        """The explicit ROW START and ROW END columns of a system-versioned table; None when implicit.

        MariaDB keeps implicit ones (`WITH SYSTEM VERSIONING` alone) hidden:
        neither SHOW CREATE nor information_schema shows them.
        """
        start = next((c for c in self.columns if c.row_period is RowPeriod.START), None)
        end = next((c for c in self.columns if c.row_period is RowPeriod.END), None)
        return (start, end) if start is not None and end is not None else None

    def create_statement(self, flavor: Flavor, *, include_auto_inc: bool = True) -> str:
        """The canonical CREATE TABLE; without `AUTO_INCREMENT=n` unless include_auto_inc."""
        lines = [c.definition(flavor, self.collation) for c in self.columns]
        lines += [i.definition(flavor.is_mariadb) for i in self.indexes]
        if (period := self.period_columns) is not None:
            start, end = (escape_identifier(c.name) for c in period)
            lines.append(f"PERIOD FOR SYSTEM_TIME ({start}, {end})")
        lines += [fk.definition() for fk in self.foreign_keys]
        lines += [ck.definition() for ck in self.checks]
        opts = [f"ENGINE={self.engine}"]
        if include_auto_inc and self.auto_increment and self.auto_increment > 1:
            opts.append(f"AUTO_INCREMENT={self.auto_increment}")
        opts.append(f"DEFAULT CHARSET={self.char_set}")
        # The binary charset has a single collation, which is never printed.
        if self.collation != self.char_set and (
            flavor.always_shows_table_collation or not self.collation.endswith("_general_ci")
        ):
            opts.append(f"COLLATE={self.collation}")
        # Engine-defined attributes (`name`='value') follow the comment.
        opts += [o for o in self.create_options if not o.startswith("`")]
        if self.comment:
            opts.append(f"COMMENT={escape_string(self.comment)}")
        opts += [o for o in self.create_options if o.startswith("`")]
        if self.system_versioned:
            opts.append("WITH SYSTEM VERSIONING")  # MariaDB prints it after every other option
        body = ",\n  ".join(lines)
        text = f"CREATE TABLE {escape_identifier(self.name)} (\n  {body}\n) {' '.join(opts)}"
        if self.partitioning is not None:
            text += self.partitioning.definition()
        return text

    def statement_to_create(self, flavor: Flavor, *, include_auto_inc: bool = True) -> str:
        """The CREATE TABLE that makes this table on a server where it does not exist yet.

        The rendering when the model reproduces the server's text (then both
        are the same), else the server's own text (from the workspace): a
        re-rendering of what the model misses would create another table.
        Without AUTO_INCREMENT=n unless include_auto_inc, and without the
        partition clause when the partitioning was taken away from the model.
        """
        if not (self.unsupported and self.show_create):
            return self.create_statement(flavor, include_auto_inc=include_auto_inc)
        text = self.show_create if include_auto_inc else strip_auto_increment(self.show_create)
        return text if self.partitioning is not None else strip_partitioning(text)
