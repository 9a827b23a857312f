"""Drift acknowledgement against a real `schemad serve` process and the real test server.

Hand DDL is drift (`schemad_drift` 1); an acknowledgement with a 2 s expiry
takes it out of the metric until the expiry passes; one that the object
outdates (changed again) is void at once.  With `push_requires_drift_ack`, a
push over drift nobody acknowledged is a 409 `unacknowledged_drift`, while a
change that came from the repo alone pushes as before.
"""

from __future__ import annotations

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
    sha,
    sql,
)

pytestmark = pytest.mark.timeout(180)

ONCALL_TOKEN = "oncall-" + os.urandom(8).hex()  # scope ack:test only
ONCALL = f"""
[[tokens]]
name = "oncall"
sha256 = "{sha(ONCALL_TOKEN)}"
scopes = ["ack:test"]
"""

ORDERS = """CREATE TABLE `orders` (
  `id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""


@pytest.fixture
def schema(server: DBServer) -> Iterator[str]:
    ensure_db_user(server)
    name = f"ack_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4;")
    sql(server, USERS, name)
    yield name
    sql(server, f"DROP DATABASE IF EXISTS {name}")


def start(tmp_path: Path, server: DBServer, schema: str, extra_toml: str = "") -> RunningDaemon:
    repo = DaemonRepo.create(tmp_path / "repo", server, schema, {"users.sql": USERS})
    return RunningDaemon(repo, tmp_path / "run", extra_toml=extra_toml).start()


def ack(d: RunningDaemon, name: str, expires: str, **kw: object) -> dict[str, object]:
    body = {
        "objects": [{"schema": d.repo.schema, "name": name}],
        "reason": "INC-7 hotfix",
        "expires": expires,
    }
    r = d.post("/v1/environments/test/drift/ack", body, **kw)  # type: ignore[arg-type]
    assert r.status == 201, r.text
    (a,) = r.json()["acknowledgements"]
    return a  # type: ignore[no-any-return]


def test_ack_with_2s_expiry_takes_the_drift_out_of_the_metric_until_it_expires(
    tmp_path: Path, server: DBServer, schema: str
) -> None:
    d = start(tmp_path, server, schema)
    labels = {"repo": "app", "environment": "test", "schema": schema}
    try:
        assert d.metric("schemad_drift", **labels) == 0
        sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
        d.wait_for(lambda: d.metric("schemad_drift", **labels) == 1)
        assert d.metric("schemad_drift_objects", kind="table", **labels) == 1

        a = ack(d, "users", "2s")
        t0 = time.monotonic()
        assert (a["who"], a["reason"], a["state"]) == ("admin", "INC-7 hotfix", "active")
        assert d.metric("schemad_drift", **labels) == 0  # at once: the answer came after the metric moved
        assert d.metric("schemad_drift_objects", kind="table", **labels) is None
        # Still shown in the diff, marked.
        (target,) = d.diff()["targets"]
        assert [s["sql"] for s in target["statements"]] == ["ALTER TABLE `users` DROP COLUMN `hand`"]
        (obj,) = target["objects"]
        assert (obj["name"], obj["live_changed"]) == ("users", True)
        assert obj["acknowledgement"]["who"] == "admin" and obj["acknowledgement"]["expires_at"]

        d.wait_for(lambda: d.metric("schemad_drift", **labels) == 1, timeout=10, interval=0.05)
        assert time.monotonic() - t0 >= 1.8  # not before its expiry
        assert d.diff()["targets"][0]["objects"][0]["acknowledgement"] is None
        drift = d.get("/v1/environments/test/drift", token=READER_TOKEN).json()
        assert [x["state"] for x in drift["acknowledgements"]] == ["expired"]
        audit = [x["result"] for x in d.get("/v1/audit").json()["entries"]]
        assert [r.split(":")[0] for r in audit] == ["drift_acknowledged", "drift_ack_expired"]

        # Changed again after an acknowledgement: void at once, and counted again.
        ack(d, "users", "1h")
        assert d.metric("schemad_drift", **labels) == 0
        sql(server, "ALTER TABLE users ADD COLUMN hand2 int", schema)
        d.wait_for(lambda: d.metric("schemad_drift", **labels) == 1)
        drift = d.get("/v1/environments/test/drift").json()
        assert [x["state"] for x in drift["acknowledgements"]] == ["void", "expired"]
        assert drift["acknowledgements"][0]["end_reason"] == "the object changed after it was acknowledged"
    finally:
        d.stop()
        assert_no_password(d)


def test_push_refuses_unacknowledged_drift_but_not_a_repo_change(
    tmp_path: Path, server: DBServer, schema: str
) -> None:
    d = start(tmp_path, server, schema, extra_toml="push_requires_drift_ack = true\n" + ONCALL)
    try:
        assert d.get("/v1/environments/test/drift").json()["push_requires_drift_ack"] is True
        # The repo changed, the server did not: not drift, the push runs.
        (d.repo.dir / "orders.sql").write_text(ORDERS)
        diff = d.wait_for(lambda: (x := d.diff())["statement_count"] == 1 and x)
        assert diff["targets"][0]["objects"][0]["live_changed"] is False
        r = d.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
        assert r.status == 202, r.text
        assert d.wait_job(r.json()["job"]["id"])["state"] == "succeeded"

        # Changed by hand: drift, and the push that would change it back is refused.
        sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
        diff = d.wait_for(lambda: (x := d.diff(refresh="true"))["statement_count"] == 1 and x)
        assert diff["targets"][0]["objects"][0]["live_changed"] is True
        body = {"plan_hash": diff["plan_hash"], "allow_unsafe": True}
        r = d.post("/v1/environments/test/push", body)
        assert r.status == 409 and r.json()["error"]["code"] == "unacknowledged_drift", r.text
        assert "table `users`" in r.json()["error"]["message"]
        r = d.post("/v1/environments/test/push", {**body, "dry_run": True})
        assert r.status == 409
        refused = d.metric(
            "schemad_push_refusals_total", repo="app", environment="test", reason="unacknowledged_drift"
        )
        assert refused == 2

        # A token with ack:<env> only acknowledges; it cannot push.
        assert d.post("/v1/environments/test/push", body, token=ONCALL_TOKEN).status == 403
        assert ack(d, "users", "10m", token=ONCALL_TOKEN)["who"] == "oncall"
        r = d.post("/v1/environments/test/push", body)
        assert r.status == 202, r.text
        assert d.wait_job(r.json()["job"]["id"])["state"] == "succeeded"
        d.wait_for(lambda: d.diff(refresh="true")["statement_count"] == 0)
        drift = d.get("/v1/environments/test/drift").json()
        assert drift["objects"] == [] and drift["acknowledgements"][0]["state"] == "void"
    finally:
        d.stop()
        assert_no_password(d)
