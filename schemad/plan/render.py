"""Skeema's diff text from planned statements: one renderer for the CLI and the daemon.

Per target: the database's own DDL first (the schema may not exist yet),
then `USE <schema>;`, then the statements, each ending `;`, stored programs
in a `DELIMITER //` block, and a statement an alter-wrapper / ddl-wrapper
runs as `\\! <command>` (its masked display text).  An `-- instance:
host:port` line starts a target only when its server differs from the one
before, so a server's schemas follow one header (Skeema prints it once per
instance).

`render_sql` renders a whole listing; `InstanceHeaders` does the same for a
printer that emits one target at a time (the CLI prints each target as it is
planned).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from schemad.model.keys import ObjectType, escape_identifier
from schemad.plan.planner import PlannedStep
from schemad.records import dataclass

if TYPE_CHECKING:
    from schemad.plan.risk import Prediction

__all__ = [
    "InstanceHeaders",
    "TargetText",
    "comment_lines",
    "render_sql",
    "risk_lines",
    "statement_text",
    "target_text",
]


def comment_lines(lines: Sequence[str]) -> str:
    """`-- ` comment lines (a newline inside a line starts another comment line)."""
    return "".join("-- " + line.replace("\n", "\n-- ") + "\n" for line in lines)


def statement_text(p: PlannedStep) -> str:
    """One statement as printed: `\\! <wrapper command>`, a DELIMITER block, or `<sql>;`, with its newline."""
    if p.route.command is not None:
        return f"\\! {p.route.command}\n"
    if p.step.compound:
        return f"DELIMITER //\n{p.step.sql}//\nDELIMITER ;\n"
    return f"{p.step.sql};\n"


def target_text(schema: str, planned: Sequence[PlannedStep], *, verbose: bool = False) -> str:
    """One target's statements: database DDL, `USE`, the rest ("" when there are none).

    `verbose` (`diff --verbose`) puts how the server will run each ALTER TABLE before it, as comments.
    """
    if not planned:
        return ""

    def text(p: PlannedStep) -> str:
        return (comment_lines(risk_lines(p.risk)) if verbose else "") + statement_text(p)

    db = [text(p) for p in planned if p.step.key.type is ObjectType.DATABASE]
    rest = [text(p) for p in planned if p.step.key.type is not ObjectType.DATABASE]
    return "".join([*db, f"USE {escape_identifier(schema)};\n", *rest])


class InstanceHeaders:
    """Prefixes a target's text with `-- instance: <address>` when the server changes."""

    def __init__(self) -> None:
        self._last: str | None = None

    def __call__(self, address: str, text: str) -> str:
        if not text:
            return ""
        if address != self._last:
            self._last = address
            return f"-- instance: {address}\n{text}"
        return text


@dataclass(frozen=True, slots=True)
class TargetText:
    """What `render_sql` needs of one target."""

    address: str
    schema: str
    planned: Sequence[PlannedStep]


def render_sql(targets: Iterable[TargetText]) -> str:
    """Skeema's diff text for targets in order (targets without statements print nothing)."""
    headers = InstanceHeaders()
    return "".join(headers(t.address, target_text(t.schema, t.planned)) for t in targets)


def risk_lines(risk: Prediction | None) -> list[str]:
    """What `--verbose` says about an ALTER TABLE: how the server runs it, and a forced algorithm's fate."""
    if risk is None:
        return []
    rule = risk.rule
    lines = [f"{risk.algorithm.label}, LOCK={risk.lock.name}: {risk.clause} ({rule.condition}) [{rule.id}]"]
    forced = risk.forced
    if forced is not None and forced.reason:
        asked = ", ".join(
            f"{k}={v}" for k, v in (("alter-algorithm", forced.algorithm), ("alter-lock", forced.lock)) if v
        )
        lines.append(f"{asked}: {'refused by the server: ' if forced.refused else ''}{forced.reason}")
    return lines
