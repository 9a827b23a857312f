#!/usr/bin/env python3
"""Run sqldef's own MySQL test cases through schemad and count the ones it converges on (issue 12).

    .venv/bin/python scripts/peer_suite.py --sqldef DIR [--json FILE] [--port N] [--only REGEX]

DIR is a checkout of github.com/sqldef/sqldef (a work tree, or a bare git
dir: its HEAD is read).  The cases are the `cmd/mysqldef/tests_*.yml` files,
read at run time and never copied.  Without --port a throwaway MariaDB is
started from the local binaries (schemad.embedded.EmbeddedServer) and
stopped at the end; with --port the server at --host:--port is used (its
schema `mysqldef_test` is dropped and re-created for each case).

For each case that applies (below):

1. drop and create the schema `mysqldef_test` (the name sqldef's runner
   uses, which some views spell out), run `desired` in it as plain SQL and
   keep what the server made of it (the *reference*), then drop and create
   it again and load `current` (statements run with foreign_key_checks=0;
   one that fails is retried after the others, as sqldef sorts them by
   dependency);
2. write `desired` as a Skeema-layout dir: one file per object (a table's
   standalone CREATE INDEX / ALTER TABLE ... ADD go into its file, comments
   stay with the statement after them), and a `.skeema` with host, port,
   user, schema and the --option lines (default: partitioning=modify-list,
   the peer's semantics: the files are the whole truth, partition lists
   included; --no-options for Skeema's defaults);
3. run `schemad push --allow-unsafe`, then `schemad diff`, which must exit 0
   (in a later second than the push when there are events: the server
   stamps an event without STARTS with its creation time);
4. compare every object's live SHOW CREATE with what the workspace makes of
   the files (the canonical form the diff compares against, as
   tests/integration/test_peer_cases_converge.py does), and with the
   reference: AUTO_INCREMENT=n is left out, and an event's STARTS when its
   statement has none (the server fills in the creation time);
5. where `desired` says `@renamed from=old`, check that the push ran no
   DROP of `old` (the schema converges either way; the rows would not).

Each case ends up as one of: converged, push_failed (exit code and first
error line), diff_not_clean (exit code and first statement or error),
end_state_differs (first differing object and line, or the rename that
dropped), or skipped (why).

When a case applies (the rules of sqldef's runner, cmd/mysqldef's TestApply
with MYSQL_FLAVOR=mariadb, plus what the server refuses):

- `flavor: mysql`, `flavor: tidb` (any other flavor) and `flavor: !mariadb`:
  skipped, sqldef itself expects the case to fail on MariaDB;
- `min_version` / `max_version`: compared with the server's version the way
  sqldef does (numeric segments, as many as the shorter has), so
  `max_version: 5.7` skips and `min_version: 8.0` runs (10.11 > 8.0);
- `offline: true`: skipped, sqldef compares its generated DDL text only and
  never runs it (TiDB table options);
- `error: ...`: skipped, sqldef expects its DDL generation to fail; the push
  is still run and its exit code is reported with the skip;
- `current` or `desired` that the server refuses as plain SQL: skipped with
  the server's error (sqldef's CI runs MariaDB 11 and 12; e.g. VECTOR);
- `enable_drop: false` runs like any case: with --allow-unsafe schemad
  drops what `desired` leaves out, so the end state is still `desired`;
- `legacy_ignore_quotes`, `config` (bulk_alter ...), `up` / `down`: they
  shape sqldef's DDL text, not the end state; only current -> desired is run.

Exit status: 0 when every applicable case converged, 1 otherwise, 2 on a
harness error.  A developer tool: stdlib, schemad and PyYAML (the dev extra).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; the dev extra has no types-PyYAML

from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.embedded import EmbeddedServer
from schemad.errors import SchemadError
from schemad.fs.dumper import file_name_for
from schemad.fs.logical import LogicalSchema
from schemad.introspect.introspector import introspect_schema
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.table import strip_auto_increment
from schemad.sqltext.classify import mask
from schemad.sqltext.splitter import Statement, StatementKind, split
from schemad.workspace.tempschema import exec_statements

SCHEMA = "mysqldef_test"  # the schema sqldef's runner uses; views in the cases may name it
CASES_DIR = "cmd/mysqldef"
CLASSES = ("converged", "push_failed", "diff_not_clean", "end_state_differs", "skipped")
# The peer's semantics: the files are the whole truth, partition lists included (Skeema's
# default, partitioning=keep, leaves RANGE/LIST partition lists alone on purpose).
DEFAULT_OPTIONS = ("partitioning=modify-list",)
OTHER_FLAVORS_SKIP = "sqldef expects it to fail on MariaDB"


@dataclass(frozen=True, slots=True)
class Case:
    """One test case of a tests_*.yml file."""

    file: str  # tests_xxx.yml
    name: str
    spec: dict[str, Any]  # the case's fields as the YAML has them

    @property
    def current(self) -> str:
        return str(self.spec.get("current") or "")

    @property
    def desired(self) -> str:
        return str(self.spec.get("desired") or "")


@dataclass(slots=True)
class Outcome:
    """What happened to one case."""

    file: str
    name: str
    result: str  # one of CLASSES
    cause: str = ""  # one line: why it did not converge, or why it was skipped
    detail: dict[str, Any] = field(default_factory=dict)  # exit codes, outputs, differing texts
    seconds: float = 0.0


# ///// reading the cases ///////////////////////////////////////////////////////////////////////


def _git(sqldef: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(sqldef), *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"peer_suite: git {' '.join(args)} in {sqldef}: {out.stderr.strip()}")
    return out.stdout


def read_case_files(sqldef: Path) -> dict[str, str]:
    """tests_*.yml name -> text: from the work tree when there is one, else from the git dir's HEAD."""
    tree = sqldef / CASES_DIR
    if tree.is_dir():
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(tree.glob("tests_*.yml"))}
    names = _git(sqldef, "ls-tree", "--name-only", "HEAD", CASES_DIR + "/").split()
    return {
        Path(n).name: _git(sqldef, "show", f"HEAD:{n}")
        for n in sorted(names)
        if re.fullmatch(r"tests_.*\.yml", Path(n).name)
    }


