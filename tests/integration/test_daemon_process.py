"""The daemon's acceptance list, against a real `schemad serve` process and the real test server.

Edit a file -> the diff shows it within 2 s, only that statement re-run in
the workspace; hand DDL -> drift 1 -> push via the API with the plan hash ->
drift 0; stale hash 409, missing scope 403, concurrent pushes one 409; a
stopped database makes polls fail (counted, diff served stale) and the
daemon recovers by itself.  The database user has a password, which must
never appear in anything the daemon said.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DBServer
from tests.daemon_proc import (
    READER_TOKEN,
    USERS,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)

pytestmark = pytest.mark.timeout(180)

ORDERS = """CREATE TABLE `orders` (
  `id` bigint(20) NOT NULL,
  `user_id` int(10) unsigned DEFAULT NULL,
  `note` varchar(100) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""


@pytest.fixture
def daemon(server: DBServer, tmp_path: Path) -> Iterator[RunningDaemon]:
    ensure_db_user(server)
    schema = f"dmn_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, USERS + ORDERS, schema)
    repo = DaemonRepo.create(tmp_path / "repo", server, schema, {"users.sql": USERS, "orders.sql": ORDERS})
    d = RunningDaemon(
        repo, tmp_path / "run", unix_socket=tmp_path / "api.sock", args=("--audit-stdout",)
    ).start()
    try:
        yield d
    finally:
        code = d.stop() if d.proc is not None and d.proc.poll() is None else None
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
        assert_no_password(d)
        assert_json_log(d)
    assert code == 0  # SIGTERM: a clean stop


def assert_json_log(d: RunningDaemon) -> None:
    """log_format = "json": every line the daemon wrote is one JSON object."""
    lines = d.log_path.read_text().splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert {"ts", "level", "logger", "msg"} <= record.keys(), line


def statements(diff: dict[str, object]) -> list[str]:
    return [s["sql"] for t in diff["targets"] for s in t["statements"]]  # type: ignore[attr-defined, index]


def test_file_edit_shows_in_the_diff_within_2s_and_reruns_only_that_file(daemon: RunningDaemon) -> None:
    assert statements(daemon.diff()) == []
    ran_before = daemon.metric("schemad_workspace_statements_total")
    assert ran_before is not None
    (daemon.repo.dir / "orders.sql").write_text(
        ORDERS.replace("  KEY `user_id`", "  KEY `note` (`note`),\n  KEY `user_id`")
    )
    start = time.monotonic()
    daemon.wait_for(lambda: statements(daemon.diff()), timeout=2.0, interval=0.02)
    assert time.monotonic() - start < 2.0
    assert statements(daemon.diff()) == ["ALTER TABLE `orders` ADD KEY `note` (`note`)"]
    assert daemon.metric("schemad_workspace_statements_total") == ran_before + 1

    # The object side by side: the file's statement, what the server makes of it, the live table.
    obj = daemon.get(f"/v1/environments/test/schemas/{daemon.repo.schema}/objects/orders").json()
    assert obj["differs"] is True
    assert obj["repo"]["file"].endswith("orders.sql") and obj["repo"]["line"] == 1
    assert "KEY `note` (`note`)" in obj["repo"]["canonical"]
    assert "KEY `note`" not in obj["live"]["canonical"]
    r = daemon.get(f"/v1/environments/test/schemas/{daemon.repo.schema}/objects/nope")
    assert r.status == 404


def test_hand_ddl_is_drift_and_a_push_with_the_plan_hash_repairs_it(
    daemon: RunningDaemon, server: DBServer
) -> None:
    schema = daemon.repo.schema
    labels = {"repo": "app", "environment": "test", "schema": schema}
    assert daemon.metric("schemad_drift", **labels) == 0
    sql(server, "ALTER TABLE orders ADD COLUMN hand int, COMMENT 'changed by hand'", schema)
    daemon.wait_for(lambda: daemon.metric("schemad_drift", **labels) == 1, timeout=10)
    diff = daemon.diff()
    assert statements(diff) == ["ALTER TABLE `orders` DROP COLUMN `hand`, COMMENT ''"]
    assert diff["unsafe_count"] == 1

    # The reviewed plan is the only plan that can run: unsafe needs allow_unsafe.
    r = daemon.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
    assert r.status == 422 and r.json()["error"]["code"] == "unsafe_statements"
    r = daemon.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"], "allow_unsafe": True})
    assert r.status == 202, r.text
    job = daemon.wait_job(r.json()["job"]["id"])
    assert job["state"] == "succeeded"
    assert [(s["status"], s["sql"]) for s in job["statements"]] == [
        ("done", "ALTER TABLE `orders` DROP COLUMN `hand`, COMMENT ''")
    ]
    daemon.wait_for(lambda: daemon.metric("schemad_drift", **labels) == 0, timeout=10)
    assert statements(daemon.diff()) == []
    assert daemon.metric("schemad_push_jobs_total", repo="app", environment="test", result="succeeded") == 1

    audit = daemon.get("/v1/audit", token=READER_TOKEN).json()["entries"]
    assert [(a["who"], a["result"], a["plan_hash"]) for a in audit] == [
        ("admin", "succeeded", diff["plan_hash"])
    ]
    # --audit-stdout: the record when the push started, and again when it ended.
    streamed = [json.loads(line) for line in daemon.stdout_path.read_text().splitlines()]
    assert [(a["result"], a["job_id"], a["who"]) for a in streamed] == [
        ("running", job["id"], "admin"),
        ("succeeded", job["id"], "admin"),
    ]
    log = daemon.get(f"/v1/jobs/{job['id']}/log", token=READER_TOKEN)
    assert log.status == 200 and "DROP COLUMN `hand`" in log.text and "succeeded" in log.text


def test_stale_hash_missing_scope_and_concurrent_pushes(daemon: RunningDaemon, server: DBServer) -> None:
    schema = daemon.repo.schema
    sql(server, "ALTER TABLE users ADD KEY by_hand (email)", schema)
    diff = daemon.diff(refresh="true")
    assert statements(diff) == ["ALTER TABLE `users` DROP KEY `by_hand`"]

    r = daemon.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]}, token=READER_TOKEN)
    assert r.status == 403 and r.json()["error"]["code"] == "forbidden"
    r = daemon.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]}, token=None)
    assert r.status == 401

    sql(server, "ALTER TABLE users ADD KEY by_hand2 (email)", schema)  # the plan moved under the reviewer
    r = daemon.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
    assert r.status == 409 and r.json()["error"]["code"] == "plan_changed"
    assert daemon.get("/v1/jobs").json()["jobs"] == []  # nothing executed

    current = daemon.diff(refresh="true")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda _: daemon.post("/v1/environments/test/push", {"plan_hash": current["plan_hash"]}),
                range(4),
            )
        )
    codes = sorted(r.status for r in results)
    assert codes.count(202) == 1, [r.text for r in results]
    assert all(
        r.json()["error"]["code"] in ("push_running", "plan_changed") for r in results if r.status == 409
    )
    assert codes.count(409) == 3
    job_id = next(r.json()["job"]["id"] for r in results if r.status == 202)
    assert daemon.wait_job(job_id)["state"] == "succeeded"


