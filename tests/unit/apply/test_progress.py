"""parse_progress on lines in the exact formats pt-online-schema-change and gh-ost print."""

from __future__ import annotations

import pytest

from schemad.apply.progress import Progress, Tool, parse_progress

PT = Tool.PT_OSC
GH = Tool.GH_OST

# line -> (tool, percent, eta_seconds, rows_copied, rows_total, state, done)
CASES: list[tuple[str, tuple[Tool, float | None, float | None, int | None, int | None, str | None, bool]]] = [
    # pt-osc Progress: printf STDERR "$name: %3d%% %s remain\n" (secs_to_time: mm:ss, hh:mm:ss, d+hh:mm:ss)
    ("Copying `shop`.`orders`:   0% 00:00 remain", (PT, 0.0, 0.0, None, None, "copying", False)),
    ("Copying `shop`.`orders`:  45% 01:23 remain", (PT, 45.0, 83.0, None, None, "copying", False)),
    ("Copying `shop`.`orders`: 100% 00:00 remain", (PT, 100.0, 0.0, None, None, "copying", False)),
    ("Copying `db`.`t`:  7% 02:03:04 remain", (PT, 7.0, 7384.0, None, None, "copying", False)),
    ("Copying `db`.`t`:  1% 3+01:00:05 remain", (PT, 1.0, 3 * 86400 + 3605.0, None, None, "copying", False)),
    ("Copying `we``ird`.`a: b`:  12% 00:09 remain", (PT, 12.0, 9.0, None, None, "copying", False)),
    (
        "2024-05-01T10:00:00 Copying approximately 10000 rows...",
        (PT, 0.0, None, 0, 10000, "copying", False),
    ),
    ("2024-05-01T10:00:03 Copied rows OK.", (PT, 100.0, 0.0, None, None, "copied", False)),
    ("Successfully altered `shop`.`orders`.", (PT, 100.0, 0.0, None, None, "done", True)),
    # gh-ost printStatus, current format
    (
        "Copy: 1234/5678 21.7%; Applied: 0; Backlog: 0/1000; Time: 1m2s(total), 58s(copy); "
        "streamer: mysql-bin.000003:12345; Lag: 0.01s, HeartbeatLag: 0.02s, State: migrating; ETA: 1m2s",
        (GH, 21.7, 62.0, 1234, 5678, "migrating", False),
    ),
    (
        "Copy: 0/752865 0.0%; Applied: 0; Backlog: 0/1000; Time: 29s(total), 0s(copy); "
        "streamer: mysql-bin.007068:846528615; Lag: 0.02s, HeartbeatLag: 0.03s, "
        "State: counting rows; ETA: N/A",
        (GH, 0.0, None, 0, 752865, "counting rows", False),
    ),
    (
        "Copy: 466600/752865 62.0%; Applied: 12; Backlog: 0/1000; Time: 2m40s(total), 2m11s(copy); "
        "streamer: mysql-bin.007069:622646704; Lag: 3.00s, HeartbeatLag: 3.10s, "
        "State: throttled, my.replica-01.com:3306 replica-lag=3.000000s; ETA: 2h6m30s",
        (GH, 62.0, 7590.0, 466600, 752865, "throttled, my.replica-01.com:3306 replica-lag=3.000000s", False),
    ),
    (
        "Copy: 752865/752865 100.0%; Applied: 0; Backlog: 0/1000; Time: 4m1s(total), 3m30s(copy); "
        "streamer: mysql-bin.007069:922646704; Lag: 0.01s, HeartbeatLag: 0.01s, "
        "State: postponing cut-over; ETA: due",
        (GH, 100.0, 0.0, 752865, 752865, "postponing cut-over", False),
    ),
    # the same status as gh-ost also logs it, behind a log prefix
    (
        "2024-05-01 10:00:00 INFO Copy: 10/20 50.0%; Applied: 0; Backlog: 0/1000; Time: 3s(total), 1s(copy); "
        "streamer: mysql-bin.000001:4; Lag: 0.00s, HeartbeatLag: 0.00s, State: migrating; ETA: 1.5s",
        (GH, 50.0, 1.5, 10, 20, "migrating", False),
    ),
    # older gh-ost (documented in doc/understanding-output.md): no State, throttle reason in ETA
    (
        "Copy: 14100/752865 1.9%; Applied: 0; Backlog: 0/100; Time: 32s(total), 3s(copy); "
        "streamer: mysql-bin.007068:864722759; ETA: 2m37s",
        (GH, 1.9, 157.0, 14100, 752865, None, False),
    ),
    (
        "Copy: 528000/752865 70.1%; Applied: 0; Backlog: 0/100; Time: 3m0s(total), 2m31s(copy); "
        "streamer: mysql-bin.007069:711177703; ETA: throttled, lag=2.483039s",
        (GH, 70.1, None, 528000, 752865, "throttled, lag=2.483039s", False),
    ),
    ("2024-05-01 10:04:01 INFO Done migrating `shop`.`orders`", (GH, 100.0, 0.0, None, None, "done", True)),
]

NOT_PROGRESS = [
    "",
    "Altering `shop`.`orders`...",
    "Creating new table...",
    "2024-05-01T10:00:00 Creating triggers...",
    "Not checking slave lag because no slaves were found and --check-slave-lag was not specified.",
    "Waiting for h=replica1:  10% 00:30 remain",  # pt-osc's replica wait, not the copy
    "2024-05-01 10:00:00 INFO Migrating `shop`.`orders`",
    "# Migrating `mydb`.`mytable`; Ghost table is `mydb`.`_mytable_gho`",
    "Copy: lots of rows",
    "Copying `db`.`t`: done",
]


@pytest.mark.parametrize(("line", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_parse_progress(
    line: str, expected: tuple[Tool, float | None, float | None, int | None, int | None, str | None, bool]
) -> None:
    tool, percent, eta, copied, total, state, done = expected
    assert parse_progress(line) == Progress(
        tool=tool,
        percent=percent,
        eta_seconds=eta,
        rows_copied=copied,
        rows_total=total,
        raw=line,
        state=state,
        done=done,
    )


@pytest.mark.parametrize("line", NOT_PROGRESS)
def test_lines_without_progress(line: str) -> None:
    assert parse_progress(line) is None


def test_progress_is_a_hashable_value() -> None:
    # Frozen for mypy (schemad.records): equal parses are equal and hash alike.
    p = parse_progress("Copying `db`.`t`:  45% 01:23 remain")
    assert p is not None
    assert p == parse_progress("Copying `db`.`t`:  45% 01:23 remain")
    assert len({p, parse_progress("Copying `db`.`t`:  45% 01:23 remain")}) == 1
