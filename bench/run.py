#!/usr/bin/env python3
"""schemad benchmarks: whole-process timings of CLI commands on the shared schema.

Starts a private MariaDB (datadir on disk, like the Skeema reference runs),
loads `gen_schema.py sql -n N --seed 1` for N in 10, 100 and 1,000, and times
each command as a child process: median of 5 runs with the child's peak RSS
(wait4).  A command's temp schema is dropped after it exits (on the session
holding the workspace lock); each run starts once the previous one's DROP is
done, so that no run is charged for another's (see settle()).

    init            schemad init of the schema
    diff-cold       no-change diff right after init, with empty caches
    diff            no-change diff, caches warm (the daemon's and a CI re-run's case)
    diff-hand-cold  no-change diff of hand-written files (`create table`: no file is its
                    table's SHOW CREATE, so every table goes through the workspace), empty caches
    diff-hand       the same, caches warm
    diff-hand-local-cold / diff-hand-local
                    the same two with --workspace=local: the workspace on a throwaway local server
                    (datadir on /dev/shm), already running (started by an untimed first run, as the
                    previous command would have); the canonical cache emptied / warm
    diff-5%         diff after `gen_schema.py mutate --fraction 0.05`, cache warm but for the edits
    push-5%         push of that change (the database is put back between runs)
    format-ws       format --no-cache --skip-write: every file through the workspace
    daemon        a real `schemad serve` at 1,000 tables: save->diff latency, GET diff
                  throughput, one unchanged poll, RSS with 5 environments (daemon_bench.py)

Right after init every file holds its table's live canonical text, so diff
skips the workspace for those tables (see plan/planner.py fixed_points);
format-ws shows what running all of them in the workspace costs.

Writes bench/results.json and prints a table next to Skeema 1.14.1's figures
(../shared/bench/README.md) with each target and whether it holds.  Run
`make bench`; `--only CMD` and `--size N` narrow a run (BENCH_ARGS=...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench import daemon_bench  # noqa: E402
from schemad.connection.params import ConnParams  # noqa: E402
from schemad.embedded import EmbeddedServer  # noqa: E402
from schemad.workspace import local  # noqa: E402
from schemad.workspace.local import stop_local_servers  # noqa: E402
from tests.helpers import load_sql, workspace_lock_free  # noqa: E402

logging.getLogger("asyncmy").setLevel(logging.ERROR)  # "Can't drop database" notes
RUNS = 5
SIZES = (10, 100, 1000)
# Skeema 1.14.1, same machine size, datadir on disk, median of 5 (../shared/bench/README.md).  The
# 10- and 100-table figures are the ones measured side by side in one run (2026-12-06), the 1,000-table
# ones the original reference run.  None: no reference figure.
SKEEMA: dict[str, dict[int, float | None]] = {
    "init": {10: 0.015, 100: 0.062, 1000: 0.276},
    "diff-cold": {10: 0.057, 100: 0.444, 1000: 4.44},
    "diff": {10: 0.057, 100: 0.444, 1000: 4.44},
    # Every file hand-written (`create table`), so every table goes through the workspace; Skeema
    # keeps no cache, so its figure is the same for both.  (Warm at 100 tables: 0.382 s, the run.)
    "diff-hand-cold": {10: 0.059, 100: 0.464, 1000: 4.41},
    "diff-hand": {10: 0.059, 100: 0.382, 1000: 4.41},
    # The same hand-written repo with workspace=local, against Skeema's default temp-schema workspace on the
    # target (issue 12: the comparison a user makes).
    "diff-hand-local-cold": {10: 0.059, 100: 0.464, 1000: 4.41},
    "diff-hand-local": {10: 0.059, 100: 0.382, 1000: 4.41},
    "diff-5%": {10: None, 100: 0.476, 1000: 4.97},
    "push-5%": {10: None, 100: 0.466, 1000: 5.02},
    # Every file through the workspace (format has no fixed-point shortcut), for comparison
    # with Skeema's diff, whose time is mostly that same work.
    "format-ws": {10: 0.057, 100: 0.385, 1000: 4.44},
}
# Targets, as ratios of Skeema's figure (issue 10 for 10 and 100 tables).
TARGETS: dict[int, dict[str, float]] = {
    10: {"init": 7.0, "diff": 2.5},
    100: {"init": 2.0, "diff": 0.5, "diff-hand-cold": 1.0, "diff-hand": 0.5},
    1000: {
        "init": 1.5,
        "diff-cold": 0.8,
        "diff": 0.15,
        "diff-5%": 0.8,
        "push-5%": 0.3,
        # Issue 12.9: hand-written files with workspace=local, against Skeema's diff of the same files
        # (its default temp-schema workspace on the target, no cache: 4.41 s): an empty canonical cache
        # <= 0.3x (1.32 s), a warm one <= 0.15x (0.66 s).
        "diff-hand-local-cold": 0.3,
        "diff-hand-local": 0.15,
    },
}
SCHEMAD = [sys.executable, "-m", "schemad"]  # replaced by installed_cli() in main()

# What pip writes as the `schemad` console script of a regular install.
_CONSOLE_SCRIPT = """import sys
from schemad.cli.main import main
if __name__ == '__main__':
    sys.exit(main())
