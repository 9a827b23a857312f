"""The workspace guard admits standalone index statements of exactly the folded forms (issue 12.4)."""

from __future__ import annotations

import pytest

from schemad.model.keys import ObjectKey, ObjectType
from schemad.workspace.guard import Admitted, Refusal, admit_fold

T = ObjectKey(ObjectType.TABLE, "t")
HOME = ("app",)


def _judge(body: str, key: ObjectKey = T) -> Admitted | Refusal:
    return admit_fold(key=key, body=body, file="f.sql", line=7, col=3, home=HOME)


# (statement, what is sent)
ADMITTED = [
    ("CREATE INDEX i ON t (c)", "CREATE INDEX i ON t (c)"),
    ("create unique index `i` on `t` (`c`)", "create unique index `i` on `t` (`c`)"),
    ("CREATE FULLTEXT INDEX ft ON t (note) WITH PARSER ngram", None),
    ("CREATE SPATIAL INDEX IF NOT EXISTS sp ON t (g)", None),
    (
        "CREATE INDEX i USING BTREE ON t (c(10) DESC, (lower(d)))"
        " KEY_BLOCK_SIZE = 8 COMMENT 'a, DROP b' INVISIBLE",
        None,
    ),
    ("CREATE INDEX i ON app.t (c)", "CREATE INDEX i ON `t` (c)"),
    (  # the parent in the dir's own schema: the temp schema's table of that name
        "ALTER TABLE app.t ADD FOREIGN KEY (p) REFERENCES `app` . parent (id), ADD FOREIGN KEY (q)"
        " REFERENCES app.`p2` (id)",
        "ALTER TABLE `t` ADD FOREIGN KEY (p) REFERENCES parent (id), ADD FOREIGN KEY (q)"
        " REFERENCES `p2` (id)",
    ),
    ("CREATE INDEX i ON `app` . `t` (c)", "CREATE INDEX i ON `t` (c)"),
    ("ALTER TABLE t ADD INDEX i (c)", None),
    ("ALTER TABLE t ADD KEY (c), ADD KEY IF NOT EXISTS k2 (d) NOT IGNORED", None),
    ("ALTER TABLE t ADD UNIQUE KEY u (a, b), ADD UNIQUE (c), ADD UNIQUE INDEX u3 USING HASH (d)", None),
    ("ALTER TABLE t ADD CONSTRAINT u UNIQUE KEY (a)", None),
    ("ALTER TABLE t ADD PRIMARY KEY (id), ADD CONSTRAINT PRIMARY KEY (id)", None),
    ("ALTER TABLE t ADD FULLTEXT KEY ft (note), ADD SPATIAL INDEX sp (g)", None),
    (
        "ALTER TABLE `app`.`t` ADD CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES other.`parent` (`id`)"
        " MATCH SIMPLE ON DELETE SET NULL ON UPDATE NO ACTION",
        "ALTER TABLE `t` ADD CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES other.`parent` (`id`)"
        " MATCH SIMPLE ON DELETE SET NULL ON UPDATE NO ACTION",
    ),
    (
        "ALTER TABLE t ADD FOREIGN KEY fk_i (p) REFERENCES parent (id) ON UPDATE CASCADE ON DELETE RESTRICT",
        None,
    ),
    ("ALTER TABLE t ADD CONSTRAINT pos CHECK (qty > 0), ADD CHECK (qty < 10) NOT ENFORCED", None),
    # mysqldump's form: a comment, a newline before each clause
    ("/* mysqldump */ ALTER TABLE `t`\n  ADD KEY `c` (`c`),\n  ADD KEY `d` (`d`) -- two\n", None),
    ("ALTER TABLE t ADD INDEX i (c) /*!50100 COMMENT 'x' */", None),  # always run by supported servers
    ("ALTER TABLE app.t\n  ADD INDEX i (c)", "ALTER TABLE `t`\n  ADD INDEX i (c)"),
]


@pytest.mark.parametrize(("body", "sent"), ADMITTED)
def test_admitted(body: str, sent: str | None) -> None:
    r = _judge(body)
    assert isinstance(r, Admitted), r
    assert r.own_body == r.body == (body if sent is None else sent)
    assert (r.key, r.file, r.line, r.col, r.folded) == (T, "f.sql", 7, 3, ())


