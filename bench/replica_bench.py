"""Bench part for replicas (issue 15.2): how long ownership takes to move after a `kill -9`.

Two `schemad serve` processes share a control schema on the bench server (root, no
password) with 6 one-table environments, leases of 2s and polls every second.  Once
each owns 3, one is killed with SIGKILL; the figure is the time until every one of
its environments has a finished poll by the other in the control schema's poll log
(the bound is lease_ttl + one poll interval).  Used by daemon_bench.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pymysql

ENVS = [f"r{i}" for i in range(6)]
LEASE_TTL = 2.0
POLL = 1.0
CONTROL = "bench_replicas_ctl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sql(port: int, query: str, args: Any = None) -> list[tuple[Any, ...]]:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def _repo(port: int, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".skeema").write_text("".join(f"[{e}]\nhost=127.0.0.1\nport={port}\nuser=root\n" for e in ENVS))
    d = root / "app"
    d.mkdir(exist_ok=True)
    (d / ".skeema").write_text("".join(f"[{e}]\nschema=bench_rep_{e}\n" for e in ENVS))
    (d / "t.sql").write_text("CREATE TABLE `t` (`id` int NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n")


def _start(port: int, work: Path, repo: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    work.mkdir(parents=True, exist_ok=True)
    http_port = _free_port()
    token = secrets.token_hex(8)
    envs = ", ".join(f'"{e}"' for e in ENVS)
    (work / "schemad.toml").write_text(
        f"""listen = ["127.0.0.1:{http_port}"]
state_dir = "state"
[state]
backend = "mysql"
host = "127.0.0.1"
port = {port}
user = "root"
schema = "{CONTROL}"
[replicas]
id = "{name}"
lease_ttl = "{LEASE_TTL:g}s"
[[repos]]
name = "app"
path = "{repo}"
environments = [{envs}]
poll = {{ interval = "{POLL:g}s" }}
[[tokens]]
name = "bench"
sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"
scopes = ["read"]
"""
    )
    with (work / "daemon.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "schemad", "serve", "--config", str(work / "schemad.toml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return proc, http_port


def _owns(http_port: int) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=5) as r:
            owned: list[str] = json.loads(r.read())["replica"]["owns"]
            return owned
    except (OSError, KeyError, ValueError):
        return []


def _wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit(f"replica bench: {what} not within {timeout:g}s")


def ownership_move(port: int, work: Path) -> dict[str, Any]:
    """`ownership_move_after_kill_s`: kill -9 of one of two replicas until the other polled all its envs."""
    _sql(port, f"DROP DATABASE IF EXISTS {CONTROL}")
    for e in ENVS:
        _sql(port, f"DROP DATABASE IF EXISTS bench_rep_{e}")
        _sql(port, f"CREATE DATABASE bench_rep_{e}")
    repo = work / "replica-repo"
    _repo(port, repo)
    procs = [_start(port, work / f"replica-{i}", repo, f"bench-{i}") for i in range(2)]
    try:
        _wait(lambda: all(len(_owns(p)) == 3 for _, p in procs), 120, "ownership spread")
        victim, _ = procs[1]
        names = [f"env:app/{e}" for e in _owns(procs[1][1])]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = float(_sql(port, "SELECT UNIX_TIMESTAMP(NOW(6))")[0][0])
        t0 = time.perf_counter()
        marks = ", ".join(["%s"] * len(names))

        def moved() -> bool:
            rows = _sql(
                port,
                f"SELECT COUNT(DISTINCT name) FROM {CONTROL}.poll_log WHERE name IN ({marks})"
                " AND replica = 'bench-0' AND started_at > %s AND finished_at IS NOT NULL",
                (*names, killed_at),
            )
            return int(rows[0][0]) == len(names)

        _wait(moved, 60, "ownership move")
        return {"ownership_move_after_kill_s": round(time.perf_counter() - t0, 2)}
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        _sql(port, f"DROP DATABASE IF EXISTS {CONTROL}")
        for e in ENVS:
            _sql(port, f"DROP DATABASE IF EXISTS bench_rep_{e}")