def sqldef_commit(sqldef: Path) -> str:
    out = subprocess.run(["git", "-C", str(sqldef), "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def read_cases(sqldef: Path) -> list[Case]:
    cases = []
    for file, text in read_case_files(sqldef).items():
        specs = yaml.safe_load(text) or {}
        if not isinstance(specs, dict):
            raise SystemExit(f"peer_suite: {file}: not a mapping of test cases")
        cases += [Case(file, str(name), dict(spec or {})) for name, spec in specs.items()]
    if not cases:
        raise SystemExit(f"peer_suite: no {CASES_DIR}/tests_*.yml in {sqldef}")
    return cases


# ///// which cases apply ////////////////////////////////////////////////////////////////////////


def _segment(text: str) -> int:
    """The leading number of a version segment ("11-MariaDB" -> 11), as sqldef reads it."""
    m = re.match(r"\d+", text)
    if m is None:
        raise ValueError(f"no number in version segment {text!r}")
    return int(m.group())


def compare_version(left: str, right: str) -> int:
    """sqldef's compareVersion: -1, 0 or 1, comparing only as many segments as the shorter has."""
    for a, b in zip(left.split("."), right.split("."), strict=False):
        x, y = _segment(a), _segment(b)
        if x != y:
            return -1 if x < y else 1
    return 0


def skip_reason(case: Case, version: str) -> str | None:
    """Why the case does not apply to a MariaDB server of `version` (None: it applies)."""
    flavor = str(case.spec.get("flavor") or "")
    if flavor.startswith("!") and flavor[1:] == "mariadb":
        return f"flavor: {flavor} ({OTHER_FLAVORS_SKIP})"
    if flavor and not flavor.startswith("!") and flavor != "mariadb":
        return f"flavor: {flavor} ({OTHER_FLAVORS_SKIP})"
    low, high = str(case.spec.get("min_version") or ""), str(case.spec.get("max_version") or "")
    if low and compare_version(version, low) < 0:
        return f"min_version: {low} (server {version})"
    if high and compare_version(version, high) > 0:
        return f"max_version: {high} (server {version})"
    if case.spec.get("offline"):
        return "offline: sqldef compares its DDL text only, never runs it"
    return None


# ///// statements ///////////////////////////////////////////////////////////////////////////////

# Compound bodies: BEGIN and CASE open a block, END (not END IF/LOOP/WHILE/REPEAT) closes one;
# a `;` ends a statement only outside blocks (sqldef's YAML has no DELIMITER lines).
_BLOCK_RE = re.compile(
    r"(?<![\w$])(begin|case|end)(?![\w$])(?:\s+(if|loop|while|repeat|case)(?![\w$]))?|;", re.IGNORECASE
)
_SKIPPED_KINDS = (StatementKind.NOOP, StatementKind.DELIMITER)


@dataclass(frozen=True, slots=True)
class Piece:
    """One statement of a case's SQL, with the comments before it."""

    text: str  # as the case has it, leading comments included, `;` included
    stmt: Statement | None  # schemad's reading of it (None: only comments)

    @property
    def sql(self) -> str:
        return self.stmt.own_body if self.stmt is not None else ""


def pieces(text: str, origin: str) -> list[Piece]:
    """The statements of `text`, each with the comments before it (raises SplitError)."""
    masked, texts, start, depth = mask(text), [], 0, 0
    for m in _BLOCK_RE.finditer(masked):
        word, after = m.group(1), m.group(2)
        if word is None:
            if depth == 0:
                texts.append(text[start : m.end()])
                start = m.end()
        elif word.lower() in ("begin", "case"):
            depth += 1
        elif after is None or after.lower() == "case":
            depth = max(0, depth - 1)
    texts.append(text[start:])
    out, pending = [], ""
    for chunk in texts:
        stmts = [s for s in split(pending + chunk, origin) if s.kind not in _SKIPPED_KINDS]
        if not stmts:
            pending += chunk
            continue
        out.append(Piece((pending + chunk).strip("\n") + "\n", stmts[0]))
        pending = ""
    if pending.strip() and out:  # comments after the last statement stay in its file
        out[-1] = Piece(out[-1].text + pending.strip("\n") + "\n", out[-1].stmt)
    return out


def _object_of(piece: Piece) -> ObjectKey | None:
    s = piece.stmt
    if s is not None and s.kind in (StatementKind.CREATE, StatementKind.FOLDABLE):
        return s.key
    return None


def write_repo(root: Path, desired: list[Piece], params: ConnParams, options: Sequence[str] = ()) -> Path:
    """`root` made a Skeema-layout schema dir for `desired`: one *.sql file per object, and a .skeema.

    `options` are extra `name=value` lines for the .skeema.
    """
    root.mkdir(parents=True)
    lines = [f"host={params.host}", f"port={params.port}", f"user={params.user}"]
    if params.password:
        lines.append(f"password={params.password}")
    (root / ".skeema").write_text("\n".join([*lines, f"schema={SCHEMA}", *options, ""]))
    files: dict[ObjectKey | None, list[str]] = {}
    lead = ""  # USE and other statements that name no object go with the next one
    for p in desired:
        key = _object_of(p)
        if key is None and p.stmt is not None and p.stmt.kind is StatementKind.USE:
            lead += p.text
            continue
        files.setdefault(key, []).append(lead + p.text)
        lead = ""
    if lead:
        files.setdefault(None, []).append(lead)
    taken: set[str] = set()
    for key, texts in files.items():
        name = file_name_for(key.name) if key is not None else "zz_unnamed.sql"
        if name.lower() in taken and key is not None:
            name = f"{name[:-4]}.{key.type.value}.sql"
        taken.add(name.lower())
        (root / name).write_text("".join(texts))
    return root


# ///// the server ///////////////////////////////////////////////////////////////////////////////


async def reset_schema(params: ConnParams) -> None:
    async with Instance(params, pool_size=1) as inst:
        await inst.execute(f"DROP DATABASE IF EXISTS `{SCHEMA}`")
        await inst.execute(f"CREATE DATABASE `{SCHEMA}`")


async def load(params: ConnParams, stmts: Sequence[Piece]) -> list[str]:
    """Run `stmts` in the schema (FK checks off); a failing one is retried once the rest ran.

    Returns the errors of the statements that never ran (empty: all did). USE is left
    out, as sqldef's parser leaves it out.
    """
    todo = [p for p in stmts if p.stmt is not None and p.stmt.kind is not StatementKind.USE]
    errors: list[str] = []
    async with Instance(params, pool_size=1) as inst, inst.session() as s:
        await s.execute("SET foreign_key_checks = 0")
        await s.execute(f"USE `{SCHEMA}`")
        while todo:
            failed: list[Piece] = []
            errors = []
            for p in todo:
                try:
                    await s.execute(p.sql)
                except SchemadError as e:
                    failed.append(p)
                    summary = p.stmt.summary if p.stmt is not None else p.sql[:60]
                    errors.append(f"{summary}: {str(e).split(': ', 1)[-1]}")
            if len(failed) == len(todo):
                break
            todo = failed
        else:
            errors = []
    return errors


def _texts(objects: dict[ObjectKey, Any], starts_given: set[str]) -> dict[str, str]:
    """Object key -> SHOW CREATE, without AUTO_INCREMENT=n and a STARTS the server filled in."""
    out = {}
    for key, obj in objects.items():
        text = strip_auto_increment(obj.show_create)
        if key.type is ObjectType.EVENT and key.name.lower() not in starts_given:
            text = re.sub(r" STARTS '[^']*'", "", text, count=1)
        out[str(key)] = text
    return out


async def schema_texts(params: ConnParams, starts_given: set[str]) -> dict[str, str]:
    async with Instance(params) as inst:
        live = await introspect_schema(inst, SCHEMA)
    return _texts(live.objects(), starts_given)


async def workspace_texts(
    params: ConnParams, schema_dir: Path, starts_given: set[str]
) -> tuple[dict[str, str], list[str]]:
    """What the workspace makes of the dir's files (as diff does), and its failures."""
    logical = LogicalSchema.from_files(sorted(schema_dir.glob("*.sql")))
    async with Instance(params) as inst:
        rows = await inst.query(
            "SELECT default_character_set_name AS cs, default_collation_name AS co"
            " FROM information_schema.schemata WHERE schema_name = %s",
            (SCHEMA,),
        )
    ws = await exec_statements(
        params,
        logical.creates.values(),
        schema_name=SCHEMA,
        char_set=rows[0]["cs"],
        collation=rows[0]["co"],
        home=(SCHEMA,),
    )
    failures = [f"{f.file}:{f.line}: {getattr(f, 'message', f)}" for f in ws.failures]
    unsupported = [str(k) for k, o in ws.schema.objects().items() if getattr(o, "unsupported", False)]
    failures += [f"{k}: unsupported by schemad" for k in unsupported]
    return _texts(ws.schema.objects(), starts_given), failures


def events_with_starts(desired: Sequence[Piece]) -> set[str]:
    return {
        p.stmt.key.name.lower()
        for p in desired
        if p.stmt is not None
        and p.stmt.key is not None
        and p.stmt.key.type is ObjectType.EVENT
        and re.search(r"(?<![\w$])starts(?![\w$])", mask(p.sql), re.IGNORECASE)
    }


def first_difference(left: dict[str, str], right: dict[str, str], names: tuple[str, str]) -> str | None:
    """One line on the first object whose text differs between two sides (None: they are equal).

    It names the object and its first block of differing lines, each side's lines joined with ` | `.
    """
    for key in sorted(left.keys() | right.keys()):
        a, b = left.get(key), right.get(key)
        if a == b:
            continue
        if a is None or b is None:
            return f"{key} only in {names[1] if a is None else names[0]}"
        la, lb = a.splitlines(), b.splitlines()
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=la, b=lb, autojunk=False).get_opcodes():
            if op != "equal":
                x, y = (" | ".join(line.strip() for line in part) for part in (la[i1:i2], lb[j1:j2]))
                return f"{key}: {names[0]} {x!r} vs {names[1]} {y!r}"
    return None


# ///// the CLI ////////////////////////////////////////////////////////////////////////////////////

_LOG_PREFIX_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(\w+)\]\s+")


