"""The daemon's /metrics through a real `schemad serve` process: reloads leave no stale series,
a schema the server cannot evaluate is visible, refused pushes are not jobs.

Label values must not change with the configuration: every series of an
environment carries `repo` and `environment`, so adding a repo that shares an
environment name renames nothing, and a SIGHUP reload that drops a repo, an
environment or renames a repo removes every series of what it dropped.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DBServer
from tests.daemon_proc import (
    DB_USER,
    PASSWORD_ENV,
    USERS,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.integration.test_openapi import check_response, spec

pytestmark = pytest.mark.timeout(180)

Series = tuple[str, tuple[tuple[str, str], ...]]  # (name, sorted labels)


def series(d: RunningDaemon) -> dict[Series, float]:
    """Every sample /metrics exposes now (without prometheus_client's `_created` samples)."""
    text = d.get("/metrics", token=None).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.endswith("_created")
    }


def labelled(d: RunningDaemon, **want: str) -> dict[Series, float]:
    """The samples whose labels include all of `want`."""
    return {k: v for k, v in series(d).items() if set(want.items()) <= set(k[1])}


def envs(d: RunningDaemon) -> set[tuple[str, str]]:
    """(repo, environment) of every series that has both labels."""
    out = set()
    for _, labels in series(d):
        lb = dict(labels)
        if "environment" in lb:
            out.add((lb["repo"], lb["environment"]))
    return out


def reload(d: RunningDaemon, expected: list[str], app_envs: tuple[str, ...] = ("test",)) -> None:
    """Rewrite the config (repo `app` with `app_envs`), SIGHUP, wait for the `expected` environments."""
    toml = d.write_config()
    listed = ", ".join(f'"{e}"' for e in app_envs)
    text = toml.read_text()
    assert text.count('environments = ["test"]\npoll') == 1
    toml.write_text(text.replace('environments = ["test"]\npoll', f"environments = [{listed}]\npoll"))
    assert d.proc is not None
    d.proc.send_signal(signal.SIGHUP)

    def done() -> bool:
        items = d.get("/v1/environments").json()["environments"]
        return sorted(e["name"] for e in items) == expected and all(e["status"] != "pending" for e in items)

    d.wait_for(done, timeout=20)


def polls(d: RunningDaemon, repo: str, env: str) -> float:
    return d.metric("schemad_poll_duration_seconds_count", repo=repo, environment=env) or 0


@pytest.fixture
def schemas(server: DBServer) -> Iterator[tuple[str, str]]:
    ensure_db_user(server)
    names = (f"dmm_{os.getpid()}", f"dmm2_{os.getpid()}")
    for s in names:
        sql(server, f"DROP DATABASE IF EXISTS {s}; CREATE DATABASE {s} CHARACTER SET utf8mb4;")
    sql(server, USERS, names[0])
    try:
        yield names
    finally:
        for s in names:
            sql(server, f"DROP DATABASE IF EXISTS {s}")


@pytest.fixture
def daemon(server: DBServer, schemas: tuple[str, str], tmp_path: Path) -> Iterator[RunningDaemon]:
    repo = DaemonRepo.create(tmp_path / "repo", server, schemas[0], {"users.sql": USERS})
    d = RunningDaemon(repo, tmp_path / "run").start()
    try:
        yield d
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        assert_no_password(d)


def test_reloads_keep_labels_and_leave_no_stale_series(
    daemon: RunningDaemon, server: DBServer, schemas: tuple[str, str], tmp_path: Path
) -> None:
    d = daemon
    app_schema, other_schema = schemas
    drift = {"repo": "app", "environment": "test", "schema": app_schema}
    d.wait_for(lambda: d.metric("schemad_drift", **drift) == 0)
    assert envs(d) == {("app", "test")}
    assert d.metric("schemad_poll_interval_seconds", repo="app", environment="test") == 1.0
    app_series = set(labelled(d, repo="app", environment="test"))
    assert {name for name, _ in app_series} >= {
        "schemad_drift",
        "schemad_drift_unknown",
        "schemad_poll_errors_total",
        "schemad_poll_consecutive_failures",
        "schemad_last_successful_poll_timestamp_seconds",
        "schemad_poll_interval_seconds",
        "schemad_poll_duration_seconds_count",
    }

    # 1. A second repo with the same environment name, and a second environment of `app`:
    #    the API now says app/test, second/test; the metrics' labels do not move.
    repo2 = DaemonRepo.create(tmp_path / "repo2", server, other_schema, {"users.sql": USERS})
    p = server.params
    with (d.repo.root / ".skeema").open("a") as f:
        f.write(f"[other]\nhost={p.host}\nport={p.port}\nuser={DB_USER}\npassword=${PASSWORD_ENV}\n")
    d.extra_toml = f'[[repos]]\nname = "second"\npath = "{repo2.root}"\nenvironments = ["test"]\n'
    before = polls(d, "app", "test")
    reload(d, ["app/test", "other", "second/test"], ("test", "other"))
    d.wait_for(lambda: polls(d, "second", "test") > 0 and polls(d, "app", "other") > 0)
    assert envs(d) == {("app", "test"), ("app", "other"), ("second", "test")}
    assert app_series <= set(series(d))  # the same series, same labels: nothing renamed
    d.wait_for(lambda: polls(d, "app", "test") > before)  # and they keep moving (not frozen)
    assert not [k for k in series(d) if any("/" in v for _, v in k[1])]  # never the API's `repo/env`
    assert d.metric("schemad_drift", repo="second", environment="test", schema=other_schema) == 1
    assert d.metric("schemad_repo_file_errors", repo="second") == 0

    # 2. `second` renamed to `third` (same checkout), and `app` back to one environment.
    d.extra_toml = d.extra_toml.replace('name = "second"', 'name = "third"')
    reload(d, ["app/test", "third/test"])
    d.wait_for(lambda: polls(d, "third", "test") > 0)
    assert envs(d) == {("app", "test"), ("third", "test")}
    assert labelled(d, repo="second") == {}  # its file errors too
    assert labelled(d, environment="other") == {}
    assert d.metric("schemad_repo_file_errors", repo="third") == 0

    # 3. `third` removed: only app's series are left, and they keep moving.
    d.extra_toml = ""
    before = polls(d, "app", "test")
    reload(d, ["test"])
    assert labelled(d, repo="third") == {}
    assert envs(d) == {("app", "test")}
    assert app_series <= set(series(d))
    d.wait_for(lambda: polls(d, "app", "test") > before)
    assert {k for k in series(d) if dict(k[1]).get("repo") not in (None, "app")} == set()


