"""A one-line progress display on a terminal; silent everywhere else (CI logs stay clean).

Shown only when stderr is a TTY.  Each update rewrites the line; log records
written meanwhile simply start on a fresh line because `clear()` runs first.
"""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False

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
