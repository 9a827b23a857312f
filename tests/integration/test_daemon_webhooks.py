"""Signed webhooks against a real `schemad serve` process, a real test server and a receiver in the test.

The receiver is an aiohttp server on 127.0.0.1 running in a thread of its
own, which can go down (its port then refuses connections), come back on the
same port, or hang (take the request and never answer).  Every JSON event
must verify (HMAC of timestamp + "." + body, timestamp within 5 minutes) and
arrive in the order it happened; none may be lost while the receiver is
down, nor when the daemon is killed with events still queued; the diff
endpoint must answer as fast while a receiver is down or hanging.  The
signing key and a Slack URL's token must appear in nothing the daemon wrote
or answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from schemad.service.webhooks import verify
from tests.conftest import DBServer
from tests.daemon_proc import (
    USERS,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    assert_nowhere,
    ensure_db_user,
    free_port,
    sql,
)

pytestmark = pytest.mark.timeout(240)

KEY = "whk-" + secrets.token_hex(16)  # the signing key, read from a file
SLACK_TOKEN = "slk" + secrets.token_hex(12)  # the secret part of the Slack-style URL


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An aiohttp server on 127.0.0.1 in its own thread and loop: records every request it answers."""

    def __init__(self, *, hang: bool = False) -> None:
        self.port = free_port()
        self.hang = hang  # take requests and never answer
        self.received: list[Received] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner: web.AppRunner | None = None

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.hang:
            await asyncio.sleep(3600)
        self.received.append(Received(request.path, dict(request.headers), body, time.time()))
        return web.Response(status=204)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def start(self) -> Receiver:
        self._run(self._start())
        return self

    def stop(self) -> None:
        self._run(self._stop())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def wait(self, names: list[str], timeout: float = 20.0, path: str = "/hook") -> None:
        """Until exactly `names` arrived at `path` (an AssertionError shows what did)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.names(path) != names:
            time.sleep(0.05)
        assert self.names(path) == names

    def events(self, path: str = "/hook") -> list[dict[str, Any]]:
        return [r.json() for r in self.received if r.path == path]

    def names(self, path: str = "/hook") -> list[str]:
        return [e["event"] for e in self.events(path)]


@pytest.fixture
def schema(server: DBServer) -> Iterator[str]:
    ensure_db_user(server)
    name = f"whk_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4;")
    sql(server, USERS, name)
    yield name
    sql(server, f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def webhook_toml(tmp_path: Path, port: int, *, timeout: str = "2s", slack: bool = False) -> str:
    key = tmp_path / "webhook.key"
    key.write_text(KEY + "\n")
    text = f"""
public_url = "https://schemad.example.com"

[[webhooks]]
name = "ci"
url = "http://127.0.0.1:{port}/hook"
signing_key_file = "{key}"
timeout = "{timeout}"
"""
    if slack:
        url = tmp_path / "slack.url"
        url.write_text(f"http://127.0.0.1:{port}/slack/T000/B000/{SLACK_TOKEN}\n")
        text += f"""
[[webhooks]]
name = "chat"
url_file = "{url}"
format = "slack"
events = ["drift.*", "push.*"]
"""
    return text


def start(tmp_path: Path, server: DBServer, schema: str, toml: str) -> RunningDaemon:
    repo = DaemonRepo.create(tmp_path / "repo", server, schema, {"users.sql": USERS})
    return RunningDaemon(repo, tmp_path / "run", extra_toml=toml).start()


def ack(d: RunningDaemon, name: str = "users") -> None:
    body = {"objects": [{"schema": d.repo.schema, "name": name}], "reason": "known", "expires": "1h"}
    r = d.post("/v1/environments/test/drift/ack", body)
    assert r.status == 201, r.text


def check_signed(r: Receiver) -> None:
    """Every JSON event verifies, carries exactly the documented fields, and its id is in a header."""
    for got in [x for x in r.received if x.path == "/hook"]:
        h = got.headers
        assert verify(KEY, got.body, h.get("X-Schemad-Timestamp"), h.get("X-Schemad-Signature")), h
        assert not verify("wrong", got.body, h.get("X-Schemad-Timestamp"), h.get("X-Schemad-Signature"))
        doc = got.json()
        assert set(doc) == {"id", "timestamp", "event", "environment", "data"}
        assert h["X-Schemad-Event-Id"] == doc["id"] and h["X-Schemad-Event"] == doc["event"]
        assert doc["environment"] == "test" and doc["data"]["repo"] == "app"


def failed_attempts(d: RunningDaemon, target: str = "ci") -> float:
    return d.metric("schemad_webhook_deliveries_total", target=target, result="failed") or 0


def assert_no_secret(d: RunningDaemon) -> None:
    """The signing key and the Slack URL's token are in no log, stdout, state file, answer or metric."""
    assert_nowhere(d, signing_key=KEY, slack_url_token=SLACK_TOKEN)