def test_a_file_the_server_rejects_is_unknown_drift_and_said_by_the_diff(
    daemon: RunningDaemon, server: DBServer
) -> None:
    d = daemon
    schema = d.repo.schema
    labels = {"repo": "app", "environment": "test", "schema": schema}
    d.wait_for(lambda: d.metric("schemad_drift", **labels) == 0)
    assert d.metric("schemad_drift_unknown", **labels) == 0
    r = d.get("/v1/environments/test/diff?format=sql")
    assert r.status == 200 and r.body == b"" and r.headers["X-Schemad-Unevaluated"] == "0"

    # A CREATE the server rejects (it splits and parses fine: only the workspace refuses it).
    (d.repo.dir / "bad.sql").write_text("CREATE TABLE bad (\n  id int,,\n  x int\n);\n")
    env = d.wait_for(
        lambda: (e := d.get("/v1/environments").json()["environments"][0])["status"] == "error" and e
    )
    assert env["drift"]["errors"] == 1
    d.wait_for(lambda: d.metric("schemad_drift_unknown", **labels) == 1)
    assert d.metric("schemad_drift", **labels) is None  # unknown, not "no drift"
    assert labelled(d, schema=schema, repo="app").keys() == {
        ("schemad_drift_unknown", tuple(sorted(labels.items())))
    }
    assert d.metric("schemad_repo_file_errors", repo="app") == 1

    # The SQL diff says so (200: the other schemas' statements would still be listed).
    r = d.get("/v1/environments/test/diff?format=sql")
    check_response("get", "/v1/environments/{env}/diff", r.status, r.headers["Content-Type"], r.body)
    assert r.status == 200 and r.headers["X-Schemad-Unevaluated"] == "1"
    lines = r.text.splitlines()
    assert lines and all(line.startswith("-- ") for line in lines), r.text
    assert re.match(rf"-- not evaluated, changes left out: schema {schema} on [^ ]+: .*bad\.sql", lines[0])
    r = d.get("/v1/environments/test/diff")
    check_response("get", "/v1/environments/{env}/diff", r.status, r.headers["Content-Type"], r.body)
    assert r.headers["X-Schemad-Unevaluated"] == "1"
    (target,) = r.json()["targets"]
    assert "bad.sql" in target["error"] and target["statements"] == []
    assert "X-Schemad-Unevaluated" in spec()["components"]["responses"]["Diff"]["headers"]

    # Its push is refused: counted as a refusal, never as a job.
    r = d.post("/v1/environments/test/push", {"plan_hash": r.json()["plan_hash"]})
    assert r.status == 422 and r.json()["error"]["code"] == "plan_blocked"
    assert d.metric("schemad_push_refusals_total", repo="app", environment="test", reason="plan_blocked") == 1
    assert [k for k in series(d) if k[0] == "schemad_push_jobs_total"] == []

    # Fixed: known again, no file error, an empty diff.
    (d.repo.dir / "bad.sql").unlink()
    d.wait_for(lambda: d.metric("schemad_drift", **labels) == 0)
    assert d.metric("schemad_drift_unknown", **labels) == 0
    assert d.metric("schemad_repo_file_errors", repo="app") == 0
    r = d.get("/v1/environments/test/diff?format=sql")
    assert r.status == 200 and r.body == b"" and r.headers["X-Schemad-Unevaluated"] == "0"

    # An unsafe plan refused is a refusal too (the help of schemad_push_jobs_total says finished jobs).
    sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
    plan = d.wait_for(lambda: (x := d.diff(refresh="true"))["unsafe_count"] == 1 and x)["plan_hash"]
    r = d.post("/v1/environments/test/push", {"plan_hash": plan})
    assert r.status == 422 and r.json()["error"]["code"] == "unsafe_statements"
    refusals = {"repo": "app", "environment": "test"}
    assert d.metric("schemad_push_refusals_total", **refusals, reason="unsafe_statements") == 1
    assert [k for k in series(d) if k[0] == "schemad_push_jobs_total"] == []
    text = d.get("/metrics", token=None).text
    assert "# HELP schemad_push_jobs_total Finished push jobs, by result." in text