def test_bad_requests_get_json_4xx(daemon: RunningDaemon) -> None:
    r = daemon.post("/v1/environments/test/push", {"allow_unsafe": True})
    assert r.status == 400 and "plan_hash" in r.json()["error"]["message"]
    r = daemon.post("/v1/environments/test/push", {"plan_hash": 42})
    assert r.status == 400 and "plan_hash" in r.json()["error"]["message"]
    r = daemon.get("/v1/environments/nope/diff")
    assert r.status == 404 and r.json()["error"]["code"] == "not_found"
    r = daemon.get("/v1/jobs/nope")
    assert r.status == 404
    r = daemon.get("/v1/environments/test/diff?format=xml")
    assert r.status == 400 and "format" in r.json()["error"]["message"]


def test_broken_file_is_reported_with_file_and_line_and_other_files_keep_working(
    daemon: RunningDaemon,
) -> None:
    (daemon.repo.dir / "broken.sql").write_text(
        "CREATE TABLE x (\n  id int,\n  name varchar(10) DEFAULT 'oops\n"
    )
    daemon.wait_for(lambda: daemon.metric("schemad_repo_file_errors", repo="app") == 1, timeout=5)
    target = daemon.diff()["targets"][0]
    assert "broken.sql:3" in target["error"]
    (daemon.repo.dir / "broken.sql").unlink()
    daemon.wait_for(lambda: daemon.metric("schemad_repo_file_errors", repo="app") == 0, timeout=5)
    assert daemon.diff()["targets"][0]["error"] is None


