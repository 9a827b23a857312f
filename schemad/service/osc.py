"""A push's online schema changes, checked before its job is submitted.

`cutover_refusals(items)`: with `postpone_cutover`, every ALTER TABLE the
alter-wrapper runs must go through a tool that can hold its cut-over
(gh-ost, Spirit; `apply.osc.gate_refusal`); pt-online-schema-change and
opaque tools are refused by name, and so is a push with nothing to hold.

`preflight_items(items)`: the pre-flight checks (`apply.preflight`) for each
ALTER TABLE a known tool will run, as the server is now; the job runs them
again right before each tool starts, since minutes may pass in between.

Nothing here runs DDL, keeps state or knows HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemad.apply.osc import gate_refusal, tool_of
from schemad.apply.preflight import Finding, parse_skip, preflight
from schemad.apply.progress import Tool
from schemad.connection.instance import Instance
from schemad.errors import SchemadError
from schemad.plan.routes import RouteKind
from schemad.records import dataclass
from schemad.service.jobs import PushItem

__all__ = ["OnlineChange", "PreflightNote", "cutover_refusals", "online_changes", "preflight_items"]


@dataclass(frozen=True, slots=True)
class OnlineChange:
    """An ALTER TABLE of a push that the alter-wrapper runs."""

    item: PushItem
    table: str
    template: str
    command: str  # the masked command ({DEFAULTSFILE} pending)
    tool: Tool | None  # None: an opaque tool


@dataclass(frozen=True, slots=True)
class PreflightNote:
    """A pre-flight finding on one table of one target."""

    where: str  # "host:port schema"
    table: str
    tool: Tool
    finding: Finding

    def __str__(self) -> str:
        return f"{self.where} `{self.table}` ({self.tool}): {self.finding}"


def online_changes(items: Sequence[PushItem]) -> list[OnlineChange]:
    """The ALTER TABLEs of `items` that run through the alter-wrapper, in order."""
    out = []
    for item in items:
        wrappers = item.plan.wrappers
        for p in item.plan.steps:
            if p.route.kind is not RouteKind.ALTER_WRAPPER or not p.step.is_alter_table or wrappers is None:
                continue
            routed = wrappers.route(p.step)
            if routed is None:
                continue
            command = p.route.command or ""
            out.append(OnlineChange(item, p.step.key.name, routed[1], command, tool_of(command)))
    return out


def cutover_refusals(items: Sequence[PushItem]) -> list[str]:
    """Why the push cannot hold its cut-overs for approval; [] when every online change can."""
    changes = online_changes(items)
    if not changes:
        return [
            "nothing to postpone: no ALTER TABLE of this push runs through the alter-wrapper"
            " (gh-ost or spirit can hold a cut-over; direct DDL cannot)"
        ]
    out = []
    for c in changes:
        why = gate_refusal(c.tool, c.template, c.command)
        if why is not None:
            out.append(f"{c.item.target.address} {c.item.target.schema} `{c.table}`: {why}")
    return out


async def preflight_items(items: Sequence[PushItem]) -> list[PreflightNote]:
    """The pre-flight findings of every online change a known tool runs (refusing and not)."""
    out: list[PreflightNote] = []
    for c in online_changes(items):
        if c.tool is None:
            continue
        t = c.item.target
        where = f"{t.address} {t.schema}"
        age = c.item.dir.config.get_int("osc-max-transaction-age")
        skip, notes = parse_skip(c.item.dir.config.get("osc-skip-checks"))
        try:
            async with Instance(t.params, pool_size=1) as inst:
                found = notes + await preflight(
                    inst, t.schema, c.table, c.tool, max_trx_age=age, command=c.command, skip=skip
                )
        except SchemadError as exc:
            found = (Finding("connection", True, f"cannot run the pre-flight checks: {exc}"),)
        out += [PreflightNote(where, c.table, c.tool, f) for f in found]
    return out
