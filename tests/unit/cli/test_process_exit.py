"""A `schemad` process ends without the interpreter's teardown, but with everything that teardown must do.

main() with no argv (the console script, `python -m schemad`) exits through
os._exit after joining non-daemon threads, running atexit handlers and
flushing the standard streams.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from schemad.cli.main import USAGE

ROOT = Path(__file__).resolve().parents[3]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_output_and_status_reach_the_caller(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with out.open("w") as f:
        done = subprocess.run([sys.executable, "-m", "schemad", "help"], cwd=ROOT, stdout=f, check=False)
    assert done.returncode == 0
    assert out.read_text() == USAGE  # written through a buffered stdout: flushed before the exit
    p = subprocess.run(
        [sys.executable, "-m", "schemad", "no-such-command"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 78 and "unknown command 'no-such-command'" in p.stderr


def test_threads_are_joined_and_atexit_handlers_run(tmp_path: Path) -> None:
    p = _run(f"""
        import atexit, sys, threading, time
        from pathlib import Path
        from schemad.cli.main import main

        def late() -> None:
            time.sleep(0.3)
            Path({str(tmp_path / "thread")!r}).write_text("joined")

        threading.Thread(target=late).start()
        atexit.register(lambda: Path({str(tmp_path / "atexit")!r}).write_text("ran"))
        sys.argv = ["schemad", "version"]
        main()
        print("not reached")
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("schemad ") and "not reached" not in p.stdout
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_in_process_calls_return() -> None:
    p = _run("""
        from schemad.cli.main import main
        print("returned", main(["version"]))
    """)
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "returned 0"


@pytest.mark.parametrize("command", ["help", "version"])
def test_a_closed_stdout_ends_the_process_quietly(command: str) -> None:
    # `schemad diff | head`: the reader is gone, at a write or at the last flush.
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "schemad", command],
            cwd=ROOT,
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(w)
    assert (p.returncode, p.stderr) == (141, "")  # a shell's status for a program SIGPIPE ended
