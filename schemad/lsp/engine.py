"""What the language server says about one *.sql document: lint findings and canonical-form edits.

Both run the document's dir like `schemad lint` / `schemad format` do: the
dir's options cascade from its `.skeema` files, its files are split (the
document's text replaces what is on disk, other open buffers likewise), and
its CREATEs run in the workspace of the environment's first host through
the canonical cache.  Only what concerns the document is returned.  With a
daemon, linting is its POST /v1/lint instead (formatting still needs a
server of the environment).  Passwords are looked up like the CLI does
(never prompted: stdin is the protocol) and never appear in messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from schemad.connection.instance import Instance
from schemad.errors import ConfigError, SchemadError, SQLFileError
from schemad.fs.dir import Dir
from schemad.fs.dumper import DumpOptions, canonical_text, wrap_new
from schemad.fs.logical import LogicalSchema
from schemad.lint import Severity, lint_located
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectType
from schemad.plan.dir_options import DirOptions, conn_params
from schemad.records import dataclass
from schemad.sqltext.splitter import StatementKind
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.for_dir import for_dir
from schemad.workspace.result import WorkspaceResult

log = logging.getLogger("schemad.lsp")

ERROR, WARNING, INFO = "error", "warning", "info"
# Stored programs: written in a DELIMITER block when their canonical text holds a `;`.
_COMPOUND_TYPES = frozenset({ObjectType.PROCEDURE, ObjectType.FUNCTION, ObjectType.TRIGGER, ObjectType.EVENT})


@dataclass(frozen=True, slots=True)
class Finding:
    line: int  # 1-based
    column: int  # 1-based, in characters
    rule: str
    severity: str  # ERROR | WARNING | INFO
    message: str


@dataclass(frozen=True, slots=True)
class Edit:
    start: int  # character offsets in the document's text
    end: int
    text: str


class Unavailable(Exception):
    """No server to run the document against (not configured, or the daemon can't lint it)."""


@dataclass(frozen=True, slots=True)
class _Run:
    d: Dir
    logical: LogicalSchema
    result: WorkspaceResult
    flavor: Flavor


OpenText = Callable[[Path], str | None]  # an open editor buffer's text, None if the file isn't open


class Engine:
    """Runs documents in their dir's workspace; one run at a time (they share the temp schema)."""

    def __init__(self, environment: str, cache: CanonicalCache | None = None) -> None:
        self.environment = environment
        self.cache = cache
        self._lock = asyncio.Lock()
        self._passwords: dict[str, str] = {}  # user@host -> password from a command; never logged
        self._servers: dict[tuple[Any, ...], tuple[Flavor, str, str]] = {}

    def dir_for(self, path: Path) -> Dir:
        return Dir.open(path.parent, self.environment)

    # ------------------------------------------------------------------ lint

    async def lint(self, path: Path, text: str, open_text: OpenText | None = None) -> list[Finding]:
        """Findings for `text` as the contents of `path`; raises Unavailable without a host."""
        try:
            d = self.dir_for(path)
            opts = DirOptions.from_dir(d)
            logical = _logical(d, opts, path, text, open_text)
        except SQLFileError as exc:
            return [Finding(exc.line or 1, 1, "syntax", ERROR, exc.reason)]
        except ConfigError as exc:
            return [Finding(1, 1, "config", ERROR, str(exc))]
        doc = str(path)
        out = [
            Finding(s.line, s.col, "unparsed", WARNING, "unable to parse statement; it is ignored")
            for s in logical.unparsed
            if s.file == doc
        ]
        out += [
            Finding(
                s.line, s.col, "unsupported", WARNING, f"{s.unsupported_reason}: never run in the workspace"
            )
            for s in logical.unsupported.values()
            if s.file == doc
        ]
        no_table = "no CREATE TABLE of this dir defines {}; ignored"  # the CLI's words
        out += [
            Finding(s.line, s.col, "no-table", WARNING, no_table.format(s.key))
            for s in logical.unfolded
            if s.file == doc
        ]
        try:
            run = await self._run(d, opts, logical)
        except (SchemadError, OSError) as exc:
            return [*out, Finding(1, 1, "server", WARNING, f"cannot lint against the server: {exc}")]
        for f in run.result.failures:
            if f.file == doc:
                out.append(Finding(f.line, f.column or 1, "sql-error", ERROR, f.message))
        # This file's objects, and the tables this file adds indexes to (a note on such an index is
        # placed at its CREATE INDEX / ALTER TABLE .. ADD): each note shown in the file it points at.
        mine = {
            k for k, s in logical.creates.items() if s.file == doc or any(f.file == doc for f in s.folded)
        }
        for note in lint_located(run.result.schema, run.flavor, opts.lint, logical.creates, only=mine):
            if note.file != doc:
                continue
            severity = ERROR if note.severity is Severity.ERROR else WARNING
            out.append(Finding(note.line or 1, note.column or 1, note.rule, severity, note.message))
        return sorted(out, key=lambda x: (x.line, x.column, x.rule))

    # ------------------------------------------------------------------ format

    async def format(self, path: Path, text: str, open_text: OpenText | None = None) -> list[Edit]:
        """Edits turning each CREATE of `text` into its canonical form; [] if canonical or on errors."""
        d = self.dir_for(path)
        dir_opts = DirOptions.from_dir(d)
        try:
            logical = _logical(d, dir_opts, path, text, open_text)
        except SQLFileError:
            return []
        run = await self._run(d, dir_opts, logical)
        cfg = d.config
        opts = DumpOptions(
            include_auto_inc=cfg.get_bool("include-auto-inc"),
            strip_partitioning=cfg.get_bool("strip-partitioning"),
            strip_definer=bool(dir_opts.strip_definer),  # unset: off
        )
        objects = run.result.schema.objects()
        failed = {f.key for f in run.result.failures}
        edits: list[Edit] = []
        offset = 0
        for s in logical.files.get(str(path), []):
            start, offset = offset, offset + len(s.text)
            if (
                s.kind is not StatementKind.CREATE
                or s.key is None
                or s.schema is not None  # like `schemad format`: qualified names are not rewritten
                or s.key in failed
                or logical.creates.get(s.key) is not s
                or s.key not in objects
                or (s.key.type is ObjectType.VIEW and not dir_opts.update_views)  # as `schemad format`
            ):
                continue
            want = canonical_text(objects[s.key], run.flavor, opts, s)
            body = s.body
            if body == want:
                continue
            if s.delimiter == ";" and s.key.type in _COMPOUND_TYPES and ";" in want:
                edits.append(Edit(start, start + len(s.text), wrap_new(s.key, want)))
                continue
            lead = len(s.text) - len(s.text.lstrip())
            edits.append(Edit(start + lead, start + lead + len(body), want))
        return edits

    # ------------------------------------------------------------------ workspace

    async def _run(self, d: Dir, opts: DirOptions, logical: LogicalSchema) -> _Run:
        hosts = d.hosts()
        if not hosts:
            raise Unavailable(
                f"schemad: no host configured for environment {self.environment!r} in {d.path} "
                "(set one in .skeema, pick another with `schemad lsp --environment`, or use --daemon)"
            )
        async with self._lock:
            params = conn_params(d, hosts[0], self._passwords)
            key = (params.host, params.port, params.socket, params.user)
            if key not in self._servers:
                async with Instance(params) as inst:
                    variables = await inst.variables()
                    flavor = await inst.flavor()
                self._servers[key] = (
                    flavor,
                    variables["character_set_server"],
                    variables["collation_server"],
                )
            flavor, cs, co = self._servers[key]
            result = await for_dir(
                params,
                logical.creates.values(),
                opts,
                schema_name=d.name,
                fallback=(cs, co),
                cache=opts.cache_for(self.cache),
                # As `schemad lint`: a file may qualify its CREATEs with a name the dir's `schema` spells out.
                home=opts.home,
                strip_definer=bool(opts.strip_definer),  # unset: off
            )
        return _Run(d, logical, result, flavor)


def _logical(d: Dir, opts: DirOptions, path: Path, text: str, open_text: OpenText | None) -> LogicalSchema:
    """The dir's statements, `text` being `path`'s contents; the document alone if another file is broken."""
    ignore = opts.ignore
    texts: dict[str, str] = {}
    doc = str(path)
    for f in d.sql_files():
        if os.path.abspath(f) == os.path.abspath(path):
            texts[doc] = text
            continue
        buffered = open_text(f) if open_text is not None else None
        if buffered is not None:
            texts[str(f)] = buffered
            continue
        try:
            texts[str(f)] = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # `schemad lint` reports unreadable files; the document is what matters here
    texts.setdefault(doc, text)
    try:
        return LogicalSchema.from_texts(texts, ignore=ignore)
    except SQLFileError as exc:
        if exc.file == doc or len(texts) == 1:
            raise
        log.debug("%s; linting %s on its own", exc, doc)
    return LogicalSchema.from_texts({doc: text}, ignore=ignore)


# ---------------------------------------------------------------------------------------------------
# The daemon


class DaemonLinter:
    """POST /v1/lint of a schemad daemon, with a bearer token."""

    def __init__(self, url: str, token: str | None, environment: str | None, repo: str | None) -> None:
        self.url = url.rstrip("/") + "/v1/lint"
        self._token = token
        self.environment = environment
        self.repo = repo
        self._session: Any = None

    async def lint(self, path: Path, text: str, base: Path | None) -> list[Finding]:
        import aiohttp

        file = path.name
        if base is not None:
            with contextlib.suppress(ValueError):
                file = path.resolve().relative_to(base.resolve()).as_posix()
        body: dict[str, str] = {"file": file, "sql": text}
        if self.environment:
            body["environment"] = self.environment
        if self.repo:
            body["repo"] = self.repo
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        try:
            async with self._session.post(self.url, json=body, headers=headers) as resp:
                if resp.status == 503:
                    raise Unavailable(f"schemad daemon: {(await resp.text()).strip()}")
                if resp.status != 200:
                    detail = (await resp.text()).strip()[:300]
                    return [Finding(1, 1, "daemon", WARNING, f"daemon answered {resp.status}: {detail}")]
                data = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return [Finding(1, 1, "daemon", WARNING, f"cannot reach the daemon at {self.url}: {exc}")]
        return [_finding(x) for x in data.get("diagnostics", [])]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _finding(x: Mapping[str, Any]) -> Finding:
    severity = x.get("severity")
    return Finding(
        int(x.get("line") or 1),
        int(x.get("column") or 1),
        str(x.get("rule") or ""),
        severity if severity in (ERROR, WARNING) else WARNING,
        str(x.get("message") or ""),
    )
