"""What `make run` starts: `schemad serve --embedded`, and the three curl commands it prints work."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon_proc import free_port

pytestmark = pytest.mark.timeout(120)


def http(method: str, url: str, token: str | None, body: Any = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_embedded_daemon_prints_working_curl_commands(tmp_path: Path) -> None:
    port = free_port()
    err = tmp_path / "stderr"
    with err.open("wb") as f:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "schemad",
                "serve",
                "--embedded",
                "--listen",
                f"127.0.0.1:{port}",
                "--state-dir",
                str(tmp_path / "state"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=f,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, err.read_text()
            try:
                if http("GET", url + "/readyz", None)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        text = err.read_text()
        token = re.search(r"token \(every scope\): (\S+)", text)
        assert token is not None, text
        commands = [line.strip() for line in text.splitlines() if line.strip().startswith(("curl", "HASH="))]
        assert len([c for c in commands if "curl" in c]) == 4  # diff, hash for the push, push, metrics
        assert f"{url}/v1/environments/embedded/diff?format=sql" in commands[0]

        # 1. the diff: the demo's hand-dropped index comes back
        status, body = http("GET", url + "/v1/environments/embedded/diff?format=sql", token.group(1))
        assert status == 200 and b"ALTER TABLE `products` ADD FULLTEXT KEY `ft_title` (`title`);" in body
        # 2. the push of that plan
        status, body = http("GET", url + "/v1/environments/embedded/diff", token.group(1))
        plan = json.loads(body)["plan_hash"]
        status, body = http(
            "POST", url + "/v1/environments/embedded/push", token.group(1), {"plan_hash": plan}
        )
        assert status == 202, body
        job = json.loads(body)["job"]["id"]
        for _ in range(100):
            state = json.loads(http("GET", f"{url}/v1/jobs/{job}", token.group(1))[1])["job"]["state"]
            if state not in ("queued", "running"):
                break
            time.sleep(0.1)
        assert state == "succeeded"
        # 3. the metrics: no drift left once the push is polled (read as Prometheus reads them)
        shop = {"environment": "embedded", "repo": "example", "schema": "shop"}
        for _ in range(100):
            drift = _samples(http("GET", url + "/metrics", None)[1].decode(), "schemad_drift", shop)
            if drift == [0.0]:
                break
            time.sleep(0.1)
        assert drift == [0.0]
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def _samples(text: str, name: str, labels: dict[str, str]) -> list[float]:
    """The values of the samples `name` with exactly these labels, in whatever order they are written."""
    return [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and s.labels == labels
    ]
