"""The line of a workspace error: the server's `near '..' at line N` placed in the file.

The messages are MariaDB 10.11's own (taken from the suite's server); the
integration tests in tests/integration/test_error_lines.py send the same
kind of statements to the real server through every reporter.
"""

from __future__ import annotations

import pytest

from schemad.errors import DatabaseError
from schemad.model.event import EventStatus
from schemad.sqltext.splitter import split
from schemad.workspace.errorline import error_offset
from schemad.workspace.guard import Admitted, admit
from schemad.workspace.result import StatementFailure
from schemad.workspace.tempschema import _failure

PARSE = "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near {near} at line {n}"  # noqa: E501


def _msg(near: str, n: int) -> str:
    return PARSE.format(near=f"'{near}'", n=n)


def _line_of(sent: str, message: str) -> int | None:
    """1-based line within `sent` of the error, as the reporters compute it."""
    at = error_offset(sent, message)
    return None if at is None else sent.count("\n", 0, at) + 1


@pytest.mark.parametrize(
    ("sent", "near", "n", "line"),
    [
        # The plain case: the server's line is the statement's line.
        ("CREATE TABLE t1 (\n  id int,\n  x int,,\n  y int\n)", "\n  y int\n)", 3, 3),
        # A comment's newlines count for the server too.
        ("CREATE TABLE t3 (\n  /* a\nb */ id int,\n  x int,,\n  y int\n)", "\n  y int\n)", 4, 4),
        ("CREATE TABLE t4 (\n  -- hello\n  id int, # x\n  x int,,\n  y int\n)", "\n  y int\n)", 4, 4),
        # Those inside a quoted string or name do not: the server says 3, the error is on line 5 / 4.
        ("CREATE TABLE t2 (\n  id int COMMENT 'a\nb\nc',\n  x int,,\n  y int\n)", "\n  y int\n)", 3, 5),
        ("CREATE TABLE t8 (\n  `a\nb` int,\n  x int,,\n  y int\n)", "\n  y int\n)", 3, 4),
        ('CREATE TABLE t10 (\n  id int DEFAULT "a\nb",\n  x int,,\n  y int\n)', "\n  y int\n)", 3, 4),
        # CRLF line ends: one line each.
        ("CREATE TABLE t6 (\r\n  id int,\r\n  x int,,\r\n  y int\r\n)", "\r\n  y int\r\n)", 3, 3),
        # A version-gated comment is code; the end of the statement is near ''.
        ("CREATE TABLE t5 (\n  id int\n) /*!50100 PARTITION\n BY HASH(id)\n PARTITIONS 2,, */", ", */", 5, 5),
        ("CREATE TABLE t9 (\n  id int,\n  x int,\n", "", 3, 3),
        # An unterminated string: the error is where it starts.
        ("CREATE TABLE t (\n  id int,\n  x int COMMENT 'abc\n)", "'abc\n)", 3, 3),
        # Stored programs, views, events and triggers are reported the same way.
        ("CREATE PROCEDURE p1()\nBEGIN\n  SELECT 1;\n  SELEC 2;\nEND", "2;\nEND", 4, 4),
        ("CREATE VIEW v1 AS\nSELECT 1\nFROM FROM dual", "FROM dual", 3, 3),
        ("CREATE TRIGGER tr1 BEFORE INSERT ON t\nFOR EACH ROW\nSET NEW.x = = 1", "= 1", 3, 3),
    ],
)
def test_server_line_placed_in_the_statement(sent: str, near: str, n: int, line: int) -> None:
    assert _line_of(sent, _msg(near, n)) == line


def test_cut_near_text_is_found_on_the_servers_line() -> None:
    # MariaDB cuts the near text after 80 bytes and marks the cut with "...".
    rows = ",\n".join(f"  c{i} int COMMENT 'é{i}'" for i in range(20))
    sent = "CREATE TABLE t1 (\n  id int,\n  x int,,\n" + rows + "\n)"
    near = "\n  c0 int COMMENT 'é0',\n  c1 int COMMENT 'é1',\n  c2 int COMMENT 'é2',\n  c3..."
    assert _line_of(sent, _msg(near, 3)) == 3
    # MySQL cuts without a mark: a prefix of the rest all the same.
    assert _line_of(sent, _msg(near[: -len("...")], 3)) == 3


def test_repeated_near_text_is_taken_on_the_servers_line() -> None:
    # The cut near text ` b int,` is on the second line and after the error; the server's
    # line 4 (file line 5: it does not count the quoted newline) says which one.
    sent = "CREATE TABLE t (\n  a int, b int,\n  c int COMMENT 'x\ny',\n  d int,, b int,\n  e int\n)"
    assert _line_of(sent, _msg(" b int,...", 4)) == 5
    assert _line_of(sent, _msg(" b int,...", 2)) == 2