def test_listens_on_tcp_and_unix_socket(daemon: RunningDaemon) -> None:
    import socket

    assert daemon.unix_socket is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(daemon.unix_socket))
        s.sendall(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.0 200") and data.endswith(b'{"status": "ok"}')


def test_sighup_adds_a_repo_without_dropping_the_running_one(
    daemon: RunningDaemon, server: DBServer, tmp_path: Path
) -> None:
    import signal

    other = f"dmn2_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {other}; CREATE DATABASE {other} CHARACTER SET utf8mb4;")
    try:
        repo2 = DaemonRepo.create(tmp_path / "repo2", server, other, {"users.sql": USERS})
        daemon.extra_toml = f'[[repos]]\nname = "second"\npath = "{repo2.root}"\nenvironments = ["test"]\n'
        daemon.write_config()
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGHUP)

        def both() -> list[str]:
            envs = daemon.get("/v1/environments").json()["environments"]
            return sorted(e["name"] for e in envs if e["status"] != "pending")

        assert daemon.wait_for(lambda: both() == ["app/test", "second/test"], timeout=15)
        # The environment is now in two repos: the short path is ambiguous, the long ones work.
        assert daemon.get("/v1/environments/test/diff").status == 404
        second = daemon.get("/v1/repos/second/environments/test/diff").json()
        assert statements(second) == [USERS.rstrip().rstrip(";")]
        assert daemon.get("/v1/repos/app/environments/test/diff").json()["targets"][0]["error"] is None
        # Both are polled; their metrics keep the labels repo + environment (no rename).
        for name in ("app", "second"):
            daemon.wait_for(
                lambda n=name: daemon.metric(
                    "schemad_poll_duration_seconds_count", repo=n, environment="test"
                )
            )
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {other}")


def test_diff_carries_lint_findings_and_lint_errors_block_the_push(daemon: RunningDaemon) -> None:
    (daemon.repo.dir / "events.sql").write_text("-- no key\nCREATE TABLE events (\n  msg varchar(20)\n);\n")
    diff = daemon.wait_for(lambda: (d := daemon.diff())["statement_count"] == 1 and d, timeout=5)
    (finding,) = diff["targets"][0]["lint"]
    assert (finding["rule"], finding["severity"]) == ("pk", "warning")
    assert finding["file"] == f"{daemon.repo.schema}/events.sql" and finding["line"] == 2
    assert finding["object"] == {"type": "table", "name": "events"}

    (daemon.repo.dir / ".skeema").write_text(f"schema={daemon.repo.schema}\nlint-pk=error\n")
    diff = daemon.wait_for(
        lambda: (d := daemon.diff())["targets"][0]["lint"][0]["severity"] == "error" and d, timeout=5
    )
    r = daemon.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
    assert r.status == 422 and r.json()["error"]["code"] == "lint_errors"
    assert "pk" in r.json()["error"]["message"]


