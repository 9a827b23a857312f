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

`parse_progress` keeps no state between lines.  `ProgressReader` (one per
tool run, `reader_for(tool)`) does: it folds every line of a run into one
normalized record, `OscProgress` (phase, pct, rows, ETA, lag, throttled and
why, whether the cut-over is ready), the same shape for every tool, and
also reads Spirit's multi-line status report::

    2026/08/14 11:47:10 INFO migration status: state=copyRows total-time=2m30s copier-time=2m30s
      copier   46.13%  7550855/16370180  chunk-size=8097  eta=3m29s  throttled=false
      ...
    2026/08/14 12:01:00 WARN cutover deferred while sentinel table exists; will wait ...
    spirit: error: <what failed>                              (kong's FatalIfErrorf)

The readers follow the formats in the tools' sources: Percona Toolkit 3.x
`pt-online-schema-change`, gh-ost's `Migrator.printStatus` / golib log lines
(`2024-05-01 10:00:00 FATAL ...`) and Spirit's `status.Block` and slog lines.
A line a reader does not know changes nothing.  This module never talks to a
tool's control socket or to the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from schemad import lazyre
from schemad.records import dataclass

__all__ = ["OscPhase", "OscProgress", "Progress", "ProgressReader", "Tool", "parse_progress", "reader_for"]


class Tool(StrEnum):
    """The tool a progress line came from."""

    PT_OSC = "pt-online-schema-change"
    GH_OST = "gh-ost"
    SPIRIT = "spirit"


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
_PT_COPYING = lazyre.compile(
    rf"Copying (?P<table>{_BQ}\.{_BQ}):\s+(?P<pct>\d+)% (?P<eta>(?:\d+\+)?\d+:\d\d(?::\d\d)?) remain\s*$"
)
_PT_ESTIMATE = lazyre.compile(r"Copying approximately (?P<rows>\d+) rows\.\.\.")
_PT_COPIED = lazyre.compile(r"Copied rows OK\.")
_PT_DONE = lazyre.compile(rf"Successfully altered (?P<table>{_BQ}\.{_BQ})\.")

# gh-ost: "Copy: %d/%d %.1f%%; Applied: %d; ..., State: %s; ETA: %s"
_GHOST_STATUS = lazyre.compile(r"Copy: (?P<copied>\d+)/(?P<total>\d+) (?P<pct>\d+(?:\.\d+)?)%;")
_GHOST_STATE = lazyre.compile(r"\bState: (?P<state>[^;]*?)\s*;")
_GHOST_ETA = lazyre.compile(r"\bETA: (?P<eta>.*?)\s*$")
_GHOST_DONE = lazyre.compile(rf"Done migrating (?P<table>{_BQ}\.{_BQ})")
_GO_DURATION = lazyre.compile(
    r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+(?:\.\d+)?)s)?"
    r"(?:(?P<ms>\d+(?:\.\d+)?)ms)?(?:(?P<us>\d+(?:\.\d+)?)[µu]s)?(?:(?P<ns>\d+)ns)?"
)


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
    """Go's time.Duration.String(): `2h6m30s`, `57s`, `1.5s`, `850ms`, `12µs`; None if not one."""
    m = _GO_DURATION.fullmatch(text)
    if m is None or not text:
        return None
    return (
        int(m["h"] or 0) * 3600
        + int(m["m"] or 0) * 60
        + float(m["s"] or 0)
        + float(m["ms"] or 0) / 1e3
        + float(m["us"] or 0) / 1e6
        + int(m["ns"] or 0) / 1e9
    )


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


# ///// The normalized record and the per-run readers /////


class OscPhase(StrEnum):
    """Where an online schema change is, in words common to every tool."""

    STARTING = "starting"  # checks, creating the copy (and pt-osc's triggers), gh-ost counting rows
    COPYING = "copying"  # rows are being copied into the new table
    APPLYING = "applying"  # copy done: changes logged meanwhile are applied (gh-ost backlog, Spirit deltas)
    CHECKSUM = "checksum"  # Spirit: ANALYZE and the checksum of the copy
    POSTPONED = "postponed"  # ready to cut over, waiting for the go-ahead (flag file, sentinel table)
    CUTOVER = "cutover"  # swapping the tables
    CLEANUP = "cleanup"  # after the swap: dropping triggers, the old table
    DONE = "done"  # the tool reported the change complete
    FAILED = "failed"  # the tool reported a fatal error (its exit code says the rest)


