"""The workspace guard: what a file may run on the environment's server, decided before it is sent."""

from __future__ import annotations

import pytest

from schemad.model.event import EventStatus
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.classify import classify
from schemad.workspace.guard import Admitted, Refusal, admit


def _admit(body: str, home: tuple[str, ...] = ("inventory",), **kw: bool) -> Admitted | Refusal:
    key = classify(body).key
    assert key is not None, body
    return admit(key=key, body=body, file="db/inventory/x.sql", line=7, home=home, **kw)


def _ok(body: str, home: tuple[str, ...] = ("inventory",)) -> Admitted:
    r = _admit(body, home)
    assert isinstance(r, Admitted), r
    return r


def _refused(body: str, *words: str) -> Refusal:
    r = _admit(body)
    assert isinstance(r, Refusal), r
    assert (r.file, r.line) == ("db/inventory/x.sql", 7)
    for w in words:
        assert w in r.reason, r.reason
    return r


def test_unqualified_statements_run_unchanged() -> None:
    body = "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"
    assert _ok(body).body == body
    view = "CREATE VIEW v AS SELECT * FROM shop.orders"  # reading another schema is allowed
    assert _ok(view).body == view
    fk = "CREATE TABLE c (id int primary key, p int, FOREIGN KEY (p) REFERENCES shop.parent (id))"
    assert _ok(fk).body == fk


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ("CREATE TABLE inventory.pwn2 (id int primary key)", "CREATE TABLE `pwn2` (id int primary key)"),
        ("CREATE TABLE `inventory` . `p``x` (id int)", "CREATE TABLE `p``x` (id int)"),
        ("CREATE OR REPLACE VIEW inventory.v AS SELECT 1", "CREATE OR REPLACE VIEW `v` AS SELECT 1"),
        (
            "CREATE DEFINER=`root`@`%` PROCEDURE inventory.p() BEGIN SELECT 1; END",
            "CREATE DEFINER=`root`@`%` PROCEDURE `p`() BEGIN SELECT 1; END",
        ),
    ],
)
def test_own_schema_qualifier_is_rewritten_away(body: str, want: str) -> None:
    assert _ok(body).body == want


def test_a_foreign_keys_parent_in_the_own_schema_is_the_temp_schemas_table() -> None:
    # As a view's SELECT: `inventory.parent` would be the live table, the server would print the
    # qualifier (the temp schema is another schema), and the diff would never converge.
    body = (
        "CREATE TABLE inventory.c (\n  id int primary key, p int, q int, r int,\n"
        "  CONSTRAINT f1 FOREIGN KEY (p) REFERENCES `inventory`.\n    `parent` (id),\n"
        "  FOREIGN KEY (q) REFERENCES shop.parent (id),\n"  # another schema: as written
        "  FOREIGN KEY (r) REFERENCES Inventory.parent (id) -- names are compared exactly\n"
        ") COMMENT 'references inventory.parent'"
    )
    want = (
        "CREATE TABLE `c` (\n  id int primary key, p int, q int, r int,\n"
        "  CONSTRAINT f1 FOREIGN KEY (p) REFERENCES \n`parent` (id),\n"  # its newline kept
        "  FOREIGN KEY (q) REFERENCES shop.parent (id),\n"
        "  FOREIGN KEY (r) REFERENCES Inventory.parent (id) -- names are compared exactly\n"
        ") COMMENT 'references inventory.parent'"
    )
    assert _ok(body).body == want


@pytest.mark.parametrize(
    "body",
    [
        "CREATE OR REPLACE TABLE shop.victim3 (id int primary key)",
        "CREATE TABLE shop.repo_pwn (id int primary key)",
        "CREATE TABLE `shop`.`x` (id int)",
        "CREATE TABLE /*!shop.*/x (id int)",
        "CREATE VIEW mysql.v AS SELECT 1",
        "CREATE FUNCTION shop.f() RETURNS int RETURN 1",
        "CREATE PROCEDURE Inventory.p() SELECT 1",  # names are compared exactly
        "CREATE EVENT shop.e ON SCHEDULE EVERY 1 DAY DO DELETE FROM shop.orders",
        "CREATE TRIGGER shop.lint_backdoor BEFORE INSERT ON shop.orders FOR EACH ROW SET NEW.note='x'",
    ],
)
def test_other_schema_names_are_refused(body: str) -> None:
    _refused(body, "refused", "qualified with schema")


def test_trigger_on_another_schemas_table_is_refused() -> None:
    r = _refused("CREATE TRIGGER tr BEFORE INSERT ON shop.orders FOR EACH ROW SET NEW.note='x'", "table")
    assert "`shop`" in r.reason


