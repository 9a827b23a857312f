"""Tests for schemad.sqltext.splitter: lossless, DELIMITER-aware splitting of *.sql text."""

from __future__ import annotations

import random

import pytest

from schemad.errors import SplitError
from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.splitter import Statement, StatementKind, split

C, U, D, N, X = (
    StatementKind.CREATE,
    StatementKind.USE,
    StatementKind.DELIMITER,
    StatementKind.NOOP,
    StatementKind.UNKNOWN,
)


def table(name: str) -> ObjectKey:
    return ObjectKey(ObjectType.TABLE, name)


def proc(name: str) -> ObjectKey:
    return ObjectKey(ObjectType.PROCEDURE, name)


def func(name: str) -> ObjectKey:
    return ObjectKey(ObjectType.FUNCTION, name)


def pieces(text: str) -> list[tuple[StatementKind, str]]:
    return [(s.kind, s.text) for s in split(text, "f.sql")]


def check_positions(text: str, stmts: list[Statement]) -> None:
    """Texts concatenate back to the input and each line/col matches the statement's offset."""
    assert "".join(s.text for s in stmts) == text
    offset = 0
    for s in stmts:
        assert s.text, "no empty statements"
        assert s.line == text.count("\n", 0, offset) + 1
        col = offset - text.rfind("\n", 0, offset)
        if s.line == 1 and text.startswith("\ufeff") and offset > 0:
            col -= 1
        assert s.col == col
        offset += len(s.text)


# ---------------------------------------------------------------------------------------------------
# How text is cut: (id, input, expected [(kind, text), ...])

