"""Table partitioning, including subpartitions.  Pure data.

Values are kept as the server reports them (information_schema
PARTITION_DESCRIPTION: `10`, `MAXVALUE`, `1,2`, `1,'a'`), since that is what
SHOW CREATE prints inside the parentheses.

How the partitions were declared is part of the model, because SHOW CREATE
prints it back and information_schema cannot tell the forms apart: an explicit
list (`(PARTITION p0 ...)`), a count (`PARTITIONS n`, names generated), or
neither (`PARTITION BY HASH (id)` alone: one partition `p0`, and the server
prints no list and no count).  Subpartitions have the same three forms.  The
server keeps this as two flags per level (use_default_partitions,
use_default_num_partitions); a re-rendering that picks another form creates a
different table text, so `definition()` reproduces the declared one.

MariaDB's `PARTITION BY SYSTEM_TIME` (system-versioned tables) keeps what
follows the method (`LIMIT 1000`, `INTERVAL 1 MONTH STARTS TIMESTAMP'…'
AUTO`, or nothing) as its expression, as SHOW CREATE prints it
(information_schema has `unix_timestamp(row_end)` instead), and each
partition is HISTORY (values None) or CURRENT.
"""

from __future__ import annotations

from schemad import lazyre
from schemad.model.keys import escape_identifier, escape_string_backslash
from schemad.records import dataclass

SYSTEM_TIME = "SYSTEM_TIME"  # MariaDB's partitioning of a system-versioned table's history

_DEFAULT_LIST_RE = lazyre.compile(r"^\(?MAXVALUE(?:,MAXVALUE)*\)?$|^DEFAULT$")


def _comment(comment: str) -> str:
    return f" COMMENT = {escape_string_backslash(comment)}" if comment else ""


@dataclass(frozen=True, slots=True)
class Subpartition:
    name: str
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    values: str | None  # PARTITION_DESCRIPTION; None for HASH/KEY and SYSTEM_TIME history partitions
    comment: str = ""  # unused when subpartitions are explicit: each carries its own
    engine: str = "InnoDB"
    subpartitions: tuple[Subpartition, ...] = ()  # only when declared explicitly

    def definition(self, method: str) -> str:
        text = f"PARTITION {escape_identifier(self.name)}"
        if method == SYSTEM_TIME:
            text += " CURRENT" if self.values == "CURRENT" else " HISTORY"
        elif self.values is not None:
            if method.startswith("LIST") and _DEFAULT_LIST_RE.match(self.values):
                # The DEFAULT partition of a LIST table is reported as MAXVALUE.
                text += " DEFAULT"
            elif method.startswith("RANGE"):
                bare = self.values == "MAXVALUE" and method == "RANGE"
                text += " VALUES LESS THAN " + (self.values if bare else f"({self.values})")
            elif method.startswith("LIST"):
                text += f" VALUES IN ({self.values})"
        if self.subpartitions:
            subs = ",\n  ".join(
                f"SUBPARTITION {escape_identifier(s.name)}{_comment(s.comment)} ENGINE = {self.engine}"
                for s in self.subpartitions
            )
            return f"{text}\n ({subs})"
        return f"{text}{_comment(self.comment)} ENGINE = {self.engine}"


@dataclass(frozen=True, slots=True)
class Partitioning:
    method: str  # RANGE [COLUMNS] | LIST [COLUMNS] | [LINEAR] HASH | [LINEAR] KEY | SYSTEM_TIME
    expression: str  # as the server prints it, e.g. "`id`" or "`a`,`b`"; SYSTEM_TIME: "LIMIT 10", ""...
    partitions: tuple[Partition, ...]
    sub_method: str | None = None
    sub_expression: str | None = None
    sub_count: int = 0  # subpartitions per partition
    default_partitions: bool = False  # declared as `PARTITIONS n` (names generated)
    default_subpartitions: bool = False  # declared as `SUBPARTITIONS n`
    implicit_partitions: bool = False  # neither a list nor `PARTITIONS n`: one partition, printed as nothing
    implicit_subpartitions: bool = False  # `SUBPARTITION BY` alone: one per partition, printed as nothing

    @staticmethod
    def _by(method: str, expression: str) -> str:
        if method == SYSTEM_TIME:
            return f"{method} {expression}"  # a space even before nothing: `SYSTEM_TIME \n(PARTITION`
        # The server prints two spaces before COLUMNS and none before its parenthesis.
        if method.endswith(" COLUMNS"):
            return f"{method.removesuffix(' COLUMNS')}  COLUMNS({expression})"
        return f"{method} ({expression})"

    def definition(self) -> str:
        """The clause that follows the table options, starting with its newline."""
        lines = [" PARTITION BY " + self._by(self.method, self.expression)]
        if self.sub_method:
            lines.append("SUBPARTITION BY " + self._by(self.sub_method, self.sub_expression or ""))
            if self.default_subpartitions and not self.implicit_subpartitions:
                lines.append(f"SUBPARTITIONS {self.sub_count}")
        if self.implicit_partitions:
            pass  # the server prints `PARTITION BY HASH (id)` and nothing after it
        elif self.default_partitions:
            lines.append(f"PARTITIONS {len(self.partitions)}")
        else:
            lines.append("(" + ",\n ".join(p.definition(self.method) for p in self.partitions) + ")")
        return "\n" + "\n".join(lines)