def test_signed_events_arrive_in_order_and_none_is_lost_while_the_receiver_is_down(
    tmp_path: Path, server: DBServer, schema: str, receiver: Receiver
) -> None:
    receiver.start()
    d = start(tmp_path, server, schema, webhook_toml(tmp_path, receiver.port, slack=True))
    try:
        # Hand DDL, acknowledged, then pushed away: six events, in this order.
        sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
        receiver.wait(["drift.detected"])
        ack(d)
        diff = d.diff(refresh="true")
        r = d.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"], "allow_unsafe": True})
        assert r.status == 202, r.text
        job_id = r.json()["job"]["id"]
        assert d.wait_job(job_id)["state"] == "succeeded"
        first = [
            "drift.detected",
            "drift.acknowledged",
            "push.planned",
            "push.started",
            "push.succeeded",
            "drift.resolved",
        ]
        receiver.wait(first)
        check_signed(receiver)
        events = receiver.events()
        detected = events[0]["data"]
        assert (detected["schema"], detected["objects"][0]["name"]) == (schema, "users")
        assert detected["objects"][0]["statements"] == ["ALTER TABLE `users` DROP COLUMN `hand`"]
        assert events[1]["data"]["who"] == "admin" and events[1]["data"]["reason"] == "known"
        succeeded = events[4]["data"]
        assert succeeded["job"]["id"] == job_id and succeeded["job"]["state"] == "succeeded"
        assert succeeded["links"]["job"] == f"https://schemad.example.com/v1/jobs/{job_id}"
        stamps = [e["timestamp"] for e in events]
        assert stamps == sorted(stamps) and len({e["id"] for e in events}) == len(events)

        # The Slack-format target got the same drift and push events as text and blocks.
        d.wait_for(lambda: len([x for x in receiver.received if x.path.startswith("/slack/")]) == 6)
        slack = [x.json() for x in receiver.received if x.path.startswith("/slack/")]
        assert all(set(m) == {"text", "blocks"} for m in slack)
        assert slack[0]["text"].startswith("Drift detected in test: table `users`")
        assert "DROP COLUMN" in json.dumps(slack[0]["blocks"])
        buttons = next(b for b in slack[4]["blocks"] if b["type"] == "actions")["elements"]
        assert {"Open job", "Open diff"} <= {b["text"]["text"] for b in buttons}

        # The receiver down for 10 s: the events of that time wait, then all arrive, in order.
        receiver.stop()
        down = time.monotonic()
        sql(server, "ALTER TABLE users ADD COLUMN hand2 int", schema)
        d.wait_for(lambda: d.diff(refresh="true")["statement_count"] == 1)
        d.wait_for(lambda: failed_attempts(d) >= 1, timeout=10)
        ack(d)
        time.sleep(max(0.0, 10 - (time.monotonic() - down)))
        assert receiver.names() == first  # nothing got through meanwhile
        assert (d.metric("schemad_webhook_queue_depth", target="ci") or 0) >= 2
        receiver.start()
        receiver.wait([*first, "drift.detected", "drift.acknowledged"], timeout=60)
        d.wait_for(lambda: d.metric("schemad_webhook_queue_depth", target="ci") == 0)
        check_signed(receiver)
        assert d.metric("schemad_webhook_deliveries_total", target="ci", result="delivered") == 8
        assert receiver.events()[6]["data"]["objects"][0]["name"] == "users"
    finally:
        d.stop()
        assert_no_password(d)
        assert_no_secret(d)