# (statement, a piece of the reason)
REFUSED = [
    ("ALTER TABLE t ADD INDEX i (c), DROP COLUMN x", "`DROP` is not part of an index or constraint"),
    ("ALTER TABLE t ADD INDEX i (c), DROP INDEX j", "`DROP`"),
    ("ALTER TABLE t ADD INDEX i (c), RENAME TO u", "`RENAME`"),
    ("ALTER TABLE t ADD INDEX i (c), RENAME COLUMN a TO b", "`RENAME`"),
    ("ALTER TABLE t ADD INDEX i (c), MODIFY c bigint", "`MODIFY`"),
    ("ALTER TABLE t ADD INDEX i (c), ADD COLUMN d int", "`COLUMN`"),
    ("ALTER TABLE t ADD INDEX i (c), ENGINE=MyISAM", "`ENGINE`"),
    ("ALTER TABLE t ADD INDEX i (c) ENGINE=MyISAM", "`ENGINE`"),
    ("ALTER TABLE t ADD INDEX i (c) PARTITION BY HASH (c) PARTITIONS 4", "`PARTITION`"),
    ("ALTER TABLE t ADD INDEX i (c), REMOVE PARTITIONING", "`REMOVE`"),
    ("ALTER TABLE t ADD INDEX i (c), ALGORITHM=INPLACE, LOCK=NONE", "`ALGORITHM`"),
    ("ALTER TABLE t ADD INDEX i (c), ORDER BY c", "`ORDER`"),
    ("ALTER TABLE t ADD INDEX i (c), CONVERT TO CHARACTER SET latin1", "`CONVERT`"),
    ("ALTER TABLE t ADD INDEX i (c), FORCE", "`FORCE`"),
    ("ALTER TABLE t ADD INDEX i (c),", "the statement ends where ADD was expected"),
    ("ALTER TABLE t ADD INDEX i (c", "the statement ends where ) was expected"),
    ("ALTER TABLE t ADD INDEX `a`DROP (c)", "`DROP`"),
    ("ALTER TABLE t ADD INDEX i (c) COMMENT", "the statement ends where a quoted string was expected"),
    ("ALTER TABLE t ADD CONSTRAINT c DEFAULT 1", "`DEFAULT`"),
    ("ALTER TABLE t ADD FOREIGN KEY (p) REFERENCES parent (id) ON DELETE DROP", "`DROP`"),
    ("CREATE INDEX i ON t (c) ALGORITHM=INPLACE", "`ALGORITHM`"),
    ("CREATE INDEX i ON t (c), DROP COLUMN x", "`,`"),
    # other schemas: only the dir's own may qualify the table
    ("ALTER TABLE other_schema.t ADD INDEX i (c)", "qualified with schema `other_schema`"),
    ("CREATE INDEX i ON `other`.`t` (c)", "qualified with schema `other`"),
    # what the server might read differently
    ("ALTER TABLE t ADD INDEX i (c) COMMENT 'a\\', DROP COLUMN x -- '", "backslash"),
    ("ALTER TABLE t ADD INDEX i (c) /*!99999 , DROP COLUMN x */", "/*!99999 may be skipped"),
    ("ALTER TABLE t ADD INDEX i (c) /*M!100500 , DROP COLUMN x */", "/*M!100500 may be skipped"),
    ("ALTER TABLE t ADD INDEX i (c); DROP TABLE t", "semicolon"),
    # not the statement it claims to be
    ("ALTER TABLE t ADD COLUMN c int", "not a standalone CREATE INDEX"),
    ("DROP TABLE t", "not a standalone CREATE INDEX"),
    ("CREATE TABLE t (a int)", "not a standalone CREATE INDEX"),
]


@pytest.mark.parametrize(("body", "reason"), REFUSED)
def test_refused(body: str, reason: str) -> None:
    r = _judge(body)
    assert isinstance(r, Refusal), r
    assert reason in r.reason and r.reason.startswith("refused: ")
    assert (r.key, r.file, r.line, r.col) == (T, "f.sql", 7, 3)


def test_refused_on_another_table() -> None:
    r = _judge("CREATE INDEX i ON u (c)")
    assert isinstance(r, Refusal) and "is on table `u`, not table `t`" in r.reason


def test_without_home_any_qualifier_is_refused() -> None:
    r = admit_fold(key=T, body="CREATE INDEX i ON app.t (c)", file="f", line=1, home=())
    assert isinstance(r, Refusal) and "qualified with schema `app`" in r.reason