@dataclass(frozen=True, slots=True)
class OscProgress:
    """One tool's progress, normalized: what `GET /v1/jobs/{id}`, the metrics and the CLI show."""

    tool: Tool
    phase: OscPhase
    pct: float | None = None  # 0-100 of the row copy (stays 100 once copied); None before it is known
    rows_copied: int | None = None  # None when the tool does not say (pt-osc prints percentages only)
    rows_total: int | None = None  # the tool's estimate; it may change while copying
    eta_s: float | None = None  # seconds until the copy is done; None: not known yet
    lag_s: float | None = None  # replication lag the tool measures (gh-ost Lag, pt-osc replica lag)
    throttled: bool = False
    reason: str | None = None  # why throttled, postponed or failed, in the tool's words
    cutover_ready: bool = False  # the copy is complete and the next step is the swap

    def to_json(self) -> dict[str, object]:
        """The API's `progress` object."""
        return {
            "tool": str(self.tool),
            "phase": str(self.phase),
            "pct": self.pct,
            "rows_copied": self.rows_copied,
            "rows_total": self.rows_total,
            "eta_s": self.eta_s,
            "lag_s": self.lag_s,
            "throttled": self.throttled,
            "reason": self.reason,
            "cutover_ready": self.cutover_ready,
        }

    @property
    def ratio(self) -> float | None:
        """pct as 0..1 (the metric's value); None when unknown."""
        return None if self.pct is None else max(0.0, min(1.0, self.pct / 100.0))

    def describe(self) -> str:
        """One human line for the job log and the CLI."""
        parts = [f"{self.tool}: {self.phase}"]
        if self.pct is not None:
            parts.append(f"{self.pct:.1f}%")
        if self.rows_copied is not None and self.rows_total is not None:
            parts.append(f"{self.rows_copied}/{self.rows_total} rows")
        elif self.rows_total is not None:
            parts.append(f"~{self.rows_total} rows")
        if self.eta_s is not None:
            parts.append(f"eta {self.eta_s:.0f}s")
        if self.lag_s is not None:
            parts.append(f"lag {self.lag_s:.2f}s")
        if self.throttled:
            parts.append("throttled")
        if self.cutover_ready:
            parts.append("cut-over ready")
        text = ", ".join(parts)
        return f"{text} ({self.reason})" if self.reason else text


class ProgressReader:
    """Folds the output lines of one tool run into the current `OscProgress`.

    `feed(line)` returns the new record when the line changed it, else None.
    `current` is the latest record (None until the first line the reader knows).
    """

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self.current: OscProgress | None = None

    def feed(self, line: str) -> OscProgress | None:
        updated = self._read(line, self.current or OscProgress(self.tool, OscPhase.STARTING))
        if updated is None or updated == self.current:
            return None
        self.current = updated
        return updated

    def _read(self, line: str, now: OscProgress) -> OscProgress | None:  # pragma: no cover - abstract
        raise NotImplementedError


def _done(now: OscProgress) -> OscProgress:
    """The tool reported the change complete."""
    return replace(
        now, phase=OscPhase.DONE, pct=100.0, eta_s=0.0, throttled=False, reason=None, cutover_ready=False
    )


def _failed(now: OscProgress, reason: str | None) -> OscProgress:
    """The tool reported a fatal error (`reason`, cut to 500 characters)."""
    reason = reason[:500] if reason is not None else None
    return replace(now, phase=OscPhase.FAILED, throttled=False, cutover_ready=False, reason=reason)


def _waiting(now: OscProgress, reason: str | None) -> OscProgress:
    """The copy is done and the tool waits for the go-ahead to cut over."""
    return replace(
        now,
        phase=OscPhase.POSTPONED,
        pct=100.0,
        eta_s=0.0,
        throttled=False,
        cutover_ready=True,
        reason=reason,
    )


