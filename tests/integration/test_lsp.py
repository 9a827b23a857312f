"""`schemad lsp` as an editor runs it: a subprocess speaking JSON-RPC (Content-Length framing) on stdio.

The messages are written by hand here, so the test checks the wire format,
not pygls against itself.  Linting and formatting go to the suite's server.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DBServer
from tests.daemon_proc import ADMIN_TOKEN, DaemonRepo, RunningDaemon, assert_no_password, ensure_db_user

Message = dict[str, Any]
TIMEOUT = 20.0
OPTIONS = {"tabSize": 4, "insertSpaces": True}


class LspProcess:
    """A `schemad lsp` child and a thread reading its framed messages into a queue."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "schemad", "lsp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.messages: queue.Queue[Message | None] = queue.Queue()
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def send(self, message: Message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        rid = self._next_id
        self.send({"id": rid, "method": method, "params": params})
        reply = self.wait_for(lambda m: m.get("id") == rid and "method" not in m)
        assert "error" not in reply, reply
        return reply.get("result")

    def wait_for(self, match: Callable[[Message], bool], timeout: float = TIMEOUT) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no matching message within {timeout}s: {self.stderr()}") from None
            if m is None:
                raise AssertionError(f"the server closed its stdout: {self.stderr()}")
            if "method" in m and "id" in m:  # a request from the server (e.g. registerCapability)
                self.send({"id": m["id"], "result": None})
            if match(m):
                return m

    def diagnostics(self, uri: str, version: int) -> list[Message]:
        m = self.wait_for(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and m["params"].get("version") == version
            )
        )
        return list(m["params"]["diagnostics"])

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def initialize(self, root: Path) -> Message:
        result = self.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {}})
        self.notify("initialized", {})
        return dict(result)

    def shutdown(self) -> int:
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        return self.proc.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