"""


def installed_cli(base: Path) -> list[str]:
    """`schemad` as a regular install runs it: a console script in a venv whose sys.path holds
    the checkout and the dev venv's packages as plain .pth lines.

    The dev venv's editable install puts an import hook on sys.path (setuptools' editable
    finder: pathlib, importlib.util) that costs every process ~15 ms a user's `pip install .`
    never pays, and `python -m` adds runpy; neither is what a user's command runs.
    """
    venv = base / "venv-installed"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dev_site = sysconfig.get_path("purelib")
    (Path(site_dir) / "schemad-bench.pth").write_text(f"{ROOT}\n{dev_site}\n")
    script = venv / "bin" / "schemad"
    script.write_text(_CONSOLE_SCRIPT)
    return [str(python), str(script)]


# The servers whose workspace lock settle() waits for: the target, and a local workspace server
# while one is in use.
SETTLE: list[ConnParams] = []


def settle() -> None:
    """Wait until no workspace is dropping its temp schema on the servers in SETTLE.

    A command leaves its temp schema to be dropped after it exits, on the session that
    holds `GET_LOCK('skeema._skeema_tmp')`: a command started right after it would wait
    for that lock, and be charged for the previous one's DROP (~1 s at 1,000 tables).
    """

    async def free(p: ConnParams) -> None:
        if not await workspace_lock_free(p, timeout=120):
            raise SystemExit(f"{p.address}: the workspace lock stayed taken for 2 minutes")

    async def all_free() -> None:
        await asyncio.gather(*(free(p) for p in SETTLE))

    if SETTLE:
        asyncio.run(all_free())


def timed(
    cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process, started once the servers are settled."""
    settle()
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{err.read().decode(errors='replace')[-3000:]}")
    return elapsed, usage.ru_maxrss


def gen(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(HERE / "gen_schema.py"), *args], capture_output=True, text=True, check=True
    )
    return out.stdout


def figure(command: str, n: int, runs: list[tuple[float, int]]) -> dict[str, object]:
    times = [t for t, _ in runs]
    median = statistics.median(times)
    ref = SKEEMA[command][n]
    target = TARGETS[n].get(command)
    return {
        "command": command,
        "tables": n,
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "peak_rss_mib": round(max(r for _, r in runs) / 1024, 1),
        "skeema_s": ref,
        "ratio_vs_skeema": round(median / ref, 2) if ref else None,
        "target_ratio": target,
        "meets_target": None if target is None or not ref else median / ref <= target,
    }


def repeat(fn: Callable[[int], tuple[float, int]]) -> list[tuple[float, int]]:
    return [fn(i) for i in range(RUNS)]


def load_schema(srv: EmbeddedServer, schema: str, n: int = daemon_bench.TABLES) -> None:
    sql = gen("sql", "-n", str(n), "--seed", "1", "--schema", schema, "--create-db")
    asyncio.run(load_sql(ConnParams(port=srv.port), None, sql))


