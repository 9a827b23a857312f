"""SQL errors reported at the line of the error (issue 10, point 4), against the suite's server.

A syntax error on the third line of a CREATE is reported at that line of the
file, as Skeema's lint does (`file:LINE: message`, no column: the server
names none), by every reporter: the CLI's lint / diff / push / format (a
subprocess), a daemon's diff and environment status and its `POST /v1/lint`
(a `schemad serve` process over HTTP), and the language server's diagnostic
range (a `schemad lsp` process, directly and through the daemon).  The
statements are not the first of their files, one starts in the middle of a
line, and one holds a quoted newline, which the server does not count in
its `at line N`.  An error on a statement's first line, or one the server
places on no line, keeps `file:line:col` of the statement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DBServer
from tests.daemon_proc import ADMIN_TOKEN, DaemonRepo, RunningDaemon, assert_no_password, ensure_db_user, sql
from tests.integration.test_lsp import LspProcess

pytestmark = pytest.mark.timeout(240)

SCHEMA = f"errlines_{os.getpid()}"

# file -> (text, [(line, column or None) of each SQL error in it])
FILES: dict[str, tuple[str, list[tuple[int, int | None]]]] = {
    # The error is on the third line of the second statement: line 5 of the file.
    "bad.sql": (
        "CREATE TABLE bad_ok (id int PRIMARY KEY);\n"
        "\n"
        "CREATE TABLE bad (\n"
        "  id int PRIMARY KEY,\n"
        "  x int,,\n"
        "  y int\n"
        ");\n",
        [(5, None)],
    ),
    # Starts after another statement on line 1; the server says `at line 3` (it doesn't
    # count the newline inside the COMMENT), the error is on line 4 of the file.
    "mid.sql": (
        "CREATE TABLE mid_ok (id int PRIMARY KEY); CREATE TABLE mid (\n"
        "  id int PRIMARY KEY COMMENT 'spans\n"
        "two lines',\n"
        "  x int,,\n"
        "  y int\n"
        ");\n",
        [(4, None)],
    ),
    # An error on the first line of a statement that starts mid-line: its line and column.
    "head.sql": (
        "CREATE TABLE head_ok (id int PRIMARY KEY); CREATE TABLE head (id int,, x int);\n",
        [(1, len("CREATE TABLE head_ok (id int PRIMARY KEY); ") + 1)],
    ),
    # Not a syntax error: the server names no line, the statement's place is kept.
    "dup.sql": ("\n\nCREATE TABLE dup (\n  id int,\n  id int\n);\n", [(3, 1)]),
}


def _where(file: str, line: int, column: int | None) -> str:
    return f"{file}:{line}:{column}: " if column is not None else f"{file}:{line}: "


@pytest.fixture
def cli_repo(server: DBServer, tmp_path: Path) -> Path:
    p = server.params
    (tmp_path / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / SCHEMA
    d.mkdir()
    (d / ".skeema").write_text(f"schema={SCHEMA}\n")
    for name, (text, _) in FILES.items():
        (d / name).write_text(text)
    return tmp_path


def _schemad(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemad", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _error_lines(stderr: str) -> dict[str, str]:
    """The first log line naming each file's failing statement, by file name."""
    out = {}
    for name in FILES:
        table = f"table `{name.removesuffix('.sql')}`"
        found = [x for x in stderr.splitlines() if f"{name}:" in x and table in x]
        assert found, f"no line about {name} in:\n{stderr}"
        out[name] = found[0]
    return out


def test_cli_lint_reports_the_line_of_the_error(cli_repo: Path) -> None:
    r = _schemad(cli_repo, "lint", "--skip-format")
    assert r.returncode == 2, r.stderr
    logged = _error_lines(r.stderr)
    for name, (_, places) in FILES.items():
        ((line, column),) = places
        key = name.removesuffix(".sql")
        assert _where(name, line, column) + f"table `{key}`: " in logged[name], r.stderr
    # The server's text is kept as is, with its line within the statement (Skeema's lint
    # does the same); for mid.sql that line is 3, the file's line 4 (see FILES).
    assert r.stderr.count("to use near '\n  y int\n)' at line 3") == 2, r.stderr

    r = _schemad(cli_repo, "lint", "--skip-format", "--output=json")
    assert r.returncode == 2, r.stderr
    found = sorted(
        (Path(f["file"]).name, f["line"])
        for f in json.loads(r.stdout)["findings"]
        if f["rule"] == "sql-error"
    )
    assert found == sorted((name, line) for name, (_, places) in FILES.items() for line, _ in places)


