"""Read progress out of the output lines of online-schema-change tools.

`parse_progress(line)` recognises, anywhere in a line (so log prefixes do no
harm):

pt-online-schema-change (formats from Percona Toolkit's Progress and
pt-online-schema-change modules; progress goes to STDERR every `--progress`
interval, the rest to STDOUT, some of it behind an ISO timestamp)::

    Copying `db`.`t`:  45% 01:23 remain          percent, ETA (mm:ss, hh:mm:ss or d+hh:mm:ss)
    2024-05-01T10:00:00 Copying approximately 10000 rows...   rows_total, percent 0
    2024-05-01T10:00:03 Copied rows OK.          percent 100, ETA 0
    Successfully altered `db`.`t`.               done

gh-ost (the status line `Migrator.printStatus` prints to STDOUT and logs;
older releases lack `Lag`/`State` and put a throttle reason after `ETA:`)::

    Copy: 1234/5678 21.7%; Applied: 0; Backlog: 0/1000; Time: 1m2s(total), 58s(copy);
        streamer: mysql-bin.000003:1234; Lag: 0.01s, HeartbeatLag: 0.02s, State: migrating; ETA: 1m2s
    ... INFO Done migrating `db`.`t`                 done

gh-ost's ETA is a Go duration (`2h6m30s`, `57s`), `N/A` (unknown: before 0.1%
has been copied) or `due`; pt-osc prints `00:00` both for "finished" and "not
known yet", which is reported as 0.

This module only reads text: it keeps no state between lines, does not know
Spirit's multi-line records, and never talks to a tool's control socket.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Progress", "Tool", "parse_progress"]


class Tool(StrEnum):
    """The tool a progress line came from."""

    PT_OSC = "pt-online-schema-change"
    GH_OST = "gh-ost"


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report, normalised across tools."""

    tool: Tool
    percent: float | None  # 0-100 of the row copy
    eta_seconds: float | None  # None when the tool does not know yet
    rows_copied: int | None
    rows_total: int | None  # the tool's estimate; it may change during the copy
    raw: str  # the line as read (already masked by the runner)
    state: str | None = None  # gh-ost's State (migrating, throttled, <reason>, ...) or a pt-osc phase
    done: bool = False  # the tool reported the whole migration finished


_BQ = r"`(?:[^`]|``)*`"  # one backquoted identifier

# pt-osc: printf STDERR "$name: %3d%% %s remain\n" with $name = "Copying `db`.`t`".
_PT_COPYING = re.compile(
    rf"Copying (?P<table>{_BQ}\.{_BQ}):\s+(?P<pct>\d+)% (?P<eta>(?:\d+\+)?\d+:\d\d(?::\d\d)?) remain\s*$"
)
_PT_ESTIMATE = re.compile(r"Copying approximately (?P<rows>\d+) rows\.\.\.")
_PT_COPIED = re.compile(r"Copied rows OK\.")
_PT_DONE = re.compile(rf"Successfully altered (?P<table>{_BQ}\.{_BQ})\.")

# gh-ost: "Copy: %d/%d %.1f%%; Applied: %d; ..., State: %s; ETA: %s"
_GHOST_STATUS = re.compile(r"Copy: (?P<copied>\d+)/(?P<total>\d+) (?P<pct>\d+(?:\.\d+)?)%;")
_GHOST_STATE = re.compile(r"\bState: (?P<state>[^;]*?)\s*;")
_GHOST_ETA = re.compile(r"\bETA: (?P<eta>.*?)\s*$")
_GHOST_DONE = re.compile(rf"Done migrating (?P<table>{_BQ}\.{_BQ})")
_GO_DURATION = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")


def parse_progress(line: str) -> Progress | None:
    """The progress a line reports, or None if it reports none."""
    for parser in _PARSERS:
        progress = parser(line)
        if progress is not None:
            return progress
    return None


def _pt_clock(text: str) -> float:
    """pt's secs_to_time: `mm:ss`, `hh:mm:ss` or `d+hh:mm:ss`."""
    days, _, clock = text.rpartition("+")
    seconds = 0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return float(seconds + int(days or 0) * 86400)


def _pt_copying(line: str) -> Progress | None:
    m = _PT_COPYING.search(line)
    if m is None:
        return None
    return Progress(
        tool=Tool.PT_OSC,
        percent=float(m["pct"]),
        eta_seconds=_pt_clock(m["eta"]),
        rows_copied=None,
        rows_total=None,
        raw=line,
        state="copying",
    )


def _pt_phase(line: str) -> Progress | None:
    if m := _PT_ESTIMATE.search(line):
        return Progress(Tool.PT_OSC, 0.0, None, 0, int(m["rows"]), line, state="copying")
    if _PT_COPIED.search(line):
        return Progress(Tool.PT_OSC, 100.0, 0.0, None, None, line, state="copied")
    if _PT_DONE.search(line):
        return Progress(Tool.PT_OSC, 100.0, 0.0, None, None, line, state="done", done=True)
    return None


def _go_duration(text: str) -> float | None:
    m = _GO_DURATION.fullmatch(text)
    if m is None or not text:
        return None
    return int(m["h"] or 0) * 3600 + int(m["m"] or 0) * 60 + float(m["s"] or 0)


def _ghost_status(line: str) -> Progress | None:
    m = _GHOST_STATUS.search(line)
    if m is None:
        return None
    state_m = _GHOST_STATE.search(line, m.end())
    state = state_m["state"] if state_m else None
    eta: float | None = None
    if eta_m := _GHOST_ETA.search(line, m.end()):
        text = eta_m["eta"]
        if text.lower() == "due":
            eta = 0.0
        elif text.startswith("throttled"):  # releases before State: the reason sat here
            state = state or text
        else:
            eta = _go_duration(text)  # N/A -> None
    return Progress(
        tool=Tool.GH_OST,
        percent=float(m["pct"]),
        eta_seconds=eta,
        rows_copied=int(m["copied"]),
        rows_total=int(m["total"]),
        raw=line,
        state=state,
    )


def _ghost_done(line: str) -> Progress | None:
    if _GHOST_DONE.search(line) is None:
        return None
    return Progress(Tool.GH_OST, 100.0, 0.0, None, None, line, state="done", done=True)


_PARSERS: tuple[Callable[[str], Progress | None], ...] = (_pt_copying, _ghost_status, _pt_phase, _ghost_done)