CUTS = [
    ("empty", "", []),
    ("only-space", "  \n\t\n", [(N, "  \n\t\n")]),
    ("one", "CREATE TABLE t (a int);\n", [(C, "CREATE TABLE t (a int);\n")]),
    (
        "leading-comments-are-a-noop",
        "-- header\n/* block */\n# hash\n\nCREATE TABLE t (a int);\n",
        [(N, "-- header\n/* block */\n# hash\n\n"), (C, "CREATE TABLE t (a int);\n")],
    ),
    (
        "only-one-newline-goes-with-the-statement",
        "CREATE TABLE a (x int);\n\n\nCREATE TABLE b (x int);\n",
        [(C, "CREATE TABLE a (x int);\n"), (N, "\n\n"), (C, "CREATE TABLE b (x int);\n")],
    ),
    (
        "same-line-comment-after-delimiter-is-a-noop",
        "CREATE TABLE a (x int); -- note\nCREATE TABLE b (x int);",
        [(C, "CREATE TABLE a (x int);"), (N, " -- note\n"), (C, "CREATE TABLE b (x int);")],
    ),
    (
        "two-on-one-line",
        "SELECT 1;SELECT 2;\n",
        [(X, "SELECT 1;"), (X, "SELECT 2;\n")],
    ),
    ("crlf", "SELECT 1;\r\nSELECT 2;\r\n", [(X, "SELECT 1;\r\n"), (X, "SELECT 2;\r\n")]),
    (
        "comments-inside-a-statement-stay-inside",
        "CREATE TABLE t ( -- the id\n  id int /* c; */ # x;\n);\n",
        [(C, "CREATE TABLE t ( -- the id\n  id int /* c; */ # x;\n);\n")],
    ),
    ("stray-delimiters", ";\n ;;", [(N, ";\n"), (N, " "), (N, ";"), (N, ";")]),
    (
        "last-statement-without-delimiter",
        "CREATE TABLE a (x int);\nCREATE TABLE b (x int)",
        [(C, "CREATE TABLE a (x int);\n"), (C, "CREATE TABLE b (x int)")],
    ),
    (
        "trailing-filler-after-undelimited-statement-is-a-noop",
        "CREATE TABLE b (x int)\n\n-- end\n/* really */\n",
        [(C, "CREATE TABLE b (x int)\n"), (N, "\n-- end\n/* really */\n")],
    ),
    (
        "trailing-comment-with-quote-after-undelimited-statement",
        "CREATE TABLE b (x int) -- it's\n",
        [(C, "CREATE TABLE b (x int)"), (N, " -- it's\n")],
    ),
    # -- comments need whitespace (or the end) after the dashes
    ("dashdash-x-is-not-a-comment", "SELECT 1--x;\nSELECT 2;", [(X, "SELECT 1--x;\n"), (X, "SELECT 2;")]),
    ("dashdash-space-is-a-comment", "SELECT 1-- x;\n;", [(X, "SELECT 1-- x;\n;")]),
    ("dashdash-tab-is-a-comment", "SELECT 1--\tx;\n;", [(X, "SELECT 1--\tx;\n;")]),
    ("dashdash-newline-is-a-comment", "SELECT 1 --\n;", [(X, "SELECT 1 --\n;")]),
    ("dashdash-at-eof", "SELECT 1 --", [(X, "SELECT 1"), (N, " --")]),
    ("minus-and-slash", "SELECT 4-2/1;\n", [(X, "SELECT 4-2/1;\n")]),
    ("hash-comment", "SELECT 1 # ; not yet\n;\n", [(X, "SELECT 1 # ; not yet\n;\n")]),
    # quotes hide delimiters and comment markers
    ("single-quote", "SELECT ';', '-- ', '#', '/*';\n", [(X, "SELECT ';', '-- ', '#', '/*';\n")]),
    ("double-quote", 'SELECT ";", "/*";\n', [(X, 'SELECT ";", "/*";\n')]),
    ("backtick", "SELECT `a;b`, `/*`;\n", [(X, "SELECT `a;b`, `/*`;\n")]),
    ("backslash-escape", r"SELECT 'it\'s;', ';';", [(X, r"SELECT 'it\'s;', ';';")]),
    ("doubled-quote-escape", "SELECT 'it''s;', \"a\"\";\";", [(X, "SELECT 'it''s;', \"a\"\";\";")]),
    ("doubled-backtick", "SELECT `a``;`;", [(X, "SELECT `a``;`;")]),
    ("backslash-in-backticks-is-plain", "SELECT `a\\`;", [(X, "SELECT `a\\`;")]),
    ("escaped-backslash-then-quote", "SELECT 'a\\\\';SELECT 2;", [(X, "SELECT 'a\\\\';"), (X, "SELECT 2;")]),
    ("multiline-string", "SELECT 'a\n;\nb';\n", [(X, "SELECT 'a\n;\nb';\n")]),
    # version-gated comments are statement text and opaque
    (
        "executable-comment-is-opaque",
        "CREATE TABLE t (a int) /*!50100 PARTITION BY HASH (a); */;\n",
        [(C, "CREATE TABLE t (a int) /*!50100 PARTITION BY HASH (a); */;\n")],
    ),
    (
        "mariadb-executable-comment",
        "CREATE TABLE t (a int) /*M!100301 PAGE_COMPRESSED=1; */;\n",
        [(C, "CREATE TABLE t (a int) /*M!100301 PAGE_COMPRESSED=1; */;\n")],
    ),
    (
        "executable-comment-starts-a-statement",
        "/* plain */ /*!40101 SET NAMES utf8 */;\n",
        [(N, "/* plain */ "), (X, "/*!40101 SET NAMES utf8 */;\n")],
    ),
    (
        "executable-comment-at-eof-is-code-not-trailing-filler",
        "x/*!50000 USE */-- c",
        [(X, "x/*!50000 USE */"), (N, "-- c")],
    ),
    ("lone-executable-comment", "/*!40101 SET NAMES utf8 */", [(X, "/*!40101 SET NAMES utf8 */")]),
    ("optimizer-hint-is-a-comment", "/*+ hint */SELECT 1;", [(N, "/*+ hint */"), (X, "SELECT 1;")]),
    # client commands
    (
        "delimiter-block",
        "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\nDELIMITER ;\nSELECT 1;\n",
        [
            (D, "DELIMITER //\n"),
            (C, "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\n"),
            (D, "DELIMITER ;\n"),
            (X, "SELECT 1;\n"),
        ],
    ),
    (
        "dollar-delimiter-lowercase-command",
        "delimiter $$\nCREATE FUNCTION f() RETURNS int BEGIN RETURN 1; END $$\ndelimiter ;",
        [
            (D, "delimiter $$\n"),
            (C, "CREATE FUNCTION f() RETURNS int BEGIN RETURN 1; END $$\n"),
            (D, "delimiter ;"),
        ],
    ),
    (
        "delimiter-in-quotes-and-comments-under-custom-delimiter",
        "DELIMITER ;;\nSELECT ';;' /* ;; */ -- ;;\n;;\n",
        [(D, "DELIMITER ;;\n"), (X, "SELECT ';;' /* ;; */ -- ;;\n;;\n")],
    ),
    (
        "delimiter-command-ignores-rest-of-line",
        "DELIMITER // some words\nSELECT 1//",
        [(D, "DELIMITER // some words\n"), (X, "SELECT 1//")],
    ),
    ("quoted-delimiter-arg", "DELIMITER '$$'\nSELECT 1$$", [(D, "DELIMITER '$$'\n"), (X, "SELECT 1$$")]),
    (
        "slash-under-slashslash-delimiter",
        "DELIMITER //\nSELECT 4/2//\nSELECT 1;//",
        [(D, "DELIMITER //\n"), (X, "SELECT 4/2//\n"), (X, "SELECT 1;//")],
    ),
    (
        "use-ends-at-newline",
        "USE db1\nCREATE TABLE t (a int);\n",
        [(U, "USE db1\n"), (C, "CREATE TABLE t (a int);\n")],
    ),
    ("use-with-delimiter", "USE `db1`; SELECT 1;", [(U, "USE `db1`;"), (N, " "), (X, "SELECT 1;")]),
    # Skeema's leniency: BEGIN..END routine in a file without DELIMITER runs to the end
    (
        "begin-without-delimiter-runs-to-eof",
        "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;\n-- bye\n",
        [(C, "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;\n"), (N, "-- bye\n")],
    ),
    (
        "no-begin-no-leniency",
        "CREATE PROCEDURE p() SELECT 1;\nCREATE TABLE t (a int);\n",
        [(C, "CREATE PROCEDURE p() SELECT 1;\n"), (C, "CREATE TABLE t (a int);\n")],
    ),
    (
        "begin-in-a-string-is-not-a-body",
        "CREATE PROCEDURE p() SELECT 'begin';\nSELECT 2;\n",
        [(C, "CREATE PROCEDURE p() SELECT 'begin';\n"), (X, "SELECT 2;\n")],
    ),
    (
        "tables-never-run-to-eof",
        "CREATE TABLE `begin` (a int);\nSELECT 2;\n",
        [(C, "CREATE TABLE `begin` (a int);\n"), (X, "SELECT 2;\n")],
    ),
    ("bom-is-a-noop", "\ufeffCREATE TABLE t (a int);", [(N, "\ufeff"), (C, "CREATE TABLE t (a int);")]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CUTS], ids=[c[0] for c in CUTS])
