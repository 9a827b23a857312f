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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectType, escape_identifier

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

#: The display text of the wrapper command that runs a step, or None when it runs directly.
WrapperDisplay = Callable[[Step], "str | None"]
#: Lines said about a step (printed as `-- ` comments before it, so the text still runs).
StepNotes = Callable[[Step], "Sequence[str]"]


def _direct(step: Step) -> str | None:
    return None


def _silent(step: Step) -> Sequence[str]:
    return ()


def comment_lines(lines: Sequence[str]) -> str:
    """`-- ` comment lines (a newline inside a line starts another comment line)."""
    return "".join("-- " + line.replace("\n", "\n-- ") + "\n" for line in lines)


def statement_text(step: Step, wrapper: str | None = None) -> str:
    """One statement as printed: `\\! <wrapper>`, a DELIMITER block, or `<sql>;` (newline-terminated)."""
    if wrapper is not None:
        return f"\\! {wrapper}\n"
    if step.compound:
        return f"DELIMITER //\n{step.sql}//\nDELIMITER ;\n"
    return f"{step.sql};\n"


def target_text(
    schema: str, steps: Sequence[Step], wrapper: WrapperDisplay = _direct, notes: StepNotes = _silent
) -> str:
    """One target's statements: database DDL, `USE`, the rest ("" when there are none).

    `notes` gives comment lines to print before a statement (`diff --verbose`).
    """
    if not steps:
        return ""

    def text(s: Step) -> str:
        return comment_lines(notes(s)) + statement_text(s, wrapper(s))

    db = [text(s) for s in steps if s.key.type is ObjectType.DATABASE]
    rest = [text(s) for s in steps if s.key.type is not ObjectType.DATABASE]
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
    steps: Sequence[Step]
    wrapper: WrapperDisplay = _direct


def render_sql(targets: Iterable[TargetText]) -> str:
    """Skeema's diff text for targets in order (targets without statements print nothing)."""
    headers = InstanceHeaders()
    return "".join(headers(t.address, target_text(t.schema, t.steps, t.wrapper)) for t in targets)


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
