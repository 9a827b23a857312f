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

from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectType, escape_identifier

__all__ = ["InstanceHeaders", "TargetText", "render_sql", "statement_text", "target_text"]

#: The display text of the wrapper command that runs a step, or None when it runs directly.
WrapperDisplay = Callable[[Step], "str | None"]


def _direct(step: Step) -> str | None:
    return None


def statement_text(step: Step, wrapper: str | None = None) -> str:
    """One statement as printed: `\\! <wrapper>`, a DELIMITER block, or `<sql>;` (newline-terminated)."""
    if wrapper is not None:
        return f"\\! {wrapper}\n"
    if step.compound:
        return f"DELIMITER //\n{step.sql}//\nDELIMITER ;\n"
    return f"{step.sql};\n"


def target_text(schema: str, steps: Sequence[Step], wrapper: WrapperDisplay = _direct) -> str:
    """One target's statements: database DDL, `USE`, the rest ("" when there are none)."""
    if not steps:
        return ""
    db = [statement_text(s, wrapper(s)) for s in steps if s.key.type is ObjectType.DATABASE]
    rest = [statement_text(s, wrapper(s)) for s in steps if s.key.type is not ObjectType.DATABASE]
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