@pytest.fixture
def repo(server: DBServer, tmp_path: Path) -> Path:
    p = server.params
    (tmp_path / ".skeema").write_text(f"[development]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = tmp_path / "app"
    d.mkdir()
    (d / ".skeema").write_text("schema=app\n")
    (d / "good.sql").write_text(
        "CREATE TABLE good (id bigint unsigned NOT NULL PRIMARY KEY) ENGINE=InnoDB;\n"
    )
    return d


@pytest.fixture
def lsp() -> Iterator[Callable[..., LspProcess]]:
    started: list[LspProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> LspProcess:
        started.append(LspProcess(*args, env=env))
        return started[-1]

    yield start
    for p in started:
        p.kill()


def _open(client: LspProcess, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": text}},
    )
    return uri


def _change(client: LspProcess, uri: str, version: int, text: str) -> None:
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
    )


def _apply(text: str, edits: list[Message]) -> str:
    lines = text.split("\n")

    def offset(pos: Message) -> int:  # ASCII text: UTF-16 units are characters
        return sum(len(x) + 1 for x in lines[: pos["line"]]) + int(pos["character"])

    for e in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(e["range"]["start"]), offset(e["range"]["end"])
        text = text[:start] + e["newText"] + text[end:]
    return text


def test_diagnostics_and_formatting(repo: Path, lsp: Callable[..., LspProcess]) -> None:
    client = lsp()
    caps = client.initialize(repo.parent)["capabilities"]
    assert caps["documentFormattingProvider"] not in (None, False)  # true or an options object
    sync = caps["textDocumentSync"]
    assert (sync["change"] if isinstance(sync, dict) else sync) == 1  # full

    # A table without a primary key: the pk warning, on the CREATE's line.
    nopk = repo / "nopk.sql"
    uri = _open(client, nopk, "-- no primary key here\nCREATE TABLE nopk (\n  a int,\n  b int\n);\n")
    diags = client.diagnostics(uri, 1)
    assert [d["code"] for d in diags] == ["pk"], diags
    (pk,) = diags
    assert pk["range"]["start"] == {"line": 1, "character": 0}
    assert pk["severity"] == 2 and pk["source"] == "schemad"

    # Fixed in the editor (not saved): the diagnostics are cleared.
    _change(
        client, uri, 2, "-- no primary key here\nCREATE TABLE nopk (\n  a int PRIMARY KEY,\n  b int\n);\n"
    )
    assert client.diagnostics(uri, 2) == []

    # SQL the server rejects is an error at its line.
    _change(client, uri, 3, "\nCREATE TABLE nopk (a int,, b int);\n")
    (err,) = client.diagnostics(uri, 3)
    assert err["severity"] == 1 and err["range"]["start"]["line"] == 1

    # Format document: the hand-written CREATE becomes the server's canonical text.
    text = "-- kept as is\ncreate table t (id int primary key);\n"
    fmt = _open(client, repo / "t.sql", text)
    assert client.diagnostics(fmt, 1) == []
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": fmt}, "options": OPTIONS})
    (edit,) = edits
    assert edit["range"] == {
        "start": {"line": 1, "character": 0},
        "end": {"line": 1, "character": len("create table t (id int primary key)")},
    }
    new = edit["newText"]
    assert new.startswith("CREATE TABLE `t` (\n  `id` int") and "PRIMARY KEY (`id`)" in new, new
    assert "ENGINE=InnoDB" in new and not new.endswith(";")
    formatted = _apply(text, edits)
    assert formatted == f"-- kept as is\n{new};\n"
    _change(client, fmt, 2, formatted)
    assert client.request("textDocument/formatting", {"textDocument": {"uri": fmt}, "options": OPTIONS}) == []

    assert client.shutdown() == 0


def test_a_note_on_a_standalone_index_shows_in_its_own_file(
    repo: Path, lsp: Callable[..., LspProcess]
) -> None:
    # The table's file on disk; the index statement, in another file, is what the editor has open.
    (repo / "tbl.sql").write_text("CREATE TABLE tbl (\n  id int PRIMARY KEY,\n  a int,\n  KEY ka (a)\n);\n")
    client = lsp()
    client.initialize(repo.parent)
    uri = _open(client, repo / "tbl_idx.sql", "-- one more index\nCREATE INDEX kb ON tbl (a);\n")
    (dupe,) = client.diagnostics(uri, 1)
    assert dupe["code"] == "dupe-index" and "`kb`" in dupe["message"], dupe
    assert dupe["range"]["start"] == {"line": 1, "character": len("CREATE INDEX ")}
    # The table's own file shows no note that belongs to the other one.
    assert client.diagnostics(_open(client, repo / "tbl.sql", (repo / "tbl.sql").read_text()), 1) == []
    # An index on a table no file defines is ignored, as the CLI warns: said where it stands.
    _change(
        client,
        uri,
        2,
        "-- one more index\n\n\nALTER TABLE nowhere ADD KEY k (x);\n",
    )
    (ignored,) = client.diagnostics(uri, 2)
    assert ignored["code"] == "no-table" and "`nowhere`" in ignored["message"], ignored
    assert ignored["range"]["start"] == {"line": 3, "character": 0} and ignored["severity"] == 2
    assert client.shutdown() == 0


def test_no_server_configured_is_information(repo: Path, lsp: Callable[..., LspProcess]) -> None:
    client = lsp("--environment", "staging")
    client.initialize(repo.parent)
    uri = _open(client, repo / "x.sql", "CREATE TABLE x (a int);\n")
    (info,) = client.diagnostics(uri, 1)
    assert info["severity"] == 3 and info["range"]["start"] == {"line": 0, "character": 0}
    assert "no host configured for environment 'staging'" in info["message"]
    assert client.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": OPTIONS}) == []
    assert client.shutdown() == 0


def test_through_the_daemon(server: DBServer, tmp_path: Path, lsp: Callable[..., LspProcess]) -> None:
    """--daemon: diagnostics from the daemon's POST /v1/lint, with the bearer token named by --token-env."""
    ensure_db_user(server)
    repo = DaemonRepo.create(
        tmp_path / "repo", server, "lspd", {"good.sql": "CREATE TABLE good (id int PRIMARY KEY);\n"}
    )
    d = RunningDaemon(repo, tmp_path / "run").start()
    try:
        client = lsp(
            "--daemon",
            d.url,
            "--token-env",
            "SCHEMAD_LSP_TOKEN",
            "--environment",
            repo.environment,
            env={"SCHEMAD_LSP_TOKEN": ADMIN_TOKEN},
        )
        client.initialize(repo.root)
        path = repo.dir / "nopk.sql"
        uri = _open(client, path, "\n\nCREATE TABLE nopk (a int);\n")
        diags = client.diagnostics(uri, 1)
        deadline = time.monotonic() + TIMEOUT
        while [x["severity"] for x in diags] == [3] and time.monotonic() < deadline:  # not reached yet
            time.sleep(0.2)
            client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            diags = client.diagnostics(uri, 1)
        assert [(x["code"], x["severity"], x["range"]["start"]) for x in diags] == [
            ("pk", 2, {"line": 2, "character": 0})
        ], diags
        assert client.shutdown() == 0
    finally:
        assert d.stop() == 0
        assert_no_password(d)