def reader_for(tool: Tool) -> ProgressReader:
    """A fresh reader for one run of `tool`."""
    return {Tool.PT_OSC: _PtOscReader, Tool.GH_OST: _GhostReader, Tool.SPIRIT: _SpiritReader}[tool](tool)


# pt-online-schema-change

_PT_PAUSING = lazyre.compile(r"^Pausing because (?P<why>.+?)\.?\s*$")
_PT_REPLICA_LAG = lazyre.compile(r"Replica lag is (?P<lag>[\d.]+|\?) seconds on (?P<host>.+?)\.\s+Waiting\.")
_PT_REPLICA_STOPPED = lazyre.compile(r"Replica '?(?P<host>.+?)'? is stopped\.\s+Waiting\.")
_PT_PAUSE_FILE = lazyre.compile(r"Sleeping \S+ seconds because (?P<file>.+) exists")
_PT_SETUP = lazyre.compile(r"(?:Creating new table|Altering new table|Creating triggers)\.\.\.")
_PT_SWAP = lazyre.compile(r"(?:Analyzing new table|Swapping tables|Rebuilding foreign key constraints)\.\.\.")
_PT_AFTER_SWAP = lazyre.compile(
    r"Swapped original and new tables OK\.|(?:Dropping old table|Dropping triggers)\.\.\."
)
_PT_NOT_ALTERED = lazyre.compile(rf"(?P<table>{_BQ}\.{_BQ}) was not altered\.")
_PT_ERROR = lazyre.compile(
    r"^(?:\S+ )?(?:Error|Cannot|Failed)\b.*|.*\b(?:DBI|DBD::mysql)\b.*failed.*", re.IGNORECASE
)
_PT_SIGNAL = lazyre.compile(r"# Exiting on (?P<sig>SIG\w+)\.")


class _PtOscReader(ProgressReader):
    def __init__(self, tool: Tool) -> None:
        super().__init__(tool)
        self._error: str | None = None  # the last error line, for the reason of a failure

    def _read(self, line: str, now: OscProgress) -> OscProgress | None:
        text = line.strip()
        if m := _PT_COPYING.search(text):
            return replace(
                now,
                phase=OscPhase.COPYING,
                pct=float(m["pct"]),
                eta_s=_pt_clock(m["eta"]) if int(m["pct"]) < 100 else 0.0,
                throttled=False,
                reason=None,
            )
        if m := _PT_ESTIMATE.search(text):
            return replace(now, phase=OscPhase.COPYING, pct=0.0, rows_copied=0, rows_total=int(m["rows"]))
        if _PT_COPIED.search(text):
            return replace(
                now,
                phase=OscPhase.APPLYING,
                pct=100.0,
                rows_copied=None,
                eta_s=0.0,
                throttled=False,
                reason=None,
                cutover_ready=True,
            )
        if m := _PT_PAUSING.search(text):
            return replace(now, throttled=True, reason=f"paused: {m['why']}")
        if m := _PT_REPLICA_LAG.search(text):
            lag = None if m["lag"] == "?" else float(m["lag"])
            return replace(now, throttled=True, lag_s=lag, reason=f"replica lag on {m['host']}")
        if m := _PT_REPLICA_STOPPED.search(text):
            return replace(now, throttled=True, reason=f"replica {m['host']} is stopped")
        if m := _PT_PAUSE_FILE.search(text):
            return replace(now, throttled=True, reason=f"pause file {m['file']} exists")
        if _PT_SETUP.search(text):
            return replace(now, phase=OscPhase.STARTING)
        if _PT_SWAP.search(text):
            return replace(now, phase=OscPhase.CUTOVER, pct=100.0, cutover_ready=True, throttled=False)
        if _PT_AFTER_SWAP.search(text):
            return replace(now, phase=OscPhase.CLEANUP, pct=100.0, cutover_ready=False)
        if _PT_DONE.search(text):
            return _done(now)
        if m := _PT_SIGNAL.search(text):
            self._error = f"interrupted ({m['sig']})"
            return None
        if m := _PT_NOT_ALTERED.search(text):
            why = self._error or f"{m['table']} was not altered"
            return _failed(now, why)
        if _PT_ERROR.match(text):
            self._error = text[:500]
        return None


