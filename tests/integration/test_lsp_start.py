"""`schemad lsp` as editors see its start: what it writes to stderr, and what it imports before `initialize`.

Editors keep the server's stderr (Neovim logs every line of it as an error):
without --debug a clean session writes nothing there; with --debug it logs,
but never a JSON-RPC message or a document's text.  The lint engine is not
imported with the server module: pygls answers `initialize` without it.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DBServer
from tests.integration.test_lsp import LspProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def repo(server: DBServer, tmp_path: Path) -> Path:
    p = server.params
    (tmp_path / ".skeema").write_text(f"[development]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / "app"
    d.mkdir()
    (d / ".skeema").write_text("schema=app\n")
    return d


@pytest.fixture
def clients() -> Iterator[list[LspProcess]]:
    started: list[LspProcess] = []
    yield started
    for c in started:
        c.kill()


def _session(client: LspProcess, repo: Path, marker: str) -> str:
    """Initialize, open a file without a primary key, get its lint, format it, shut down; the stderr."""
    client.initialize(repo.parent)
    uri = (repo / "nopk.sql").as_uri()
    text = f"-- {marker}\nCREATE TABLE nopk (a int, b int);\n"
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": text}},
    )
    assert [d["code"] for d in client.diagnostics(uri, 1)] == ["pk"]
    edits = client.request(
        "textDocument/formatting",
        {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}},
    )
    assert edits and "CREATE TABLE `nopk`" in edits[0]["newText"]
    assert client.shutdown() == 0
    assert client.proc.stderr is not None
    return client.proc.stderr.read().decode(errors="replace")


def test_clean_session_writes_nothing_to_stderr(repo: Path, clients: list[LspProcess]) -> None:
    clients.append(LspProcess())
    err = _session(clients[-1], repo, "marker-" + secrets.token_hex(8))
    assert err == "", err


def test_debug_logs_but_never_payloads(repo: Path, clients: list[LspProcess]) -> None:
    marker = "marker-" + secrets.token_hex(8)
    clients.append(LspProcess("--debug"))
    err = _session(clients[-1], repo, marker)
    assert "Starting async IO server" in err, err  # pygls' own lines are there with --debug...
    assert "[DEBUG]" in err, err
    # ...but no message: neither what pygls sends nor what it received (the document's text).
    assert marker not in err and "nopk" not in err, err
    assert "Sending data" not in err and '"jsonrpc"' not in err and "publishDiagnostics" not in err, err


def test_server_module_does_not_import_the_engine() -> None:
    code = (
        "import sys, schemad.lsp.server\n"
        "print(sorted(m for m in ('schemad.lsp.engine', 'schemad.workspace.cache', 'sqlglot', 'asyncmy')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
