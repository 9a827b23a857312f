"""config/alerts.yml: promtool accepts the rules and their unit tests pass.

promtool is required, never skipped for: `make setup` installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from schemad.service.metrics import Metrics

CONFIG = Path(__file__).parents[2] / "config"
RULES = CONFIG / "alerts.yml"
RULE_TESTS = CONFIG / "alerts_test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool not found on PATH: run make setup")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False)


def test_promtool_check_rules() -> None:
    proc = promtool("check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_promtool_test_rules() -> None:
    proc = promtool("test", "rules", str(RULE_TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_rules_read_only_series_the_daemon_exports() -> None:
    m = Metrics()
    m.record_poll("main", "prod", 0.1, True, 1.0)
    m.set_poll_interval("main", "prod", 60)
    m.set_drift("main", "prod", "app", {"table": 1})
    m.set_drift_unknown("main", "prod", "broken")
    m.set_repo_file_errors("main", 1)
    m.set_listen_certificate("0.0.0.0:7443", 1.0)
    exported = {line.split("{")[0].split(" ")[0] for line in m.render()[0].decode().splitlines()}
    used = set(re.findall(r"\bschemad_[a-z_]+\b", RULES.read_text()))
    assert used, "no schemad series in the rules"
    assert used <= exported, sorted(used - exported)
