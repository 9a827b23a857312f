"""Schemathesis against a real `schemad serve` process: generated requests, documented answers.

Every operation of openapi.yaml gets generated requests (deterministic:
`derandomize`), sent with the admin token to one daemon (a schema with two
tables and one finished push job), every other one to its HTTPS listener
(a certificate from a throwaway CA, which the client verifies).  Two thirds of the generated path parameters
are aimed at things that exist (the environment, repo, schema, a table, the
job), so the handlers run past their 404s.  Each answer must be no 5xx, a
documented status and content type, and a JSON body matching its schema.
Generated pushes carry a made-up plan hash, so they end in 409 and never
change the schema; lint runs only CREATEs, in a workspace schema.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from schemad.api.app import OPENAPI
from tests.conftest import DBServer
from tests.daemon_proc import (
    ADMIN_TOKEN,
    DaemonRepo,
    RunningDaemon,
    TlsListen,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.listener_pki import ListenerPki

pytestmark = pytest.mark.timeout(120)

SCHEMA = schemathesis.openapi.from_path(OPENAPI)
# The coverage phase (boundary values, missing auth, ...) runs first; one unexpected method per
# operation is enough to see that a 405 is JSON too.
SCHEMA.config.phases.coverage.unexpected_methods = {"delete"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 4  # fuzzed per operation, after ~420 coverage-phase cases: about 500 requests in all

USERS = """CREATE TABLE `users` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `email` varchar(200) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""


class Target:
    """The running daemon, the real names to aim at, and what the generated requests got."""

    def __init__(self, daemon: RunningDaemon, job_id: str) -> None:
        self.daemon = daemon
        self.real = {
            "env": "test",
            "repo": "app",
            "schema": daemon.repo.schema,
            "name": "users",
            "id": job_id,
        }
        self.calls = 0
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.https = 0  # requests sent to the HTTPS listener


@pytest.fixture(scope="module")
def target(server: DBServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    ensure_db_user(server)
    schema = f"fuzz_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;")
    sql(server, USERS + "CREATE TABLE by_hand (id int PRIMARY KEY);", schema)
    root = tmp_path_factory.mktemp("fuzz")
    repo = DaemonRepo.create(root / "repo", server, schema, {"users.sql": USERS})
    pki = ListenerPki.create(root / "pki")
    issued = pki.issue("schemad-fuzz")
    d = RunningDaemon(repo, root / "run", tls=TlsListen(issued.cert, issued.key, pki.ca)).start()
    try:
        # One finished job, for /v1/jobs/{id}, its log and a refused cancel.
        plan = d.diff(refresh="true")
        assert plan["statement_count"] == 1, plan
        r = d.post("/v1/environments/test/push", {"plan_hash": plan["plan_hash"], "allow_unsafe": True})
        assert r.status == 202, r.text
        job_id = r.json()["job"]["id"]
        assert d.wait_job(job_id)["state"] == "succeeded"
        t = Target(d, job_id)
        start = time.monotonic()
        yield t
        print(f"\nschemathesis: {t.calls} requests ({t.https} over HTTPS) in {time.monotonic() - start:.1f}s")
        for (label, status), n in sorted(t.statuses.items()):
            print(f"  {label}: {status} x{n}")
        assert d.proc is not None and d.proc.poll() is None, "the daemon died under generated requests"
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        assert_no_password(d)
        sql(server, f"DROP DATABASE IF EXISTS {schema}")


def aim(case: schemathesis.Case, t: Target) -> None:
    """Point two thirds of the path parameters at things that exist (deterministically)."""
    params = case.path_parameters or {}
    for key, real in t.real.items():
        value = params.get(key)
        if isinstance(value, str) and len(value) % 3 != 0:
            params[key] = real


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_documented_answers(case: schemathesis.Case, target: Target) -> None:
    aim(case, target)
    target.calls += 1
    d = target.daemon
    assert d.tls is not None
    https = target.calls % 2 == 0  # every other request, deterministically
    target.https += https
    response = case.call_and_validate(
        base_url=d.https_url if https else d.url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        checks=CHECKS,
        timeout=30,
        verify=str(d.tls.ca) if https else True,
    )
    target.statuses[(case.operation.label, response.status_code)] += 1
    target.daemon.responses.append(response.content)  # for the password scan


def test_the_test_schema_survived(target: Target) -> None:
    """Generated pushes never ran: the schema is as the repo says, and only the fixture's job exists."""
    d = target.daemon
    assert d.diff(refresh="true")["statement_count"] == 0
    assert [j["id"] for j in d.get("/v1/jobs").json()["jobs"]] == [target.real["id"]]
    assert d.get("/readyz", token=None).status == 200
    assert target.https > 0 and d.get("/readyz", token=None, https=True).status == 200
