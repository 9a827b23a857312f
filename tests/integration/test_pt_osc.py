"""The real pt-online-schema-change, run through the alter-wrapper machinery.

Builds Skeema's documented alter-wrapper pattern with `wrapper_variables`,
runs it with `run_managed` against the suite's server and checks the table
was altered without losing a row, that progress was parsed from the tool's
output and that the password never shows.  Needs `pt-online-schema-change`
(`make setup` installs it); a missing tool is an error, not a skip.

Extra options the test passes and why:
  --recursion-method=none  the test server has no replicas; don't look for them
  --no-version-check       the default check phones home over HTTPS
  --chunk-size 500 --chunk-time 0   fixed chunks, so 10,000 rows take 20 of them
  --progress percentage,1  report at every 1% step (the spec's numbers are integers only)
  --sleep 0.05             (the stop test) a pause after each chunk, so the copy of
                           100,000 rows lasts seconds and a stop lands in the middle of it
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator

import pytest

from schemad.apply.leftovers import Leftover, LeftoverKind, drop_scaffolding, find_leftovers
from schemad.apply.progress import Progress, Tool, parse_progress
from schemad.apply.runner import LogLine, WrapperFailed, run_managed
from schemad.connection.instance import Instance
from schemad.plan.shellout import MASK, WrapperCommand, escape_value, wrapper_variables
from tests.conftest import DBServer

pytestmark = pytest.mark.db

ROWS = 10_000
# A space, a quote and a `$`: the value must survive the shell and pt's DSN parser.
PASSWORD = "Osc pw'1$x"

TEMPLATE = (
    "pt-online-schema-change --execute --alter {CLAUSES} "
    "D={SCHEMA},t={TABLE},h={HOST},P={PORT},u={USER},p={PASSWORDX} "
    "--recursion-method=none --no-version-check --chunk-size 500 --chunk-time 0 --progress percentage,1"
)


@pytest.fixture
async def osc_user(instance: Instance) -> AsyncIterator[str]:
    user = f"osc_{os.getpid()}"
    await instance.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    await instance.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", [PASSWORD])
    await instance.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'")
    try:
        yield user
    finally:
        await instance.execute(f"DROP USER IF EXISTS '{user}'@'%'")


async def test_pt_online_schema_change_adds_a_column(
    server: DBServer, instance: Instance, schema: str, osc_user: str
) -> None:
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    await instance.execute(
        f"CREATE TABLE `{schema}`.`t` (id INT UNSIGNED NOT NULL AUTO_INCREMENT, "
        "v VARCHAR(40) NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB"
    )
    for start in range(0, ROWS, 1000):
        values = ",".join(f"({i + 1}, 'row {i + 1}')" for i in range(start, start + 1000))
        await instance.execute(f"INSERT INTO `{schema}`.`t` (id, v) VALUES {values}")
    await instance.query(f"ANALYZE TABLE `{schema}`.`t`")

    variables = wrapper_variables(
        host=server.params.host,
        port=server.params.port,
        user=osc_user,
        password=PASSWORD,
        schema=schema,
        ddl="ALTER TABLE `t` ADD COLUMN `c` int(11) DEFAULT NULL",
        stmt_type="ALTER",
        object_class="TABLE",
        name="t",
    )
    cmd = WrapperCommand.from_template(TEMPLATE, variables)
    seen: list[LogLine] = []
    result = await run_managed(cmd, timeout=240, grace=30, on_line=seen.append)
    texts = [line.text for line in result.lines]
    assert result.exit_code == 0, "\n".join(texts)
    assert result.ok and result.total_lines == len(result.lines)

    create = (await instance.query(f"SHOW CREATE TABLE `{schema}`.`t`"))[0]["Create Table"]
    assert "`c` int(11) DEFAULT NULL" in create
    rows = await instance.query(f"SELECT COUNT(*) AS n, SUM(id) AS s, MAX(v) AS m FROM `{schema}`.`t`")
    assert (rows[0]["n"], int(rows[0]["s"])) == (ROWS, ROWS * (ROWS + 1) // 2)
    # pt-osc's own tables and triggers are gone
    tables = await instance.query(
        "SELECT table_name AS n FROM information_schema.tables WHERE table_schema = %s", [schema]
    )
    assert [r["n"] for r in tables] == ["t"]
    triggers = await instance.query(
        "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = %s", [schema]
    )
    assert triggers == []

    progress = [p for p in map(parse_progress, texts) if p is not None]
    assert all(p.tool is Tool.PT_OSC for p in progress)
    copying = [p for p in progress if p.raw.startswith(f"Copying `{schema}`.`t`:")]
    assert copying, "\n".join(texts)
    assert all(p.percent is not None and 0 <= p.percent <= 100 for p in copying)
    estimates = [p.rows_total for p in progress if p.rows_total is not None]  # "Copying approximately N rows"
    assert estimates and estimates[0] > 0
    percents = [p.percent or 0.0 for p in copying]
    assert percents == sorted(percents)
    done = Progress(
        Tool.PT_OSC, 100.0, 0.0, None, None, f"Successfully altered `{schema}`.`t`.", "done", True
    )
    assert [p for p in progress if p.done] == [done]

    assert "Osc pw" not in cmd.display and f"p={MASK}" in cmd.display
    for text in [*texts, *(line.text for line in seen), result.command]:
        assert PASSWORD not in text and escape_value(PASSWORD) not in text


async def test_pt_osc_failure_reports_exit_code_and_masked_tail(
    server: DBServer, instance: Instance, schema: str, osc_user: str
) -> None:
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    await instance.execute(f"CREATE TABLE `{schema}`.`t` (id INT NOT NULL PRIMARY KEY)")
    wrong = "not the pw 'at all'"
    variables = wrapper_variables(
        host=server.params.host,
        port=server.params.port,
        user=osc_user,
        password=wrong,
        schema=schema,
        ddl="ALTER TABLE `t` ADD COLUMN `c` int(11) DEFAULT NULL",
        stmt_type="ALTER",
        object_class="TABLE",
        name="t",
    )
    cmd = WrapperCommand.from_template(TEMPLATE, variables)
    result = await run_managed(cmd, timeout=240, grace=30)
    assert result.exit_code != 0 and not result.timed_out
    with pytest.raises(WrapperFailed) as info:
        result.check()
    assert info.value.exit_code == result.exit_code
    assert any("Access denied" in text for text in info.value.tail), info.value.tail
    for text in [*info.value.tail, str(info.value)]:
        assert "not the pw" not in text
    create = (await instance.query(f"SHOW CREATE TABLE `{schema}`.`t`"))[0]["Create Table"]
    assert "`c`" not in create


async def test_pt_osc_stopped_mid_copy_gets_one_sigterm_and_what_it_keeps_is_found_and_dropped(
    server: DBServer, instance: Instance, schema: str, osc_user: str
) -> None:
    """One SIGTERM lets pt-osc run its clean-up to the end, and its own clean-up keeps its work.

    pt-online-schema-change (3.x) treats any signal as an interruption: it
    exits through its clean-up tasks, which on purpose do not drop the
    triggers nor the half-filled `_big_new` ("Not dropping ... because the
    tool was interrupted").  `find_leftovers` finds exactly those; objects
    that merely look alike are not listed.  `drop_scaffolding` then drops
    what appeared while the tool ran and nothing that was there before.
    """
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    big = f"`{schema}`.`big`"
    await instance.execute(
        f"CREATE TABLE {big} (id INT UNSIGNED NOT NULL, v VARCHAR(40) NOT NULL, PRIMARY KEY (id))"
    )
    await instance.execute(
        f"INSERT INTO {big} SELECT seq, CONCAT('row ', seq) FROM `{schema}`.seq_1_to_100000"
    )
    # Look-alikes of another table's change, which are not listed (pt-osc refuses a table with triggers).
    other = f"`{schema}`.`other`"
    await instance.execute(f"CREATE TABLE {other} (id INT PRIMARY KEY)")
    await instance.execute(f"CREATE TABLE `{schema}`.`_other_new` (id INT PRIMARY KEY)")
    await instance.execute(
        f"CREATE TRIGGER `{schema}`.`pt_osc_{schema}_other_ins` AFTER INSERT ON {other}"
        " FOR EACH ROW SET @x = 1"
    )
    # An old copy someone kept from an earlier change: there before the tool, never dropped.
    await instance.execute(f"CREATE TABLE `{schema}`.`_big_old` (id INT PRIMARY KEY)")
    before = await find_leftovers(instance, schema, "big")
    assert [x.name for x in before] == ["_big_old"]
    variables = wrapper_variables(
        host=server.params.host,
        port=server.params.port,
        user=osc_user,
        password=PASSWORD,
        schema=schema,
        ddl="ALTER TABLE `big` ADD COLUMN `c` int(11) DEFAULT NULL",
        stmt_type="ALTER",
        object_class="TABLE",
        name="big",
    )
    template = TEMPLATE.replace("--chunk-size 500", "--chunk-size 1000 --sleep 0.05")
    cancel = asyncio.Event()

    def on_line(line: LogLine) -> None:
        if line.text.startswith(f"Copying {big}:"):  # the copy is under way
            cancel.set()

    result = await run_managed(
        WrapperCommand.from_template(template, variables),
        timeout=240,
        grace=30,
        on_line=on_line,
        cancel=cancel,
    )
    texts = [line.text for line in result.lines]
    assert result.cancelled and result.duration < 30, "\n".join(texts)  # it ended on the SIGTERM, no SIGKILL
    # The tool's own handler ran once and its clean-up ran to the end.
    assert texts.count("# Exiting on SIGTERM.") == 1, "\n".join(texts)
    assert "Not dropping triggers because the tool was interrupted.  To drop the triggers, execute:" in texts
    assert any(t.startswith(f"Not dropping the new table `{schema}`.`_big_new`") for t in texts), texts
    assert texts[-1] == f"{big} was not altered."

    found = await find_leftovers(instance, schema, "big")
    kept = (
        Leftover(LeftoverKind.TABLE, schema, "_big_new", Tool.PT_OSC, "big"),
        *(
            Leftover(LeftoverKind.TRIGGER, schema, f"pt_osc_{schema}_big_{op}", Tool.PT_OSC, "big")
            for op in ("del", "ins", "upd")
        ),
    )
    assert found == (Leftover(LeftoverKind.TABLE, schema, "_big_new", Tool.PT_OSC, "big"), *before, *kept[1:])
    # What the tool printed to drop by hand is what was found.
    advised = {t.rstrip(";") for t in texts if t.startswith("DROP ")}
    assert advised == {x.drop_sql() for x in kept}

    # Triggers kept (as --no-drop-triggers asks): the copy they write into stays too.
    assert await drop_scaffolding(instance, schema, "big", before, keep_triggers=True) == ((), found)
    await instance.execute(f"INSERT INTO {big} VALUES (100001, 'still written twice')")
    dropped, remaining = await drop_scaffolding(instance, schema, "big", before)
    assert (dropped, remaining) == ((*kept[1:], kept[0]), before)  # triggers first
    assert await find_leftovers(instance, schema, "big") == before
    # The look-alikes of another table's change are untouched, and writes to `big` work without the copy.
    assert await instance.query(f"SHOW TABLES FROM `{schema}` LIKE '\\_other\\_new'")
    assert len(await instance.query(f"SHOW TRIGGERS FROM `{schema}`")) == 1
    await instance.execute(f"INSERT INTO {big} VALUES (100002, 'written once')")
    rows = await instance.query(f"SELECT COUNT(*) AS n FROM {big}")
    assert rows[0]["n"] == 100_002
    create = (await instance.query(f"SHOW CREATE TABLE {big}"))[0]["Create Table"]
    assert "`c`" not in create
