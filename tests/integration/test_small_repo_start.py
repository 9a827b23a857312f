"""What a CLI run of a small repo loads: after init, a diff needs neither sqlglot nor the daemon.

Small repos are the common case, and there a command's time is mostly
Python importing modules (bench/run.py measures it).  These tests pin down
the structural part as behaviour: the files `init` wrote are in the split
memo, so the next `diff` classifies nothing and never imports sqlglot; no
CLI command imports the daemon's job machinery or prometheus-client.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMA = "small_start"


@pytest.fixture
def small_schema(server: DBServer) -> object:
    tables = "".join(
        f"CREATE TABLE t{i} (id int PRIMARY KEY, name varchar(20) COMMENT 'x; begin', KEY k (name));"
        for i in range(10)
    )
    asyncio.run(
        load_sql(
            server.params, None, f"DROP DATABASE IF EXISTS {SCHEMA}; CREATE DATABASE {SCHEMA}; USE {SCHEMA};"
        )
    )
    asyncio.run(load_sql(server.params, SCHEMA, tables))
    yield
    asyncio.run(load_sql(server.params, None, f"DROP DATABASE IF EXISTS {SCHEMA}"))


def run(cwd: Path, cache: Path, *args: str, ok: tuple[int, ...] = (0,)) -> set[str]:
    """Run `schemad ARGS` in a fresh interpreter; the top-level packages/modules it imported."""
    env = {**os.environ, "SCHEMAD_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "schemad", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode in ok, proc.stderr[-3000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def loaded(modules: set[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


def test_diff_after_init_imports_no_sqlglot_and_no_daemon(
    server: DBServer, small_schema: object, tmp_path: Path
) -> None:
    p = server.params
    cache = tmp_path / "cache"
    init = run(
        tmp_path,
        cache,
        *("init", "-h", p.host, "-P", str(p.port), "-u", p.user, "--schema", SCHEMA, "--dir", "repo"),
    )
    assert not loaded(init, "sqlglot")
    repo = tmp_path / "repo"
    assert len(list(repo.glob("*.sql"))) == 10

    diff = run(repo, cache, "diff")
    assert not loaded(diff, "sqlglot"), "the files init wrote should come from the split memo"
    assert not loaded(diff, "prometheus_client") and not loaded(diff, "schemad.service.jobs")
    # asyncmy's version lookup through importlib.metadata, and every lint rule, cost a small repo's
    # diff ~20 ms of start-up: neither is needed when nothing changed (connection/driver.py,
    # lint/__init__.py).
    assert not loaded(diff, "importlib.metadata") and not loaded(diff, "schemad.lint.rule")

    # A hand edit: that file is read and classified again, and the diff sees the change.  (Its head
    # gets a comment: `CREATE TABLE name (` alone is read without sqlglot, see sqltext/classify.py.)
    t0 = repo / "t0.sql"
    edited = t0.read_text().replace("`name` varchar(20)", "`name` varchar(30)")
    t0.write_text(edited.replace("CREATE TABLE ", "CREATE TABLE /* edited */ ", 1))
    assert loaded(run(repo, cache, "diff", ok=(1,)), "sqlglot")


def test_no_cache_keeps_no_split_memo(server: DBServer, small_schema: object, tmp_path: Path) -> None:
    p = server.params
    run(
        tmp_path,
        tmp_path / "init-cache",
        "init",
        "-h",
        p.host,
        "-P",
        str(p.port),
        "-u",
        p.user,
        "--schema",
        SCHEMA,
        "--dir",
        "repo",
    )
    cache = tmp_path / "cache"
    for _ in range(2):
        run(tmp_path / "repo", cache, "diff", "--no-cache")
        assert not (cache / "split.sqlite3").exists()
