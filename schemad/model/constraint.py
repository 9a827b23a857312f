"""Foreign keys and table-level check constraints.  Pure data."""

from __future__ import annotations

from schemad.model.keys import escape_identifier
from schemad.records import dataclass


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    referenced_schema: str  # "" when it is the table's own schema
    referenced_table: str
    referenced_columns: tuple[str, ...]
    on_delete: str = "RESTRICT"  # RESTRICT | CASCADE | SET NULL | NO ACTION | SET DEFAULT
    on_update: str = "RESTRICT"

    def definition(self) -> str:
        cols = ", ".join(escape_identifier(c) for c in self.columns)
        refcols = ", ".join(escape_identifier(c) for c in self.referenced_columns)
        table = escape_identifier(self.referenced_table)
        if self.referenced_schema:
            table = f"{escape_identifier(self.referenced_schema)}.{table}"
        text = (
            f"CONSTRAINT {escape_identifier(self.name)} FOREIGN KEY ({cols}) REFERENCES {table} ({refcols})"
        )
        # RESTRICT is the default and is not printed.
        if self.on_delete != "RESTRICT":
            text += f" ON DELETE {self.on_delete}"
        if self.on_update != "RESTRICT":
            text += f" ON UPDATE {self.on_update}"
        return text


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    clause: str  # the expression as the server prints it, without outer parentheses
    enforced: bool = True  # MySQL 8 NOT ENFORCED

    def definition(self) -> str:
        text = f"CONSTRAINT {escape_identifier(self.name)} CHECK ({self.clause})"
        if not self.enforced:
            text += " /*!80016 NOT ENFORCED */"
        return text
