"""sqltext.inserts: the one INSERT form seed data accepts, what it refuses (at file:line), and the checks."""

from __future__ import annotations

import pytest

from schemad.errors import SQLFileError
from schemad.model.column import Column, Generated
from schemad.model.table import Table
from schemad.sqltext.inserts import SeedInsert, check_insert, parse_insert, render_insert
from schemad.sqltext.splitter import StatementKind, split


def seed(text: str) -> SeedInsert:
    (stmt,) = [s for s in split("\n" + text, "a.sql") if s.kind is not StatementKind.NOOP]
    assert stmt.kind is StatementKind.INSERT
    return parse_insert(stmt)


ACCEPTED = [
    # (statement, table, schema, columns, row widths, ignore)
    ("INSERT INTO t VALUES (1)", "t", None, None, (1,), False),
    (
        "insert ignore into `d`.`x``y` (`a`, b) value (1, 'x'), (2, \"y\")",
        "x`y",
        "d",
        ("a", "b"),
        (2, 2),
        True,
    ),
    (
        "INSERT INTO t (a) VALUES (-1.5e3), (+2), (.5), (0xFF), (X'00'), (b'01'), (0b1), (NULL), (DEFAULT),"
        " (TRUE), (_utf8mb4'x' 'y'), (N'z'), (NOW()), (CURRENT_TIMESTAMP), (unhex('00')),"
        " (JSON_OBJECT('a', JSON_ARRAY(1, 2)))",
        "t",
        None,
        ("a",),
        (1,) * 16,
        False,
    ),
    ("INSERT /* why */ INTO t -- comment\n VALUES # another\n (1, 'a;b')", "t", None, None, (2,), False),
]


@pytest.mark.parametrize(("text", "table", "schema", "columns", "widths", "ignore"), ACCEPTED)
def test_accepted(
    text: str,
    table: str,
    schema: str | None,
    columns: tuple[str, ...] | None,
    widths: tuple[int, ...],
    ignore: bool,
) -> None:
    s = seed(text + ";\n")
    assert (s.table, s.schema, s.columns, s.row_widths, s.ignore) == (table, schema, columns, widths, ignore)
    assert s.statement.line == 2


REFUSED = [
    ("REPLACE INTO t VALUES (1)", "REPLACE is not accepted"),
    ("INSERT LOW_PRIORITY INTO t VALUES (1)", "only INSERT [IGNORE] INTO"),
    ("INSERT t VALUES (1)", "only INSERT [IGNORE] INTO"),
    ("INSERT INTO t SELECT * FROM other.t", "INSERT ... SELECT is not accepted"),
    ("INSERT INTO t (a) TABLE other", "INSERT ... SELECT is not accepted"),
    ("INSERT INTO t SET a = 1", "INSERT ... SET is not accepted"),
    ("INSERT INTO t VALUES ((SELECT 1))", "subqueries and parenthesised expressions"),
    ("INSERT INTO t VALUES (1 + 1)", "expected ), found '+'"),
    ("INSERT INTO t () VALUES ()", "expected a name, found ')'"),
    ("INSERT INTO t VALUES (a)", "'a' is not a literal value"),
    ("INSERT INTO t VALUES (@x)", "unexpected character '@'"),
    ("INSERT INTO t VALUES (sleep(1))", "function sleep() is not allowed"),
    ("INSERT INTO t VALUES (load_file('/etc/passwd'))", "function load_file() is not allowed"),
    ("INSERT INTO t VALUES (/*!50000 1 */)", "unexpected character '/'"),
    ("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2", "ON DUPLICATE KEY UPDATE"),
    ("INSERT INTO t VALUES (1) RETURNING a", "unexpected 'RETURNING' after the last row"),
    ("INSERT INTO t VALUES (-'a')", "a sign must be followed by a number"),
    ("INSERT INTO t VALUES (1", "the statement ends too early"),
]


@pytest.mark.parametrize(("text", "why"), REFUSED)
def test_refused_at_file_line(text: str, why: str) -> None:
    with pytest.raises(SQLFileError) as exc:
        seed(text + ";\n")
    assert str(exc.value).startswith("a.sql:2: seed INSERT refused: ") and why in str(exc.value)
    assert (exc.value.file, exc.value.line) == ("a.sql", 2)


def test_a_second_statement_under_another_delimiter_is_refused() -> None:
    stmts = split("DELIMITER //\nINSERT INTO t VALUES (1); DROP TABLE t//\n", "a.sql")
    (stmt,) = [s for s in stmts if s.kind is StatementKind.INSERT]
    with pytest.raises(SQLFileError, match=r"a\.sql:2: .*more than one statement"):
        parse_insert(stmt)


T = Table(
    "t",
    (
        Column("id", "int(11)", nullable=False),
        Column("name", "varchar(10)"),
        Column("g", "int(11)", generation_expr="`id` * 2", generated=Generated.VIRTUAL),
    ),
)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b')", None),
        ("INSERT INTO t (ID) VALUES (1)", None),  # column names are case-insensitive
        ("INSERT INTO t VALUES (1, 'a', DEFAULT)", None),
        ("INSERT INTO t (id, nope) VALUES (1, 2)", "column `nope` does not exist in table `t`"),
        ("INSERT INTO t (id, g) VALUES (1, 2)", "column `g` is generated; it cannot be given a value"),
        ("INSERT INTO t (id, id) VALUES (1, 2)", "column `id` is listed twice"),
        ("INSERT INTO t (id, name) VALUES (1, 'a'), (2)", "row 2 has 1 value(s) for 2 column(s)"),
        ("INSERT INTO t VALUES (1, 'a')", "row 1 has 2 value(s) for 3 column(s)"),
    ],
)
def test_check_against_the_table(text: str, why: str | None) -> None:
    assert check_insert(seed(text + ";\n"), T) == why


def test_check_without_the_table() -> None:
    assert check_insert(seed("INSERT INTO t VALUES (1);\n"), None) == (
        "INSERT into table `t`, which no CREATE TABLE of this dir defines"
    )


def test_render_reads_back() -> None:
    text = render_insert("t", ["id", "na`me"], [["1", "'a'"], ["2", "NULL"]])
    assert text == "INSERT INTO `t` (`id`, `na``me`) VALUES\n(1, 'a'),\n(2, NULL)"
    s = seed(text + ";\n")
    assert (s.table, s.columns, s.row_widths) == ("t", ("id", "na`me"), (2, 2))