def test_cuts(text: str, expected: list[tuple[StatementKind, str]]) -> None:
    stmts = split(text, "f.sql")
    assert [(s.kind, s.text) for s in stmts] == expected
    check_positions(text, stmts)


def test_lenient_begin_needs_no_prior_delimiter_command() -> None:
    # After a DELIMITER command, `;` ends a BEGIN..END routine like any statement (user error).
    text = "DELIMITER ;\nCREATE PROCEDURE p() BEGIN SELECT 1; END;\n"
    assert [s.kind for s in split(text)] == [D, C, N, X]


# ---------------------------------------------------------------------------------------------------
# Losslessness over random concatenations.

SNIPPETS = [c[1] for c in CUTS if not c[1].startswith("\ufeff")] + [
    "CREATE TABLE `t``x` (\n  `id` int NOT NULL COMMENT 'it''s; -- fine',\n  PRIMARY KEY (`id`)\n);\n",
    "DELIMITER //\nCREATE DEFINER=`a`@`%` TRIGGER tr BEFORE INSERT ON t\n"
    "FOR EACH ROW BEGIN SET @x = ';'; END//\n",
    "DELIMITER ;\n",
    "/* multi\nline\ncomment */\n",
    "\n\n",
    "# only a comment",
    "-- only a comment\n",
    'SELECT "--" # x\n;\n',
    "USE app\n",
    "  ;  ",
    "\r\n",
]


@pytest.mark.parametrize("seed", range(300))
def test_lossless_random_concatenations(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(SNIPPETS) for _ in range(rng.randint(1, 8)))
    try:
        stmts = split(text, "f.sql")
    except SplitError:
        pytest.fail(f"split failed on {text!r}")
    check_positions(text, stmts)
    for s in stmts:
        if s.kind is N:
            assert s.key is None
        # re-splitting a statement on its own, under its delimiter, gives it back whole
        if s.kind in (C, X) and s.delimiter == ";":
            assert "".join(t.text for t in split(s.text)) == s.text


@pytest.mark.parametrize("seed", range(200))
def test_lossless_random_bytes(seed: int) -> None:
    """Arbitrary junk either splits losslessly or raises SplitError; nothing else."""
    rng = random.Random(seed)
    alphabet = "ab ;\n\r\t'\"`/*-#!M\\$DELIMITERUSEcreatTbl()\ufeff"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
    try:
        stmts = split(text, "f.sql")
    except SplitError as e:
        assert e.file == "f.sql"
        assert e.line is not None
        assert 1 <= e.line <= text.count("\n") + 1
        return
    check_positions(text, stmts)


