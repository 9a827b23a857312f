"""The progress line: transient status on a terminal only; online changes as a bar, or plain lines."""

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


def test_osc_progress_is_a_bar_on_a_terminal() -> None:
    from schemad.apply.progress import OscPhase, OscProgress, Tool

    out = FakeTTY()
    p = ProgressLine(out)
    p.osc("db1 t", OscProgress(Tool.GH_OST, OscPhase.COPYING, pct=50.0, eta_s=12))
    assert out.getvalue() == "\r\x1b[Kdb1 t gh-ost [############------------]  50.0% copying eta 12s"
    p.osc("db1 t", OscProgress(Tool.GH_OST, OscPhase.POSTPONED, pct=100.0, cutover_ready=True))
    assert out.getvalue().endswith("100.0% postponed waiting for cut-over approval")


def test_osc_progress_elsewhere_is_a_plain_line_when_it_moved() -> None:
    from schemad.apply.progress import OscPhase, OscProgress, Tool

    out = io.StringIO()
    p = ProgressLine(out)
    for pct in (1.0, 2.0, 9.0, 10.0, 11.0):
        p.osc("t", OscProgress(Tool.PT_OSC, OscPhase.COPYING, pct=pct))
    p.osc("t", OscProgress(Tool.PT_OSC, OscPhase.COPYING, pct=11.0, throttled=True, reason="paused: x=1"))
    assert out.getvalue().splitlines() == [
        "t: pt-online-schema-change: copying, 1.0%",
        "t: pt-online-schema-change: copying, 10.0%",
        "t: pt-online-schema-change: copying, 11.0%, throttled (paused: x=1)",
    ]