def bench_size(srv: EmbeddedServer, n: int, work: Path, only: set[str]) -> list[dict[str, object]]:
    schema = f"bench{n}"
    params = ConnParams(port=srv.port)
    asyncio.run(
        load_sql(params, None, gen("sql", "-n", str(n), "--seed", "1", "--schema", schema, "--create-db"))
    )
    rows: list[dict[str, object]] = []
    init = [*SCHEMAD, "init", "-h", "127.0.0.1", "-P", str(srv.port), f"--ignore-schema=^(?!{schema}$)"]

    init_env = {**os.environ, "SCHEMAD_CACHE_DIR": str(work / f"init-cache{n}")}

    def run_init(i: int) -> tuple[float, int]:
        target = work / f"init{n}-{i}"
        result = timed([*init, "--dir", str(target)], work, env=init_env)
        files = len(list((target / schema).glob("*.sql")))
        if files != n:
            raise SystemExit(f"init wrote {files} files, expected {n}")
        return result

    run_init(RUNS)  # warm-up, untimed: the server's table and file caches, like any repeated run
    rows.append(figure("init", n, repeat(run_init)))
    if only == {"init"}:
        return rows

    host = work / f"init{n}-0"
    cache = work / f"cache{n}"
    env = {**os.environ, "SCHEMAD_CACHE_DIR": str(cache)}

    def diff_cold(i: int) -> tuple[float, int]:
        # Right after an init: the caches hold only what init put there.
        shutil.rmtree(cache, ignore_errors=True)
        fresh = work / f"cold{n}-{i}"
        timed([*init, "--dir", str(fresh)], work, env=env)
        return timed([*SCHEMAD, "diff"], fresh, env=env)

    # --only narrows the work, not just the table: a row nobody asked for is not timed.
    if "diff-cold" in only:
        rows.append(figure("diff-cold", n, repeat(diff_cold)))
    if "diff" in only:
        rows.append(figure("diff", n, repeat(lambda i: timed([*SCHEMAD, "diff"], host, env=env))))

    # Hand-written files: the same tables, no file byte-identical to SHOW CREATE.
    hand = work / f"hand{n}"
    shutil.copytree(host, hand)
    for f in (hand / schema).glob("*.sql"):
        f.write_text(f.read_text().replace("CREATE TABLE ", "create table ", 1))
    hand_cache = work / f"hand-cache{n}"
    hand_env = {**os.environ, "SCHEMAD_CACHE_DIR": str(hand_cache)}

    def hand_cold(i: int) -> tuple[float, int]:
        shutil.rmtree(hand_cache, ignore_errors=True)
        return timed([*SCHEMAD, "diff"], hand, env=hand_env)

    if "diff-hand-cold" in only:
        rows.append(figure("diff-hand-cold", n, repeat(hand_cold)))
    if "diff-hand" in only:
        rows.append(figure("diff-hand", n, repeat(lambda i: timed([*SCHEMAD, "diff"], hand, env=hand_env))))
    if only & {"diff-hand-local-cold", "diff-hand-local"}:
        rows += bench_local(n, hand, work)
    fmt = [*SCHEMAD, "format", "--no-cache", "--skip-write"]
    if "format-ws" in only:
        rows.append(figure("format-ws", n, repeat(lambda i: timed(fmt, host, env=env))))

    if n < 100 or not only & {"diff-5%", "push-5%"}:  # 5% of 10 files is no change at all
        return rows
    revert = work / f"revert{n}.sql"
    gen("mutate", str(host / schema), "--fraction", "0.05", "--seed", "1", "--revert-sql", str(revert))
    if "diff-5%" in only:
        rows.append(figure("diff-5%", n, repeat(lambda i: timed([*SCHEMAD, "diff"], host, ok=(1,), env=env))))

    def push(i: int) -> tuple[float, int]:
        result = timed([*SCHEMAD, "push", "--allow-unsafe"], host, env=env)
        asyncio.run(load_sql(params, schema, revert.read_text()))
        return result

    if "push-5%" in only:
        rows.append(figure("push-5%", n, repeat(push)))
    return rows