# ---------------------------------------------------------------------------------------------------
# Positions, classification and properties of the Statement values.


def test_line_numbers_after_multiline_comments() -> None:
    text = (
        "/* line 1\n   line 2\n   line 3 */\n"
        "CREATE TABLE a (x int);\n"  # line 4
        "\n"
        "  /* 6 */ CREATE TABLE b (\n"  # line 6, col 11
        "  x int);\n"
        "DELIMITER //\n"  # line 8
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 'x\ny';\nEND//\n"  # lines 9..13
        "DELIMITER ;\n"  # line 14
        "CREATE TABLE c (x int);\n"  # line 15
    )
    stmts = [s for s in split(text, "f.sql") if s.kind is not N]
    assert [(s.key, s.line, s.col) for s in stmts if s.key] == [
        (table("a"), 4, 1),
        (table("b"), 6, 11),
        (proc("p"), 9, 1),
        (table("c"), 15, 1),
    ]
    assert [s.line for s in stmts if s.kind is D] == [8, 14]


def test_bom_does_not_count_as_a_column() -> None:
    stmts = split("\ufeffCREATE TABLE t (a int);")
    assert (stmts[1].line, stmts[1].col) == (1, 1)


UNCLOSED = [
    ("single-quote", "SELECT 1;\nSELECT 'abc;\n\n", 2, "String (') is never closed"),
    ("double-quote", 'SELECT 1;\n\n  SELECT "abc', 3, 'String (") is never closed'),
    ("backtick", "CREATE TABLE `t (a int);", 1, "Identifier (`) is never closed"),
    ("comment", "SELECT 1;\n/* a\nb\n", 2, "Comment starting with /* is never closed"),
    ("comment-in-statement", "SELECT 1,\n2 /* a;\n", 2, "Comment starting with /* is never closed"),
    ("executable-comment", "SELECT 1 /*!50000 x;\n", 1, "Comment starting with /* is never closed"),
    ("escaped-last-quote", "SELECT 'abc\\';\nSELECT 2;", 1, "String (') is never closed"),
    ("doubled-last-quote", "SELECT 'abc'';\n", 1, "String (') is never closed"),
    ("after-delimiter-change", "DELIMITER //\nSELECT ';//\n", 2, "String (') is never closed"),
    ("in-use-command", "USE `db\n", 1, "Identifier (`) is never closed"),
    (
        "in-lenient-routine",
        "CREATE PROCEDURE p() BEGIN SELECT 1; END;\nSELECT 'x;\n",
        2,
        "String (') is never closed",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), [c[1:] for c in UNCLOSED], ids=[c[0] for c in UNCLOSED])
def test_unclosed_quote_or_comment(text: str, line: int, message: str) -> None:
    with pytest.raises(SplitError) as exc:
        split(text, "dir/f.sql")
    assert exc.value.file == "dir/f.sql"
    assert exc.value.line == line
    assert exc.value.reason == message
    assert str(exc.value).startswith(f"dir/f.sql:{line}: ")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("DELIMITER\nSELECT 1;", 1),
        ("SELECT 1;\nDELIMITER   \n", 2),
        ("DELIMITER \\\\\n", 1),
        ("DELIMITER 'x\\y'\n", 1),
        ("DELIMITER #\n", 1),
        ("DELIMITER /*\n", 1),
    ],
)
def test_bad_delimiter_command(text: str, line: int) -> None:
    with pytest.raises(SplitError) as exc:
        split(text, "f.sql")
    assert exc.value.line == line


def test_delimiter_word_prefix_is_not_a_command() -> None:
    # `DELIMITERx` is an ordinary (unknown) statement, not a client command
    assert pieces("DELIMITERS 1;") == [(X, "DELIMITERS 1;")]