def test_events_queued_when_the_daemon_is_killed_are_delivered_after_a_restart(
    tmp_path: Path, server: DBServer, schema: str, receiver: Receiver
) -> None:
    d = start(tmp_path, server, schema, webhook_toml(tmp_path, receiver.port))  # the receiver is not up
    try:
        sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
        d.wait_for(lambda: d.metric("schemad_drift", repo="app", environment="test", schema=schema) == 1)
        ack(d)
        d.wait_for(lambda: d.metric("schemad_webhook_queue_depth", target="ci") == 2)
        d.wait_for(lambda: failed_attempts(d) >= 1)
        d.stop(signal.SIGKILL)

        receiver.start()
        time.sleep(1)
        assert receiver.received == []
        d.start()
        receiver.wait(["drift.detected", "drift.acknowledged"], timeout=30)
        check_signed(receiver)
        time.sleep(2)  # no second drift.detected: what was announced is remembered across the restart
        assert receiver.names() == ["drift.detected", "drift.acknowledged"]
    finally:
        d.stop()
        assert_no_password(d)
        assert_no_secret(d)


def diff_latency(d: RunningDaemon, n: int) -> float:
    """The median time of `n` GET …/diff answers (50 ms apart), in seconds."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = d.get("/v1/environments/test/diff")
        times.append(time.perf_counter() - t0)
        assert r.status == 200
        time.sleep(0.05)
    return statistics.median(times)


def test_the_diff_answers_as_fast_while_receivers_are_down_or_hang(
    tmp_path: Path, server: DBServer, schema: str
) -> None:
    hanging = Receiver(hang=True).start()  # takes each request and never answers
    toml = (
        webhook_toml(tmp_path, hanging.port, timeout="1s")
        + f"""
[[webhooks]]
name = "down"
url = "http://127.0.0.1:{free_port()}/nobody-listens"
signing_key_file = "{tmp_path / "webhook.key"}"
"""
    )
    d = start(tmp_path, server, schema, toml)
    try:
        d.diff()
        healthy = diff_latency(d, 40)  # nothing queued

        sql(server, "ALTER TABLE users ADD COLUMN hand int", schema)
        d.wait_for(lambda: d.diff(refresh="true")["statement_count"] == 1)
        for _ in range(5):
            ack(d)
        d.wait_for(lambda: failed_attempts(d, "ci") >= 1 and failed_attempts(d, "down") >= 1)
        before = failed_attempts(d, "ci"), failed_attempts(d, "down")
        failing = diff_latency(d, 100)  # about 6 s: attempts time out and are refused meanwhile
        after = failed_attempts(d, "ci"), failed_attempts(d, "down")
        assert after[0] > before[0] and after[1] > before[1], (before, after)
        assert d.metric("schemad_webhook_queue_depth", target="ci") == 6
        assert d.metric("schemad_webhook_queue_depth", target="down") == 6

        print(
            f"\ndiff median: {healthy * 1000:.1f} ms healthy, {failing * 1000:.1f} ms with receivers failing"
        )
        assert failing <= max(3 * healthy, healthy + 0.05)  # generous: the machine is shared
    finally:
        d.stop()
        hanging.close()
        assert_no_password(d)


def test_lint_errors_in_the_diff_are_announced_once(
    tmp_path: Path, server: DBServer, schema: str, receiver: Receiver
) -> None:
    receiver.start()
    repo = DaemonRepo.create(
        tmp_path / "repo", server, schema, {"users.sql": USERS}, extra_options="lint-pk=error\n"
    )
    toml = webhook_toml(tmp_path, receiver.port).replace(
        'timeout = "2s"', 'timeout = "2s"\nevents = ["lint.*"]'
    )
    d = RunningDaemon(repo, tmp_path / "run", extra_toml=toml).start()
    try:
        (repo.dir / "nopk.sql").write_text("CREATE TABLE nopk (a int);\n")
        receiver.wait(["lint.failed"])
        check_signed(receiver)
        (finding,) = receiver.events()[0]["data"]["findings"]
        assert (finding["rule"], finding["object"]) == ("pk", {"type": "table", "name": "nopk"})
        assert (finding["file"], finding["line"]) == (f"{schema}/nopk.sql", 1)  # relative to the repo
        time.sleep(2)  # polls go on: the same finding is not announced again
        assert receiver.names() == ["lint.failed"]
    finally:
        d.stop()
        assert_no_password(d)