@pytest.mark.parametrize("command", ["diff", "push", "format"])
def test_cli_diff_push_format_report_the_line_of_the_error(
    cli_repo: Path, server: DBServer, command: str
) -> None:
    try:
        r = _schemad(cli_repo, command)
        assert r.returncode in (1, 2), r.stderr
        logged = _error_lines(r.stderr)
        for name, (_, places) in FILES.items():
            ((line, column),) = places
            assert _where(name, line, column) in logged[name], r.stderr
        if command == "format":  # the failing statements are left as written
            for name, (text, _) in FILES.items():
                failing = text[text.index(f"CREATE TABLE {name.removesuffix('.sql')} (") :]
                assert failing in (cli_repo / SCHEMA / name).read_text()
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}")


# ---------------------------------------------------------------------------------------------------
# The language server


def _diagnostics(client: LspProcess, path: Path, text: str) -> list[dict[str, Any]]:
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": text}},
    )
    return client.diagnostics(uri, 1)


def _lsp_places(diags: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(line, column) of each SQL error, 1-based like the files' editors show them."""
    return [
        (d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1)
        for d in diags
        if d["code"] == "sql-error" and d["severity"] == 1
    ]


def test_lsp_diagnostic_range_is_on_the_line_of_the_error(cli_repo: Path) -> None:
    client = LspProcess("--environment", "production")
    try:
        client.initialize(cli_repo)
        for name, (text, places) in FILES.items():
            diags = _diagnostics(client, cli_repo / SCHEMA / name, text)
            assert _lsp_places(diags) == [(line, column or 1) for line, column in places], (name, diags)
            (err,) = [d for d in diags if d["code"] == "sql-error"]
            line = text.split("\n")[err["range"]["start"]["line"]]
            assert err["range"]["end"] == {"line": err["range"]["start"]["line"], "character": len(line)}
        assert client.shutdown() == 0
    finally:
        client.kill()


# ---------------------------------------------------------------------------------------------------
# The daemon


@pytest.fixture
def daemon(server: DBServer, tmp_path: Path) -> Iterator[RunningDaemon]:
    ensure_db_user(server)
    sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA} CHARACTER SET utf8mb4;")
    repo = DaemonRepo.create(tmp_path / "repo", server, SCHEMA, {n: t for n, (t, _) in FILES.items()})
    d = RunningDaemon(repo, tmp_path / "run", poll_interval="1h").start()
    try:
        yield d
    finally:
        try:
            assert d.stop() == 0
            assert_no_password(d)
        finally:
            sql(server, f"DROP DATABASE IF EXISTS {SCHEMA}")


def test_daemon_diff_status_and_lint_report_the_line_of_the_error(daemon: RunningDaemon) -> None:
    d = daemon
    (target,) = d.wait_for(lambda: [t for t in d.diff()["targets"] if t["error"]], timeout=60)
    (env,) = [e for e in d.get("/v1/environments").json()["environments"] if e["name"] == "test"]
    assert env["status"] == "error"
    for name, (_, places) in FILES.items():
        ((line, column),) = places
        key = name.removesuffix(".sql")
        want = _where(name, line, column) + f"table `{key}`: "
        assert want in target["error"], target["error"]
        assert any(want in e for e in env["errors"]), env["errors"]

    for name, (text, places) in FILES.items():
        r = d.post("/v1/lint", {"file": f"{SCHEMA}/{name}", "sql": text})
        assert r.status == 200, r.text
        errors = [x for x in r.json()["diagnostics"] if x["rule"] == "sql-error"]
        assert [(x["line"], x["column"]) for x in errors] == [(ln, col or 1) for ln, col in places], r.json()
        assert all(x["severity"] == "error" for x in errors)

    # An editor linting through the daemon gets the same range.
    client = LspProcess(
        "--daemon",
        d.url,
        "--token-env",
        "SCHEMAD_LSP_TOKEN",
        "--environment",
        d.repo.environment,
        env={"SCHEMAD_LSP_TOKEN": ADMIN_TOKEN},
    )
    try:
        client.initialize(d.repo.root)
        text, places = FILES["mid.sql"]
        path = d.repo.dir / "mid_copy.sql"
        diags = _diagnostics(client, path, text.replace("mid", "mid2"))
        deadline = time.monotonic() + 20
        while [x["severity"] for x in diags] == [3] and time.monotonic() < deadline:  # not reached yet
            time.sleep(0.2)
            client.notify("textDocument/didSave", {"textDocument": {"uri": path.as_uri()}})
            diags = client.diagnostics(path.as_uri(), 1)
        assert _lsp_places(diags) == [(4, 1)], diags
        assert client.shutdown() == 0
    finally:
        client.kill()
