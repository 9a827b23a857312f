"""Every documented operation, against a real `schemad serve` process: each answer is documented.

One daemon for the module (a schema with two tables, the suite's server).
Each call goes through `call`, which checks the status, the content type and
a JSON body against openapi.yaml (`check_response`) and records the
operation; the last test asserts that every documented operation was called.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    APPROVER,
    APPROVER_TOKEN,
    READER_TOKEN,
    USERS,
    DaemonRepo,
    Response,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.integration.test_openapi import check_response, operations

pytestmark = pytest.mark.timeout(180)

ORDERS = """CREATE TABLE `orders` (
  `id` bigint(20) NOT NULL,
  `user_id` int(10) unsigned DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""

ENV = "/v1/environments/{env}"
REPO_ENV = "/v1/repos/{repo}/environments/{env}"
OBJECT = "/schemas/{schema}/objects/{name}"

CALLED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def daemon(server: DBServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    ensure_db_user(server)
    schema = f"ctr_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, USERS + ORDERS, schema)
    root = tmp_path_factory.mktemp("contract")
    repo = DaemonRepo.create(root / "repo", server, schema, {"users.sql": USERS, "orders.sql": ORDERS})
    d = RunningDaemon(repo, root / "run", extra_toml=APPROVER).start()
    try:
        yield d
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        sql(server, f"DROP DATABASE IF EXISTS {schema}")
        assert_no_password(d)


def fill(template: str, **params: str) -> str:
    path = template
    for k, v in params.items():
        path = path.replace("{" + k + "}", v)
    assert "{" not in path, path
    return path


def call(
    d: RunningDaemon,
    method: str,
    template: str,
    status: int,
    *,
    query: str = "",
    body: Any = None,
    raw: bytes | None = None,
    token: str | None = ADMIN_TOKEN,
    **params: str,
) -> Response:
    """One request; asserts `status` and that the answer is documented for the operation."""
    path = fill(template, **params) + (f"?{query}" if query else "")
    if raw is not None:
        r = raw_request(d, method, path, raw, token)
    else:
        r = d.request(method, path, body, token=token)
    assert r.status == status, (method, path, r.status, r.text[:500])
    check_response(method, template, r.status, r.headers.get("Content-Type", ""), r.body)
    CALLED.add((method.lower(), template))
    return r


def raw_request(d: RunningDaemon, method: str, path: str, data: bytes, token: str | None) -> Response:
    req = urllib.request.Request(d.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return Response(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


def code(r: Response) -> str:
    return str(r.json()["error"]["code"])


def test_open_endpoints(daemon: RunningDaemon) -> None:
    call(daemon, "GET", "/healthz", 200, token=None)
    call(daemon, "GET", "/readyz", 200, token=None)
    call(daemon, "GET", "/metrics", 200, token=None)
    r = call(daemon, "GET", "/openapi.yaml", 200, token=None)
    assert r.text.startswith("openapi: 3.1")


def test_repos_environments_and_auth(daemon: RunningDaemon) -> None:
    r = call(daemon, "GET", "/v1/repos", 200, token=READER_TOKEN)
    assert [x["name"] for x in r.json()["repos"]] == ["app"]
    r = call(daemon, "GET", "/v1/environments", 200)
    (env,) = r.json()["environments"]
    assert (env["name"], env["repo"], env["drift"]["statements"]) == ("test", "app", 0)
    r = call(daemon, "GET", "/v1/repos/{repo}/environments", 200, repo="app")
    assert [e["name"] for e in r.json()["environments"]] == ["test"]
    r = call(daemon, "GET", "/v1/repos/{repo}/environments", 404, repo="nope")
    assert code(r) == "not_found"

    r = call(daemon, "GET", "/v1/repos", 401, token=None)
    assert code(r) == "unauthorized" and "Bearer" in r.headers["WWW-Authenticate"]
    call(daemon, "GET", "/v1/environments", 401, token="not-a-token")
    call(daemon, "GET", "/v1/repos/{repo}/environments", 401, token="", repo="app")  # "Bearer " alone


def test_diff(daemon: RunningDaemon) -> None:
    schema = daemon.repo.schema
    for template, params in ((ENV, {}), (REPO_ENV, {"repo": "app"})):
        r = call(daemon, "GET", template + "/diff", 200, query="refresh=true", env="test", **params)
        doc = r.json()
        assert doc["statement_count"] == 0 and doc["targets"][0]["schema"] == schema
        assert r.headers["X-Schemad-Plan-Hash"] == doc["plan_hash"]
        assert r.headers["X-Schemad-Stale"] == "false"
        r = call(daemon, "GET", template + "/diff", 200, query="format=sql", env="test", **params)
        assert r.headers["Content-Type"].startswith("text/plain")
        assert r.headers["X-Schemad-Plan-Hash"] == doc["plan_hash"]
        call(daemon, "GET", template + "/diff", 200, query="format=json&refresh=0", env="test", **params)
        r = call(
            daemon,
            "GET",
            template + "/diff",
            200,
            query=f"schema={schema}&table=users&table=orders,nope",
            env="test",
            **params,
        )
        assert [t["schema"] for t in r.json()["targets"]] == [schema]
        r = call(daemon, "GET", template + "/diff", 200, query="schema=nope", env="test", **params)
        assert r.json()["targets"] == []
        call(daemon, "GET", template + "/diff", 400, query="format=xml", env="test", **params)
        call(daemon, "GET", template + "/diff", 400, query="refresh=maybe", env="test", **params)
        call(daemon, "GET", template + "/diff", 404, env="nope", **params)
        call(daemon, "GET", template + "/diff", 401, token=None, env="test", **params)
    call(daemon, "GET", REPO_ENV + "/diff", 404, repo="nope", env="test")


def test_fleet(daemon: RunningDaemon) -> None:
    # One schema on one server is no fleet; the view still groups its one shard, which matches the repo.
    schema = daemon.repo.schema
    for template, params in ((ENV, {}), (REPO_ENV, {"repo": "app"})):
        r = call(daemon, "GET", template + "/fleet", 200, query="refresh=true", env="test", **params)
        doc = r.json()
        assert doc["fleet"] is False
        shards = [s for d in doc["dirs"] for g in d["groups"] for s in g["shards"]]
        assert [s["schema"] for s in shards] == [schema]
        assert all(g["matches_repo"] for d in doc["dirs"] for g in d["groups"])
        call(daemon, "GET", template + "/fleet", 400, query="refresh=maybe", env="test", **params)
        call(daemon, "GET", template + "/fleet", 404, env="nope", **params)
        call(daemon, "GET", template + "/fleet", 401, token=None, env="test", **params)
    call(daemon, "GET", REPO_ENV + "/fleet", 404, repo="nope", env="test")


def test_campaigns(daemon: RunningDaemon) -> None:
    # The one shard matches the repo: a campaign over its group has nothing to do; the rest are refusals.
    for template, params in ((ENV, {}), (REPO_ENV, {"repo": "app"})):
        doc = call(daemon, "GET", template + "/fleet", 200, query="refresh=true", env="test", **params).json()
        [group] = [
            {"fingerprint": g["fingerprint"], "plan_hash": g["plan_hash"]} for g in doc["dirs"][0]["groups"]
        ]
        path = template + "/campaigns"
        r = call(daemon, "POST", path, 422, body={"groups": [group]}, env="test", **params)
        assert r.json()["error"]["code"] == "nothing_to_do"
        gone = {"fingerprint": "0" * 32, "plan_hash": group["plan_hash"]}
        r = call(daemon, "POST", path, 409, body={"groups": [gone]}, env="test", **params)
        assert r.json()["error"]["code"] == "plan_changed"
        call(daemon, "POST", path, 400, body={"groups": []}, env="test", **params)
        call(daemon, "POST", path, 400, body={"groups": [group], "wave_size": 0}, env="test", **params)
        call(daemon, "POST", path, 401, body={"groups": [group]}, token=None, env="test", **params)
        call(daemon, "POST", path, 403, body={"groups": [group]}, token=READER_TOKEN, env="test", **params)
        call(daemon, "POST", path, 404, body={"groups": [group]}, env="nope", **params)
        assert call(daemon, "GET", path, 200, env="test", **params).json() == {"campaigns": []}
        call(daemon, "GET", path, 404, env="nope", **params)
    for action in ("pause", "resume", "abort"):
        call(daemon, "POST", f"/v1/campaigns/{{id}}/{action}", 404, id="nope")
    call(daemon, "GET", "/v1/campaigns/{id}", 404, id="nope")
    call(daemon, "GET", "/v1/campaigns/{id}", 401, token=None, id="nope")


def test_objects(daemon: RunningDaemon) -> None:
    schema = daemon.repo.schema
    for template, params in ((ENV + OBJECT, {}), (REPO_ENV + OBJECT, {"repo": "app"})):
        r = call(daemon, "GET", template, 200, env="test", schema=schema, name="users", **params)
        obj = r.json()
        assert (obj["type"], obj["name"], obj["differs"]) == ("table", "users", False)
        assert obj["repo"]["file"].endswith("users.sql") and obj["repo"]["line"] == 1
        assert "CREATE TABLE `users`" in obj["live"]["canonical"]
        call(
            daemon,
            "GET",
            template,
            200,
            query="type=table",
            env="test",
            schema=schema,
            name="orders",
            **params,
        )
        r = call(daemon, "GET", template, 404, env="test", schema=schema, name="nope", **params)
        assert code(r) == "not_found"
        call(
            daemon, "GET", template, 404, query="type=view", env="test", schema=schema, name="users", **params
        )
        call(daemon, "GET", template, 404, env="test", schema="nope", name="users", **params)
        call(daemon, "GET", template, 404, env="nope", schema=schema, name="users", **params)
        call(
            daemon,
            "GET",
            template,
            400,
            query="type=bogus",
            env="test",
            schema=schema,
            name="users",
            **params,
        )
        call(daemon, "GET", template, 401, token=None, env="test", schema=schema, name="users", **params)


def test_push_checks(daemon: RunningDaemon) -> None:
    for template, params in ((ENV + "/push", {}), (REPO_ENV + "/push", {"repo": "app"})):
        current = daemon.diff(refresh="true")["plan_hash"]
        r = call(
            daemon, "POST", template, 200, body={"plan_hash": current, "dry_run": True}, env="test", **params
        )
        assert r.json() == {
            "dry_run": True,
            "plan_hash": current,
            "statements": 0,
            "message": "nothing to do: the live schemas match the repo",
        }
        r = call(daemon, "POST", template, 409, body={"plan_hash": "0" * 64}, env="test", **params)
        assert code(r) == "plan_changed"
        for bad in (
            {},
            {"plan_hash": 42},
            {"plan_hash": current, "nope": 1},
            {"plan_hash": current, "tables": [1]},
        ):
            call(daemon, "POST", template, 400, body=bad, env="test", **params)
        call(daemon, "POST", template, 400, raw=b"{not json", env="test", **params)
        call(daemon, "POST", template, 400, raw=b"[1, 2]", env="test", **params)
        call(
            daemon,
            "POST",
            template,
            403,
            body={"plan_hash": current},
            token=READER_TOKEN,
            env="test",
            **params,
        )
        call(daemon, "POST", template, 401, body={"plan_hash": current}, token=None, env="test", **params)
        call(daemon, "POST", template, 404, body={"plan_hash": current}, env="nope", **params)
        r = call(daemon, "POST", template, 413, raw=b" " * (1 << 20) + b"{}", env="test", **params)
        assert code(r) == "request_entity_too_large"


def test_push_blocked_by_a_broken_file(daemon: RunningDaemon) -> None:
    broken = daemon.repo.dir / "broken.sql"
    broken.write_text("CREATE TABLE x (\n  id int,\n  name varchar(10) DEFAULT 'oops\n")
    try:
        daemon.wait_for(lambda: daemon.diff()["targets"][0]["error"], timeout=10)
        current = daemon.diff()["plan_hash"]
        r = call(daemon, "POST", ENV + "/push", 422, body={"plan_hash": current}, env="test")
        assert code(r) == "plan_blocked"
    finally:
        broken.unlink()
    daemon.wait_for(lambda: daemon.diff()["targets"][0]["error"] is None, timeout=10)


def test_hand_ddl_then_push_and_jobs(daemon: RunningDaemon, server: DBServer) -> None:
    schema = daemon.repo.schema
    sql(server, "ALTER TABLE orders ADD COLUMN hand int; CREATE TABLE extra (id int PRIMARY KEY)", schema)
    diff = daemon.wait_for(lambda: (d := daemon.diff(refresh="true"))["statement_count"] == 2 and d)
    assert diff["unsafe_count"] == 2
    r = call(daemon, "GET", ENV + "/diff", 200, query="format=sql", env="test")
    assert "DROP TABLE `extra`" in r.text

    r = call(daemon, "GET", ENV + OBJECT, 200, env="test", schema=schema, name="extra")
    assert r.json()["repo"] is None and r.json()["live"] is not None and r.json()["differs"] is True
    r = call(daemon, "GET", ENV + OBJECT, 200, env="test", schema=schema, name="orders")
    assert r.json()["differs"] is True

    h = diff["plan_hash"]
    r = call(daemon, "POST", ENV + "/push", 422, body={"plan_hash": h}, env="test")
    assert code(r) == "unsafe_statements"
    body = {"plan_hash": h, "allow_unsafe": True, "dry_run": True}
    r = call(daemon, "POST", ENV + "/push", 200, body=body, env="test")
    assert r.json()["statements"] == 2 and r.json()["preflight"] == []
    # Nothing runs through gh-ost or Spirit, so there is no cut-over to hold.
    body = {"plan_hash": h, "allow_unsafe": True, "postpone_cutover": True}
    r = call(daemon, "POST", ENV + "/push", 422, body=body, env="test")
    assert code(r) == "cutover_not_supported" and "nothing to postpone" in r.text
    body = {"plan_hash": h, "allow_unsafe": True, "schemas": [schema], "tables": []}
    r = call(daemon, "POST", REPO_ENV + "/push", 202, body=body, repo="app", env="test")
    job_id = r.json()["job"]["id"]
    job = daemon.wait_job(job_id)
    assert job["state"] == "succeeded", job
    assert daemon.diff(refresh="true")["statement_count"] == 0

    r = call(daemon, "GET", "/v1/jobs", 200)
    assert [j["id"] for j in r.json()["jobs"]] == [job_id]
    call(daemon, "GET", "/v1/jobs", 200, query="environment=test&limit=1", token=READER_TOKEN)
    r = call(daemon, "GET", "/v1/jobs", 200, query="environment=nope&limit=500")
    assert r.json()["jobs"] == []
    r = call(daemon, "GET", "/v1/jobs", 200, query=f"before={time.time() + 60:.3f}")
    assert len(r.json()["jobs"]) == 1
    for bad in ("limit=0", "limit=501", "limit=x", "before=yesterday"):
        call(daemon, "GET", "/v1/jobs", 400, query=bad)
    call(daemon, "GET", "/v1/jobs", 401, token=None)

    r = call(daemon, "GET", "/v1/jobs/{id}", 200, id=job_id, token=READER_TOKEN)
    assert [s["status"] for s in r.json()["job"]["statements"]] == ["done", "done"]
    call(daemon, "GET", "/v1/jobs/{id}", 404, id="nope")
    call(daemon, "GET", "/v1/jobs/{id}", 401, id=job_id, token=None)

    r = call(daemon, "GET", "/v1/jobs/{id}/log", 200, id=job_id, token=READER_TOKEN)
    assert "DROP TABLE `extra`" in r.text and r.headers.get("Transfer-Encoding") == "chunked"
    call(daemon, "GET", "/v1/jobs/{id}/log", 404, id="nope")
    call(daemon, "GET", "/v1/jobs/{id}/log", 401, id=job_id, token=None)

    r = call(daemon, "POST", "/v1/jobs/{id}/cancel", 409, id=job_id)
    assert code(r) == "job_not_running"
    call(daemon, "POST", "/v1/jobs/{id}/cancel", 403, id=job_id, token=READER_TOKEN)
    call(daemon, "POST", "/v1/jobs/{id}/cancel", 404, id="nope")
    call(daemon, "POST", "/v1/jobs/{id}/cancel", 401, id=job_id, token=None)


def test_online_schema_change_operations(daemon: RunningDaemon) -> None:
    """Leftovers, cut-over approval and clean-up answer as documented (the runs: test_osc_supervisor)."""
    schema = daemon.repo.schema
    r = call(daemon, "GET", ENV + "/leftovers", 200, env="test", token=READER_TOKEN)
    assert r.json() == {
        "environment": "test",
        "targets": [
            {"address": r.json()["targets"][0]["address"], "schema": schema, "error": None, "leftovers": []}
        ],
    }
    call(daemon, "GET", REPO_ENV + "/leftovers", 200, repo="app", env="test")
    call(daemon, "GET", ENV + "/leftovers", 404, env="nope")
    call(daemon, "GET", ENV + "/leftovers", 401, env="test", token=None)

    (job,) = daemon.get("/v1/jobs").json()["jobs"]
    # push:test does not include cutover:test, and the approver may not clean up (push:test).
    r = call(daemon, "POST", "/v1/jobs/{id}/cutover", 403, id=job["id"])
    assert "cutover:test" in r.text
    r = call(daemon, "POST", "/v1/jobs/{id}/cutover", 409, id=job["id"], token=APPROVER_TOKEN)
    assert code(r) == "job_not_pending_cutover"
    call(daemon, "POST", "/v1/jobs/{id}/cutover", 404, id="nope", token=APPROVER_TOKEN)
    call(daemon, "POST", "/v1/jobs/{id}/cutover", 401, id=job["id"], token=None)

    call(daemon, "POST", "/v1/jobs/{id}/cleanup", 403, id=job["id"], token=APPROVER_TOKEN)
    r = call(daemon, "POST", "/v1/jobs/{id}/cleanup", 200, id=job["id"])
    assert r.json()["cleanup"] == [] and r.json()["job"]["id"] == job["id"]
    call(daemon, "POST", "/v1/jobs/{id}/cleanup", 404, id="nope")
    call(daemon, "POST", "/v1/jobs/{id}/cleanup", 401, id=job["id"], token=None)
    # The job listed nothing: nothing was dropped, and the audit log has no entry for it.
    assert [e["result"] for e in daemon.get("/v1/audit").json()["entries"]] == ["succeeded"]


def test_audit(daemon: RunningDaemon) -> None:
    r = call(daemon, "GET", "/v1/audit", 200, token=READER_TOKEN)
    entries = r.json()["entries"]
    assert [(a["who"], a["result"]) for a in entries] == [("admin", "succeeded")]
    assert r.json()["next_after"] == entries[-1]["id"]
    r = call(daemon, "GET", "/v1/audit", 200, query=f"after={entries[-1]['id']}&limit=1000")
    assert r.json() == {"entries": [], "next_after": entries[-1]["id"]}
    call(daemon, "GET", "/v1/audit", 200, query="after=0&limit=1")
    for bad in ("limit=0", "limit=1001", "after=-1", "after=x"):
        call(daemon, "GET", "/v1/audit", 400, query=bad)
    call(daemon, "GET", "/v1/audit", 401, token=None)


def test_lint(daemon: RunningDaemon) -> None:
    file = f"{daemon.repo.schema}/new.sql"
    good = {"file": file, "sql": "CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB;\n"}
    r = call(daemon, "POST", "/v1/lint", 200, body=good)
    assert r.json()["file"] == file
    assert all(x["severity"] != "error" for x in r.json()["diagnostics"]), r.json()
    call(daemon, "POST", "/v1/lint", 200, body={**good, "environment": "test", "repo": "app"})
    broken = {
        "file": file,
        "sql": "CREATE TABLE t (id int PRIMARY KEY);\n\nCREATE TABLE u (id nosuchtype);\n",
    }
    r = call(daemon, "POST", "/v1/lint", 200, body=broken)
    errors = [x for x in r.json()["diagnostics"] if x["severity"] == "error"]
    assert errors and errors[0]["line"] == 3, r.json()
    r = call(daemon, "POST", "/v1/lint", 200, body={"file": file, "sql": "CREATE TABLE t (\n  id int 'x\n"})
    assert r.json()["diagnostics"][0]["rule"] == "syntax"

    for bad in (
        {"file": file},
        {"sql": "SELECT 1"},
        {**good, "sql": 1},
        {**good, "extra": True},
        {**good, "repo": "nope"},
        {**good, "environment": "nope"},
    ):
        call(daemon, "POST", "/v1/lint", 400, body=bad)
    call(daemon, "POST", "/v1/lint", 400, raw=b"\xff\xfe")
    call(daemon, "POST", "/v1/lint", 403, body=good, token=READER_TOKEN)
    call(daemon, "POST", "/v1/lint", 401, body=good, token=None)
    too_big = {"file": file, "sql": "-- " + "x" * (1 << 20)}
    r = call(daemon, "POST", "/v1/lint", 413, body=too_big)
    assert code(r) == "request_entity_too_large"


def test_odd_inputs_get_documented_answers(daemon: RunningDaemon) -> None:
    """Lone surrogates, NUL bytes, path tricks and odd numbers: 4xx or an answer, never a 500."""
    schema = daemon.repo.schema
    sql_ok = "CREATE TABLE t (id int PRIMARY KEY);"
    lone = "\ud800"
    for body in (
        {"file": f"{lone}/x.sql", "sql": sql_ok},
        {"file": "a.sql", "sql": f"CREATE TABLE `{lone}` (id int);"},
        {"file": "a.sql", "sql": sql_ok, "environment": lone},
    ):
        call(daemon, "POST", "/v1/lint", 400, raw=json.dumps(body).encode())
    for file in ("a\x00b.sql", "/etc/passwd", "../../../x.sql", "", ".", "x" * 5000):
        call(daemon, "POST", "/v1/lint", 200, body={"file": file, "sql": sql_ok})
    for text in ("CREATE TABLE \x00t (id int);", "CREATE TABLE other.t (id int);", "\x00"):
        call(daemon, "POST", "/v1/lint", 200, body={"file": "a.sql", "sql": text})
    for body in ({"plan_hash": lone}, {"plan_hash": "x", "schemas": [lone]}, {"plan_hash": "x", lone: 1}):
        call(daemon, "POST", ENV + "/push", 400, raw=json.dumps(body).encode(), env="test")
    r = call(daemon, "POST", ENV + "/push", 409, body={"plan_hash": "x", "tables": ["\x00"]}, env="test")
    assert code(r) == "plan_changed"

    call(daemon, "GET", ENV + "/diff", 404, env="%00")
    call(daemon, "GET", ENV + "/diff", 404, env="te%2Fst")
    call(daemon, "GET", ENV + "/diff", 200, query="refresh=TRUE&schema=%00&table=" + "x" * 5000, env="test")
    call(daemon, "GET", ENV + OBJECT, 404, env="test", schema=schema, name="%00")
    call(daemon, "GET", ENV + OBJECT, 404, query="type=database", env="test", schema=schema, name="users")
    call(daemon, "GET", ENV + OBJECT, 404, query="type=trigger", env="test", schema=schema, name="x" * 3000)
    for query in ("before=nan", "before=inf", "before=1e400", "before=-1", "environment=%00"):
        call(daemon, "GET", "/v1/jobs", 200, query=query)
    call(daemon, "GET", "/v1/jobs/{id}", 404, id="%00")
    call(daemon, "GET", "/v1/jobs/{id}/log", 404, id="%2E%2E")
    call(daemon, "POST", "/v1/jobs/{id}/cancel", 404, id="%00")
    call(daemon, "GET", "/v1/audit", 200, query="after=4611686018427387904")
    call(daemon, "GET", "/v1/audit", 400, query="after=4611686018427387905")


def test_drift_acknowledgement(daemon: RunningDaemon, server: DBServer) -> None:
    """After test_audit (which counts audit entries): a hand change acknowledged, listed; refusals."""
    schema = daemon.repo.schema
    sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
    try:
        daemon.wait_for(lambda: daemon.diff(refresh="true")["statement_count"] == 1)
        obj = {"schema": schema, "name": "users"}
        for template, params in ((ENV, {}), (REPO_ENV, {"repo": "app"})):
            body = {"objects": [obj], "reason": "hotfix INC-1", "expires": "1h"}
            r = call(daemon, "POST", template + "/drift/ack", 201, body=body, env="test", **params)
            (ack,) = r.json()["acknowledgements"]
            assert (ack["who"], ack["state"], ack["object"]) == (
                "admin",
                "active",
                {"type": "table", "name": "users"},
            )
            r = call(daemon, "GET", template + "/drift", 200, env="test", token=READER_TOKEN, **params)
            doc = r.json()
            (o,) = doc["objects"]
            assert (o["name"], o["live_changed"], o["acknowledgement"]["id"]) == ("users", True, ack["id"])
            assert [a["state"] for a in doc["acknowledgements"]][:1] == ["active"]
            call(daemon, "GET", template + "/drift", 200, query="limit=1", env="test", **params)
            call(daemon, "GET", template + "/drift", 400, query="limit=0", env="test", **params)
            call(daemon, "GET", template + "/drift", 404, env="nope", **params)
            call(daemon, "GET", template + "/drift", 401, token=None, env="test", **params)
            r = call(
                daemon,
                "POST",
                template + "/drift/ack",
                422,
                body={**body, "objects": [{"schema": schema, "name": "orders"}]},
                env="test",
                **params,
            )
            assert code(r) == "nothing_to_acknowledge"
            for bad in (
                {},
                {**body, "objects": []},
                {**body, "objects": [{"schema": schema}]},
                {**body, "objects": [{**obj, "type": "nope"}]},
                {**body, "objects": [{**obj, "extra": 1}]},
                {**body, "reason": ""},
                {**body, "expires": "soon"},
                {**body, "expires": "2000-01-01T00:00:00Z"},
                {**body, "expires": "9999h"},
                {**body, "nope": 1},
            ):
                call(daemon, "POST", template + "/drift/ack", 400, body=bad, env="test", **params)
            call(daemon, "POST", template + "/drift/ack", 400, raw=b"[]", env="test", **params)
            call(
                daemon,
                "POST",
                template + "/drift/ack",
                403,
                body=body,
                token=READER_TOKEN,
                env="test",
                **params,
            )
            call(daemon, "POST", template + "/drift/ack", 401, body=body, token=None, env="test", **params)
            call(daemon, "POST", template + "/drift/ack", 404, body=body, env="nope", **params)
        diff = daemon.diff()
        (target,) = diff["targets"]
        assert target["objects"][0]["acknowledgement"]["reason"] == "hotfix INC-1"
        r = call(daemon, "GET", ENV + "/diff", 200, query="format=sql", env="test")
        assert "-- acknowledged drift: table `users`" in r.text and "by admin until" in r.text
    finally:
        sql(server, "ALTER TABLE users DROP COLUMN hand", schema)
    daemon.wait_for(lambda: daemon.diff(refresh="true")["statement_count"] == 0)

    # Acknowledged twice (the second replaces the first), then void: the object no longer differs.
    # The void's audit entry is written behind the poll that found it (service/writebehind.py).
    def audit_results() -> list[str]:
        return [a["result"] for a in daemon.get("/v1/audit").json()["entries"]]

    daemon.wait_for(lambda: audit_results()[-1].startswith("drift_ack_void"))
    results = audit_results()
    assert [r.split(":")[0] for r in results[-3:]] == ["drift_acknowledged"] * 2 + ["drift_ack_void"], results
    assert "hotfix INC-1" in results[-2] and "no longer differs" in results[-1]


def test_every_operation_was_called() -> None:
    if not CALLED:
        pytest.skip("meaningful only after the module's other tests")
    missing = sorted(set(operations()) - CALLED)
    assert not missing, f"operations without a contract check: {missing}"
