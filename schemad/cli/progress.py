"""The CLI's progress display: one rewritten line (and a bar) on a terminal, plain lines otherwise.

`update(text)` shows transient status (planning, the statement running) on a
terminal only; elsewhere it is silent, so CI logs stay clean.  `osc(where,
record)` shows an online schema change's normalized progress
(`apply.progress.OscProgress`): on a terminal as a bar rewritten in place,
elsewhere as a plain line, written only when something worth a line changed
(the phase, throttling, a cut-over becoming ready, or another 10% copied),
so a long copy gives a handful of lines, not thousands.  Log records
written meanwhile start on a fresh line because `clear()` runs first.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # a type only: the tools' output parsers load when a tool runs
    from schemad.apply.progress import OscProgress

__all__ = ["ProgressLine", "bar"]

_BAR_WIDTH = 24


def bar(pct: float | None, width: int = _BAR_WIDTH) -> str:
    """`[#######-----]` for a percentage; `[?????]` while it is unknown."""
    if pct is None:
        return "[" + "?" * width + "]"
    done = round(max(0.0, min(100.0, pct)) / 100 * width)
    return "[" + "#" * done + "-" * (width - done) + "]"


class ProgressLine:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False
        self._last: dict[str, tuple[object, ...]] = {}  # where -> what the last plain line said

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        self.stream.write("\r\x1b[K" + text[:200])
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def osc(self, where: str, record: OscProgress) -> None:
        """Show an online schema change's progress (a bar on a terminal, else a plain line when it moved)."""
        if self.enabled:
            eta = f" eta {record.eta_s:.0f}s" if record.eta_s is not None else ""
            pct = f" {record.pct:5.1f}%" if record.pct is not None else ""
            flags = " throttled" if record.throttled else ""
            flags += " waiting for cut-over approval" if record.phase == "postponed" else ""
            self.update(f"{where} {record.tool} {bar(record.pct)}{pct} {record.phase}{eta}{flags}")
            return
        step = None if record.pct is None else int(record.pct // 10)
        key = (record.phase, record.throttled, record.cutover_ready, step, record.reason)
        if self._last.get(where) == key:
            return
        self._last[where] = key
        self.stream.write(f"{where}: {record.describe()}\n")
        self.stream.flush()
