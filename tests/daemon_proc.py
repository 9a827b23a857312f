"""A real `schemad serve` process for the daemon's acceptance tests.

`DaemonRepo` writes a Skeema repo (one schema dir) pointing at the test
server as a database user WITH a password (taken from an environment
variable, as a production .skeema would); `RunningDaemon` starts the daemon
on its own port with a TOML config (two tokens: `admin` with every scope,
`reader` with `read`), waits for /readyz, and talks HTTP to it (or HTTPS
with `tls=TlsListen(...)`: a second address, verified against its CA).
Everything the daemon logs goes to one file, which the password-leak test reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import DBServer
from tests.helpers import load_sql

ADMIN_TOKEN = "admin-" + secrets.token_hex(16)
READER_TOKEN = "reader-" + secrets.token_hex(16)
# A token that may approve cut-overs of `test` and read, nothing else: `RunningDaemon(extra_toml=APPROVER)`.
APPROVER_TOKEN = "approver-" + secrets.token_hex(16)
DB_USER = "schemad_daemon"
# Distinctive, so a leak is unmistakable in any text the suite collects.
DB_PASSWORD = "pw-" + secrets.token_hex(12) + "-Secret"
PASSWORD_ENV = "SCHEMAD_TEST_DB_PASSWORD"

# A table most daemon tests start from, in the server's canonical form.
USERS = """CREATE TABLE `users` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `email` varchar(200) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


APPROVER = f"""
[[tokens]]
name = "approver"
sha256 = "{sha(APPROVER_TOKEN)}"
scopes = ["read", "cutover:test"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_db_user(server: DBServer) -> None:
    asyncio.run(
        load_sql(
            server.params,
            None,
            f"""
            CREATE USER IF NOT EXISTS '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}';
            CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';
            ALTER USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}';
            ALTER USER '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';
            GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'%' WITH GRANT OPTION;
            GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'localhost' WITH GRANT OPTION;
            """,
        )
    )


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


@dataclass
class DaemonRepo:
    root: Path
    schema: str
    environment: str = "test"

    @property
    def dir(self) -> Path:
        return self.root / self.schema

    @classmethod
    def create(
        cls, root: Path, server: DBServer, schema: str, files: dict[str, str], *, extra_options: str = ""
    ) -> DaemonRepo:
        root.mkdir(parents=True, exist_ok=True)
        p = server.params
        (root / ".skeema").write_text(
            f"[test]\nhost={p.host}\nport={p.port}\nuser={DB_USER}\npassword=${PASSWORD_ENV}\n{extra_options}"
        )
        d = root / schema
        d.mkdir()
        (d / ".skeema").write_text(f"schema={schema}\n")
        for name, text in files.items():
            (d / name).write_text(text)
        return cls(root, schema)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass(frozen=True)
class TlsListen:
    """An HTTPS address of the daemon, beside its plain one."""

    cert: Path
    key: Path
    ca: Path  # what the suite's clients verify the daemon's certificate against
    port: int = field(default_factory=free_port)

    def toml(self) -> str:
        return f'{{address = "127.0.0.1:{self.port}", tls_cert = "{self.cert}", tls_key = "{self.key}"}}'


@dataclass
class RunningDaemon:
    repo: DaemonRepo
    workdir: Path
    poll_interval: str = "1s"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_toml: str = ""
    unix_socket: Path | None = None  # also listen here
    tls: TlsListen | None = None  # also listen with HTTPS
    args: tuple[str, ...] = ()  # extra `schemad serve` arguments
    repo_toml: str = ""  # extra keys of the [[repos]] table
    refresh_min_interval: str = "0s"  # tests refresh back to back; the limit has its own test
    shutdown_grace: str = "5s"  # how long a SIGTERM waits for running statements
    responses: list[bytes] = field(default_factory=list)  # every body received, for the leak scan

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_url(self) -> str:
        assert self.tls is not None
        return f"https://127.0.0.1:{self.tls.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "daemon.log"

    @property
    def stdout_path(self) -> Path:
        return self.workdir / "daemon.stdout"

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    def write_config(self) -> Path:
        env = self.repo.environment
        toml = self.workdir / "schemad.toml"
        listen = [f'"127.0.0.1:{self.port}"']
        listen += [self.tls.toml()] if self.tls else []
        listen += [f'"unix:{self.unix_socket}"'] if self.unix_socket else []
        toml.write_text(
            f"""
listen = [{", ".join(listen)}]
state_dir = "state"
log_format = "json"
shutdown_grace = "{self.shutdown_grace}"
refresh_min_interval = "{self.refresh_min_interval}"
{self.extra_toml}

[[repos]]
name = "app"
path = "{self.repo.root}"
environments = ["{env}"]
poll = {{ interval = "{self.poll_interval}" }}
{self.repo_toml}

[[tokens]]
name = "admin"
sha256 = "{sha(ADMIN_TOKEN)}"
scopes = ["read", "lint", "push:{env}"]

[[tokens]]
name = "reader"
sha256 = "{sha(READER_TOKEN)}"
scopes = ["read"]
"""
        )
        return toml

    def start(self, *, wait: bool = True) -> RunningDaemon:
        self.workdir.mkdir(parents=True, exist_ok=True)
        toml = self.write_config()
        env = {**os.environ, PASSWORD_ENV: DB_PASSWORD, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log, self.stdout_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "schemad", "serve", "--config", str(toml), *self.args],
                stdout=out,
                stderr=log,
                env=env,
                cwd=self.workdir,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited with {self.proc.returncode}:\n{self.log_path.read_text()}"
                )
            try:
                if self.request("GET", "/readyz", token=None).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"daemon not ready after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = ADMIN_TOKEN,
        timeout: float = 30,
        https: bool = False,  # to the TLS address, verifying its certificate
    ) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request((self.https_url if https else self.url) + path, data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            context = ssl.create_default_context(cafile=str(self.tls.ca)) if https and self.tls else None
            with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
                resp = Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            resp = Response(e.code, dict(e.headers), e.read())
        self.responses.append(resp.body)
        return resp

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def diff(self, **params: str) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        r = self.get(f"/v1/environments/{self.repo.environment}/diff" + (f"?{query}" if query else ""))
        assert r.status == 200, r.text
        doc: dict[str, Any] = r.json()
        return doc

    def metric(self, name: str, **labels: str) -> float | None:
        text = self.get("/metrics", token=None).text
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            metric_name, _, label_text = series.partition("{")
            if metric_name != name:
                continue
            got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
            if got == want:
                return float(value)
        return None

    def wait_for(self, predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            job: dict[str, Any] = self.get(f"/v1/jobs/{job_id}").json()["job"]
            return job if job["state"] not in ("queued", "running", "pending_cutover") else None

        result: dict[str, Any] = self.wait_for(done, timeout)
        return result


def assert_nowhere(d: RunningDaemon, **secrets: str) -> None:
    """None of `secrets` (what=value) is in the daemon's log, stdout, responses or state files."""
    texts = {"log": d.log_path.read_bytes(), "stdout": d.stdout_path.read_bytes()}
    texts["responses"] = b"\n".join(d.responses)
    for f in d.state_dir.rglob("*"):
        if f.is_file():
            texts[str(f)] = f.read_bytes()
    for where, data in texts.items():
        for what, value in secrets.items():
            assert value.encode() not in data, f"{what} found in {where}"


def assert_no_password(d: RunningDaemon) -> None:
    """The password never reaches a log line, stdout, a job, the audit log, a metric or a response."""
    assert_nowhere(d, password=DB_PASSWORD)
