"""The lint report renderers: text, JSON, SARIF 2.1.0 (schema-validated) and GitHub workflow commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from schemad.lint import Severity
from schemad.lint.report import (
    SARIF_SCHEMA_URI,
    SQL_ERROR,
    Annotation,
    OutputFormat,
    github_commands,
    render,
    sarif_log,
    text_line,
    to_json,
)

# No PyPI package ships the official sarif-schema-2.1.0.json (sarif-om and sarif-tools
# don't), so the tests validate against a hand-written subset of it; see the file's $comment.
SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "testdata" / "sarif-2.1.0-subset.json").read_text(encoding="utf-8")
)

PK = Annotation("app/nopk.sql", 2, 1, "pk", Severity.WARNING, "table nopk has no primary key")
ENGINE = Annotation("app/my isam.sql", 1, 48, "engine", Severity.ERROR, "table uses engine MyISAM")
BAD = Annotation("app/bad.sql", 3, None, SQL_ERROR, Severity.ERROR, "table `bad`: syntax error")
NASTY = Annotation(
    "dir,with:odd%\\name.sql", 7, 3, "reserved-word", Severity.WARNING, "50% of\r\nthe name: `a,b`"
)
DIR_ONLY = Annotation("app", None, None, "fk-parent", Severity.WARNING, "no parent")
ALL = [PK, ENGINE, BAD, NASTY, DIR_ONLY]


def _validate_sarif(doc: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    # jsonschema checks `uri` formats only with rfc3987 installed: check the ones we write here.
    driver = doc["runs"][0]["tool"]["driver"]
    assert urlsplit(driver["informationUri"]).scheme == "https"
    for result in doc["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not set(uri) & {" ", "\\", ":"} and not urlsplit(uri).scheme, uri


@pytest.mark.parametrize(
    ("a", "line"),
    [
        (PK, "app/nopk.sql:2:1: [warning] pk: table nopk has no primary key"),
        (BAD, "app/bad.sql:3: [error] sql-error: table `bad`: syntax error"),
        (DIR_ONLY, "app: [warning] fk-parent: no parent"),
    ],
)
def test_text_line(a: Annotation, line: str) -> None:
    assert text_line(a) == line


def test_render_text_is_one_line_per_finding() -> None:
    assert render(OutputFormat.TEXT, [PK, BAD], version="1") == f"{text_line(PK)}\n{text_line(BAD)}\n"
    assert render(OutputFormat.TEXT, [], version="1") == ""


def test_json_document() -> None:
    doc = json.loads(render(OutputFormat.JSON, ALL, version="0.1.0", reformatted=["app\\x.sql"]))
    assert doc == to_json(ALL, version="0.1.0", reformatted=["app\\x.sql"])
    assert (doc["tool"], doc["version"], doc["errors"], doc["warnings"]) == ("schemad", "0.1.0", 2, 3)
    assert doc["findings"][0] == {
        "file": "app/nopk.sql",
        "line": 2,
        "column": 1,
        "rule": "pk",
        "severity": "warning",
        "message": "table nopk has no primary key",
    }
    assert doc["findings"][2]["column"] is None and doc["findings"][4]["line"] is None
    assert doc["findings"][3]["file"] == "dir,with:odd%/name.sql"  # forward slashes
    assert doc["reformatted"] == ["app/x.sql"]


def test_sarif_log_validates_and_places_results() -> None:
    doc = json.loads(render(OutputFormat.SARIF, ALL, version="0.1.0", descriptions={"pk": "no primary key"}))
    _validate_sarif(doc)
    assert doc["version"] == "2.1.0" and doc["$schema"] == SARIF_SCHEMA_URI
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("schemad", "0.1.0")
    assert [r["id"] for r in driver["rules"]] == [
        "lint-pk",
        "lint-engine",
        "lint-sql-error",
        "lint-reserved-word",
        "lint-fk-parent",
    ]
    assert driver["rules"][0]["shortDescription"] == {"text": "no primary key"}
    assert driver["rules"][1]["shortDescription"] == {"text": "lint-engine"}  # no description given
    assert "server rejected" in driver["rules"][2]["shortDescription"]["text"]
    first, second, third, fourth, fifth = run["results"]
    assert first["ruleId"] == "lint-pk" and first["level"] == "warning" and first["ruleIndex"] == 0
    assert first["message"] == {"text": "table nopk has no primary key"}
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app/nopk.sql", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2, "startColumn": 1},
    }
    assert second["level"] == "error"
    assert second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/my%20isam.sql"
    assert second["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 48}
    assert third["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}  # no column known
    assert (
        fourth["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dir,with%3Aodd%25/name.sql"
    )
    assert "region" not in fifth["locations"][0]["physicalLocation"]


def test_sarif_rules_are_listed_once() -> None:
    other = Annotation("app/b.sql", 9, 2, "pk", Severity.WARNING, "table b has no primary key")
    doc = sarif_log([PK, other], version="1")
    _validate_sarif(doc)
    assert [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]] == ["lint-pk"]
    assert [r["ruleIndex"] for r in doc["runs"][0]["results"]] == [0, 0]


def test_sarif_with_no_findings_validates() -> None:
    doc = sarif_log([], version="1")
    _validate_sarif(doc)
    assert doc["runs"][0]["results"] == [] and doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_schema_subset_rejects_what_code_scanning_would() -> None:
    doc = sarif_log([PK], version="1")
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        _validate_sarif(doc)
    doc = sarif_log([PK], version="1")
    doc["runs"][0]["results"][0]["level"] = "warn"
    with pytest.raises(jsonschema.ValidationError):
        _validate_sarif(doc)


def test_github_commands_exact() -> None:
    assert github_commands(ALL) == [
        "::warning file=app/nopk.sql,line=2,col=1,title=lint-pk::table nopk has no primary key",
        "::error file=app/my isam.sql,line=1,col=48,title=lint-engine::table uses engine MyISAM",
        "::error file=app/bad.sql,line=3,title=lint-sql-error::table `bad`: syntax error",
        # Properties escape % CR LF : , ; the message only % CR LF.
        "::warning file=dir%2Cwith%3Aodd%25/name.sql,line=7,col=3,title=lint-reserved-word"
        "::50%25 of%0D%0Athe name: `a,b`",
        "::warning file=app,title=lint-fk-parent::no parent",
    ]
    assert render(OutputFormat.GITHUB, [PK], version="1") == github_commands([PK])[0] + "\n"


def test_output_format_values_are_the_option_choices() -> None:
    from schemad.fs.registry import SKEEMA_OPTIONS

    opt = SKEEMA_OPTIONS["output"]
    assert opt.default == "text" and opt.commands == frozenset({"lint"})
    assert opt.choices == tuple(f.value for f in OutputFormat)
