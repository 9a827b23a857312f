"""The per-tool progress readers on fixtures of each tool's output (tests/fixtures/osc, see its README).

Every fixture goes through its tool's reader line by line: the phases the
records pass through are the `.expect` file's, and the records at the
interesting moments (throttled, postponed, failed, done) carry what the
normalized record promises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemad.apply.progress import OscPhase, OscProgress, Tool, reader_for

FIXTURES = Path(__file__).parents[2] / "fixtures" / "osc"


def run(name: str) -> list[OscProgress]:
    tool = Tool(name.rsplit("-", 1)[0])
    reader = reader_for(tool)
    out = []
    for line in (FIXTURES / f"{name}.txt").read_text().splitlines():
        record = reader.feed(line)
        if record is not None:
            assert record.tool is tool
            out.append(record)
    return out


def phases(records: list[OscProgress]) -> list[str]:
    folded: list[str] = []
    for r in records:
        if not folded or folded[-1] != r.phase:
            folded.append(str(r.phase))
    return folded


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.txt")))
def test_phases_follow_the_fixture(name: str) -> None:
    expected = (FIXTURES / f"{name}.expect").read_text().split()
    assert phases(run(name)) == expected


def test_gh_ost_throttled_and_postponed() -> None:
    records = run("gh-ost-postponed")
    throttled = [r for r in records if r.throttled]
    assert [r.reason for r in throttled] == ["lag=3.000000s", "db2:3306 replica-lag=2.100000s"]
    assert throttled[0].lag_s == 3.0 and throttled[0].pct == 62.0
    assert throttled[0].rows_copied == 466600 and throttled[0].rows_total == 752865
    assert throttled[0].eta_s == 2 * 3600 + 6 * 60 + 30
    copying = [r for r in records if r.phase is OscPhase.COPYING and not r.throttled]
    assert copying[0].eta_s == 157 and copying[0].lag_s == 0.01
    last = records[-1]
    assert last.phase is OscPhase.POSTPONED and last.cutover_ready and not last.throttled
    assert (last.pct, last.eta_s, last.rows_copied) == (100.0, 0.0, 752865)
    assert last.reason == "postponing cut-over (flag file)"
    starting = records[0]
    assert starting.phase is OscPhase.STARTING and starting.eta_s is None  # counting rows: ETA N/A


def test_gh_ost_failed_says_why() -> None:
    last = run("gh-ost-failed")[-1]
    assert last.phase is OscPhase.FAILED and not last.throttled and not last.cutover_ready
    assert last.reason == "critical-load met: Threads_running=1001, >=1000"
    throttled = [r for r in run("gh-ost-failed") if r.throttled]
    assert throttled[0].reason == "critical-load-hibernate until 2026-08-07 10:01:10 +0000 UTC"


def test_gh_ost_success_ends_done() -> None:
    records = run("gh-ost-succeeded")
    assert records[-1].phase is OscPhase.DONE and records[-1].pct == 100.0
    assert any(r.eta_s == 1.5 for r in records)


def test_spirit_report_rows() -> None:
    records = run("spirit-deferred")
    copy = [r for r in records if r.phase is OscPhase.COPYING and r.pct]
    first = copy[0]
    assert (first.pct, first.rows_copied, first.rows_total) == (46.13, 7550855, 16370180)
    assert first.eta_s == 3 * 60 + 29 and not first.throttled
    throttled = [r for r in records if r.throttled]
    assert throttled and throttled[0].pct == 49.9 and throttled[0].eta_s == 250
    assert throttled[0].reason == "copy throttled (replica lag, commit latency or load)"
    due = [r for r in records if r.pct == 99.99]
    assert due and due[0].eta_s == 0.0  # DUE
    tbd = [r for r in records if r.pct == 0.0 and r.phase is OscPhase.COPYING]
    assert tbd and tbd[0].eta_s is None  # TBD
    checksum = [r for r in records if r.phase is OscPhase.CHECKSUM]
    assert checksum[-1].reason == "checksum 40.00%" and checksum[-1].pct == 100.0
    last = records[-1]
    assert last.phase is OscPhase.POSTPONED and last.cutover_ready
    assert last.reason == "cut-over deferred until shop._spirit_sentinel is dropped (waiting 30s of 48h0m0s)"


def test_spirit_success_and_failure() -> None:
    ok = run("spirit-succeeded")
    assert any(r.eta_s == 0.85 for r in ok)  # a Go duration in milliseconds
    assert ok[-1].phase is OscPhase.DONE
    failed = run("spirit-failed")
    assert failed[1].throttled and failed[1].eta_s is None and failed[1].pct == 3.2
    assert failed[-1].phase is OscPhase.FAILED
    assert failed[-1].reason == "replication stream error: binlog.000042 was purged"


def test_spirit_report_escaped_on_one_line() -> None:
    """A handler that quotes the message (JSON, TextHandler) puts the rows on one line with `\\n`s."""
    reader = reader_for(Tool.SPIRIT)
    line = (
        'time=2026-08-14T11:47:10Z level=INFO msg="migration status: state=copyRows total-time=2m30s'
        " copier-time=2m30s\\n  copier   46.13%  7550855/16370180  chunk-size=8097  eta=3m29s"
        '  throttled=false\\n  ckpt    50s ago  binlog.000047:104857600"'
    )
    record = reader.feed(line)
    assert record is not None and record.pct == 46.13 and record.rows_total == 16370180


def test_pt_osc_throttling_and_copy() -> None:
    records = run("pt-online-schema-change-throttled")
    pcts = [r.pct for r in records if r.phase is OscPhase.COPYING]
    assert pcts == [0.0, 12.0, 30.0, 30.0, 30.0, 61.0, 61.0, 88.0]
    estimate = next(r for r in records if r.rows_total is not None)
    assert estimate.rows_total == 50000 and estimate.rows_copied == 0
    paused = [r for r in records if r.throttled]
    assert [r.reason for r in paused] == [
        "paused: Threads_running=31",
        "paused: Threads_running=28",
        "replica lag on h=db2,P=3306",
    ]
    assert paused[-1].lag_s == 12.0
    after_pause = records[records.index(paused[1]) + 1]
    assert after_pause.pct == 61.0 and not after_pause.throttled and after_pause.eta_s == 12.0
    assert next(r for r in records if r.phase is OscPhase.APPLYING).cutover_ready
    assert records[-1].phase is OscPhase.DONE and records[-1].pct == 100.0


def test_pt_osc_interrupted_is_failed_with_the_signal() -> None:
    last = run("pt-online-schema-change-interrupted")[-1]
    assert last.phase is OscPhase.FAILED and last.reason == "interrupted (SIGTERM)"
    assert last.pct == 21.0


def test_record_json_and_ratio() -> None:
    r = OscProgress(Tool.GH_OST, OscPhase.COPYING, pct=62.0, rows_copied=1, rows_total=2, throttled=True)
    assert r.to_json() == {
        "tool": "gh-ost",
        "phase": "copying",
        "pct": 62.0,
        "rows_copied": 1,
        "rows_total": 2,
        "eta_s": None,
        "lag_s": None,
        "throttled": True,
        "reason": None,
        "cutover_ready": False,
    }
    assert r.ratio == 0.62
    assert OscProgress(Tool.SPIRIT, OscPhase.STARTING).ratio is None
