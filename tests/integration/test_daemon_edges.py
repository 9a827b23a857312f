"""Edges of a real `schemad serve` process (issue 9, points 5-7), over HTTP.

* An unreadable `.skeema` is its dir's error (file:line) in the diff, the
  environment and the file-error metric, at start as on a watcher event; the
  dir's push is refused, the other dir pushes, and fixing the file clears it.
* Odd requests get a JSON 4xx, never a 500: a deeply nested body, lint paths
  that can't exist, a non-UTF-8 Authorization header, lines over aiohttp's
  8190-byte limit; a binary config on SIGHUP keeps the running config.
* `?refresh=true` joins a running poll and is rate-limited (429 +
  Retry-After); an empty plan's push creates no job; `/v1/repos` shows the
  checkout's path to push tokens only.

Every answer is checked against openapi.yaml (`check_response`).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    READER_TOKEN,
    USERS,
    DaemonRepo,
    Response,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.integration.test_openapi import check_response, spec

pytestmark = pytest.mark.timeout(180)

ORDERS = """CREATE TABLE `orders` (
  `id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""

DIFF = "/v1/environments/{env}/diff"
PUSH = "/v1/environments/{env}/push"


def checked(r: Response, method: str, template: str) -> Response:
    """`r`, asserted to be documented for the operation (status, content type, JSON body)."""
    check_response(method, template, r.status, r.headers.get("Content-Type", ""), r.body)
    return r


def raw(d: RunningDaemon, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library would); the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    d.responses.append(body)
    return int(lines[0].split()[1]), headers, body


def log_records(d: RunningDaemon) -> list[dict[str, Any]]:
    return [json.loads(line) for line in d.log_path.read_text().splitlines()]


def stop_clean(d: RunningDaemon) -> None:
    if d.proc is not None and d.proc.poll() is None:
        assert d.stop() == 0
    assert_no_password(d)
    unexpected = [r for r in log_records(d) if "exc" in r or r["msg"].endswith("failed")]
    assert not unexpected, unexpected  # no traceback, no unhandled error anywhere


@pytest.fixture
def schemas(server: DBServer) -> Iterator[tuple[str, str]]:
    ensure_db_user(server)
    shop, other = f"edg_shop_{os.getpid()}", f"edg_other_{os.getpid()}"
    for name in (shop, other):
        sql(server, f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4;")
        sql(server, USERS, name)
    try:
        yield shop, other
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {shop}; DROP DATABASE IF EXISTS {other}")


# ///// point 5: an unreadable .skeema /////


def test_unreadable_skeema_is_its_dirs_error_at_start_and_on_change(
    schemas: tuple[str, str], server: DBServer, tmp_path: Path
) -> None:
    shop, other = schemas
    repo = DaemonRepo.create(tmp_path / "repo", server, shop, {"users.sql": USERS})
    (repo.root / other).mkdir()
    (repo.root / other / ".skeema").write_text(f"schema={other}\n")
    (repo.root / other / "users.sql").write_text(USERS)
    skeema = repo.dir / ".skeema"
    good = skeema.read_bytes()
    broken = b"schema=" + shop.encode() + b"\n\xff\n"  # the printf
    where = f"{skeema}:2: not valid UTF-8"

    d = RunningDaemon(repo, tmp_path / "run", poll_interval="1s").start()
    try:
        assert d.metric("schemad_repo_file_errors", repo="app") == 0
        # On a watcher event: the dir keeps its targets, blocked by the error.
        skeema.write_bytes(broken)
        d.wait_for(lambda: d.metric("schemad_repo_file_errors", repo="app") == 1, timeout=10)
        diff = checked(d.get("/v1/environments/test/diff"), "GET", DIFF).json()
        by_schema = {t["schema"]: t for t in diff["targets"]}
        assert where in by_schema[shop]["error"]
        assert by_schema[other]["error"] is None  # the other dir is untouched
        assert [e for e in diff["errors"] if where in e]
        env = checked(d.get("/v1/environments"), "GET", "/v1/environments").json()["environments"][0]
        assert env["status"] == "error" and any(where in e for e in env["errors"])

        # The broken dir's push is refused; the other dir's goes ahead.
        sql(server, "DROP TABLE users", other)
        plan = d.wait_for(lambda: (x := d.diff())["statement_count"] == 1 and x, timeout=10)
        r = checked(d.post("/v1/environments/test/push", {"plan_hash": plan["plan_hash"]}), "POST", PUSH)
        assert r.status == 422 and r.json()["error"]["code"] == "plan_blocked"
        assert where in r.json()["error"]["message"]
        mine = d.diff(schema=other)
        r = d.post("/v1/environments/test/push", {"plan_hash": mine["plan_hash"], "schemas": [other]})
        assert checked(r, "POST", PUSH).status == 202, r.text
        assert d.wait_job(r.json()["job"]["id"])["state"] == "succeeded"

        # Fixed: the error clears.
        skeema.write_bytes(good)
        d.wait_for(lambda: d.metric("schemad_repo_file_errors", repo="app") == 0, timeout=10)
        d.wait_for(lambda: all(t["error"] is None for t in d.diff()["targets"]), timeout=10)
        assert d.diff()["errors"] == []
        assert d.get("/v1/environments").json()["environments"][0]["status"] == "ok"
    finally:
        stop_clean(d)

    # At start: no targets known for the dir, so the error is the environment's; the other dir works.
    skeema.write_bytes(broken)
    d = RunningDaemon(repo, tmp_path / "run2", poll_interval="1s").start()
    try:
        assert d.metric("schemad_repo_file_errors", repo="app") == 1
        diff = checked(d.get("/v1/environments/test/diff"), "GET", DIFF).json()
        assert [t["schema"] for t in diff["targets"]] == [other]
        assert diff["targets"][0]["error"] is None
        assert len(diff["errors"]) == 1 and where in diff["errors"][0]
        env = d.get("/v1/environments").json()["environments"][0]
        assert env["status"] == "error" and where in env["errors"][0]
        r = checked(d.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]}), "POST", PUSH)
        assert r.status == 422 and r.json()["error"]["code"] == "plan_blocked" and where in r.text

        skeema.write_bytes(good)
        d.wait_for(lambda: sorted(t["schema"] for t in d.diff()["targets"]) == sorted([shop, other]))
        d.wait_for(lambda: d.metric("schemad_repo_file_errors", repo="app") == 0, timeout=10)
        assert all(t["error"] is None for t in d.diff()["targets"])
        assert d.get("/v1/environments").json()["environments"][0]["errors"] == []
    finally:
        stop_clean(d)


# ///// point 6: odd requests get a JSON 4xx /////


@pytest.fixture
def daemon(schemas: tuple[str, str], server: DBServer, tmp_path: Path) -> Iterator[RunningDaemon]:
    shop, _ = schemas
    repo = DaemonRepo.create(tmp_path / "repo", server, shop, {"users.sql": USERS})
    d = RunningDaemon(repo, tmp_path / "run", refresh_min_interval="30s", poll_interval="1h").start()
    try:
        yield d
    finally:
        stop_clean(d)


def test_odd_requests_get_json_4xx_never_500(daemon: RunningDaemon) -> None:
    d = daemon
    deep = b'{"plan_hash": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for path, template in (("/v1/environments/test/push", PUSH), ("/v1/lint", "/v1/lint")):
        status, headers, body = raw(
            d,
            f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(deep)}\r\n\r\n".encode()
            + deep,
        )
        check_response("POST", template, status, headers["content-type"], body)
        assert status == 400 and json.loads(body)["error"]["message"] == "the body is nested too deeply"

    sql_ok = "CREATE TABLE t (id int PRIMARY KEY);"
    for file in (f"{d.repo.schema}\x00/a.sql", "x" * 300 + "/a.sql", f"{d.repo.schema}/{'y' * 300}/a.sql"):
        r = checked(d.post("/v1/lint", {"file": file, "sql": sql_ok}), "POST", "/v1/lint")
        assert r.status == 200 and r.json()["file"] == file

    # lint's repo (and environment): null is the default, as if left out; "" is a 400.
    r = checked(d.post("/v1/lint", {"file": "a.sql", "sql": sql_ok, "repo": None}), "POST", "/v1/lint")
    assert r.status == 200
    for name in ("repo", "environment"):
        r = checked(d.post("/v1/lint", {"file": "a.sql", "sql": sql_ok, name: ""}), "POST", "/v1/lint")
        assert r.status == 400 and "must not be empty" in r.json()["error"]["message"]

    # An Authorization header that is not UTF-8: 401, as any token the daemon doesn't know.
    latin1 = b"Authorization: Bearer \xff\xfe\xfd\r\n"
    status, headers, body = raw(
        d, b"GET /v1/environments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + latin1 + b"\r\n"
    )
    check_response("GET", "/v1/environments", status, headers["content-type"], body)
    assert status == 401 and "Bearer" in headers["www-authenticate"]

    # Over aiohttp's 8190-byte limits (request line, one header): the documented JSON error, not text/plain.
    too_long = [
        f"GET /v1/environments?x={'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /v1/environments HTTP/1.1\r\nHost: x\r\nX-Long: {'a' * 9000}\r\n\r\n".encode(),
        f"GET /v1/environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {'a' * 9000}\r\n\r\n".encode(),
    ]
    for request in too_long:
        status, headers, body = raw(d, request)  # any path: the spec's "Errors" says so, not each operation
        assert headers["content-type"].startswith("application/json")
        jsonschema.validate(json.loads(body), spec()["components"]["schemas"]["Error"])
        error = json.loads(body)["error"]
        assert status == 400 and error["code"] == "bad_request" and "8190" in error["message"]
        assert b"aaaa" not in body  # never the rejected bytes (they may be a token)
    assert not any("aaaa" in r["msg"] for r in log_records(d))

    # A binary config on SIGHUP: a config error in the log, and the running config stays.
    toml = d.workdir / "schemad.toml"
    text = toml.read_bytes()
    toml.write_bytes(b"\x00\xff\xfe binary \x89PNG\r\n")
    assert d.proc is not None
    d.proc.send_signal(signal.SIGHUP)
    d.wait_for(lambda: any("configuration not reloaded" in r["msg"] for r in log_records(d)))
    (record,) = [r for r in log_records(d) if "configuration not reloaded" in r["msg"]]
    assert record["level"] == "error" and "not valid UTF-8" in record["msg"] and "exc" not in record
    toml.write_bytes(text)
    r = checked(d.get("/v1/repos", token=READER_TOKEN), "GET", "/v1/repos")
    assert [x["name"] for x in r.json()["repos"]] == ["app"]


# ///// point 7: refresh limits, empty pushes, repo paths /////


def test_refreshes_coalesce_and_are_rate_limited(daemon: RunningDaemon) -> None:
    d = daemon

    def polls() -> float:
        return d.metric("schemad_poll_duration_seconds_count", repo="app", environment="test") or 0

    before = polls()
    url = "/v1/environments/test/diff?refresh=true"
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: d.get(url, token=READER_TOKEN), range(40)))
    for r in answers:
        checked(r, "GET", DIFF)
    statuses = {r.status for r in answers}
    assert 200 in statuses and statuses <= {200, 429}, statuses
    assert polls() == before + 1  # forty refreshes by a read token: one poll

    r = checked(d.get(url, token=READER_TOKEN), "GET", DIFF)
    assert r.status == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert polls() == before + 1
    # Without refresh the diff is served as known; the long form is the same environment.
    assert checked(d.get("/v1/environments/test/diff", token=READER_TOKEN), "GET", DIFF).status == 200
    r = d.get("/v1/repos/app/environments/test/diff?refresh=1", token=READER_TOKEN)
    assert checked(r, "GET", "/v1/repos/{repo}/environments/{env}/diff").status == 429


def test_an_empty_plan_pushes_nothing_and_repo_paths_are_for_pushers(daemon: RunningDaemon) -> None:
    d = daemon
    plan = d.diff()
    assert plan["statement_count"] == 0
    for body in ({"plan_hash": plan["plan_hash"]}, {"plan_hash": plan["plan_hash"], "dry_run": True}):
        r = checked(d.post("/v1/environments/test/push", body), "POST", PUSH)
        assert r.status == 200, r.text
        assert r.json() == {
            "dry_run": body.get("dry_run", False),
            "plan_hash": plan["plan_hash"],
            "statements": 0,
            "message": "nothing to do: the live schemas match the repo",
        }
    assert d.get("/v1/jobs").json()["jobs"] == []
    assert d.get("/v1/audit").json()["entries"] == []
    jobs_dir = d.state_dir / "jobs"
    assert not jobs_dir.exists() or not any(jobs_dir.iterdir())

    r = checked(d.get("/v1/repos", token=READER_TOKEN), "GET", "/v1/repos")
    assert [(x["name"], x["path"]) for x in r.json()["repos"]] == [("app", None)]
    assert str(d.repo.root) not in r.text
    r = checked(d.get("/v1/repos", token=ADMIN_TOKEN), "GET", "/v1/repos")
    assert [(x["name"], x["path"]) for x in r.json()["repos"]] == [("app", str(d.repo.root.resolve()))]