# gh-ost

_GHOST_LAG = lazyre.compile(r"\bLag: (?P<lag>\d+(?:\.\d+)?)s")
_GHOST_LOG = lazyre.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?P<level>[A-Z]+) (?P<msg>.*)$")
_GHOST_ROW_COPY_DONE = lazyre.compile(r"\bRow copy complete\b")
_GHOST_CUTOVER = lazyre.compile(
    r"\b(?:Waiting for events up to lock|Session locking original & magic tables|Locking `.+`\.`.+_del`"
    r"|Grabbing voluntary lock)"
)
_GHOST_RENAMED = lazyre.compile(r"\bLock & rename duration: ")


class _GhostReader(ProgressReader):
    def _read(self, line: str, now: OscProgress) -> OscProgress | None:
        status = _ghost_status(line)
        if status is not None:
            state = status.state or "migrating"
            pct = status.percent
            copied = pct is not None and pct >= 100.0
            phase = OscPhase.APPLYING if copied else OscPhase.COPYING
            throttled, reason, ready = False, None, False
            if state == "counting rows":
                phase = OscPhase.STARTING
            elif state.startswith("postponing"):
                phase, reason, ready = OscPhase.POSTPONED, "postponing cut-over (flag file)", True
            elif state.startswith("throttled"):
                throttled = True
                reason = state.removeprefix("throttled").lstrip(", ") or "throttled"
            lag_m = _GHOST_LAG.search(line, line.find("Copy: "))
            return replace(
                now,
                phase=phase,
                pct=pct,
                rows_copied=status.rows_copied,
                rows_total=status.rows_total,
                eta_s=status.eta_seconds,
                lag_s=float(lag_m["lag"]) if lag_m else now.lag_s,
                throttled=throttled,
                reason=reason,
                cutover_ready=ready or (copied and now.cutover_ready),
            )
        if _GHOST_DONE.search(line):
            return _done(now)
        if _GHOST_ROW_COPY_DONE.search(line):
            return replace(now, phase=OscPhase.APPLYING, pct=100.0, eta_s=0.0, cutover_ready=True)
        if _GHOST_RENAMED.search(line):
            return replace(now, phase=OscPhase.CLEANUP, cutover_ready=False, throttled=False, reason=None)
        if _GHOST_CUTOVER.search(line) and now.phase not in (OscPhase.STARTING, OscPhase.COPYING):
            return replace(now, phase=OscPhase.CUTOVER, throttled=False, reason=None)
        m = _GHOST_LOG.match(line.strip())
        if m is not None and m["level"] == "ERROR" and m["msg"].startswith("migration aborted: "):
            return _failed(now, m["msg"].removeprefix("migration aborted: "))
        if m is not None and m["level"] == "FATAL" and now.phase is not OscPhase.FAILED:
            return _failed(now, m["msg"])
        return None


# Spirit

