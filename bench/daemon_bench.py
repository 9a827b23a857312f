#!/usr/bin/env python3
"""schemad daemon benchmarks: a real `schemad serve` on the shared schema at 1,000 tables.

Called by run.py (`make bench`, or `bench/run.py --only daemon`) with a running
private server; every figure is against a `schemad serve --config X.toml`
subprocess (cold canonical-form cache, polls every hour so none lands inside a
measurement), except the unchanged poll, which is measured in-process to read
the query counters:

    save->diff    20 saves of one table file (add a column / put it back, alternately):
                  from the write (closed, fsync'ed) until GET .../diff shows it
                  (polled every ~2 ms over one keep-alive connection)
    GET diff      50 keep-alive connections from a separate load-generator process
                  (this file's `loadgen` sub-command: asyncio streams, no aiohttp
                  client, to leave as much CPU as possible to the daemon) for 10 s
                  after 2 s of warm-up
    poll          one poll of the unchanged environment: queries issued and wall time
                  (RepoEnvironment.poll() in this process, median of 10)
    RSS           5 environments x 1,000 tables (schemas bench1..bench5): the daemon's
                  VmRSS / VmHWM once every environment is evaluated

`python bench/daemon_bench.py loadgen --port P --path /... --token T` is the load
generator; it prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TABLES = 1000
SAVES = 20
CLIENTS = 50
LOAD_SECONDS = 10.0
WARMUP_SECONDS = 2.0
POLLS = 10
ENVIRONMENTS = 5
# name -> (unit, bound, "max" or "min")
TARGETS: dict[str, tuple[str, float, str]] = {
    "save_to_diff_median_ms": ("ms", 90, "max"),
    "save_to_diff_p90_ms": ("ms", 90, "max"),
    "get_diff_req_per_s": ("req/s", 2000, "min"),
    "get_diff_p50_ms": ("ms", 0, "max"),
    "get_diff_p99_ms": ("ms", 20, "max"),
    "poll_median_ms": ("ms", 100, "max"),
    "poll_queries": ("queries", 10, "max"),
    "fleet40_poll_median_ms": ("ms", 0, "max"),
    "fleet40_poll_queries": ("queries", 6, "max"),  # one server: its six fingerprint queries
    "campaign40_c1_s": ("s", 0, "max"),
    "campaign40_c8_s": ("s", 0, "max"),
    "ownership_move_after_kill_s": ("s", 0, "max"),  # replica_bench.py; bound: lease_ttl 2s + poll 1s
    "rss_5x1000_mib": ("MiB", 200, "max"),
    "hwm_5x1000_mib": ("MiB", 0, "max"),
}
SCHEMAD = [sys.executable, "-m", "schemad"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# ///// one daemon process /////


@dataclass
class Daemon:
    workdir: Path
    repo: Path
    environments: list[str]
    port: int = 0
    token: str = ""
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0

    @property
    def log(self) -> Path:
        return self.workdir / "daemon.log"

    def start(self) -> Daemon:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = "bench-" + secrets.token_hex(16)
        envs = ", ".join(f'"{e}"' for e in self.environments)
        toml = self.workdir / "schemad.toml"
        toml.write_text(
            f"""listen = ["127.0.0.1:{self.port}"]
state_dir = "state"
log_format = "json"
shutdown_grace = "5s"

[[repos]]
name = "bench"
path = "{self.repo}"
environments = [{envs}]
poll = {{ interval = "1h" }}