def test_lint_endpoint_lints_a_buffer_in_the_context_of_its_dir(daemon: RunningDaemon) -> None:
    schema = daemon.repo.schema
    text = (
        "CREATE TABLE logins (\n  user_id int(10) unsigned NOT NULL,\n  at datetime NOT NULL,\n"
        "  CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id)\n);\n"
    )
    r = daemon.post("/v1/lint", {"file": f"{schema}/logins.sql", "sql": text})
    assert r.status == 200, r.text
    rules = [(d["rule"], d["line"]) for d in r.json()["diagnostics"]]
    assert rules == [("pk", 1)]  # `users` lives in another file of the dir: no fk-parent finding
    r = daemon.post("/v1/lint", {"file": f"{schema}/logins.sql", "sql": "CREATE TABLE x (id int"})
    assert r.status == 200 and r.json()["diagnostics"][0]["severity"] == "error"
    r = daemon.post("/v1/lint", {"file": f"{schema}/logins.sql", "sql": text}, token=READER_TOKEN)
    assert r.status == 403


def test_renaming_a_file_keeps_the_object_and_follows_the_file(daemon: RunningDaemon) -> None:
    schema = daemon.repo.schema
    (daemon.repo.dir / "orders.sql").rename(daemon.repo.dir / "orders_table.sql")

    def moved() -> bool:
        obj = daemon.get(f"/v1/environments/test/schemas/{schema}/objects/orders").json()
        return bool(obj["repo"] and obj["repo"]["file"].endswith("orders_table.sql"))

    daemon.wait_for(moved, timeout=5)
    assert statements(daemon.diff()) == []
    (daemon.repo.dir / "orders_table.sql").unlink()  # the table is gone from the repo: the diff drops it
    daemon.wait_for(lambda: statements(daemon.diff()) == ["DROP TABLE `orders`"], timeout=5)


def test_a_schema_dir_leaving_the_repo_takes_its_drift_series_along(
    daemon: RunningDaemon, server: DBServer
) -> None:
    import shutil

    other = f"dmn3_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {other}; CREATE DATABASE {other} CHARACTER SET utf8mb4;")
    try:
        d = daemon.repo.root / other
        d.mkdir()
        (d / "users.sql").write_text(USERS)
        (d / ".skeema").write_text(f"schema={other}\n")
        daemon.wait_for(
            lambda: daemon.metric("schemad_drift", repo="app", environment="test", schema=other) == 1,
            timeout=5,
        )
        shutil.rmtree(d)
        daemon.wait_for(
            lambda: daemon.metric("schemad_drift", repo="app", environment="test", schema=other) is None,
            timeout=5,
        )
        assert daemon.metric("schemad_drift", repo="app", environment="test", schema=daemon.repo.schema) == 0
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {other}")


def test_object_differs_as_the_diff_says(daemon: RunningDaemon, server: DBServer) -> None:
    schema = daemon.repo.schema
    sql(server, "INSERT INTO users (email) VALUES ('a@example.com')", schema)  # AUTO_INCREMENT=2 live
    # The counter alone moves no fingerprint: touch the table and put it back so it is read again.
    sql(server, "ALTER TABLE users COMMENT 'x'", schema)
    daemon.diff(refresh="true")
    sql(server, "ALTER TABLE users COMMENT ''", schema)
    assert daemon.diff(refresh="true")["statement_count"] == 0
    obj = daemon.get(f"/v1/environments/test/schemas/{schema}/objects/users").json()
    assert "AUTO_INCREMENT=2" in obj["live"]["canonical"]
    assert "AUTO_INCREMENT=2" not in obj["repo"]["canonical"]
    assert obj["differs"] is False  # the counter is not a difference, as in the diff


def test_served_diff_carries_the_latest_snapshot_time(daemon: RunningDaemon) -> None:
    first = daemon.diff()["snapshot_at"]
    r = daemon.get("/v1/environments/test/diff?format=sql")  # the other format's answer is kept apart
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    later = daemon.diff(refresh="true")["snapshot_at"]  # an unchanged poll: same diff, newer snapshot
    assert later > first
    assert daemon.diff()["snapshot_at"] == later