_SPIRIT_HEADER = lazyre.compile(r"\bmigration status: state=(?P<state>\w+)")
_SPIRIT_COPIER = lazyre.compile(
    r"^\s*copier\s+(?P<pct>\d+(?:\.\d+)?)%\s+(?P<copied>\d+)/(?P<total>\d+)"
    r"(?:.*?\beta=(?P<eta>\S+))?(?:.*?\bthrottled=(?P<throttled>true|false))?"
)
_SPIRIT_CHECKSUM = lazyre.compile(
    r"^\s*checksum\s+(?P<pct>\d+(?:\.\d+)?)%.*?(?:\bthrottled=(?P<throttled>true|false))?\s*$"
)
_SPIRIT_SENTINEL = lazyre.compile(
    r"^\s*sentinel\s+table=(?P<table>\S+)\s+waiting=(?P<waiting>\S+)(?:\s+max-wait=(?P<max>\S+))?"
)
_SPIRIT_DEFERRED = lazyre.compile(r"\bcutover deferred while sentinel table exists\b")
_SPIRIT_SENTINEL_DROPPED = lazyre.compile(r"\bsentinel table dropped\b")
_SPIRIT_DONE = lazyre.compile(r"\b(?:INFO|level=INFO)\b.*\bapply complete\b")
_SPIRIT_FATAL = lazyre.compile(r"^spirit: error: (?P<msg>.+)$")
_SPIRIT_STATES: dict[str, OscPhase] = {
    "initial": OscPhase.STARTING,
    "copyRows": OscPhase.COPYING,
    "applyChangeset": OscPhase.APPLYING,
    "restoreSecondaryIndexes": OscPhase.APPLYING,
    "analyzeTable": OscPhase.CHECKSUM,
    "checksum": OscPhase.CHECKSUM,
    "postChecksum": OscPhase.APPLYING,
    "waitingOnSentinelTable": OscPhase.POSTPONED,
    "cutOver": OscPhase.CUTOVER,
    "reverseWindow": OscPhase.CLEANUP,
    "close": OscPhase.CLEANUP,
    "errCleanup": OscPhase.FAILED,
}
_SPIRIT_DEFERRED_REASON = "cut-over deferred until _spirit_sentinel is dropped"
_SPIRIT_THROTTLED = "copy throttled (replica lag, commit latency or load)"


class _SpiritReader(ProgressReader):
    def feed(self, line: str) -> OscProgress | None:
        # A handler that quotes messages (JSON, slog's TextHandler) puts a report on one line with `\n`s.
        out = None
        for part in line.split("\\n") if "\\n" in line else (line,):
            out = super().feed(part) or out
        return out

    def _read(self, line: str, now: OscProgress) -> OscProgress | None:
        if m := _SPIRIT_HEADER.search(line):
            phase = _SPIRIT_STATES.get(m["state"], now.phase)
            if phase is OscPhase.POSTPONED:
                return _waiting(now, now.reason if now.phase is phase else _SPIRIT_DEFERRED_REASON)
            if phase in (OscPhase.STARTING, OscPhase.COPYING):
                return replace(now, phase=phase)  # the copier row that follows has the numbers
            if phase is OscPhase.FAILED:
                return replace(now, phase=phase, throttled=False, cutover_ready=False)
            return replace(
                now,
                phase=phase,
                pct=100.0,
                eta_s=0.0,
                throttled=False,
                reason=None,
                cutover_ready=phase is OscPhase.CUTOVER,
            )
        if m := _SPIRIT_COPIER.match(line):
            throttled = m["throttled"] == "true"
            eta = m["eta"]
            return replace(
                now,
                phase=OscPhase.COPYING,
                pct=float(m["pct"]),
                rows_copied=int(m["copied"]),
                rows_total=int(m["total"]),
                eta_s=None if eta in (None, "TBD") else 0.0 if eta == "DUE" else _go_duration(eta),
                throttled=throttled,
                reason=_SPIRIT_THROTTLED if throttled else None,
            )
        if m := _SPIRIT_CHECKSUM.match(line):
            throttled = m["throttled"] == "true"
            return replace(
                now,
                phase=OscPhase.CHECKSUM,
                throttled=throttled,
                reason=f"checksum {float(m['pct']):.2f}%" + (", throttled" if throttled else ""),
            )
        if m := _SPIRIT_SENTINEL.match(line):
            wait = f"waiting {m['waiting']}" + (f" of {m['max']}" if m["max"] else "")
            return _waiting(now, f"cut-over deferred until {m['table']} is dropped ({wait})")
        if _SPIRIT_DEFERRED.search(line):
            return _waiting(now, _SPIRIT_DEFERRED_REASON)
        if _SPIRIT_SENTINEL_DROPPED.search(line):
            return replace(now, phase=OscPhase.CUTOVER, cutover_ready=True, reason=None)
        if _SPIRIT_DONE.search(line):
            return _done(now)
        if m := _SPIRIT_FATAL.match(line.strip()):
            return _failed(now, m["msg"])
        return None