def bench_local(n: int, hand: Path, work: Path) -> list[dict[str, object]]:
    """diff-hand-local-cold / diff-hand-local: the hand-written repo with workspace=local."""
    cache = work / f"local-cache{n}"
    env = {**os.environ, "SCHEMAD_CACHE_DIR": str(cache)}
    diff = [*SCHEMAD, "diff", "--workspace=local"]

    def cold(i: int) -> tuple[float, int]:
        # Empty caches, but the local server keeps running (its state lives in local-workspace/).
        for p in cache.iterdir():
            if p.name != "local-workspace":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        return timed(diff, hand, env=env)

    try:
        timed(diff, hand, env=env)  # untimed: starts the local server, as an earlier command would have
        for state in (cache / "local-workspace").glob("*.json"):
            if st := local.LocalServerState.load(state):
                SETTLE.append(ConnParams(port=st.port, user=local.ADMIN_USER, password=st.password))
        return [
            figure("diff-hand-local-cold", n, repeat(cold)),
            figure("diff-hand-local", n, repeat(lambda i: timed(diff, hand, env=env))),
        ]
    finally:
        del SETTLE[1:]
        stop_local_servers(cache / "local-workspace")


def print_table(rows: list[dict[str, object]]) -> None:
    head = ("command", "tables", "median", "min", "max", "peak RSS", "Skeema", "ratio", "target")
    print("{:<20} {:>6} {:>8} {:>8} {:>8} {:>9} {:>7} {:>6} {:>9}".format(*head))
    for r in rows:
        ref, ratio, target = r["skeema_s"], r["ratio_vs_skeema"], r["target_ratio"]
        verdict = "" if target is None else f"<={target:.2f}x {'ok' if r['meets_target'] else 'MISS'}"
        print(
            f"{r['command']:<20} {r['tables']:>6} {r['median_s']:>7.3f}s {r['min_s']:>7.3f}s "
            f"{r['max_s']:>7.3f}s {r['peak_rss_mib']:>6.1f}MiB "
            + (f"{ref:>6.3f}s {ratio:>5.2f}x " if ref else f"{'-':>7} {'-':>6} ")
            + verdict
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=[*sorted(SKEEMA), "daemon"], help="run only these (repeatable)"
    )
    parser.add_argument(
        "--size", action="append", type=int, choices=SIZES, help="run only these table counts (repeatable)"
    )
    args = parser.parse_args()
    sizes = tuple(args.size or SIZES)
    only = set(args.only or [*SKEEMA, "daemon"])
    cli = only - {"daemon"}
    # Time an installed program, not the compiler: byte-compile once, as pip does
    # for a regular install (the editable dev install and PYTHONDONTWRITEBYTECODE don't).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "schemad")], check=True)
    # The server's datadir and every output live on plain disk under ~/.cache (or
    # $SCHEMAD_BENCH_DIR).  On these machines /work and /tmp create files 10-30x
    # slower than the rest of the same disk (something watches them), which
    # would time the watcher, not schemad.
    base = Path(os.environ.get("SCHEMAD_BENCH_DIR") or Path.home() / ".cache" / "schemad-bench")
    base.mkdir(parents=True, exist_ok=True)
    global SCHEMAD
    SCHEMAD = installed_cli(base)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    rows: list[dict[str, object]] = []
    daemon: dict[str, object] | None = None
    # The server's internal temp files (information_schema queries) too: mariadbd takes
    # $TMPDIR as its tmpdir, and files under /tmp have been seen to vanish mid-query here
    # ("Error on delete of '/tmp/#sql-temptable-...MAI'").
    tmp = work / "tmp"
    tmp.mkdir()
    os.environ["TMPDIR"] = str(tmp)
    srv = EmbeddedServer(base_dir=work)  # datadir on disk, like the reference runs
    try:
        srv.start()
        SETTLE.append(ConnParams(port=srv.port))
        if cli:
            for n in sizes:
                rows += [r for r in bench_size(srv, n, work, cli) if r["command"] in cli]
        if "daemon" in only:
            daemon = daemon_bench.run(srv.port, work, lambda schema: load_schema(srv, schema))
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    # Keep the part of an earlier results.json this run did not redo (CLI rows or daemon figures).
    path = HERE / "results.json"
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        earlier = {}
    results = {
        "machine": machine,
        "runs": RUNS,
        "datadir": "disk",
        "workdir": str(base),
        "results": rows if cli else earlier.get("results", []),
        "daemon": daemon if daemon is not None else earlier.get("daemon"),
    }
    path.write_text(json.dumps(results, indent=2) + "\n")
    if rows:
        print_table(rows)
    if daemon is not None:
        daemon_bench.print_table(daemon)
    print(f"wrote {HERE / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
