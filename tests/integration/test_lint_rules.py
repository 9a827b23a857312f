"""Every lint rule on the real server: a file it flags (message and line) and one it passes.

One `schemad lint --output json` run over a dir of positive fixtures with every
rule set to error, one over the negative fixtures, and one with Skeema's
default severities; each rule is then checked on its own file.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemad.lint.options import DEFAULT_SEVERITIES, Severity
from tests.conftest import DBServer
from tests.helpers import load_sql

CLEAN = "id bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)"

# rule -> (positive text, text on the line of the finding, words of the message, negative text)
CASES: dict[str, tuple[str, str, str, str]] = {
    "pk": (
        "-- no key\nCREATE TABLE p_pk (\n  a int NOT NULL\n);\n",
        "CREATE TABLE p_pk",
        "primary key",
        f"CREATE TABLE n_pk (\n  {CLEAN}\n);\n",
    ),
    "dupe-index": (
        f"CREATE TABLE p_dupe (\n  {CLEAN},\n  a int NOT NULL,\n  KEY a1 (a),\n  KEY a2 (a)\n);\n",
        "KEY a2",
        "a2",
        f"CREATE TABLE n_dupe (\n  {CLEAN},\n  a int NOT NULL,\n  KEY a1 (a)\n);\n",
    ),
    "charset": (
        f"CREATE TABLE p_cs (\n  {CLEAN},\n  name varchar(10) CHARACTER SET ascii NOT NULL\n);\n",
        "CHARACTER SET ascii",
        "ascii",
        f"CREATE TABLE n_cs (\n  {CLEAN},\n  name varchar(10) CHARACTER SET utf8mb4 NOT NULL\n);\n",
    ),
    "engine": (
        f"CREATE TABLE p_engine (\n  {CLEAN}\n) ENGINE=MyISAM;\n",
        "ENGINE=MyISAM",
        "MyISAM",
        f"CREATE TABLE n_engine (\n  {CLEAN}\n) ENGINE=InnoDB;\n",
    ),
    "compression": (
        f"CREATE TABLE p_comp (\n  {CLEAN}\n) ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=2;\n",
        "ROW_FORMAT=COMPRESSED",
        "2kb",
        f"CREATE TABLE n_comp (\n  {CLEAN}\n) ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;\n",
    ),
    "auto-inc": (
        "CREATE TABLE p_ai (\n  id int NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (id)\n);\n",
        "id int NOT NULL AUTO_INCREMENT",
        "int",
        f"CREATE TABLE n_ai (\n  {CLEAN}\n);\n",
    ),
    "definer": (
        "CREATE DEFINER=`someone`@`%` PROCEDURE p_def()\nSELECT 1;\n",
        "CREATE DEFINER",
        "someone",
        "CREATE DEFINER=`root`@`%` PROCEDURE n_def()\nSELECT 1;\n",
    ),
    "zero-date": (
        f"CREATE TABLE p_zd (\n  {CLEAN},\n  d date NOT NULL DEFAULT '0000-00-00'\n);\n",
        "d date",
        "d",
        f"CREATE TABLE n_zd (\n  {CLEAN},\n  d date NOT NULL DEFAULT '2000-01-01'\n);\n",
    ),
    "reserved-word": (
        f"CREATE TABLE p_rw (\n  {CLEAN},\n  `order` int NOT NULL\n);\n",
        "`order`",
        "order",
        f"CREATE TABLE n_rw (\n  {CLEAN},\n  ordinal int NOT NULL\n);\n",
    ),
    "fk-parent": (
        f"CREATE TABLE p_fk (\n  {CLEAN},\n  x bigint(20) unsigned NOT NULL,\n"
        "  CONSTRAINT fk_missing FOREIGN KEY (x) REFERENCES nowhere (id)\n);\n",
        "CONSTRAINT fk_missing",
        "nowhere",
        f"CREATE TABLE n_fk (\n  {CLEAN},\n  x bigint(20) unsigned NOT NULL,\n"
        "  CONSTRAINT fk_ok FOREIGN KEY (x) REFERENCES n_pk (id)\n);\n",
    ),
    "display-width": (
        f"CREATE TABLE p_dw (\n  {CLEAN},\n  a int(5) NOT NULL\n);\n",
        "a int(5)",
        "a",
        f"CREATE TABLE n_dw (\n  {CLEAN},\n  a int NOT NULL\n);\n",
    ),
    "has-enum": (
        f"CREATE TABLE p_enum (\n  {CLEAN},\n  e enum('a','b') NOT NULL\n);\n",
        "e enum(",
        "e",
        f"CREATE TABLE n_enum (\n  {CLEAN},\n  e varchar(1) NOT NULL\n);\n",
    ),
    "has-fk": (
        f"CREATE TABLE p_hfk (\n  {CLEAN},\n  x bigint(20) unsigned NOT NULL,\n"
        "  CONSTRAINT fk_hfk FOREIGN KEY (x) REFERENCES n_pk (id)\n);\n",
        "CONSTRAINT fk_hfk",
        "fk_hfk",
        f"CREATE TABLE n_hfk (\n  {CLEAN},\n  x bigint(20) unsigned NOT NULL\n);\n",
    ),
    "has-float": (
        f"CREATE TABLE p_float (\n  {CLEAN},\n  f float NOT NULL\n);\n",
        "f float",
        "f",
        f"CREATE TABLE n_float (\n  {CLEAN},\n  f decimal(10,2) NOT NULL\n);\n",
    ),
    "has-time": (
        f"CREATE TABLE p_time (\n  {CLEAN},\n  t datetime NOT NULL\n);\n",
        "t datetime",
        "t",
        f"CREATE TABLE n_time (\n  {CLEAN},\n  t date NOT NULL\n);\n",
    ),
    "has-routine": (
        "CREATE DEFINER=`root`@`%` FUNCTION p_fn() RETURNS int\nRETURN 1;\n",
        "CREATE DEFINER",
        "p_fn",
        f"CREATE TABLE n_fn (\n  {CLEAN}\n);\n",
    ),
    "name-case": (
        f"CREATE TABLE P_Case (\n  {CLEAN}\n);\n",
        "CREATE TABLE P_Case",
        "P_Case",
        f"CREATE TABLE n_case (\n  {CLEAN}\n);\n",
    ),
    "pk-type": (
        "CREATE TABLE p_pkt (\n  id int NOT NULL,\n  PRIMARY KEY (id)\n);\n",
        "id int NOT NULL",
        "int",
        f"CREATE TABLE n_pkt (\n  {CLEAN}\n);\n",
    ),
    "ids": (
        f"CREATE TABLE p_ids (\n  {CLEAN},\n  user_id int NOT NULL\n);\n",
        "user_id int",
        "user_id",
        f"CREATE TABLE n_ids (\n  {CLEAN},\n  user_id bigint(20) unsigned NOT NULL\n);\n",
    ),
    "nullable": (
        f"CREATE TABLE p_null (\n  {CLEAN},\n  maybe int\n);\n",
        "maybe int",
        "maybe",
        f"CREATE TABLE n_null (\n  {CLEAN},\n  maybe int NOT NULL\n);\n",
    ),
    "has-view": (
        "CREATE DEFINER=`root`@`%` SQL SECURITY INVOKER VIEW p_view AS\nSELECT 1 AS one;\n",
        "CREATE DEFINER",
        "p_view",
        f"CREATE TABLE n_view (\n  {CLEAN}\n);\n",
    ),
    "has-trigger": (
        "CREATE DEFINER=`root`@`%` TRIGGER p_trg BEFORE INSERT ON n_pk\nFOR EACH ROW SET @x = 1;\n",
        "CREATE DEFINER",
        "p_trg",
        f"CREATE TABLE n_trg (\n  {CLEAN}\n);\n",
    ),
    "has-event": (
        "CREATE DEFINER=`root`@`%` EVENT p_ev ON SCHEDULE EVERY 1 DAY\nDO SELECT 1;\n",
        "CREATE DEFINER",
        "p_ev",
        f"CREATE TABLE n_ev (\n  {CLEAN}\n);\n",
    ),
    # The one rule that reads the live schema: the fixture's live `lint_pos` has p_stale with b2 already.
    "stale-rename": (
        f"CREATE TABLE p_stale (\n  {CLEAN},\n  b2 int NOT NULL -- @renamed from=b\n);\n",
        "b2 int",
        "@renamed from=b",
        f"CREATE TABLE n_stale (\n  {CLEAN},\n  b2 int NOT NULL -- @renamed from=b\n);\n",
    ),
}
OPTIONS = ["--allow-pk-type=bigint unsigned", "--allow-definer=root@%"]
LIVE = f"CREATE DATABASE lint_pos; CREATE TABLE lint_pos.p_stale ({CLEAN}, b2 int NOT NULL)"


def test_every_rule_has_cases() -> None:
    assert set(CASES) == set(DEFAULT_SEVERITIES)


def lint(cwd: Path, *args: str) -> list[dict[str, Any]]:
    run = subprocess.run(
        [sys.executable, "-m", "schemad", "lint", "--output=json", "--skip-format", *OPTIONS, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode in (0, 1, 2), run.stderr
    findings: list[dict[str, Any]] = json.loads(run.stdout)["findings"]
    return findings


ALL_ERRORS = [f"--lint-{rule}=error" for rule in CASES]


@pytest.fixture(scope="module")
def runs(server: DBServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Findings of: positives with every rule an error, negatives likewise, positives with defaults."""
    root = tmp_path_factory.mktemp("rules")
    p = server.params
    (root / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    for sub, which in (("pos", 0), ("neg", 3)):
        d = root / sub
        d.mkdir()
        (d / ".skeema").write_text(f"schema=lint_{sub}\n")
        for rule, case in CASES.items():
            (d / f"{rule}.sql").write_text(str(case[which]))
        if sub == "pos":
            (d / "n_pk.sql").write_text(CASES["pk"][3])  # the parent of the FK and trigger fixtures
    asyncio.run(load_sql(server.params, None, "DROP DATABASE IF EXISTS lint_pos; " + LIVE))
    try:
        return {
            "pos": lint(root / "pos", *ALL_ERRORS),
            "neg": lint(root / "neg", *ALL_ERRORS),
            "default": lint(root / "pos"),
        }
    finally:
        asyncio.run(load_sql(server.params, None, "DROP DATABASE IF EXISTS lint_pos"))


def of(findings: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    """The findings of `rule` in its own fixture file."""
    return [f for f in findings if f["rule"] == rule and f["file"].endswith(f"/{rule}.sql")]


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_flags_its_positive_fixture_at_the_line(rule: str, runs: dict[str, Any]) -> None:
    text, marker, words, _ = CASES[rule]
    line = 1 + text[: text.index(marker)].count("\n")
    found = of(runs["pos"], rule)
    assert found, f"lint-{rule} found nothing; all findings: {runs['pos']}"
    f = found[0]
    assert (f["line"], f["severity"]) == (line, "error"), f
    assert words.lower() in f["message"].lower(), f


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_its_negative_fixture(rule: str, runs: dict[str, Any]) -> None:
    assert of(runs["neg"], rule) == []
    assert not [f for f in runs["neg"] if f["rule"] == "sql-error"], runs["neg"]


@pytest.mark.parametrize("rule", sorted(CASES))
def test_default_severity_is_skeemas(rule: str, runs: dict[str, Any]) -> None:
    expected = DEFAULT_SEVERITIES[rule]
    got = {f["severity"] for f in of(runs["default"], rule)}
    assert got == (set() if expected is Severity.IGNORE else {str(expected)})
