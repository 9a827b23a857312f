"""The progress line shows on a terminal only."""

from __future__ import annotations

import io

from schemad.cli.progress import ProgressLine


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    p = ProgressLine(out)
    p.update("planning 1/3")
    p.clear()
    assert out.getvalue() == ""


def test_rewrites_one_line_on_a_terminal() -> None:
    out = FakeTTY()
    p = ProgressLine(out)
    p.update("planning 1/3")
    p.update("planning 2/3")
    p.clear()
    assert out.getvalue() == "\r\x1b[Kplanning 1/3\r\x1b[Kplanning 2/3\r\x1b[K"
