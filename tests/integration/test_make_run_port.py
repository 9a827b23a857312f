"""`make run PORT=…` / `make run LISTEN=…`: where the embedded daemon listens, from the Makefile.

The real recipe runs once (setup skipped with `-o setup`: the suite runs after
it), from a scratch directory so its `./.state` is not the checkout's, and the
daemon answers on the port given; the address forms are checked on the
commands make would run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.daemon_proc import free_port

pytestmark = pytest.mark.timeout(120)

CHECKOUT = Path(__file__).resolve().parents[2]
MAKE = ["make", "--no-print-directory", "-f", str(CHECKOUT / "Makefile"), "-o", "setup"]
VENV = f"VENV={CHECKOUT / '.venv'}"


def _serve_line(*assignments: str) -> str:
    out = subprocess.run(
        [*MAKE, "-n", "run", VENV, *assignments], capture_output=True, text=True, check=True, cwd=CHECKOUT
    ).stdout
    (line,) = [x for x in out.splitlines() if " serve " in x]
    return line


def test_listen_address_from_make_variables() -> None:
    assert _serve_line().endswith("/schemad serve --embedded --listen 127.0.0.1:8080")
    assert _serve_line("PORT=9091").endswith("--listen 127.0.0.1:9091")
    assert _serve_line("LISTEN=0.0.0.0:9092").endswith("--listen 0.0.0.0:9092")
    assert _serve_line("LISTEN=127.0.0.2:9093", "PORT=1").endswith("--listen 127.0.0.2:9093")


def test_make_run_serves_on_port(tmp_path: Path) -> None:
    port = free_port()
    err = tmp_path / "stderr"
    with err.open("wb") as f:
        proc = subprocess.Popen(
            [*MAKE, "run", VENV, f"PORT={port}"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=f,
            start_new_session=True,  # make and the daemon in one group of their own, stopped together
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, err.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        assert f"http://127.0.0.1:{port}/v1/environments/embedded/diff" in err.read_text()
        assert (tmp_path / ".state").is_dir()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
