"""The pure parts of strip-definer and update-views: cutting DEFINER out of server texts,
rendering objects that have none, the file-text test, the grants test, the diff, the
definer lint rule and the dumper's options.  The server side is tests/integration/test_strip_definer.py
and test_update_views.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from schemad.diff.kinds import DiffKind
from schemad.diff.modifiers import StatementModifiers
from schemad.diff.objects_diff import diff_object
from schemad.fs.dumper import DumpOptions, dump_objects
from schemad.introspect.privileges import grants_allow_any_definer
from schemad.introspect.texts import CreateText
from schemad.lint.options import LintOptions
from schemad.lint.rules import RULES_BY_NAME
from schemad.model.definer import Security, strip_definer_clause
from schemad.model.event import Event
from schemad.model.flavor import MARIADB_10_11, Flavor, Vendor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.routine import Routine, RoutineType
from schemad.model.schema import Schema
from schemad.model.trigger import Trigger, TriggerEvent, TriggerTiming
from schemad.model.view import CheckOption, View, ViewAlgorithm
from schemad.sqltext.definers import has_definer_clause

MYSQL_8 = Flavor(Vendor.MYSQL, 8, 0, 36)
ROOT = "root@127.0.0.1"

VIEW = View("v", ROOT, ViewAlgorithm.UNDEFINED, Security.DEFINER, CheckOption.NONE, "select 1 AS `1`")
PROC = Routine(RoutineType.PROCEDURE, "p", ROOT, "", "", "select 1")
TRIG = Trigger("tr", "t", TriggerTiming.BEFORE, TriggerEvent.INSERT, ROOT, "set new.a = 1")
EVENT = Event("e", ROOT, "select 1", interval_value="1", interval_field="DAY")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a view: the clause sits after ALGORITHM; SQL SECURITY DEFINER is no clause to cut
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`",
            "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`",
        ),
        (
            "CREATE DEFINER=`app`@`10.0.0.1` PROCEDURE `p`()\nselect 'DEFINER=`x`@`y` '",
            "CREATE PROCEDURE `p`()\nselect 'DEFINER=`x`@`y` '",
        ),
        (  # MariaDB's verbatim trigger text, the user's spelling after the definer
            "CREATE DEFINER=`root`@`localhost` trigger  tr before insert on t for each row set new.a = 1",
            "CREATE trigger  tr before insert on t for each row set new.a = 1",
        ),
        (  # ANSI_QUOTES routine; a user name holding @ and a doubled quote
            'CREATE DEFINER="we""ird@x"@"%" FUNCTION "f"() RETURNS int\nreturn 1',
            'CREATE FUNCTION "f"() RETURNS int\nreturn 1',
        ),
        (  # a MariaDB role has no host
            "CREATE DEFINER=`objs_role` EVENT `e` ON SCHEDULE AT '2030-01-01 00:00:00' DO select 1",
            "CREATE EVENT `e` ON SCHEDULE AT '2030-01-01 00:00:00' DO select 1",
        ),
        ("CREATE PROCEDURE `p`()\nselect 1", "CREATE PROCEDURE `p`()\nselect 1"),  # none: unchanged
        (
            "CREATE DEFINER=`unterminated PROCEDURE p() select 1",
            "CREATE DEFINER=`unterminated PROCEDURE p() select 1",
        ),
        ("", ""),
    ],
)
def test_strip_definer_clause(text: str, expected: str) -> None:
    assert strip_definer_clause(text) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (VIEW, "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`"),
        (PROC, "CREATE PROCEDURE `p`()\nselect 1"),
        (TRIG, "CREATE TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW set new.a = 1"),
        (
            EVENT,
            "CREATE EVENT `e` ON SCHEDULE EVERY 1 DAY ON COMPLETION NOT PRESERVE ENABLE DO select 1",
        ),
    ],
)
def test_objects_without_definer_render_no_clause(
    obj: View | Routine | Trigger | Event, expected: str
) -> None:
    with_definer = obj.create_statement(MARIADB_10_11)
    assert "DEFINER=`root`@`127.0.0.1` " in with_definer
    bare = obj.without_definer()
    assert bare.definer == ""
    assert bare.create_statement(MARIADB_10_11) == expected
    # the server's text of an introspected object loses the clause the same way
    shown = replace(obj, show_create=with_definer).without_definer()
    assert shown.show_create == expected


def test_mariadb_trigger_statement_loses_its_definer() -> None:
    verbatim = "CREATE DEFINER=`root`@`127.0.0.1` trigger tr before insert on t for each row set new.a = 1"
    bare = replace(TRIG, statement=verbatim).without_definer()
    assert (
        bare.create_statement(MARIADB_10_11)
        == "CREATE trigger tr before insert on t for each row set new.a = 1"
    )
    assert bare.statement_agrees()


@pytest.mark.parametrize(
    ("text", "has"),
    [
        ("CREATE VIEW v AS SELECT 1", False),
        ("create algorithm=merge sql security definer view v as select 1", False),
        ("CREATE DEFINER=`a`@`%` VIEW v AS SELECT 1", True),
        ("CREATE definer = CURRENT_USER PROCEDURE p() SELECT 1", True),
        ("CREATE OR REPLACE DEFINER=app FUNCTION f() RETURNS int RETURN 1", True),
        ("CREATE /* DEFINER=`x`@`y` */ PROCEDURE p() SELECT 1", False),  # a comment is no clause
        ("CREATE /*!50017 DEFINER=`x`@`y`*/ TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET @x = 1", True),
        ("CREATE PROCEDURE p() SELECT 'DEFINER=x'", False),  # after the object keyword: the body
        ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SET @definer = 1", False),
    ],
)
def test_has_definer_clause(text: str, has: bool) -> None:
    assert has_definer_clause(text) is has


@pytest.mark.parametrize(
    ("grants", "allowed"),
    [
        (["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"], True),
        (["GRANT SELECT, SUPER ON *.* TO `ops`@`%`"], True),
        (["GRANT SET USER ON *.* TO `ops`@`%`"], True),  # MariaDB 10.5+
        (
            ["GRANT USAGE ON *.* TO `app`@`%`", "GRANT SET_ANY_DEFINER ON *.* TO `app`@`%`"],
            True,
        ),  # MySQL 8.2+
        (["GRANT USAGE ON *.* TO `app`@`%`", "GRANT ALL PRIVILEGES ON `app`.* TO `app`@`%`"], False),
        (["GRANT SELECT, INSERT ON *.* TO `ro`@`%`"], False),
        (["GRANT `admin_role` TO `app`@`%`"], False),  # a role's privileges are not seen
        ([], False),
    ],
)
def test_grants_allow_any_definer(grants: list[str], allowed: bool) -> None:
    assert grants_allow_any_definer(grants) is allowed


MODS = StatementModifiers(MARIADB_10_11)


def test_diff_ignores_the_live_definer_when_the_file_gives_none() -> None:
    live = replace(PROC, definer="other@%")
    assert diff_object(live, PROC, MODS) != []  # a named definer is compared
    assert diff_object(live, PROC.without_definer(), MODS) == []
    changed = Routine(RoutineType.PROCEDURE, "p", "", "", "", "select 2")
    (stmt,) = diff_object(live, changed, MODS)
    assert stmt.kind is DiffKind.ALTER
    assert stmt.sql == "CREATE OR REPLACE PROCEDURE `p`()\nselect 2"  # re-created without DEFINER
    drop, create = diff_object(live, changed, StatementModifiers(MYSQL_8))
    assert drop.kind is DiffKind.DROP and create.sql == "CREATE PROCEDURE `p`()\nselect 2"
    (new,) = diff_object(None, VIEW.without_definer(), MODS)
    assert "DEFINER=" not in new.sql


def test_a_stripped_definer_is_not_linted() -> None:
    opts = LintOptions.from_values({"allow-definer": "nobody@nowhere"})
    rule = RULES_BY_NAME["definer"]
    assert [m for m, _ in rule.check(Schema("s", "utf8mb4", "x", views=(VIEW,)), VIEW, opts, MARIADB_10_11)]
    bare = VIEW.without_definer()
    assert list(rule.check(Schema("s", "utf8mb4", "x", views=(bare,)), bare, opts, MARIADB_10_11)) == []


def _text(type_: ObjectType, name: str, text: str) -> tuple[ObjectKey, CreateText]:
    key = ObjectKey(type_, name)
    return key, CreateText(key, text)


def test_dumper_strips_definers_of_stored_objects_only(tmp_path: Path) -> None:
    objs = dict(
        [
            _text(ObjectType.PROCEDURE, "p", "CREATE DEFINER=`a`@`%` PROCEDURE `p`()\nselect 1"),
            _text(ObjectType.TABLE, "t", "CREATE TABLE `t` (\n  `definer` int\n) ENGINE=InnoDB"),
        ]
    )
    dump_objects(tmp_path, objs, MARIADB_10_11, DumpOptions(strip_definer=True))
    assert (
        tmp_path / "p.sql"
    ).read_text() == "DELIMITER //\nCREATE PROCEDURE `p`()\nselect 1//\nDELIMITER ;\n"
    assert "`definer` int" in (tmp_path / "t.sql").read_text()


def test_dumper_leaves_existing_views_alone_without_update_views(tmp_path: Path) -> None:
    hand = "CREATE VIEW v AS\n  SELECT 1 -- one\n;\n"
    (tmp_path / "v.sql").write_text(hand)
    (tmp_path / "gone.sql").write_text("CREATE VIEW gone AS SELECT 2;\n")
    objs = dict(
        [
            _text(
                ObjectType.VIEW, "v", "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"
            ),
            _text(
                ObjectType.VIEW, "w", "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `w` AS select 3"
            ),
        ]
    )
    dump_objects(tmp_path, objs, MARIADB_10_11, DumpOptions(update_views=False))
    assert (tmp_path / "v.sql").read_text() == hand  # existing: kept as written
    assert (tmp_path / "w.sql").read_text().startswith("CREATE ALGORITHM=UNDEFINED")  # new: written
    assert not (tmp_path / "gone.sql").exists()  # dropped on the server: removed
    dump_objects(tmp_path, objs, MARIADB_10_11, DumpOptions(update_views=True))
    assert (tmp_path / "v.sql").read_text() == objs[ObjectKey(ObjectType.VIEW, "v")].show_create + ";\n"
