#!/usr/bin/env python3
"""schemad benchmarks: whole-process timings of CLI commands on the shared schema.

Starts a private MariaDB (datadir on disk, like the Skeema reference runs),
loads `gen_schema.py sql -n N --seed 1`, then times each command as a child
process: median of 5 runs, with the child's peak RSS (from wait4).  Writes
bench/results.json and prints a table next to Skeema 1.14.1's figures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from schemad.embedded import EmbeddedServer  # noqa: E402
from schemad.introspect.connopts import ConnParams  # noqa: E402
from tests.helpers import load_sql  # noqa: E402

logging.getLogger("asyncmy").setLevel(logging.ERROR)  # "Can't drop database" notes
RUNS = 5
SIZES = (100, 1000)
# Skeema 1.14.1, same machine size, datadir on disk (../shared/bench/README.md).
SKEEMA_INIT = {100: 0.042, 1000: 0.276}
TARGET_RATIO = 1.5
SCHEMAD = [sys.executable, "-m", "schemad"]


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr}")
    return elapsed, usage.ru_maxrss


def generate(n: int, schema: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "gen_schema.py"),
            "sql",
            "-n",
            str(n),
            "--seed",
            "1",
            "--schema",
            schema,
            "--create-db",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def bench_init(srv: EmbeddedServer, n: int, work: Path) -> dict[str, float | int]:
    schema = f"bench{n}"
    asyncio.run(load_sql(ConnParams(port=srv.port), None, generate(n, schema)))
    times, rss = [], []
    for i in range(RUNS):
        target = work / f"init{n}-{i}"
        t, r = timed(
            [
                *SCHEMAD,
                "init",
                "-h",
                "127.0.0.1",
                "-P",
                str(srv.port),
                "--dir",
                str(target),
                f"--ignore-schema=^(?!{schema}$)",
            ],
            work,
        )
        files = len(list((target / schema).glob("*.sql")))
        if files != n:
            raise SystemExit(f"init wrote {files} files, expected {n}")
        times.append(t)
        rss.append(r)
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "peak_rss_mib": round(max(rss) / 1024, 1),
    }


def print_table(rows: list[dict[str, object]]) -> None:
    head = ("command", "tables", "median", "min", "max", "peak RSS", "Skeema", "ratio")
    print("{:<8} {:>6} {:>8} {:>8} {:>8} {:>9} {:>7} {:>6}".format(*head))
    for r in rows:
        print(
            f"{r['command']:<8} {r['tables']:>6} {r['median_s']:>7.3f}s {r['min_s']:>7.3f}s "
            f"{r['max_s']:>7.3f}s {r['peak_rss_mib']:>6.1f}MiB "
            f"{r['skeema_s']:>6.3f}s {r['ratio_vs_skeema']:>5.2f}x"
        )


def main() -> int:
    # Outputs go under bench/work, not /tmp: some machines' /tmp is several times
    # slower at creating files, which would measure the disk, not schemad.
    (HERE / "work").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=HERE / "work"))
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    rows: list[dict[str, object]] = []
    srv = EmbeddedServer(base_dir=work)  # datadir on disk, like the reference runs
    try:
        srv.start()
        for n in SIZES:
            fig: dict[str, object] = {"command": "init", "tables": n, **bench_init(srv, n, work)}
            fig["skeema_s"] = SKEEMA_INIT[n]
            fig["ratio_vs_skeema"] = round(float(fig["median_s"]) / SKEEMA_INIT[n], 2)  # type: ignore[arg-type]
            rows.append(fig)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    results = {"machine": machine, "runs": RUNS, "datadir": "disk", "results": rows}
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(rows)
    print(f"target: init at 1,000 tables <= {TARGET_RATIO}x Skeema = {TARGET_RATIO * SKEEMA_INIT[1000]:.3f}s")
    print(f"wrote {HERE / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
