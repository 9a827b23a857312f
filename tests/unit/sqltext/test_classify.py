"""Tests for schemad.sqltext.classify: what a statement is, from its first tokens."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlglot import Token, TokenType
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import TokenError

from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext import heads as classify_mod  # the sqlglot path: where its tokenizer is called
from schemad.sqltext.classify import (
    Classification,
    StatementKind,
    _read_head,
    _simple_table,
    claim,
    classify,
    classify_regex,
    forget,
    has_begin,
    mask,
    remembered,
    unsupported_reason,
)


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    """classify remembers answers by text: each test (some break the tokenizer) starts without them."""
    forget()


T, V, P, F, TR, E = (
    ObjectType.TABLE,
    ObjectType.VIEW,
    ObjectType.PROCEDURE,
    ObjectType.FUNCTION,
    ObjectType.TRIGGER,
    ObjectType.EVENT,
)

# (statement, type, name, schema, the `[schema.]name` clause as written)
CREATES = [
    ("CREATE TABLE t (a int)", T, "t", None, "t"),
    ("create table `t` (a int)", T, "t", None, "`t`"),
    ("CREATE TABLE IF NOT EXISTS t (a int)", T, "t", None, "t"),
    ("CREATE TABLE if not exists `db`.`t` (a int)", T, "t", "db", "`db`.`t`"),
    ("CREATE TABLE db.t(a int)", T, "t", "db", "db.t"),
    ("CREATE TABLE `db` . `t` (a int)", T, "t", "db", "`db` . `t`"),
    ("CREATE TABLE `a``b` (x int)", T, "a`b", None, "`a``b`"),
    ("CREATE TABLE `a.b`.`c d` (x int)", T, "c d", "a.b", "`a.b`.`c d`"),
    ('CREATE TABLE "a""b" (x int)', T, 'a"b', None, '"a""b"'),
    ("CREATE TABLE `a\\b` (x int)", T, "a\\b", None, "`a\\b`"),  # no escapes in backticks
    ("CREATE TABLE c$d_1 (x int)", T, "c$d_1", None, "c$d_1"),
    ("CREATE TABLE ñame (x int)", T, "ñame", None, "ñame"),
    ("CREATE TABLE date (x int)", T, "date", None, "date"),  # a keyword as a bare name
    ("CREATE TABLE t LIKE u", T, "t", None, "t"),
    ("CREATE TEMPORARY TABLE t (a int)", T, "t", None, "t"),
    ("CREATE OR REPLACE TABLE t (a int)", T, "t", None, "t"),
    ("CREATE /* c */ TABLE -- x\n t # y\n (a int)", T, "t", None, "t"),
    ("  \n-- lead\nCREATE TABLE t (a int)", T, "t", None, "t"),
    ("CREATE TABLE t", T, "t", None, "t"),
    # routines: DEFINER variants
    ("CREATE PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER=root@localhost PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER = 'root'@'%' PROCEDURE `db`.`p`()", P, "p", "db", "`db`.`p`"),
    ("CREATE DEFINER=`u`@`h` FUNCTION f() RETURNS int RETURN 1", F, "f", None, "f"),
    ('CREATE DEFINER="u"@"h" FUNCTION f() RETURNS int RETURN 1', F, "f", None, "f"),
    ("CREATE DEFINER=u@127.0.0.1 PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER=u@'10.%' PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER=CURRENT_USER PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER=CURRENT_USER() PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER = current_user ( ) PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER=CURRENT_ROLE PROCEDURE p()", P, "p", None, "p"),
    ("CREATE DEFINER=app_role PROCEDURE p()", P, "p", None, "p"),
    ("CREATE OR REPLACE DEFINER=`u`@`%` PROCEDURE IF NOT EXISTS p()", P, "p", None, "p"),
    ("CREATE FUNCTION IF NOT EXISTS db.f() RETURNS int RETURN 1", F, "f", "db", "db.f"),
    ("CREATE AGGREGATE FUNCTION f(x int) RETURNS int BEGIN RETURN 1; END", F, "f", None, "f"),
    ("CREATE FUNCTION udf RETURNS STRING SONAME 'udf.so'", F, "udf", None, "udf"),
    ("CREATE DEFINER='" + "u" * 300 + "'@'h' PROCEDURE p() BEGIN END", P, "p", None, "p"),
    ("CREATE DEFINER='a(b'@'h' PROCEDURE p()", P, "p", None, "p"),  # `(` in a string: no early cut
    # views, triggers, events
    ("CREATE VIEW v AS SELECT 1", V, "v", None, "v"),
    ("CREATE ALGORITHM = UNDEFINED VIEW `v` (a) AS SELECT 1", V, "v", None, "`v`"),
    (
        "CREATE OR REPLACE ALGORITHM=MERGE DEFINER=`a`@`b` SQL SECURITY INVOKER VIEW db.v AS SELECT 1",
        V,
        "v",
        "db",
        "db.v",
    ),
    (
        "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ "
        "/*!50001 VIEW `v` AS select 1 AS `1` */",
        V,
        "v",
        None,
        "`v`",
    ),
    ("CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", TR, "trg", None, "trg"),
    (
        "CREATE DEFINER=`u`@`h` TRIGGER IF NOT EXISTS `db`.trg AFTER UPDATE ON t FOR EACH ROW BEGIN END",
        TR,
        "trg",
        "db",
        "`db`.trg",
    ),
    ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1", E, "e", None, "e"),
    (
        "CREATE DEFINER=CURRENT_USER() EVENT IF NOT EXISTS e ON SCHEDULE AT NOW() DO BEGIN END",
        E,
        "e",
        None,
        "e",
    ),
    # long names make the head grow past the first windows
    ("CREATE TABLE `" + "x" * 300 + "` (a int)", T, "x" * 300, None, "`" + "x" * 300 + "`"),
    ("CREATE TABLE " + "y" * 300 + " (a int)", T, "y" * 300, None, "y" * 300),
    ("CREATE VIEW " + "z" * 100 + " AS SELECT 1", V, "z" * 100, None, "z" * 100),
]


@pytest.mark.parametrize(("text", "otype", "name", "schema", "clause"), CREATES)
def test_creates(text: str, otype: ObjectType, name: str, schema: str | None, clause: str) -> None:
    c = classify(text)
    assert c.kind is StatementKind.CREATE
    assert c.key == ObjectKey(otype, name)
    assert c.schema == schema
    assert c.name_span is not None and text[slice(*c.name_span)] == clause
    assert c.via == "sqlglot" or c == _simple_table(text)  # the simplest head: the strict regex


def broken_tokenizer(text: str) -> list[Token]:
    raise TokenError(f"cannot tokenize {text!r}")


@pytest.mark.parametrize(("text", "otype", "name", "schema", "clause"), CREATES)
def test_regex_fallback_agrees(
    monkeypatch: pytest.MonkeyPatch, text: str, otype: ObjectType, name: str, schema: str | None, clause: str
) -> None:
    """With sqlglot's tokenizer failing, the fallback regex gives the same answers."""
    monkeypatch.setattr(classify_mod, "_tokenize", broken_tokenizer)
    c = classify(text)
    assert (c.kind, c.key, c.schema, c.via) == (StatementKind.CREATE, ObjectKey(otype, name), schema, "regex")
    assert c.name_span is not None and text[slice(*c.name_span)] == clause