def test_trigger_on_own_schema_table_is_rewritten() -> None:
    body = (
        "CREATE TRIGGER tr AFTER UPDATE ON `inventory`.`orders` FOR EACH ROW INSERT INTO shop.log VALUES (1)"
    )
    assert _ok(body).body == (
        "CREATE TRIGGER tr AFTER UPDATE ON `orders` FOR EACH ROW INSERT INTO shop.log VALUES (1)"
    )
    both = "CREATE TRIGGER inventory.tr BEFORE DELETE ON inventory.orders FOR EACH ROW SET @x=1"
    assert _ok(both).body == "CREATE TRIGGER `tr` BEFORE DELETE ON orders FOR EACH ROW SET @x=1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("CREATE TABLE t LIKE shop.orders", "LIKE"),
        ("CREATE TABLE t AS SELECT * FROM shop.orders", "SELECT"),
        ("CREATE TABLE t (id int); DROP TABLE shop.orders", "semicolon"),
        ("CREATE VIEW v AS SELECT 1; DROP TABLE shop.orders", "semicolon"),
        ("CREATE FUNCTION f RETURNS STRING SONAME 'evil.so'", "SONAME"),
    ],
)
def test_forms_that_could_write_elsewhere_are_refused(body: str, reason: str) -> None:
    _refused(body, reason)


def test_statement_must_be_what_its_key_says() -> None:
    body = "CREATE TABLE t (id int)"
    r = admit(key=ObjectKey(ObjectType.VIEW, "t"), body=body, file="f.sql", line=1, home=())
    assert isinstance(r, Refusal)
    r = admit(key=ObjectKey(ObjectType.TABLE, "t"), body="DROP TABLE t", file="f.sql", line=1, home=())
    assert isinstance(r, Refusal) and "not a CREATE" in r.reason


@pytest.mark.parametrize(
    ("body", "sent", "status"),
    [
        (
            "CREATE EVENT e1 ON SCHEDULE AT CURRENT_TIMESTAMP ON COMPLETION PRESERVE"
            " DO INSERT INTO evt.log VALUES (now(6))",
            "CREATE EVENT e1 ON SCHEDULE AT CURRENT_TIMESTAMP ON COMPLETION PRESERVE"
            "  DISABLE DO INSERT INTO evt.log VALUES (now(6))",
            EventStatus.ENABLED,
        ),
        (
            "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND ENABLE COMMENT 'enable do' DO SELECT 1",
            "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DISABLE COMMENT 'enable do' DO SELECT 1",
            EventStatus.ENABLED,
        ),
        (
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY COMMENT 'x' DO SELECT 1",
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY  DISABLE COMMENT 'x' DO SELECT 1",
            EventStatus.ENABLED,
        ),
        (
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE ON SLAVE DO SELECT 1",
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
            EventStatus.SLAVESIDE_DISABLED,
        ),
        (
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY /*!DISABLE*/ DO SELECT 1",
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY /*!DISABLE*/ DO SELECT 1",
            EventStatus.DISABLED,
        ),
    ],
)
def test_events_are_created_disabled_with_their_status_kept(
    body: str, sent: str, status: EventStatus
) -> None:
    a = _ok(body)
    assert a.body == sent
    assert a.event_status is status


def test_seeding_keeps_events_live() -> None:
    body = "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1"
    a = _admit(body, disable_events=False)
    assert isinstance(a, Admitted) and a.body == body and a.event_status is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # A server that skips the comment would see `shop.y`; the classifier reads `x`.
        ("CREATE TABLE /*!999999 x */ shop.y (id int)", "version-gated"),
        ("CREATE TABLE /*M!100000 x */ shop.y (id int)", "version-gated"),
        # Under NO_BACKSLASH_ESCAPES the definer string ends at \\' and the name is shop.evil.
        ("CREATE DEFINER='x\\' PROCEDURE shop.evil() SELECT 1; -- '@'%' PROCEDURE p() SELECT 1", "backslash"),
        ("CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP /*!999999 DISABLE */ DO SELECT 1", "version-gated"),
    ],
)
def test_heads_the_server_may_read_differently_are_refused(body: str, reason: str) -> None:
    _refused(body, reason)


def test_always_run_versioned_comments_and_later_backslashes_are_fine() -> None:
    body = "CREATE TABLE t (a varchar(9) DEFAULT 'a\\\\b') /*!50100 PARTITION BY HASH (a) */"
    assert _ok(body).body == body
    assert _ok("CREATE /*!50001 ALGORITHM=MERGE */ VIEW v AS SELECT 1").body.startswith("CREATE /*!50001")