async def run_cli(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """`schemad ARGS` in `cwd` as a child process: exit code (-9 on timeout), stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemad",
        *args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return (
            -9,
            out.decode(errors="replace"),
            err.decode(errors="replace") + f"\ntimed out after {timeout}s",
        )
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def first_error(stderr: str) -> str:
    """The first [ERROR] line of a CLI run (else its last line), without the time stamp."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    for line in lines:
        m = _LOG_PREFIX_RE.match(line)
        if m and m.group(1) == "ERROR":
            return line[m.end() :].strip()
    if not lines:
        return "(no output on stderr)"
    last = lines[-1]
    m = _LOG_PREFIX_RE.match(last)
    return last[m.end() :].strip() if m else last.strip()


def first_ddl(stdout: str) -> str:
    """The first statement a diff printed, on one line (DELIMITER and USE lines left out)."""
    lines: list[str] = []
    for line in stdout.splitlines():
        text = line.strip()
        if not text or text.startswith(("--", "USE ", "DELIMITER ")):
            continue
        lines.append(text)
        if text.endswith((";", "//")):
            break
    return " ".join(lines) if lines else "(no statement printed)"


def clip(text: str, size: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


# ///// one case //////////////////////////////////////////////////////////////////////////////////


@dataclass(frozen=True, slots=True)
class Setup:
    """What every case of a run shares."""

    params: ConnParams  # the server
    version: str  # its SELECT VERSION()
    work: Path  # the cases' repo dirs go here
    timeout: float  # seconds per schemad command
    options: tuple[str, ...] = ()  # extra `name=value` lines of each case's .skeema


async def run_case(case: Case, setup: Setup) -> Outcome:
    started = time.monotonic()
    try:
        outcome = await _run_case(case, setup)
    except SchemadError as e:  # the server refused one of the harness's own statements
        outcome = Outcome(case.file, case.name, "skipped", clip(f"harness error: {e}", 400))
    outcome.seconds = round(time.monotonic() - started, 2)
    return outcome


async def _run_case(case: Case, setup: Setup) -> Outcome:
    def result(kind: str, cause: str = "", **detail: Any) -> Outcome:
        return Outcome(case.file, case.name, kind, clip(cause, 400), detail)

    params, version = setup.params, setup.version
    reason = skip_reason(case, version)
    if reason:
        return result("skipped", reason)
    try:
        current = pieces(case.current, "current")
        desired = pieces(case.desired, "desired")
    except SchemadError as e:
        return result("skipped", f"not readable as SQL: {e}")

    # What the server makes of `desired` run as plain SQL: the reference for the end state.
    await reset_schema(params)
    errors = await load(params, desired)
    if errors:
        return result("skipped", f"desired does not run on MariaDB {version}: {errors[0]}", errors=errors)
    starts = events_with_starts(desired)
    reference = await schema_texts(params, starts)
    await reset_schema(params)
    errors = await load(params, current)
    if errors:
        return result("skipped", f"current does not run on MariaDB {version}: {errors[0]}", errors=errors)

    case_dir = setup.work / re.sub(r"[^\w.-]", "_", f"{case.file[:-4]}.{case.name}")
    schema_dir = write_repo(case_dir / SCHEMA, desired, params, setup.options)
    env = {**os.environ, "HOME": str(case_dir), "SCHEMAD_CACHE_DIR": str(case_dir / ".cache")}

    rc, out, err = await run_cli(["push", "--allow-unsafe"], schema_dir, env, setup.timeout)
    pushed: dict[str, Any] = {"push_exit": rc, "push_stdout": out, "push_stderr": err}
    if case.spec.get("error") is not None:
        said = "refused" if rc else "accepted"
        cause = f"error case: sqldef expects {case.spec['error']!r}; schemad push exit {rc} ({said})"
        return result("skipped", cause + (f": {first_error(err)}" if rc else ""), **pushed)
    if rc != 0:
        return result("push_failed", f"push exit {rc}: {first_error(err)}", **pushed)

    if any(p.stmt.key.type is ObjectType.EVENT for p in desired if p.stmt and p.stmt.key):
        # The server stamps an event without STARTS with its creation time (in whole seconds):
        # the diff runs in a later second, as a user's would, so the outcome is not down to timing.
        await asyncio.sleep(1.1)
    rc, out, err = await run_cli(["diff"], schema_dir, env, setup.timeout)
    diffed = {**pushed, "diff_exit": rc, "diff_stdout": out, "diff_stderr": err}
    live = await schema_texts(params, starts)
    workspace, failures = await workspace_texts(params, schema_dir, starts)
    compared = {**diffed, "live": live, "workspace": workspace, "reference": reference}
    if rc != 0:
        said = clip(first_ddl(out) if rc == 1 else first_error(err), 200)
        if not failures and live == workspace == reference:
            # What the diff still sees is in what the comparison leaves out.
            said += " [the live objects equal the files' but for AUTO_INCREMENT / a server-set STARTS]"
        return result("diff_not_clean", f"diff exit {rc}: {said}", **compared)
    if failures:
        return result("end_state_differs", f"workspace: {failures[0]}", failures=failures, **compared)
    diff = first_difference(live, workspace, ("live", "workspace"))
    if diff:
        return result("end_state_differs", f"live ≠ workspace: {diff}", **compared)
    diff = first_difference(live, reference, ("live", "desired-as-SQL"))
    if diff:
        return result("end_state_differs", f"live ≠ desired run as SQL: {diff}", **compared)
    dropped = renamed_but_dropped(case.desired, pushed["push_stdout"])
    if dropped:
        return result("end_state_differs", f"rows lost: {dropped}", **compared)
    return result("converged", **diffed)


# `@renamed from=old` (sqldef's annotation): old bare or quoted in any of the three ways.
_RENAMED_RE = re.compile(r"""@renamed\s+from\s*=\s*(?:"([^"]+)"|`([^`]+)`|'([^']+)'|([\w$]+))""", re.I)


def renamed_but_dropped(desired: str, pushed: str) -> str | None:
    """A DROP in the pushed SQL of a name that `desired` says was renamed (its rows lost); else None.

    The schema converges either way, so only the pushed statements tell a
    rename from a drop and re-add.
    """
    for m in _RENAMED_RE.finditer(desired):
        old = next(g for g in m.groups() if g)
        drop = re.search(
            rf"DROP\s+(?:COLUMN|TABLE|KEY|INDEX)\s+`{re.escape(old.replace('`', '``'))}`", pushed, re.I
        )
        if drop:
            return f"`@renamed from={old}` but the push ran {drop.group(0)!r}"
    return None


# ///// the run ////////////////////////////////////////////////////////////////////////////////////


async def server_version(params: ConnParams) -> str:
    async with Instance(params, pool_size=1) as inst:
        rows = await inst.query("SELECT VERSION() AS v")
    return str(rows[0]["v"])


async def run_all(cases: list[Case], setup: Setup) -> list[Outcome]:
    outcomes = []
    try:
        for i, case in enumerate(cases, 1):
            outcome = await run_case(case, setup)
            outcomes.append(outcome)
            tail = f": {outcome.cause}" if outcome.cause else ""
            print(f"[{i}/{len(cases)}] {case.file} {case.name}: {outcome.result}{tail}", file=sys.stderr)
    finally:
        async with Instance(setup.params, pool_size=1) as inst:
            await inst.execute(f"DROP DATABASE IF EXISTS `{SCHEMA}`")
    return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    counts = Counter(o.result for o in outcomes)
    per_file: dict[str, Counter[str]] = {}
    for o in outcomes:
        per_file.setdefault(o.file, Counter())[o.result] += 1
    applicable = len(outcomes) - counts["skipped"]
    return {
        "cases": len(outcomes),
        "applicable": applicable,
        "counts": {c: counts[c] for c in CLASSES},
        "per_file": {f: {c: n[c] for c in CLASSES} for f, n in per_file.items()},
    }


def print_report(outcomes: list[Outcome], head: str, verbose: bool) -> None:
    s = summary(outcomes)
    print(head)
    n, conv = s["applicable"], s["counts"]["converged"]
    print(f"{s['cases']} cases, {n} apply; converged {conv} of {n}")
    for c in CLASSES:
        print(f"  {c:<18} {s['counts'][c]:>4}")
    short = ("conv", "push", "diff", "state", "skip")
    print(f"\n  {'file':<32} {'cases':>5} {'apply':>5} " + " ".join(f"{h:>5}" for h in short))
    for f, per in s["per_file"].items():
        total = sum(per.values())
        cells = " ".join(f"{per[c]:>5}" for c in CLASSES)
        print(f"  {f:<32} {total:>5} {total - per['skipped']:>5} {cells}")
    failing = [o for o in outcomes if o.result not in ("converged", "skipped")]
    if failing:
        print("\nNot converging:")
        for o in sorted(failing, key=lambda o: (o.result, o.file, o.name)):
            print(f"  {o.file}  {o.name}  {o.result}: {o.cause}")
    skipped = [o for o in outcomes if o.result == "skipped"]
    if skipped:
        print("\nSkipped:")
        if verbose:
            for o in skipped:
                print(f"  {o.file}  {o.name}: {o.cause}")
        else:
            # One line per reason: the server's error after "does not run on MariaDB x" left out.
            reasons = Counter(re.sub(r"(does not run on MariaDB \S+):.*", r"\1", o.cause) for o in skipped)
            for reason, count in reasons.most_common():
                print(f"  {count:>4}  {reason}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="peer_suite.py",
        description="Run sqldef's MySQL test cases through schemad push/diff and count convergence.",
        epilog="The rules of which case applies are in this script's docstring.",
    )
    ap.add_argument("--sqldef", required=True, type=Path, help="a checkout (or bare git dir) of sqldef")
    ap.add_argument("--json", type=Path, help="write the full report here")
    ap.add_argument("--host", default="127.0.0.1", help="with --port: the server's host")
    ap.add_argument("--port", type=int, help="use this server (default: start a throwaway MariaDB)")
    ap.add_argument("--user", default="root", help="with --port: the user (needs CREATE/DROP DATABASE)")
    ap.add_argument("--password", default=os.environ.get("PEER_SUITE_PASSWORD", ""), help=argparse.SUPPRESS)
    ap.add_argument("--only", help="run the cases whose `file:name` matches this regex")
    ap.add_argument(
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help=f"a line for each case's .skeema, repeatable (default: {' '.join(DEFAULT_OPTIONS)})",
    )
    ap.add_argument("--no-options", action="store_true", help="no extra .skeema lines: Skeema's defaults")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per schemad command")
    ap.add_argument("--keep", action="store_true", help="keep the cases' repo dirs (path printed)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every skipped case")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # asyncmy logs every server warning ("Event scheduler is switched off", ...): not ours to show.
    logging.getLogger("asyncmy").setLevel(logging.ERROR)
    cases = read_cases(args.sqldef)
    if args.only:
        pattern = re.compile(args.only)
        cases = [c for c in cases if pattern.search(f"{c.file}:{c.name}")]
    commit = sqldef_commit(args.sqldef)
    work = Path(tempfile.mkdtemp(prefix="peer-suite-"))
    server: EmbeddedServer | None = None
    try:
        if args.port is None:
            server = EmbeddedServer()
            server.start()
            params = ConnParams(host="127.0.0.1", port=server.port, user="root")
        else:
            params = ConnParams(host=args.host, port=args.port, user=args.user, password=args.password)
        version = asyncio.run(server_version(params))
        if "mariadb" not in version.lower():
            print(f"peer_suite: warning: {version} is not MariaDB; the rules assume it is", file=sys.stderr)
        options = () if args.no_options else tuple(args.option or DEFAULT_OPTIONS)
        setup = Setup(params, version, work, args.timeout, options)
        started = time.time()
        outcomes = asyncio.run(run_all(cases, setup))
    except SchemadError as e:
        print(f"peer_suite: {e}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"peer_suite: case dirs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    opts = " ".join(setup.options) or "no options"
    head = f"sqldef {commit[:12]} · {version} · {opts} · {time.time() - started:.0f}s"
    print_report(outcomes, head, args.verbose)
    if args.json:
        report = {
            "sqldef": {"dir": str(args.sqldef), "commit": commit},
            "server": version,
            "options": list(setup.options),
            "summary": summary(outcomes),
            "cases": [asdict(o) for o in outcomes],
        }
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 0 if all(o.result in ("converged", "skipped") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
