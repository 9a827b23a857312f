"""Rendering of views, routines, triggers and events, against texts MariaDB 10.11 printed.

Every expected string below was copied from a real SHOW CREATE output (the
integration suite checks the same rules against the live server).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from schemad.model.definer import (
    Security,
    ansi_quotes,
    format_definer,
    normalize_definer,
    parse_definer,
    split_definer,
)
from schemad.model.event import Event, EventStatus, OnCompletion
from schemad.model.flavor import MARIADB_10_11, Flavor, Vendor
from schemad.model.keys import ObjectKey, ObjectType, escape_string
from schemad.model.routine import DataAccess, Routine, RoutineType
from schemad.model.trigger import Trigger, TriggerEvent, TriggerTiming
from schemad.model.view import CheckOption, View, ViewAlgorithm, definition_from_show_create

MYSQL_8 = Flavor(Vendor.MYSQL, 8, 0, 36)
ROOT = "root@127.0.0.1"
DEFAULT_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"
ORACLE_MODE = (
    "PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ORACLE,NO_KEY_OPTIONS,NO_TABLE_OPTIONS,"
    "NO_FIELD_OPTIONS,NO_AUTO_CREATE_USER,SIMULTANEOUS_ASSIGNMENT"
)


# --- definer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definer", "clause"),
    [
        ("root@127.0.0.1", "`root`@`127.0.0.1`"),
        ("root@%", "`root`@`%`"),
        ("we`ird@x@h`st", "`we``ird@x`@`h``st`"),  # split on the LAST @, backticks doubled
        ("objs_role", "`objs_role`"),  # MariaDB role: no host
        ("objs_role@", "`objs_role`"),  # information_schema's spelling of a role
    ],
)
def test_format_and_parse_definer(definer: str, clause: str) -> None:
    assert format_definer(definer) == clause
    assert parse_definer(clause) == normalize_definer(definer)
    assert parse_definer("DEFINER=" + clause) == normalize_definer(definer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("root@localhost", "root@localhost"),
        ("'root'@'localhost'", "root@localhost"),
        ('"a""b"@"h"', 'a"b@h'),
        ("DEFINER = `u`@`h`", "u@h"),
    ],
)
def test_parse_definer_accepts_other_quotes(text: str, expected: str) -> None:
    assert parse_definer(text) == expected


@pytest.mark.parametrize("bad", ["`unterminated@`h", "`u`x", "`u`@`h`x", "USER=`u`"])
def test_parse_definer_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_definer(bad)


def test_split_definer_and_ansi_quotes() -> None:
    assert split_definer("a@b@c") == ("a@b", "c")
    assert split_definer("role") == ("role", "")
    assert format_definer("root@h", ansi=True) == '"root"@"h"'
    assert ansi_quotes(ORACLE_MODE) and ansi_quotes("ansi") and not ansi_quotes(DEFAULT_MODE)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("pp'x", "'pp''x'"),
        ('a\\b\nc"d', "'a\\\\b\\nc\"d'"),  # backslash doubled, newline as \n, " untouched
        ("a\0b\rc\td", "'a\\0b\\rc\td'"),  # NUL and CR escaped, TAB kept as is
        ("", "''"),
    ],
)
def test_quote_comment(text: str, quoted: str) -> None:
    assert escape_string(text) == quoted


# --- views --------------------------------------------------------------------

VIEW_CASES = [
    (
        View(
            "v1",
            ROOT,
            ViewAlgorithm.UNDEFINED,
            Security.DEFINER,
            CheckOption.CASCADED,
            "select `t1`.`a` AS `a`,`t1`.`b` AS `b` from `t1` where `t1`.`a` > 1",
        ),
        "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER VIEW `v1` AS "
        "select `t1`.`a` AS `a`,`t1`.`b` AS `b` from `t1` where `t1`.`a` > 1 WITH CASCADED CHECK OPTION",
    ),
    (
        View(
            "v2",
            ROOT,
            ViewAlgorithm.MERGE,
            Security.INVOKER,
            CheckOption.LOCAL,
            "select `t1`.`a` AS `x`,'it\\'s' AS `y` from (`t1` join `t2` on(`t1`.`a` = `t2`.`a`))",
        ),
        "CREATE ALGORITHM=MERGE DEFINER=`root`@`127.0.0.1` SQL SECURITY INVOKER VIEW `v2` AS "
        "select `t1`.`a` AS `x`,'it\\'s' AS `y` from (`t1` join `t2` on(`t1`.`a` = `t2`.`a`))"
        " WITH LOCAL CHECK OPTION",
    ),
    (
        View("v 3", "root@%", ViewAlgorithm.TEMPTABLE, Security.DEFINER, CheckOption.NONE, "select 1 AS `1`"),
        "CREATE ALGORITHM=TEMPTABLE DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `v 3` AS select 1 AS `1`",
    ),
    (
        View(
            "rv", "objs_role", ViewAlgorithm.UNDEFINED, Security.DEFINER, CheckOption.NONE, "select 1 AS `1`"
        ),
        "CREATE ALGORITHM=UNDEFINED DEFINER=`objs_role` SQL SECURITY DEFINER VIEW `rv` AS select 1 AS `1`",
    ),
]


@pytest.mark.parametrize(("view", "expected"), VIEW_CASES)
def test_view_render(view: View, expected: str) -> None:
    assert view.create_statement(MARIADB_10_11) == expected
    assert view.create_statement(MYSQL_8) == expected
    assert view.key == ObjectKey(ObjectType.VIEW, view.name)
    # the definition fixup recovers exactly what the model holds
    assert definition_from_show_create(expected, view.name, view.check_option) == view.definition


def test_view_definition_fixup_refuses_unexpected_text() -> None:
    text = VIEW_CASES[0][1]
    assert definition_from_show_create(text, "other", CheckOption.CASCADED) is None
    assert definition_from_show_create(text, "v1", CheckOption.LOCAL) is None  # suffix mismatch
    # a SELECT that merely ends with the words of a check option is left alone when there is none
    tricky = (
        "CREATE ALGORITHM=UNDEFINED DEFINER=`r`@`h` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `x AS y`"
    )
    assert definition_from_show_create(tricky, "v", CheckOption.NONE) == "select 1 AS `x AS y`"


def test_equality_ignores_server_text_and_flag() -> None:
    view = VIEW_CASES[0][0]
    assert replace(view, show_create="x", unsupported=True) == view
    assert replace(view, definition="select 2") != view
    assert "show_create" not in repr(replace(view, show_create="SECRET-ish"))


# --- routines -----------------------------------------------------------------

ROUTINE_CASES = [
    (
        Routine(
            RoutineType.PROCEDURE,
            "p1",
            ROOT,
            "in a int, out b varchar(10) charset latin1",
            "",
            "begin\n  select a into b;\nend",
            deterministic=True,
            data_access=DataAccess.READS_SQL_DATA,
            comment="pp'x",
            sql_mode=DEFAULT_MODE,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `p1`(in a int, out b varchar(10) charset latin1)\n"
        "    READS SQL DATA\n    DETERMINISTIC\n    COMMENT 'pp''x'\nbegin\n  select a into b;\nend",
    ),
    (
        Routine(
            RoutineType.FUNCTION,
            "f1",
            ROOT,
            "x int",
            "varchar(100) CHARSET latin1 COLLATE latin1_swedish_ci",
            "return concat(x,'a')",
            deterministic=True,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `f1`(x int) RETURNS varchar(100) CHARSET latin1"
        " COLLATE latin1_swedish_ci\n    DETERMINISTIC\nreturn concat(x,'a')",
    ),
    (  # no characteristics at all: CONTAINS SQL, NOT DETERMINISTIC, SQL SECURITY DEFINER are silent
        Routine(RoutineType.PROCEDURE, "p2", ROOT, "", "", "select 1"),
        "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `p2`()\nselect 1",
    ),
    (  # param list whitespace verbatim; INVOKER; comment with backslash, newline and double quote
        Routine(
            RoutineType.PROCEDURE,
            "p3",
            ROOT,
            " ",
            "",
            "select 1 -- x",
            security=Security.INVOKER,
            comment='a\\b\nc"d',
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `p3`( )\n    SQL SECURITY INVOKER\n"
        "    COMMENT 'a\\\\b\\nc\"d'\nselect 1 -- x",
    ),
    (
        Routine(RoutineType.PROCEDURE, "p4", ROOT, "", "", "begin end", data_access=DataAccess.NO_SQL),
        "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `p4`()\n    NO SQL\nbegin end",
    ),
    (  # all four characteristics, in the server's fixed order
        Routine(
            RoutineType.PROCEDURE,
            "p5",
            ROOT,
            "a INT",
            "",
            "SELECT a",
            deterministic=True,
            data_access=DataAccess.MODIFIES_SQL_DATA,
            security=Security.INVOKER,
            comment="x",
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `p5`(a INT)\n    MODIFIES SQL DATA\n    DETERMINISTIC\n"
        "    SQL SECURITY INVOKER\n    COMMENT 'x'\nSELECT a",
    ),
    (
        Routine(
            RoutineType.FUNCTION,
            "agg1",
            ROOT,
            "x int",
            "int(11)",
            "begin return 1; end",
            data_access=DataAccess.MODIFIES_SQL_DATA,
            aggregate=True,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` AGGREGATE FUNCTION `agg1`(x int) RETURNS int(11)\n"
        "    MODIFIES SQL DATA\nbegin return 1; end",
    ),
    (
        Routine(
            RoutineType.FUNCTION, "f4", ROOT, "a int", "decimal(10,2)", "return a", security=Security.INVOKER
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `f4`(a int) RETURNS decimal(10,2)\n"
        "    SQL SECURITY INVOKER\nreturn a",
    ),
    (  # ANSI_QUOTES in the routine's sql_mode: double quotes for the definer and the name
        Routine(
            RoutineType.PROCEDURE,
            'p"q',
            ROOT,
            "",
            "",
            "select 1",
            comment="x",
            sql_mode="ANSI_QUOTES," + DEFAULT_MODE,
        ),
        'CREATE DEFINER="root"@"127.0.0.1" PROCEDURE "p""q"()\n    COMMENT \'x\'\nselect 1',
    ),
    (  # sql_mode=ORACLE: RETURN instead of RETURNS
        Routine(
            RoutineType.FUNCTION,
            "of1",
            ROOT,
            "a int",
            "int(11)",
            "as begin return a; end",
            sql_mode=ORACLE_MODE,
        ),
        'CREATE DEFINER="root"@"127.0.0.1" FUNCTION "of1"(a int) RETURN int(11)\nas begin return a; end',
    ),
    (
        Routine(RoutineType.PROCEDURE, "rp", "objs_role", "", "", "select 1"),
        "CREATE DEFINER=`objs_role` PROCEDURE `rp`()\nselect 1",
    ),
    (
        Routine(
            RoutineType.FUNCTION, "f`q", ROOT, "`a``b` int", "int(11)", "return `a``b`", deterministic=True
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `f``q`(`a``b` int) RETURNS int(11)\n"
        "    DETERMINISTIC\nreturn `a``b`",
    ),
    (
        Routine(RoutineType.PROCEDURE, "nul", ROOT, "", "", "select 1", comment="a\0b\rc\td"),
        "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `nul`()\n    COMMENT 'a\\0b\\rc\td'\nselect 1",
    ),
]


@pytest.mark.parametrize(("routine", "expected"), ROUTINE_CASES)
def test_routine_render(routine: Routine, expected: str) -> None:
    assert routine.create_statement(MARIADB_10_11) == expected
    assert routine.key.type is routine.type.object_type


@pytest.mark.parametrize(("routine", "expected"), ROUTINE_CASES)
def test_routine_text_recovered_from_show_create(routine: Routine, expected: str) -> None:
    """The MySQL path: characteristics known, params/returns/body cut out of SHOW CREATE."""
    flavor = MARIADB_10_11 if "ORACLE" in routine.sql_mode else MYSQL_8
    skeleton = replace(routine, params="", returns="", body="")
    assert skeleton.with_text_from_show_create(expected, flavor) == routine


def test_routine_show_create_parse_handles_parens_quotes_and_newlines() -> None:
    text = (
        "CREATE DEFINER=`root`@`localhost` FUNCTION `f`(\n  a enum('x)','y') -- (note\n, b int /* ) */\n)"
        " RETURNS varchar(5) CHARSET utf8mb4\n    NO SQL\nreturn ')'"
    )
    skeleton = Routine(RoutineType.FUNCTION, "f", "root@localhost", "", "", "", data_access=DataAccess.NO_SQL)
    got = skeleton.with_text_from_show_create(text, MYSQL_8)
    assert got is not None
    assert got.params == "\n  a enum('x)','y') -- (note\n, b int /* ) */\n"
    assert got.returns == "varchar(5) CHARSET utf8mb4"
    assert got.body == "return ')'"
    assert got.create_statement(MYSQL_8) == text
    # characteristics that disagree with information_schema: refused, not guessed
    assert replace(skeleton, deterministic=True).with_text_from_show_create(text, MYSQL_8) is None
    assert replace(skeleton, name="g").with_text_from_show_create(text, MYSQL_8) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("READS SQL DATA", DataAccess.READS_SQL_DATA),
        ("CONTAINS_SQL", DataAccess.CONTAINS_SQL),
        ("no_sql", DataAccess.NO_SQL),
    ],
)
def test_data_access_parse(text: str, value: DataAccess) -> None:
    assert DataAccess.parse(text) is value


# --- triggers -----------------------------------------------------------------

TR1 = Trigger(
    "tr1", "t1", TriggerTiming.BEFORE, TriggerEvent.INSERT, ROOT, "set new.a = 1 -- c", 2, DEFAULT_MODE
)


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (
            TR1,
            "CREATE DEFINER=`root`@`127.0.0.1` TRIGGER `tr1` BEFORE INSERT ON `t1`"
            " FOR EACH ROW set new.a = 1 -- c",
        ),
        (
            Trigger("tr 6", "my table", TriggerTiming.AFTER, TriggerEvent.DELETE, "objs_role", "begin end"),
            "CREATE DEFINER=`objs_role` TRIGGER `tr 6` AFTER DELETE ON `my table` FOR EACH ROW begin end",
        ),
        (
            Trigger(
                "atr",
                "t1",
                TriggerTiming.BEFORE,
                TriggerEvent.UPDATE,
                ROOT,
                "set @a = 1",
                sql_mode="ANSI_QUOTES," + DEFAULT_MODE,
            ),
            'CREATE DEFINER="root"@"127.0.0.1" TRIGGER "atr" BEFORE UPDATE ON "t1" FOR EACH ROW set @a = 1',
        ),
    ],
)
def test_trigger_canonical_render(trigger: Trigger, expected: str) -> None:
    assert trigger.create_statement(MYSQL_8) == expected
    assert trigger.create_statement(MARIADB_10_11) == expected  # no verbatim text known
    assert trigger.statement_agrees()


def test_trigger_verbatim_statement_wins_and_is_not_compared() -> None:
    verbatim = (
        "CREATE DEFINER=`root`@`127.0.0.1` trigger  tr1 before insert on db.t1"
        " for each row set new.a = 1 -- c"
    )
    t = replace(TR1, statement=verbatim)
    assert t.create_statement(MARIADB_10_11) == verbatim
    assert t.statement_agrees()
    assert t == TR1  # the header's spelling is not a difference...
    assert replace(t, body="set new.a = 2") != TR1  # ...the parts are
    assert replace(t, action_order=1) != TR1
    # text that disagrees with the parts (other definer, other body) is detected
    assert not replace(t, definer="other@h").statement_agrees()
    assert not replace(t, body="set new.a = 3").statement_agrees()
    assert t.key == ObjectKey(ObjectType.TRIGGER, "tr1")


# --- events -------------------------------------------------------------------

D2030 = datetime(2030, 1, 1)
NOW = datetime(2026, 11, 24, 6, 50, 50)
EVENT_CASES = [
    (
        Event(
            "e1",
            ROOT,
            "begin delete from t1; end",
            interval_value="1",
            interval_field="DAY",
            starts=D2030,
            on_completion=OnCompletion.PRESERVE,
            status=EventStatus.DISABLED,
            comment="ev",
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e1` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'"
        " ON COMPLETION PRESERVE DISABLE COMMENT 'ev' DO begin delete from t1; end",
    ),
    (
        Event("e2", ROOT, "delete from t1", interval_value="1:30", interval_field="HOUR_MINUTE", starts=NOW),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e2` ON SCHEDULE EVERY '1:30' HOUR_MINUTE"
        " STARTS '2026-11-24 06:50:50' ON COMPLETION NOT PRESERVE ENABLE DO delete from t1",
    ),
    (
        Event(
            "e3",
            ROOT,
            "/* c */ delete from t1",
            execute_at=datetime(2031, 5, 6, 8, 8, 9),
            status=EventStatus.SLAVESIDE_DISABLED,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e3` ON SCHEDULE AT '2031-05-06 08:08:09'"
        " ON COMPLETION NOT PRESERVE DISABLE ON SLAVE DO /* c */ delete from t1",
    ),
    (
        Event(
            "e4",
            ROOT,
            "delete from t1",
            interval_value="2",
            interval_field="QUARTER",
            starts=D2030,
            ends=datetime(2032, 1, 1, 10),
            comment="it's\\ a\nb",
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e4` ON SCHEDULE EVERY 2 QUARTER"
        " STARTS '2030-01-01 00:00:00' ENDS '2032-01-01 10:00:00' ON COMPLETION NOT PRESERVE ENABLE"
        " COMMENT 'it''s\\\\ a\\nb' DO delete from t1",
    ),
    (
        Event(
            "e5",
            ROOT,
            "delete from t1",
            interval_value="1 2:3:4",
            interval_field="DAY_SECOND",
            starts=NOW,
            status=EventStatus.DISABLED,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e5` ON SCHEDULE EVERY '1 2:3:4' DAY_SECOND"
        " STARTS '2026-11-24 06:50:50' ON COMPLETION NOT PRESERVE DISABLE DO delete from t1",
    ),
    (
        Event(
            "e6",
            ROOT,
            "delete from t1",
            interval_value="1-2",
            interval_field="YEAR_MONTH",
            starts=NOW,
            status=EventStatus.DISABLED,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e6` ON SCHEDULE EVERY '1-2' YEAR_MONTH"
        " STARTS '2026-11-24 06:50:50' ON COMPLETION NOT PRESERVE DISABLE DO delete from t1",
    ),
    (  # the server re-prints '5.5' MINUTE_SECOND as '5:5'; the model holds the re-printed value
        Event(
            "e8",
            ROOT,
            "delete from t1",
            interval_value="5:5",
            interval_field="MINUTE_SECOND",
            starts=NOW,
            status=EventStatus.DISABLED,
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e8` ON SCHEDULE EVERY '5:5' MINUTE_SECOND"
        " STARTS '2026-11-24 06:50:50' ON COMPLETION NOT PRESERVE DISABLE DO delete from t1",
    ),
    (
        Event(
            "e15",
            ROOT,
            "delete from t1",
            interval_value="90",
            interval_field="MINUTE",
            starts=NOW,
            status=EventStatus.DISABLED,
            comment="",
        ),
        "CREATE DEFINER=`root`@`127.0.0.1` EVENT `e15` ON SCHEDULE EVERY 90 MINUTE"
        " STARTS '2026-11-24 06:50:50' ON COMPLETION NOT PRESERVE DISABLE DO delete from t1",
    ),
    (  # the event's sql_mode does not change the quoting (the session's does)
        Event(
            'a"e',
            "objs_role",
            "select 1",
            interval_value="1",
            interval_field="HOUR",
            starts=D2030,
            status=EventStatus.DISABLED,
            sql_mode="ANSI_QUOTES," + DEFAULT_MODE,
        ),
        "CREATE DEFINER=`objs_role` EVENT `a\"e` ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-01 00:00:00'"
        " ON COMPLETION NOT PRESERVE DISABLE DO select 1",
    ),
]


@pytest.mark.parametrize(("event", "expected"), EVENT_CASES)
def test_event_render(event: Event, expected: str) -> None:
    assert event.create_statement(MARIADB_10_11) == expected
    assert event.key == ObjectKey(ObjectType.EVENT, event.name)


def test_event_status_parse_accepts_mysql_84_spelling() -> None:
    assert EventStatus.parse("REPLICA_SIDE_DISABLED") is EventStatus.SLAVESIDE_DISABLED
    assert EventStatus.parse("enabled") is EventStatus.ENABLED
    assert EventStatus.SLAVESIDE_DISABLED.clause == "DISABLE ON SLAVE"
