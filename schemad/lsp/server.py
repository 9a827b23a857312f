"""The Language Server Protocol side of `schemad lsp` (pygls 2, stdio).

Diagnostics are published for `*.sql` documents on open and save, and on
change after a short quiet period (changes cancel a lint still waiting, never
one talking to the server).  `textDocument/formatting` rewrites each CREATE
the server prints differently into its canonical text.  Every database call
is awaited on the event loop (asyncmy), so requests keep flowing meanwhile.

The linting side (schemad.lsp.engine: the workspace, sqlglot, the lint rules)
is not imported with this module: `initialize` is answered with pygls alone,
and the backend is loaded in a thread as soon as the editor says
`initialized`; the first lint waits for what is left of that load.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from schemad.errors import SchemadError

if TYPE_CHECKING:
    from schemad.lsp.engine import DaemonLinter, Edit, Engine, Finding

log = logging.getLogger("schemad.lsp")

SOURCE = "schemad"
DEBOUNCE = 0.3  # seconds of quiet after a change before linting

# What lints and formats: the engine, and the daemon client with --daemon.
Backend = tuple["Engine", "DaemonLinter | None"]


@functools.cache
def _severities() -> dict[str, types.DiagnosticSeverity]:
    from schemad.lsp.engine import ERROR, INFO, WARNING

    return {
        ERROR: types.DiagnosticSeverity.Error,
        WARNING: types.DiagnosticSeverity.Warning,
        INFO: types.DiagnosticSeverity.Information,
    }


class SchemadLanguageServer(LanguageServer):
    def __init__(self, load: Callable[[], Backend], version: str, debounce: float = DEBOUNCE) -> None:
        super().__init__("schemad", version, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self._load = load
        self._backend: asyncio.Future[Backend] | None = None
        self.debounce = debounce
        self.shut_down = False
        self._waiting: dict[str, asyncio.Task[None]] = {}  # uri -> lint still in its quiet period
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ backend

    def load_backend(self) -> None:
        """Start loading the backend in a thread (once): the event loop keeps answering meanwhile."""
        if self._backend is None:
            self._backend = asyncio.ensure_future(asyncio.to_thread(self._load_logged))

    def _load_logged(self) -> Backend:
        try:
            return self._load()
        except Exception:
            log.exception("cannot load the linter")  # once; lints and formatting then do nothing
            raise

    async def backend(self) -> Backend | None:
        """The backend, once loaded; None if loading it failed."""
        self.load_backend()
        assert self._backend is not None
        try:
            return await asyncio.shield(self._backend)  # a cancelled lint leaves the load running
        except Exception:
            return None

    # ------------------------------------------------------------------ documents

    def open_text(self, path: Path) -> str | None:
        """The text of `path` if it is open in the editor (unsaved edits included)."""
        for uri, doc in list(self.workspace.text_documents.items()):
            p = to_fs_path(uri)
            if p is not None and Path(p) == path:
                return str(doc.source)
        return None

    def _document(self, uri: str) -> tuple[str, int | None] | None:
        doc = self.workspace.text_documents.get(unquote(uri))
        return None if doc is None else (str(doc.source), doc.version)

    def schedule(self, uri: str, delay: float) -> None:
        path = _sql_path(uri)
        if path is None:
            return
        old = self._waiting.pop(uri, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._lint_later(uri, path, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if delay > 0:
            self._waiting[uri] = task

    def forget(self, uri: str) -> None:
        old = self._waiting.pop(uri, None)
        if old is not None:
            old.cancel()
        if _sql_path(uri) is not None:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    async def _lint_later(self, uri: str, path: Path, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)  # cancelled here by a newer change
            if self._waiting.get(uri) is asyncio.current_task():
                del self._waiting[uri]
        doc = self._document(uri)
        if doc is None:
            return
        text, version = doc
        findings = await self.findings(path, text)
        now = self._document(uri)
        if now is None or now[1] != version:
            return  # closed, or changed meanwhile: that change's lint publishes
        lines = text.split("\n")
        diagnostics = [self._diagnostic(f, lines) for f in findings]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    async def findings(self, path: Path, text: str) -> list[Finding]:
        backend = await self.backend()
        if backend is None:
            return []
        engine, daemon = backend
        from schemad.lsp.engine import INFO, WARNING, Finding, Unavailable  # loaded by now

        try:
            if daemon is not None:
                try:
                    base = engine.dir_for(path).config.repo_base
                except SchemadError:
                    base = None
                return await daemon.lint(path, text, base)
            return await engine.lint(path, text, self.open_text)
        except Unavailable as exc:
            return [Finding(1, 1, "server", INFO, str(exc))]
        except Exception as exc:  # an editor plugin must not die on one file
            log.exception("linting %s failed", path)
            return [Finding(1, 1, "internal", WARNING, f"schemad could not lint this file: {exc}")]

    async def format(self, uri: str) -> list[types.TextEdit]:
        path = _sql_path(uri)
        doc = self._document(uri)
        if path is None or doc is None:
            return []
        text = doc[0]
        backend = await self.backend()
        if backend is None:
            return []
        engine, _ = backend
        from schemad.lsp.engine import Unavailable  # loaded by now

        try:
            edits = await engine.format(path, text, self.open_text)
        except (Unavailable, SchemadError, OSError) as exc:
            log.warning("cannot format %s: %s", path, exc)
            return []
        lines = text.split("\n")
        return [self._text_edit(e, text, lines) for e in edits]

    # ------------------------------------------------------------------ positions

    def _diagnostic(self, f: Finding, lines: list[str]) -> types.Diagnostic:
        line = min(max(f.line - 1, 0), len(lines) - 1)
        content = lines[line].rstrip("\r")
        column = f.column - 1 + (1 if line == 0 and content.startswith("\ufeff") else 0)
        column = min(max(column, 0), len(content))
        rng = types.Range(
            start=types.Position(line=line, character=column),
            end=types.Position(line=line, character=max(len(content), column)),
        )
        return types.Diagnostic(
            range=self.workspace.position_codec.range_to_client_units(lines, rng),
            message=f.message,
            severity=_severities().get(f.severity, types.DiagnosticSeverity.Warning),
            code=f.rule,
            source=SOURCE,
        )

    def _text_edit(self, e: Edit, text: str, lines: list[str]) -> types.TextEdit:
        rng = types.Range(start=_position(text, e.start), end=_position(text, e.end))
        return types.TextEdit(
            range=self.workspace.position_codec.range_to_client_units(lines, rng), new_text=e.text
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        backend = await self.backend() if self._backend is not None else None
        if backend is not None and backend[1] is not None:
            await backend[1].close()


def _position(text: str, offset: int) -> types.Position:
    """Line and code-point column of a character offset."""
    line = text.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def _sql_path(uri: str) -> Path | None:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(path) if path is not None and path.lower().endswith(".sql") else None


def build_server(
    load: Callable[[], Backend], version: str, debounce: float = DEBOUNCE
) -> SchemadLanguageServer:
    """The server; `load` imports and makes the backend (called once, in a thread)."""
    server = SchemadLanguageServer(load, version, debounce)

    @server.feature(types.INITIALIZED)
    def initialized(ls: SchemadLanguageServer, params: types.InitializedParams) -> None:
        ls.load_backend()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SchemadLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SchemadLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SchemadLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SchemadLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    async def formatting(
        ls: SchemadLanguageServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit]:
        return await ls.format(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SchemadLanguageServer, params: None) -> None:
        ls.shut_down = True
        await ls.close()

    return server