def test_unknown_near_text_falls_back_to_the_servers_line() -> None:
    sent = "CREATE TABLE t (\n  a int,\n  b int,,\n  c int\n)"
    assert _line_of(sent, _msg("text the statement does not hold...", 2)) == 2
    assert error_offset(sent, _msg("nowhere...", 9)) is None  # a line the statement does not have


@pytest.mark.parametrize(
    "message",
    [
        "Duplicate column name 'id'",
        "Unknown data type: 'foo'",
        "Table 'x' already exists",
        "near 'x' at line 3 but not at the end of the message.",
    ],
)
def test_errors_without_a_line(message: str) -> None:
    assert error_offset("CREATE TABLE t (\n  id int,\n  id int\n)", message) is None


# --------------------------------------------------------------------------- the guard


@pytest.mark.parametrize(
    "body",
    [
        "CREATE TABLE inventory\n.\nt (\n  id int,,\n  x int\n)",
        "CREATE TABLE `inventory` /* the\nhome schema */ . `t` (\n  id int,,\n  x int\n)",
        "CREATE TRIGGER tr BEFORE INSERT ON inventory\n.orders\nFOR EACH ROW\nSET NEW.x = = 1",
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE ON\nSLAVE\nDO\n  SELEC 1",
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY\nENABLE\nDO\n  SELEC 1",
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY\nDO\n  SELEC 1",
    ],
)
def test_guard_rewrites_keep_every_line_where_it_was(body: str) -> None:
    stmt = split(body + ";\n", "x.sql")[0]
    assert stmt.key is not None
    a = admit(key=stmt.key, body=stmt.body, file="x.sql", line=1, home=("inventory",))
    assert isinstance(a, Admitted) and a.body != body  # something was rewritten...
    assert a.body.count("\n") == body.count("\n")  # ...and no line was added or removed
    # The last two lines (where the errors are) are unchanged and start at the same line.
    tail = "\n".join(body.split("\n")[-2:])
    assert a.body.endswith(tail)
    assert a.body.count("\n", 0, len(a.body) - len(tail)) == body.count("\n", 0, len(body) - len(tail))


def test_guard_keeps_the_event_status_of_a_multi_line_clause() -> None:
    body = "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE ON\nSLAVE\nDO SELECT 1"
    key = split(body)[0].key
    assert key is not None
    a = admit(key=key, body=body, file="x.sql", line=1, home=())
    assert isinstance(a, Admitted) and a.event_status is EventStatus.SLAVESIDE_DISABLED
    assert a.body == "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE\n\nDO SELECT 1"


# --------------------------------------------------------------------------- StatementFailure


def _fail(text: str, near: str, n: int, *, errno: int = 1064) -> StatementFailure:
    """The failure of the last statement of `text` (file f.sql) for a server error."""
    stmt = [s for s in split(text, "f.sql") if s.key is not None][-1]
    assert stmt.key is not None
    a = admit(key=stmt.key, body=stmt.body, file=stmt.file, line=stmt.line, col=stmt.col, home=("app",))
    assert isinstance(a, Admitted)
    message = _msg(near, n) if errno == 1064 else near
    return _failure(a, DatabaseError(f"127.0.0.1:3306: Error {errno}: {message}", errno=errno))


def test_failure_on_a_later_line_of_a_statement_that_is_not_the_first() -> None:
    text = "CREATE TABLE a (id int PRIMARY KEY);\n\nCREATE TABLE b (\n  id int,\n  x int,,\n  y int\n);\n"
    f = _fail(text, "\n  y int\n)", 3)
    assert (f.file, f.line, f.column, f.errno) == ("f.sql", 5, None, 1064)
    assert str(f).startswith("f.sql:5: table `b`: You have an error in your SQL syntax")
    assert f.message.endswith("at line 3")  # the server's text is kept as it is


def test_failure_of_a_statement_starting_mid_line() -> None:
    text = (
        "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE app.b (\n  id int COMMENT 'x\ny',\n  x int,,\n);\n"
    )
    f = _fail(text, "\n)", 3)  # the server does not count the quoted newline
    assert (f.line, f.column) == (4, None)
    first_line = _fail("CREATE TABLE a (id int); CREATE TABLE b (id int,, x int);\n", " x int)", 1)
    assert (first_line.line, first_line.column) == (1, 26)
    assert str(first_line).startswith("f.sql:1:26: table `b`: ")


def test_failure_without_a_line_stays_at_the_statement() -> None:
    f = _fail("\n\nCREATE TABLE b (\n  id int,\n  id int\n);\n", "Duplicate column name 'id'", 0, errno=1060)
    assert (f.line, f.column) == (3, 1)
    assert str(f) == "f.sql:3:1: table `b`: Duplicate column name 'id'"
