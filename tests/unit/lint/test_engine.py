"""lint_schema (severities, only=, order) and locate."""

from __future__ import annotations

from schemad.fs.logical import LogicalSchema
from schemad.lint import LintOptions, Note, Severity, lint_schema, locate
from schemad.lint.engine import lint_located
from schemad.model.column import Column
from schemad.model.keys import ObjectKey, ObjectType
from tests.unit.lint.builders import ID, MARIADB, MYSQL8, event, idx, pk, routine, schema, table


def _t(name: str) -> ObjectKey:
    return ObjectKey(ObjectType.TABLE, name)


SCHEMA = schema(
    table("b_nopk", ID, Column("n", "int(5)")),
    table("a_ok"),
    table("c_myisam", engine="MyISAM"),
    routine("p", definer="root@localhost"),
    event("e"),
)


def test_defaults() -> None:
    notes = lint_schema(SCHEMA, MYSQL8, LintOptions())
    assert [(n.key.name, n.rule, n.severity) for n in notes] == [
        ("b_nopk", "display-width", Severity.WARNING),
        ("b_nopk", "pk", Severity.WARNING),
        ("c_myisam", "engine", Severity.WARNING),
    ]
    assert notes[1].message == "table `b_nopk` has no primary key"
    assert notes[0].locator == "n"
    assert (notes[0].file, notes[0].line, notes[0].column) == (None, None, None)


def test_ignore_suppresses_and_error_upgrades() -> None:
    opts = LintOptions.from_values({"lint-pk": "ignore", "lint-engine": "error", "lint-has-event": "warning"})
    notes = lint_schema(SCHEMA, MYSQL8, opts)
    assert [(n.key.name, n.rule, n.severity) for n in notes] == [
        ("e", "has-event", Severity.WARNING),
        ("b_nopk", "display-width", Severity.WARNING),
        ("c_myisam", "engine", Severity.ERROR),
    ]


def test_definer_is_an_error_by_default() -> None:
    opts = LintOptions.from_values({"allow-definer": "admin@%"})
    notes = lint_schema(SCHEMA, MYSQL8, opts, only={ObjectKey(ObjectType.PROCEDURE, "p")})
    assert [(n.rule, n.severity) for n in notes] == [("definer", Severity.ERROR)]


def test_only_filter() -> None:
    notes = lint_schema(SCHEMA, MYSQL8, LintOptions(), only={_t("c_myisam"), _t("a_ok")})
    assert [(n.key.name, n.rule) for n in notes] == [("c_myisam", "engine")]
    assert lint_schema(SCHEMA, MYSQL8, LintOptions(), only=set()) == []


def test_sorted_by_key_then_rule() -> None:
    opts = LintOptions.from_values({f"lint-{r}": "warning" for r in ("nullable", "has-routine", "ids")})
    notes = lint_schema(SCHEMA, MYSQL8, opts)
    keys = [(n.key, n.rule) for n in notes]
    assert keys == sorted(keys)
    assert ObjectKey(ObjectType.PROCEDURE, "p") in {n.key for n in notes}


CREATE = """CREATE TABLE `orders` (
  `id` int(11) NOT NULL,
  Customer_ID int NOT NULL,
  `state` enum('new','done') DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_state` (`state`)
) ENGINE=MyISAM DEFAULT CHARACTER SET=latin2 AUTO_INCREMENT = 99;
"""


def _note(locator: str | None, name: str = "orders") -> Note:
    return Note("x", Severity.WARNING, _t(name), "msg", locator=locator)


def test_locate_backticked_column() -> None:
    got = locate(_note("id"), CREATE, "orders.sql", 10)
    assert (got.file, got.line, got.column) == ("orders.sql", 11, 3)


def test_locate_bare_identifier_case_insensitively() -> None:
    got = locate(_note("customer_id"), CREATE, "orders.sql", 10)
    assert (got.line, got.column) == (12, 3)


def test_locate_index_and_clauses() -> None:
    for locator, where in [
        ("ix_state", (6, 7)),
        ("ENGINE", (7, 3)),
        ("CHARSET", (7, 25)),  # spelled CHARACTER SET here
        ("AUTO_INCREMENT=", (7, 46)),
    ]:
        got = locate(_note(locator), CREATE, "f", 1)
        assert (got.line, got.column) == where, locator


def test_locate_skips_the_create_head() -> None:
    text = "CREATE TABLE state (\n  id int,\n  `state` int\n)"
    got = locate(_note("state", name="state"), text, "f", 5)
    assert (got.line, got.column) == (7, 3)


def test_locate_falls_back_to_first_line() -> None:
    for locator in (None, "nonexistent"):
        got = locate(_note(locator), CREATE, "orders.sql", 10)
        assert (got.file, got.line, got.column) == ("orders.sql", 10, 1)


def test_lint_then_locate() -> None:
    t = table("orders", Column("id", "int(11)", nullable=False), primary_key=pk("id"), engine="MyISAM")
    notes = lint_schema(schema(t), MYSQL8, LintOptions())
    placed = [locate(n, CREATE, "orders.sql", 1) for n in notes]
    assert [(n.rule, n.line, n.column) for n in placed] == [("engine", 7, 3)]


def test_auto_inc_note_points_at_the_table_option() -> None:
    col = Column("id", "int unsigned", nullable=False, auto_increment=True)
    t = table("orders", col, primary_key=pk("id"), auto_increment=4_000_000_000)
    text = (
        "CREATE TABLE orders (\n  id int unsigned NOT NULL AUTO_INCREMENT,\n"
        "  PRIMARY KEY (id)\n) AUTO_INCREMENT=4000000000"
    )
    (note,) = lint_schema(schema(t), MYSQL8, LintOptions())
    placed = locate(note, text, "orders.sql", 1)
    assert (placed.rule, placed.line, placed.column) == ("auto-inc", 4, 3)


def test_locate_counts_columns_from_where_the_statement_starts() -> None:
    text = "CREATE TABLE t (id int) ENGINE=MyISAM"  # e.g. after `DROP ...;` on the same line
    got = locate(_note("ENGINE="), text, "f", 3, first_col=11)
    assert (got.line, got.column) == (3, 11 + text.index("ENGINE="))
    multi = "CREATE TABLE t (\n  id int\n) ENGINE=MyISAM"
    got = locate(_note("ENGINE="), multi, "f", 3, first_col=11)
    assert (got.line, got.column) == (5, 3)  # later lines are not shifted
    assert locate(_note(None), text, "f", 3, first_col=11).column == 11


def test_a_note_on_a_folded_index_points_at_the_statement_that_adds_it() -> None:
    files = {
        "t.sql": "CREATE TABLE t (\n  id bigint unsigned NOT NULL,\n  a int,\n"
        "  PRIMARY KEY (id),\n  KEY ka (a)\n);\n",
        "idx.sql": "-- added later\n\nALTER TABLE t ADD KEY kc (id),\n  ADD KEY kb (a);\n",
    }
    logical = LogicalSchema.from_texts(files)
    indexes = (idx("ka", "a"), idx("kb", "a"))
    t = table("t", ID, Column("a", "int(11)"), primary_key=pk("id"), secondary_indexes=indexes)
    notes = lint_located(schema(t), MARIADB, LintOptions(), logical.creates)
    (dupe,) = [(n.file, n.line, n.column) for n in notes if n.rule == "dupe-index"]
    assert dupe == ("idx.sql", 4, 11)  # `kb` in `ADD KEY kb (a)`, not t.sql's first line