def test_statement_fields() -> None:
    text = (
        "USE app\n"
        "CREATE TABLE `app`.`t1` (a int);\n"
        "DELIMITER //\n"
        "CREATE FUNCTION f() RETURNS int RETURN 1//\n"
        "DELIMITER ;\n"
    )
    use, t1, dl, f, dl2 = split(text, "x.sql")
    assert (use.kind, use.schema, use.default_schema, use.key) == (U, "app", "app", None)
    assert (t1.key, t1.schema, t1.default_schema, t1.delimiter) == (table("t1"), "app", "app", ";")
    assert t1.name_span is not None and t1.text[slice(*t1.name_span)] == "`app`.`t1`"
    assert t1.location == "x.sql:2:1"
    assert (dl.kind, dl.delimiter, dl.body) == (D, "//", "DELIMITER //")
    assert (f.key, f.delimiter, f.body, f.schema) == (
        func("f"),
        "//",
        "CREATE FUNCTION f() RETURNS int RETURN 1",
        None,
    )
    assert (dl2.delimiter, dl2.body) == (";", "DELIMITER ;")


def test_statement_is_slotted_and_hashable() -> None:
    s = split("SELECT 1;")[0]
    assert not hasattr(s, "__dict__")
    assert hash(s) == hash(split("SELECT 1;")[0])


BODIES = [
    ("CREATE TABLE t (a int);\n", "CREATE TABLE t (a int)"),
    ("CREATE TABLE t (a int)  ;  ", "CREATE TABLE t (a int)"),
    ("CREATE TABLE t (a int)\n", "CREATE TABLE t (a int)"),
    ("DELIMITER //\nSELECT 1 //\n", "SELECT 1"),
    ("DELIMITER ;;\nSELECT ';;';;\n", "SELECT ';;'"),
    ("USE db\n", "USE db"),
    ("USE db;\n", "USE db"),
]


@pytest.mark.parametrize(("text", "body"), BODIES)
def test_body(text: str, body: str) -> None:
    assert [s.body for s in split(text) if s.kind not in (N, D)] == [body]


def test_unqualified_body() -> None:
    s = split("CREATE TABLE IF NOT EXISTS `db`.t (a int);\n")[0]
    assert s.unqualified_body == "CREATE TABLE IF NOT EXISTS `t` (a int)"
    plain = split("CREATE TABLE t (a int);")[0]
    assert plain.unqualified_body == plain.body


COMPOUND = [
    ("DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\n", True),
    ("CREATE PROCEDURE p() BEGIN END;\n", True),  # BEGIN..END even without a `;` inside
    ("DELIMITER //\nCREATE PROCEDURE p() IF 1 THEN SELECT 1; END IF//\n", True),  # `;` without BEGIN
    ("CREATE PROCEDURE p() SELECT 1;\n", False),
    ("CREATE FUNCTION f() RETURNS int RETURN 1;\n", False),
    ("CREATE PROCEDURE p() SELECT 'begin;';\n", False),
    ("DELIMITER //\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END//\n", True),
    ("DELIMITER //\nCREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM x; END//\n", True),
    ("CREATE TABLE `begin` (a int);\n", False),
    ("SELECT 1;\n", False),
]


@pytest.mark.parametrize(("text", "compound"), COMPOUND)
def test_compound(text: str, compound: bool) -> None:
    (stmt,) = [s for s in split(text) if s.kind not in (N, D)]
    assert stmt.compound is compound


def test_unsupported_reason_via_statement() -> None:
    like, plain, sel, udf = split(
        "CREATE TABLE t2 LIKE t1;\nCREATE TABLE t (a int);\n"
        "CREATE TABLE t3 AS SELECT * FROM t1;\nCREATE FUNCTION u RETURNS STRING SONAME 'u.so';\n"
    )
    assert like.unsupported_reason == "CREATE TABLE ... LIKE is not supported"
    assert plain.unsupported_reason is None
    assert sel.unsupported_reason == "CREATE TABLE ... SELECT is not supported"
    assert udf.unsupported_reason is not None and "SONAME" in udf.unsupported_reason
    assert split("SELECT 1")[0].unsupported_reason is None


def test_semicolon_in_table_under_custom_delimiter_is_unsupported() -> None:
    stmts = [
        s for s in split("DELIMITER //\nCREATE TABLE t (a int);\nCREATE TABLE u (a int)//\n") if s.kind is C
    ]
    assert len(stmts) == 1 and stmts[0].key == table("t")
    assert stmts[0].unsupported_reason is not None and "semicolon" in stmts[0].unsupported_reason


def test_use_sets_default_schema_for_later_statements_only() -> None:
    a, _, b, c = split("CREATE TABLE a (x int);\nUSE other\nCREATE TABLE b (x int);\nCREATE TABLE c (x int);")
    assert a.default_schema is None
    assert (b.default_schema, c.default_schema) == ("other", "other")
    assert b.schema is None  # only an explicit qualifier sets `schema` on a CREATE
