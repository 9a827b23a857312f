"""A daemon with `fetch` follows the upstream branch: a commit pushed there shows in the diff."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DBServer
from tests.daemon_proc import DaemonRepo, RunningDaemon, assert_no_password, ensure_db_user, sql

pytestmark = pytest.mark.timeout(120)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


T1 = "CREATE TABLE `t1` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n"
T2 = "CREATE TABLE `t2` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n"


def test_a_commit_upstream_reaches_the_diff(server: DBServer, tmp_path: Path) -> None:
    ensure_db_user(server)
    schema = f"fetch_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema};")
    sql(server, T1, schema)
    origin = DaemonRepo.create(tmp_path / "origin", server, schema, {"t1.sql": T1})
    git(origin.root, "init", "-q", "-b", "main")
    git(origin.root, "add", "-A")
    git(origin.root, "commit", "-qm", "one table")
    git(tmp_path, "clone", "-q", str(origin.root), "checkout")
    checkout = DaemonRepo(tmp_path / "checkout", schema)
    d = RunningDaemon(
        checkout, tmp_path / "run", repo_toml='fetch = { interval = "1s", ref = "origin/main" }'
    ).start()
    try:
        first = d.diff()
        assert first["statement_count"] == 0
        assert first["repo_commit"] == git(origin.root, "rev-parse", "HEAD")

        (origin.dir / "t2.sql").write_text(T2)
        git(origin.root, "add", "-A")
        git(origin.root, "commit", "-qm", "another table")
        head = git(origin.root, "rev-parse", "HEAD")

        def fetched() -> dict[str, object] | None:
            doc = d.diff()
            return doc if doc["repo_commit"] == head and doc["statement_count"] == 1 else None

        doc = d.wait_for(fetched, timeout=30, interval=0.2)
        assert doc["targets"][0]["statements"][0]["sql"].startswith("CREATE TABLE `t2`")
        assert (checkout.dir / "t2.sql").read_text() == T2
    finally:
        if d.proc is not None and d.proc.poll() is None:
            assert d.stop() == 0
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
        assert_no_password(d)