def test_an_answer_is_remembered_by_its_exact_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "CREATE TABLE `t` (id int)"
    first = classify(text)
    assert remembered(text) is first
    monkeypatch.setattr(classify_mod, "_tokenize", broken_tokenizer)
    assert classify(text) is first  # not read again
    assert remembered(text + " ") is None
    assert classify(text + " ").via == "regex"  # another text is read afresh


def test_a_claim_the_regex_reading_confirms_saves_sqlglot(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "create table `db`.`t` (id int)"
    told = Classification(StatementKind.CREATE, ObjectKey(T, "t"), "db", (13, 21), via="sqlglot")
    claim(text, told)

    def untouched(text: str) -> list[Token]:
        raise AssertionError("sqlglot's tokenizer was called")

    monkeypatch.setattr(classify_mod, "_tokenize", untouched)
    assert classify(text) is told


@pytest.mark.parametrize(
    "told",
    [
        Classification(StatementKind.CREATE, ObjectKey(T, "t"), None, (13, 14)),  # hides the qualifier
        Classification(StatementKind.CREATE, ObjectKey(T, "u"), "db", (13, 17)),  # another name
        Classification(StatementKind.CREATE, ObjectKey(V, "u"), "db", (13, 17)),  # another type
        Classification(StatementKind.FOLDABLE, ObjectKey(T, "u"), "db", (13, 17)),
    ],
)
def test_a_claim_the_regex_reading_contradicts_is_not_taken(told: Classification) -> None:
    """A split memo row is only as good as the file it sits in: the guard never takes it on trust."""
    text = "CREATE TABLE db.u (id int)"
    claim(text, told)
    c = classify(text)
    assert (c.kind, c.key, c.schema, c.name_span, c.via) == (
        StatementKind.CREATE,
        ObjectKey(T, "u"),
        "db",
        (13, 17),
        "sqlglot",
    )
    assert classify_regex(text).key == c.key


def test_only_creates_and_foldables_are_claimed() -> None:
    text = "DROP TABLE t"
    claim(text, Classification(StatementKind.USE, None, "t"))
    assert classify(text).kind is StatementKind.UNKNOWN


def test_normal_path_uses_sqlglot(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = classify_mod._tokenize

    def spy(text: str) -> list[Token]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(classify_mod, "_tokenize", spy)
    text = "CREATE TABLE IF NOT EXISTS `t` (\n  id int\n) ENGINE=InnoDB"
    assert classify(text).via == "sqlglot"
    assert calls == ["CREATE TABLE IF NOT EXISTS `t` ("]  # only the head, cut after the first `(`


def _names_sqlglot_may_read_otherwise() -> list[str]:
    """Every word sqlglot's MySQL tokenizer knows (keywords, multi-word ones split), as a name."""
    words = {w for k in MySQL.Tokenizer.KEYWORDS for w in (*k.split(), k.replace(" ", "_"))}
    words |= {t.name for t in TokenType}
    bare = sorted(w for w in words if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", w))
    return [*bare, *(w.lower() for w in bare), "t", "_x", "a1", "x_1_y"]


_QUOTED_NAMES = [
    "t",
    "1",
    "a b",
    "a(b",
    "a.b",
    "a'b",
    'a"b',
    "a;b",
    "a\\b",
    "caf\u00e9",
    "\u8868",
    "-- x",
    "/*x*/",
]


def test_the_simplest_table_head_reads_as_sqlglot_reads_it() -> None:
    """`CREATE TABLE name (` skips the tokenizer: for every such head, sqlglot's answer is the same."""
    texts = []
    for name in [*_names_sqlglot_may_read_otherwise(), *(f"`{q}`" for q in _QUOTED_NAMES)]:
        texts += [
            f"CREATE TABLE {name} (id int)",
            f"create\ttable\r\n{name}(id int)",
            f"Create  Table {name}\n (",
        ]
    differ = [
        (t, fast, slow)
        for t in texts
        if (fast := _simple_table(t)) is None
        or (fast.kind, fast.key, fast.schema, fast.name_span)
        != ((slow := _read_head(t)).kind, slow.key, slow.schema, slow.name_span)
    ]
    assert differ == []


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TABLE IF NOT EXISTS t (id int)",
        "CREATE TABLE db.t (id int)",
        "CREATE TABLE `db`.`t` (id int)",
        "CREATE TEMPORARY TABLE t (id int)",
        "CREATE TABLE /* c */ t (id int)",
        "CREATE TABLE t /* c */ (id int)",
        "CREATE /*!32312 TABLE */ t (id int)",
        "CREATE TABLE 1t (id int)",
        "CREATE TABLE caf\u00e9 (id int)",
        "CREATE TABLE \u212aelvin (id int)",  # KELVIN SIGN: case-folds to k, but is no ASCII letter
        "CREATE TABLE `a``b` (id int)",
        "CREATE TABLE `a\nb` (id int)",
        'CREATE TABLE "t" (id int)',
        "CREATE TABLE t LIKE u",
        "CREATE TABLE t",
        " CREATE TABLE t (id int)",
        "CREATE VIEW v (a) AS SELECT 1",
    ],
)
def test_other_heads_are_read_by_sqlglot(text: str) -> None:
    assert _simple_table(text) is None
    assert classify(text) == _read_head(text)


def test_a_file_of_simple_heads_needs_no_sqlglot() -> None:
    code = (
        "import sys; from schemad.sqltext.splitter import split;"
        " s = split('create table `a` (id int);\\nCREATE TABLE b(id int);\\n', 'x.sql');"
        " print([str(x.key) for x in s if x.key], any(m.startswith('sqlglot') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['table", "`a`',", "'table", "`b`']", "False"]


def test_fallback_on_text_sqlglot_rejects() -> None:
    # x'zz' is not valid hex: sqlglot's tokenizer refuses it, the server would too, but the
    # statement is still a CREATE VIEW of `v` (and the server reports the error later).
    c = classify("CREATE VIEW v AS SELECT x'zz'")
    assert (c.kind, c.key, c.via) == (StatementKind.CREATE, ObjectKey(V, "v"), "regex")


UNKNOWN = [
    "SELECT 1",
    "INSERTS INTO t VALUES (1)",
    "ALTER TABLE t ADD COLUMN b int",
    "ALTER TABLE t DROP INDEX i",
    "ALTER TABLE t ENGINE=InnoDB",
    "ALTER TABLE a.b.c ADD INDEX (x)",
    "ALTER ONLINE TABLE t ADD INDEX (a)",
    "CREATE OR REPLACE INDEX i ON t (a)",
    "CREATE INDEX i ON a.b.c (x)",
    "CREATE INDEX db.i ON t (x)",
    "CREATE INDEX i (a)",
    "CREATE DATABASE d",
    "CREATE SCHEMA d",
    "CREATE USER u",
    "CREATE SEQUENCE s",
    "CREATE TABLE (a int)",
    "CREATE TABLE a.b.c (x int)",
    "CREATE TABLE 'quoted' (x int)",
    "CREATE TABLE",
    "CREATE",
    "CREATED TABLE t (a int)",
    "DROP TABLE t",
    "/*!40101 SET NAMES utf8 */",
    "",
    "-- only a comment",
    "USE",
]


# Standalone index and constraint statements: (statement, table, schema, the `[schema.]table` clause)
FOLDABLES = [
    ("CREATE INDEX i ON t (a)", "t", None, "t"),
    ("create unique index `i` using btree on db.`t`(a)", "t", "db", "db.`t`"),
    ("CREATE FULLTEXT INDEX ft ON `t` (note)", "t", None, "`t`"),
    ("CREATE SPATIAL INDEX IF NOT EXISTS sp ON t (g)", "t", None, "t"),
    ("ALTER TABLE t ADD INDEX i (a)", "t", None, "t"),
    ("ALTER TABLE t ADD KEY (a), DROP COLUMN x", "t", None, "t"),  # the guard refuses the DROP
    ("ALTER TABLE `db`.`t` ADD UNIQUE KEY u (a)", "t", "db", "`db`.`t`"),
    ("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id)", "t", None, "t"),
    ("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES p (id)", "t", None, "t"),
    ("ALTER TABLE t ADD PRIMARY KEY (id)", "t", None, "t"),
    ("ALTER TABLE t ADD CHECK (a > 0)", "t", None, "t"),
    ("ALTER TABLE t ADD SPATIAL KEY (g)", "t", None, "t"),
    ("/* mysqldump */ ALTER TABLE `t`\n  ADD FULLTEXT KEY `ft` (`note`)", "t", None, "`t`"),
    ("ALTER TABLE `" + "x" * 300 + "` ADD INDEX (a)", "x" * 300, None, "`" + "x" * 300 + "`"),
]


@pytest.mark.parametrize(("text", "table", "schema", "clause"), FOLDABLES)
def test_foldables(
    monkeypatch: pytest.MonkeyPatch, text: str, table: str, schema: str | None, clause: str
) -> None:
    """Both paths (sqlglot, then the fallback regex) read the table a standalone index statement is on."""
    for via in ("sqlglot", "regex"):
        if via == "regex":
            monkeypatch.setattr(classify_mod, "_tokenize", broken_tokenizer)
            forget()
        c = classify(text)
        assert (c.kind, c.key, c.schema, c.via) == (StatementKind.FOLDABLE, ObjectKey(T, table), schema, via)
        assert c.name_span is not None and text[slice(*c.name_span)] == clause


@pytest.mark.parametrize("text", UNKNOWN)
def test_unknown(text: str) -> None:
    c = classify(text)
    assert (c.kind, c.key, c.schema, c.name_span) == (StatementKind.UNKNOWN, None, None, None)
    assert c.via == "sqlglot"


@pytest.mark.parametrize(
    ("text", "db"),
    [
        ("USE db", "db"),
        ("use db", "db"),
        ("USE `d``b`", "d`b"),
        ("USE 'x'", "x"),
        ('USE "y"', "y"),
        ("USE my-db", "my-db"),  # a client command: no SQL identifier rules
        ("USE x ignored words", "x"),
        ("USE " + "a" * 100, "a" * 100),
    ],
)
def test_use(monkeypatch: pytest.MonkeyPatch, text: str, db: str) -> None:
    c = classify(text)
    assert (c.kind, c.schema, c.key, c.via) == (StatementKind.USE, db, None, "sqlglot")
    monkeypatch.setattr(classify_mod, "_tokenize", broken_tokenizer)
    forget()
    r = classify(text)
    assert (r.kind, r.schema, r.via) == (StatementKind.USE, db, "regex")


def test_thread_safe() -> None:
    texts = [c[0] for c in CREATES] * 20
    serial = [classify(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(classify, texts)) == serial


UNSUPPORTED = [
    ("CREATE TABLE t2 LIKE t1", "CREATE TABLE ... LIKE is not supported"),
    ("CREATE TABLE t2 (LIKE t1)", "CREATE TABLE ... LIKE is not supported"),
    ("CREATE TABLE IF NOT EXISTS db.t2 like db.t1", "CREATE TABLE ... LIKE is not supported"),
    ("CREATE TABLE t2 AS SELECT * FROM t1", "CREATE TABLE ... SELECT is not supported"),
    ("CREATE TABLE t2 (a int) SELECT a FROM t1", "CREATE TABLE ... SELECT is not supported"),
    ("CREATE TABLE t2 (a int) /*!50000 SELECT 1 */", "CREATE TABLE ... SELECT is not supported"),
    ("CREATE TEMPORARY TABLE t (a int)", "CREATE TEMPORARY TABLE is not supported"),
    (
        "CREATE TABLE t (a int);\n  CREATE TABLE u (b int)",
        "CREATE TABLE containing a semicolon (with a DELIMITER other than ;) is not supported",
    ),
    (
        "CREATE FUNCTION u RETURNS STRING SONAME 'u.so'",
        "loadable functions (CREATE FUNCTION ... SONAME) are not managed",
    ),
    (
        "CREATE AGGREGATE FUNCTION u RETURNS INTEGER SONAME 'u.so'",
        "loadable functions (CREATE FUNCTION ... SONAME) are not managed",
    ),
    # supported
    ("CREATE TABLE t (`select` int, selection int, c int COMMENT 'select; like')", None),
    ("CREATE TABLE `like` (a int) /* SELECT */ -- LIKE", None),
    ("CREATE TABLE t (a int) COMMENT 'WITH SYSTEM VERSIONING'", None),
    ("CREATE TABLE t (a int) WITH SYSTEM VERSIONING", None),  # managed (issue 12.7)
    ("CREATE TABLE temporary (a int)", None),
    ("CREATE FUNCTION f() RETURNS int RETURN 1", None),
    ("CREATE FUNCTION soname() RETURNS int RETURN 1", None),
    ("CREATE PROCEDURE p() SELECT 1", None),
    ("CREATE VIEW v AS SELECT 1", None),
]


@pytest.mark.parametrize(("text", "reason"), UNSUPPORTED)
def test_unsupported_reason(text: str, reason: str | None) -> None:
    c = classify(text)
    assert c.key is not None and c.name_span is not None
    assert unsupported_reason(text, c.key, c.name_span) == reason


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("a 'b;c' d", "a '____ d"),
        ('a "b\\"c" d', 'a "_____ d'),
        ("a `b``c` d", "a `_____ d"),
        ("a /* b */ c -- d\ne # f", "a         c     \ne    "),
        ("a /*!50100 b 'c' */ d", "a          b '__    d"),
        ("a /*M!100301 b */", "a " + " " * len("/*M!100301") + " b " + "  "),
        ("a 'unclosed", "a '________"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked
    assert len(mask(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CREATE PROCEDURE p() BEGIN END", True),
        ("create procedure p() lbl: begin end", True),
        ("CREATE PROCEDURE p() SELECT 'begin'", False),
        ("CREATE PROCEDURE p() SELECT 1 -- begin", False),
        ("CREATE PROCEDURE p(`begin` int) SELECT 1", False),
        ("CREATE PROCEDURE p(begin_at int) SELECT 1", False),
    ],
)
def test_has_begin(text: str, expected: bool) -> None:
    assert has_begin(text) is expected