[[tokens]]
name = "bench"
sha256 = "{hashlib.sha256(self.token.encode()).hexdigest()}"
scopes = ["read"]
"""
        )
        env = {**os.environ, "SCHEMAD_CACHE_DIR": str(self.workdir / "cache"), "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                [*SCHEMAD, "serve", "--config", str(toml)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        return self

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from the start until /readyz answers 200 (every first evaluation done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self.log.read_text()[-3000:]
                raise SystemExit(f"daemon exited with {self.proc.returncode}:\n{tail}")
            try:
                status, _ = self.get("/readyz")
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"daemon not ready after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        c = conn or self.connection()
        try:
            c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            if own:
                c.close()

    def get_json(self, path: str, conn: http.client.HTTPConnection | None = None) -> Any:
        status, body = self.get(path, conn)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:500]!r}")
        return json.loads(body)

    def proc_status(self) -> dict[str, int]:
        """VmRSS and VmHWM in KiB."""
        assert self.proc is not None
        out: dict[str, int] = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ///// setup /////


def init_repo(port: int, schema: str, target: Path) -> None:
    cmd = [*SCHEMAD, "init", "-h", "127.0.0.1", "-P", str(port), f"--ignore-schema=^(?!{schema}$)"]
    subprocess.run([*cmd, "--dir", str(target)], check=True, stdout=subprocess.DEVNULL)
    files = len(list((target / schema).glob("*.sql")))
    if files != TABLES:
        raise SystemExit(f"init wrote {files} files, expected {TABLES}")


def multi_env_repo(single: Path, target: Path, schemas: list[str]) -> list[str]:
    """A copy of the repo at `single` with one environment per schema (e1..eN), all on one dir."""
    shutil.copytree(single, target)
    root = (target / ".skeema").read_text()
    m = re.search(r"^\[production\]\n((?:[^\[].*\n?)*)", root, re.M)
    if m is None:
        raise SystemExit(f"no [production] section in {single / '.skeema'}:\n{root}")
    # init's --ignore-schema (which kept it to one schema) would hide the other schemas.
    lines = [x for x in m.group(1).splitlines() if x.strip() and not x.startswith("ignore-schema")]
    section = "\n".join(lines) + "\n"
    envs = [f"e{i + 1}" for i in range(len(schemas))]
    (target / ".skeema").write_text(root[: m.start()] + "".join(f"[{e}]\n{section}\n" for e in envs))
    dir_opts = target / schemas[0] / ".skeema"
    text = dir_opts.read_text().rstrip("\n") + "\n"
    dir_opts.write_text(text + "".join(f"\n[{e}]\nschema={s}\n" for e, s in zip(envs, schemas, strict=True)))
    return envs


# ///// 1. save -> diff /////


def add_column(text: str, column: str) -> str:
    head, sep, rest = text.partition("(\n")
    if not sep or "CREATE TABLE" not in head:
        raise SystemExit(f"unexpected table file:\n{text[:300]}")
    return f"{head}(\n  `{column}` int DEFAULT NULL,\n{rest}"


def write_synced(path: Path, text: str) -> None:
    with path.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def save_to_diff(d: Daemon, schema_dir: Path, env: str) -> dict[str, Any]:
    files = sorted(schema_dir.glob("*.sql"))
    path = f"/v1/environments/{env}/diff"
    conn = d.connection()
    base = d.get_json(path, conn)
    if base["statement_count"] != 0 or any(t["error"] for t in base["targets"]):
        raise SystemExit(f"the fresh repo has a diff or errors: {json.dumps(base)[:2000]}")
    latencies: list[float] = []
    polls: list[int] = []
    original = ""
    for i in range(SAVES):
        f = files[(i // 2) * 37 % len(files)]
        column = f"bench_c{i // 2}"
        if i % 2 == 0:
            original = f.read_text()
            new_text = add_column(original, column)
        else:
            new_text = original

        def shows(doc: dict[str, Any], adding: bool = i % 2 == 0, column: str = column) -> bool:
            sqls = [s["sql"] for t in doc["targets"] for s in t["statements"]]
            if adding:
                return any(column in s for s in sqls)
            return doc["statement_count"] == 0 and not any(t["error"] for t in doc["targets"])

        time.sleep(0.3)  # let the previous change settle
        write_synced(f, new_text)
        t0 = time.perf_counter()
        n = 0
        while True:
            n += 1
            doc = d.get_json(path, conn)
            if shows(doc):
                break
            if time.perf_counter() - t0 > 10:
                raise SystemExit(f"save {i} of {f.name} not in the diff after 10 s: {json.dumps(doc)[:2000]}")
            time.sleep(0.002)
        latencies.append((time.perf_counter() - t0) * 1000)
        polls.append(n)
    conn.close()
    return {
        "save_to_diff_median_ms": round(statistics.median(latencies), 1),
        "save_to_diff_p90_ms": round(percentile(latencies, 90), 1),
        "save_to_diff_max_ms": round(max(latencies), 1),
        "save_to_diff_all_ms": [round(x, 1) for x in latencies],
        "save_to_diff_saves": SAVES,
    }


# ///// 2. GET diff under load /////


def get_diff_load(d: Daemon, env: str) -> dict[str, Any]:
    path = f"/v1/environments/{env}/diff"
    _, body = d.get(path)
    cpu0 = d.cpu_seconds()
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "loadgen",
            "--port",
            str(d.port),
            "--path",
            path,
            "--token",
            d.token,
            "--concurrency",
            str(CLIENTS),
            "--duration",
            str(LOAD_SECONDS),
            "--warmup",
            str(WARMUP_SECONDS),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"loadgen failed:\n{out.stderr[-3000:]}")
    cpu1 = d.cpu_seconds()
    res: dict[str, Any] = json.loads(out.stdout)
    wall = LOAD_SECONDS + WARMUP_SECONDS
    return {
        "get_diff_req_per_s": res["req_per_s"],
        "get_diff_p50_ms": res["p50_ms"],
        "get_diff_p99_ms": res["p99_ms"],
        "get_diff_max_ms": res["max_ms"],
        "get_diff_errors": res["errors"],
        "get_diff_clients": CLIENTS,
        "get_diff_seconds": LOAD_SECONDS,
        "get_diff_body_bytes": len(body),
        "get_diff_daemon_cpu": round((cpu1 - cpu0) / wall, 2),  # cores used by the daemon
        "get_diff_loadgen_cpu": res["cpu"],  # cores used by the load generator
    }


async def _loadgen(
    port: int, path: str, token: str, concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    end = measure_from + duration
    latencies: list[float] = []
    errors = Counter[str]()
    cpu_marks: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                t0 = loop.time()
                if t0 >= end:
                    return
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head[9:12]
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if m is None:
                    raise RuntimeError(f"no Content-Length in {head!r}")
                await reader.readexactly(int(m.group(1)))
                t1 = loop.time()
                if t0 >= measure_from:
                    if status == b"200":
                        latencies.append(t1 - t0)
                    else:
                        errors[status.decode()] += 1
        finally:
            writer.close()

    async def mark_cpu() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu_marks.append(time.process_time())

    marker = asyncio.create_task(mark_cpu())
    await asyncio.gather(*(client() for _ in range(concurrency)))
    await marker
    cpu = (time.process_time() - cpu_marks[0]) / duration
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(ms),
        "req_per_s": round(len(ms) / duration),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "errors": dict(errors),
        "cpu": round(cpu, 2),
    }


# ///// 3. an unchanged poll, in-process /////


async def _poll_unchanged(repo: Path, env_name: str, cache_path: Path) -> dict[str, Any]:
    from schemad.service.environment import RepoEnvironment
    from schemad.workspace.cache import CanonicalCache

    cache = CanonicalCache(cache_path)
    env = RepoEnvironment("bench", repo, env_name, cache)
    try:
        t0 = time.perf_counter()
        await env.evaluate()
        evaluate_s = time.perf_counter() - t0
        if env.last_poll_error or any(t.error for t in env.targets.values()):
            errors = [t.error for t in env.targets.values()]
            raise SystemExit(f"evaluation failed: {env.last_poll_error} {errors}")

        def counts() -> Counter[str]:
            total = Counter[str]()
            for inst in env.instances:
                total.update(inst.query_counts)
            return total

        times: list[float] = []
        queries: list[int] = []
        by_category = Counter[str]()
        for _ in range(POLLS):
            before = counts()
            t0 = time.perf_counter()
            await env.poll()
            times.append((time.perf_counter() - t0) * 1000)
            delta = counts()
            delta.subtract(before)
            queries.append(sum(delta.values()))
            by_category = +delta
        return {
            "poll_median_ms": round(statistics.median(times), 1),
            "poll_max_ms": round(max(times), 1),
            "poll_queries": max(queries),
            "poll_queries_by_category": dict(by_category),
            "inproc_evaluate_s": round(evaluate_s, 2),
        }
    finally:
        await env.close()
        cache.close()


# ///// 3b. an unchanged poll of a 40-shard fleet, in-process /////

FLEET_SHARDS = 40
FLEET_TABLES = 10


async def _poll_fleet(port: int, work: Path) -> dict[str, Any]:
    """40 schemas of 10 tables on the bench server, listed by host-wrapper + a /regex/ schema."""
    from schemad.connection.instance import Instance
    from schemad.connection.params import ConnParams
    from schemad.service.environment import RepoEnvironment
    from schemad.workspace.cache import CanonicalCache

    params = ConnParams(host="127.0.0.1", port=port, user="root")
    tables = [
        f"CREATE TABLE `t{i}` (`id` int NOT NULL, `v` varchar(20) DEFAULT NULL, PRIMARY KEY (`id`),"
        f" KEY `v` (`v`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
        for i in range(FLEET_TABLES)
    ]
    names = [f"fleet_{i:02d}" for i in range(FLEET_SHARDS)]
    async with Instance(params) as inst:
        for n in names:
            await inst.execute(f"DROP DATABASE IF EXISTS `{n}`")
            await inst.execute(f"CREATE DATABASE `{n}`")
            for t in tables:
                await inst.execute(t.replace("CREATE TABLE ", f"CREATE TABLE `{n}`.", 1))
    repo = work / "fleet-repo"
    (repo / "shards").mkdir(parents=True, exist_ok=True)
    (work / "fleet-hosts.sh").write_text(f"#!/bin/sh\necho 127.0.0.1:{port}\n")
    (work / "fleet-hosts.sh").chmod(0o755)
    (repo / ".skeema").write_text(
        f"[production]\nhost=fleet\nhost-wrapper={work / 'fleet-hosts.sh'}\nuser=root\n"
    )
    (repo / "shards" / ".skeema").write_text("schema=/^fleet_[0-9]+$/\n")
    (repo / "shards" / "tables.sql").write_text("".join(t + ";\n" for t in tables))
    cache = CanonicalCache(work / "fleet-cache.sqlite")
    env = RepoEnvironment("bench", repo, "production", cache)
    try:
        await env.evaluate()
        if len(env.targets) != FLEET_SHARDS or any(
            t.diff is None or t.diff.planned for t in env.targets.values()
        ):
            raise SystemExit(f"fleet not evaluated: {[t.error for t in env.targets.values()][:3]}")
        times: list[float] = []
        queries: list[int] = []
        for _ in range(POLLS):
            before = sum(sum(i.query_counts.values()) for i in env.instances)
            t0 = time.perf_counter()
            await env.poll()
            times.append((time.perf_counter() - t0) * 1000)
            queries.append(sum(sum(i.query_counts.values()) for i in env.instances) - before)
        return {
            "fleet40_poll_median_ms": round(statistics.median(times), 1),
            "fleet40_poll_queries": max(queries),
        }
    finally:
        await env.close()
        cache.close()
        async with Instance(params) as inst:
            for n in names:
                await inst.execute(f"DROP DATABASE IF EXISTS `{n}`")


# ///// 3c. a push campaign over the 40-shard fleet, concurrency 1 and 8, in-process /////


async def _campaign_fleet(port: int, work: Path, concurrency: int) -> float:
    """Wall time of a campaign adding a column to `t0` of 40 shards (1 canary, waves of 8)."""
    from schemad.connection.instance import Instance
    from schemad.daemon_config import DaemonConfig, RepoConfig
    from schemad.service.campaigns import CampaignRequest, GroupRef
    from schemad.service.campaignstore import ACTIVE_CAMPAIGN, CampaignSettings
    from schemad.service.daemon import Daemon as ServiceDaemon
    from schemad.service.metrics import Metrics
    from schemad.service.state import SqliteStateStore

    params_port = port
    names = [f"camp_{i:02d}" for i in range(FLEET_SHARDS)]
    table = "CREATE TABLE `t0` (`id` int NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB"
    from schemad.connection.params import ConnParams

    params = ConnParams(host="127.0.0.1", port=params_port, user="root")
    async with Instance(params) as inst:
        for n in names:
            await inst.execute(f"DROP DATABASE IF EXISTS `{n}`")
            await inst.execute(f"CREATE DATABASE `{n}`")
            await inst.execute(table.replace("CREATE TABLE ", f"CREATE TABLE `{n}`.", 1))
    base = work / f"campaign-{concurrency}"
    repo = base / "repo"
    (repo / "shards").mkdir(parents=True, exist_ok=True)
    (repo / ".skeema").write_text(f"[production]\nhost=127.0.0.1\nport={port}\nuser=root\n")
    (repo / "shards" / ".skeema").write_text("schema=/^camp_[0-9]+$/\n")
    (repo / "shards" / "t0.sql").write_text(
        "CREATE TABLE `t0` (`id` int NOT NULL, `c` int DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n"
    )
    cfg = DaemonConfig(
        state_dir=base / "state", repos=(RepoConfig("bench", repo, environments=("production",)),)
    )
    (base / "state").mkdir(parents=True, exist_ok=True)
    store = SqliteStateStore(base / "state" / "state.sqlite3")
    d = ServiceDaemon(cfg, store, Metrics())
    try:
        await d.start()
        found = d.find("production")
        assert found is not None
        key, env = found
        [view] = env.fleet()
        groups = [GroupRef(g.fingerprint or "", g.plan_hash or "") for g in view.groups]
        settings = CampaignSettings(canaries=1, wave_size=8, concurrency=concurrency)
        t0 = time.perf_counter()
        rec = await d.campaigns.create(key, env, CampaignRequest(groups, "bench", settings))
        while (cur := await d.campaigns.get(rec.id)) is not None and cur.state in ACTIVE_CAMPAIGN:
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - t0
        if cur is None or str(cur.state) != "finished":
            raise SystemExit(f"campaign did not finish: {cur.error if cur else None}")
        return wall
    finally:
        await d.stop(grace=5)
        store.close()
        async with Instance(params) as inst:
            for n in names:
                await inst.execute(f"DROP DATABASE IF EXISTS `{n}`")


async def _campaigns(port: int, work: Path) -> dict[str, Any]:
    return {
        "campaign40_c1_s": round(await _campaign_fleet(port, work, 1), 2),
        "campaign40_c8_s": round(await _campaign_fleet(port, work, 8), 2),
    }


# ///// 4. RSS, 5 environments /////


def rss_five(d: Daemon) -> dict[str, Any]:
    ready_s = d.wait_ready()
    deadline = time.monotonic() + 300
    while True:
        envs = d.get_json("/v1/environments")["environments"]
        if len(envs) == ENVIRONMENTS and all(e["status"] == "ok" for e in envs):
            break
        if time.monotonic() > deadline or any(e["status"] in ("error", "stale") for e in envs):
            first = d.get_json(f"/v1/environments/{envs[0]['name']}/diff")
            skeema = (d.repo / ".skeema").read_text()
            raise SystemExit(f"environments not evaluated: {json.dumps(envs)[:1500]}\n{first}\n{skeema}")
        time.sleep(0.1)
    evaluated_s = time.perf_counter() - d.started
    for e in envs:  # each environment really holds its own 1,000-table schema, with no drift
        doc = d.get_json(f"/v1/environments/{e['name']}/diff")
        schemas = [(t["schema"], t["error"]) for t in doc["targets"]]
        want = [(f"bench{e['name'][1:]}", None)]
        if doc["statement_count"] != 0 or schemas != want:
            raise SystemExit(f"environment {e['name']}: unexpected diff {json.dumps(doc)[:2000]}")
    time.sleep(1.0)
    st = d.proc_status()
    return {
        "rss_5x1000_mib": round(st["VmRSS"] / 1024, 1),
        "hwm_5x1000_mib": round(st["VmHWM"] / 1024, 1),
        "start_5x1000_s": round(max(ready_s, evaluated_s), 2),
    }


# ///// all of it /////


def run(port: int, work: Path, load_schema: Any) -> dict[str, Any]:
    """Every daemon figure; `load_schema(name)` loads the 1,000-table schema as `name` (once each)."""
    t_all = time.perf_counter()
    out: dict[str, Any] = {"tables": TABLES}
    schemas = [f"bench{i + 1}" for i in range(ENVIRONMENTS)]
    t0 = time.perf_counter()
    load_schema(schemas[0])
    repo = work / "daemon-repo"
    init_repo(port, schemas[0], repo)
    out["setup_s"] = round(time.perf_counter() - t0, 1)

    d = Daemon(work / "daemon-1", repo, ["production"]).start()
    try:
        out["start_1x1000_s"] = round(d.wait_ready(), 2)
        st = d.proc_status()
        out["rss_1x1000_mib"] = round(st["VmRSS"] / 1024, 1)
        out["hwm_1x1000_mib"] = round(st["VmHWM"] / 1024, 1)
        out.update(save_to_diff(d, repo / schemas[0], "production"))
        out.update(get_diff_load(d, "production"))
        out["rss_1x1000_after_load_mib"] = round(d.proc_status()["VmRSS"] / 1024, 1)
    finally:
        d.stop()

    out.update(asyncio.run(_poll_unchanged(repo, "production", work / "daemon-1" / "cache" / "poll.sqlite")))
    out.update(asyncio.run(_poll_fleet(port, work)))
    out.update(asyncio.run(_campaigns(port, work)))
    from bench.replica_bench import ownership_move  # as run.py imports this module

    out.update(ownership_move(port, work))

    t0 = time.perf_counter()
    for s in schemas[1:]:
        load_schema(s)
    out["setup_s"] += round(time.perf_counter() - t0, 1)
    repo5 = work / "daemon-repo5"
    envs = multi_env_repo(repo, repo5, schemas)
    d = Daemon(work / "daemon-5", repo5, envs).start()
    try:
        out.update(rss_five(d))
    finally:
        d.stop()
    out["total_s"] = round(time.perf_counter() - t_all, 1)
    return out


def print_table(res: dict[str, Any]) -> None:
    print(f"\ndaemon, {res['tables']} tables (total {res['total_s']}s, of which setup {res['setup_s']}s)")
    print("{:<26} {:>10} {:>12}".format("figure", "measured", "target"))
    for name, (unit, bound, kind) in TARGETS.items():
        if name not in res:
            continue
        target = "" if not bound else f"{'<=' if kind == 'max' else '>='}{bound:g} {unit}"
        met = res[name] <= bound if kind == "max" else res[name] >= bound
        ok = "" if not bound else ("  ok" if met else "  MISS")
        print(f"{name:<26} {res[name]:>10} {target:>12}{ok}")
    extra = ["start_1x1000_s", "start_5x1000_s", "rss_1x1000_mib"]
    extra += ["get_diff_daemon_cpu", "get_diff_loadgen_cpu"]
    print("  " + ", ".join(f"{k}={res[k]}" for k in extra if k in res))
    print(f"  poll queries: {res.get('poll_queries_by_category')}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("loadgen", help="the GET load generator (one JSON object on stdout)")
    lg.add_argument("--port", type=int, required=True)
    lg.add_argument("--path", required=True)
    lg.add_argument("--token", required=True)
    lg.add_argument("--concurrency", type=int, default=CLIENTS)
    lg.add_argument("--duration", type=float, default=LOAD_SECONDS)
    lg.add_argument("--warmup", type=float, default=WARMUP_SECONDS)
    args = parser.parse_args()
    res = asyncio.run(
        _loadgen(args.port, args.path, args.token, args.concurrency, args.duration, args.warmup)
    )
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
