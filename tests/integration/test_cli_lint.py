"""`schemad lint` against the real server: findings with file:line, severities, exit codes,
the `--output` formats on STDOUT, and the reformatting lint does unless `--skip-format`."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from schemad.cli.args import parse_args
from schemad.cli.main import _COMMANDS, main
from schemad.fs.optionfile import OptionFile
from schemad.fs.registry import SKEEMA_OPTIONS
from tests.conftest import DBServer

SARIF_SCHEMA = json.loads((Path(__file__).parents[1] / "testdata" / "sarif-2.1.0-subset.json").read_text())
NOPK = "-- no primary key here\nCREATE TABLE nopk (\n  a int,\n  b int\n);\n"


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / "app"
    d.mkdir()
    (d / ".skeema").write_text("schema=app\n")
    (d / "good.sql").write_text(
        "CREATE TABLE good (id bigint unsigned NOT NULL PRIMARY KEY) ENGINE=InnoDB;\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["format"]) == 1  # canonical for this server, so a clean lint changes nothing
    return d


def test_clean_repo_exits_0(repo: Path) -> None:
    assert main(["lint"]) == 0


def test_warning_names_file_line_and_column(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "nopk.sql").write_text(NOPK)
    assert main(["lint"]) == 1  # lint-pk is a warning by default
    assert "nopk.sql:2:" in caplog.text and "[warning] pk:" in caplog.text


def test_severity_options_and_errors(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "myisam.sql").write_text("CREATE TABLE myisam (id int PRIMARY KEY) ENGINE=MyISAM;\n")
    assert main(["lint", "--lint-engine=error"]) == 2
    assert "[error] engine:" in caplog.text and "myisam.sql:1:" in caplog.text
    assert main(["lint", "--lint-engine=ignore"]) == 0


def test_sql_errors_are_errors(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "bad.sql").write_text("CREATE TABLE bad (id int,, x int);\n")
    assert main(["lint"]) == 2
    assert "bad.sql:1" in caplog.text


def test_text_output_writes_nothing_to_stdout(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "nopk.sql").write_text(NOPK)
    assert main(["lint", "--output=text"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "nopk.sql:2:1: [warning] pk:" in err


def test_json_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "nopk.sql").write_text(NOPK)
    (repo / "bad.sql").write_text("\nCREATE TABLE bad (id int,, x int);\n")
    (repo / "seed.sql").write_text("LOCK TABLES good WRITE;\n")  # (an INSERT is seed data now)
    assert main(["lint", "--output", "json"]) == 2
    out, err = capsys.readouterr()
    doc = json.loads(out)
    found = {(f["file"], f["rule"]): f for f in doc["findings"]}
    pk = found[("app/nopk.sql", "pk")]
    assert (pk["line"], pk["column"], pk["severity"]) == (2, 1, "warning")
    bad = found[("app/bad.sql", "sql-error")]
    assert (bad["line"], bad["severity"]) == (2, "error") and "bad" in bad["message"]
    unparsed = found[("app/seed.sql", "unparsed")]
    assert (unparsed["line"], unparsed["column"], unparsed["severity"]) == (1, 1, "warning")
    assert doc["errors"] == 1 and doc["warnings"] == 2
    assert doc["reformatted"] == ["app/nopk.sql"]  # the failing statement is left as it is
    assert "[warning] pk:" not in err  # findings are the report's, not the log's


def test_sarif_output_validates(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "nopk.sql").write_text(NOPK)
    assert main(["lint", "--output=sarif", "--skip-format"]) == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(doc)
    (result,) = doc["runs"][0]["results"]
    assert result["ruleId"] == "lint-pk" and result["level"] == "warning"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app/nopk.sql", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2, "startColumn": 1}
    (rule,) = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "lint-pk" and rule["shortDescription"]["text"]


def test_github_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "nopk.sql").write_text(NOPK)
    # A file name with GitHub's property separators in it: escaped as %2C / %3A.
    (repo / "my,isam:1.sql").write_text("CREATE TABLE myisam (id int PRIMARY KEY) ENGINE=MyISAM;\n")
    assert main(["lint", "--output=github", "--lint-engine=error", "--skip-format"]) == 2
    assert capsys.readouterr().out.splitlines() == [
        "::error file=app/my%2Cisam%3A1.sql,line=1,col=42,title=lint-engine::"
        "table `myisam` uses storage engine MyISAM; allow-engine is innodb",
        "::warning file=app/nopk.sql,line=2,col=1,title=lint-pk::table `nopk` has no primary key",
    ]


def test_bad_output_value_is_a_config_error(repo: Path) -> None:
    assert main(["lint", "--output=xml"]) == 78


def test_lint_reformats_files_and_exits_1(repo: Path) -> None:
    (repo / "loose.sql").write_text("create table loose (id bigint unsigned not null primary key);\n")
    assert main(["lint"]) == 1
    text = (repo / "loose.sql").read_text()
    assert text.startswith("CREATE TABLE `loose` (\n") and "PRIMARY KEY (`id`)" in text
    assert main(["lint"]) == 0  # canonical now


def test_skip_format_leaves_files(repo: Path) -> None:
    loose = "create table loose (id bigint unsigned not null primary key);\n"
    (repo / "loose.sql").write_text(loose)
    assert main(["lint", "--skip-format"]) == 0
    assert (repo / "loose.sql").read_text() == loose
    (repo / ".skeema").write_text("schema=app\nformat=0\n")  # also from an option file
    assert main(["lint"]) == 0
    assert (repo / "loose.sql").read_text() == loose


# ---------------------------------------------------------------- examples/ci/schema-lint.yml

WORKFLOW = Path(__file__).parents[2] / "examples" / "ci" / "schema-lint.yml"


def _schemad_calls(script: str) -> list[list[str]]:
    calls = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["schemad"]:
            end = next((i for i, w in enumerate(words) if w in ("||", "&&", ">", "|", ";")), len(words))
            calls.append(words[1:end])
    return calls


def test_ci_workflow_parses_and_uses_real_commands() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as True
    (job,) = doc["jobs"].values()
    assert job["services"]["mariadb"]["image"].startswith("mariadb:")
    steps = job["steps"]
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)
    calls = [c for s in steps for c in _schemad_calls(s.get("run", ""))]
    seen = set()
    for argv in calls:
        command, rest = argv[0], argv[1:]
        if command == "version":
            continue
        assert command in _COMMANDS, argv
        parsed = parse_args(command, rest, SKEEMA_OPTIONS)  # raises on an unknown option
        assert parsed.positionals == ["ci"], argv
        if command == "lint":
            seen.add(f"lint:{parsed.options['output']}")
        else:
            seen.add(command)
    assert seen == {"lint:github", "lint:sarif", "format", "push", "diff"}
    # The [ci] environment the job appends to .skeema parses and names the service's port.
    (script,) = [s["run"] for s in steps if "[ci]" in s.get("run", "")]
    printf = shlex.split(script.strip())
    assert printf[0] == "printf" and printf[-2:] == [">>", ".skeema"]
    section = OptionFile.parse("lint-pk=error\n" + printf[1].replace("\\n", "\n"), ".skeema")
    assert {k: v.value for k, v in section.values("ci").items()} == {
        "host": "127.0.0.1",
        "port": "3306",
        "user": "root",
    }
