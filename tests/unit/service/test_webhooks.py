"""Webhooks: signing and its verification, the two formats, job events, and delivery from the queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from schemad.service import webhooks
from schemad.service.metrics import Metrics
from schemad.service.opsstore import MemoryOpsStore
from schemad.service.state import JobRecord, JobState, StatementRecord
from schemad.service.webhooks import (
    Event,
    WebhookDispatcher,
    backoff,
    job_event,
    json_body,
    sign,
    slack_body,
    verify,
)
from schemad.webhook_config import SecretRef, WebhookConfig

KEY = "k3y"
BODY = b'{"id":"1"}'
NOW = 1_800_000_000


# ///// signing /////


@pytest.mark.parametrize(
    ("key", "body", "stamp", "signature", "ok"),
    [
        (KEY, BODY, str(NOW), sign(KEY, NOW, BODY), True),
        (KEY, BODY, str(NOW - 299), sign(KEY, NOW - 299, BODY), True),
        (KEY, BODY, str(NOW - 301), sign(KEY, NOW - 301, BODY), False),  # a replay, too old
        (KEY, BODY, str(NOW + 301), sign(KEY, NOW + 301, BODY), False),
        ("other", BODY, str(NOW), sign(KEY, NOW, BODY), False),
        (KEY, BODY + b" ", str(NOW), sign(KEY, NOW, BODY), False),
        (KEY, BODY, str(NOW + 1), sign(KEY, NOW, BODY), False),  # the timestamp is signed too
        (KEY, BODY, None, sign(KEY, NOW, BODY), False),
        (KEY, BODY, str(NOW), None, False),
        (KEY, BODY, "-1", sign(KEY, -1, BODY), False),
    ],
)
def test_verify(key: str, body: bytes, stamp: str | None, signature: str | None, ok: bool) -> None:
    assert verify(key, body, stamp, signature, now=NOW) is ok


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    want = hmac.new(KEY.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(KEY, NOW, BODY) == "sha256=" + want


def test_backoff() -> None:
    assert [backoff(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


# ///// formats /////

EVENT = Event("e1", NOW + 0.25, "drift.detected", "prod", {"repo": "app", "schema": "s", "address": "h:1"})


def test_json_body_has_exactly_the_documented_fields() -> None:
    doc = json.loads(json_body(EVENT))
    assert doc == {
        "id": "e1",
        "timestamp": "2027-01-15T08:00:00.250Z",
        "event": "drift.detected",
        "environment": "prod",
        "data": {"repo": "app", "schema": "s", "address": "h:1"},
    }


def job(state: JobState, n: int = 2, error: str | None = None) -> JobRecord:
    return JobRecord(
        id="j1",
        environment="prod",
        repo="app",
        plan_hash="ph",
        requested_by="ci",
        created_at=NOW,
        state=state,
        statements=tuple(StatementRecord(f"ALTER TABLE t{i} ADD COLUMN c int", "pending") for i in range(n)),
        error=error,
        updated_at=NOW,
        wrapper_pid=None,
        log_path=None,
    )


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (JobState.QUEUED, "push.planned"),
        (JobState.RUNNING, "push.started"),
        (JobState.PENDING_CUTOVER, "push.pending_cutover"),
        (JobState.SUCCEEDED, "push.succeeded"),
        (JobState.FAILED, "push.failed"),
        (JobState.CANCELLED, "push.failed"),
        (JobState.INTERRUPTED, "push.failed"),
    ],
)
def test_job_events(state: JobState, name: str) -> None:
    found = job_event(job(state))
    assert found is not None
    assert found[0] == name
    assert found[1]["job"]["state"] == str(state) and found[1]["statement_count"] == 2


def test_slack_body_text_blocks_links_and_escaping() -> None:
    data = dict(job_event(job(JobState.PENDING_CUTOVER, n=60, error="<boom>"))[1])  # type: ignore[index]
    data["links"] = {"job": "https://s.example/v1/jobs/j1", "cutover": "https://s.example/v1/jobs/j1/cutover"}
    msg = json.loads(slack_body(Event("e2", NOW, "push.pending_cutover", "prod", data)))
    assert set(msg) == {"text", "blocks"}
    assert msg["text"] == "Push to prod is ready to cut over: job j1 waits for approval"
    code = msg["blocks"][1]["text"]["text"]
    assert code.startswith("```ALTER TABLE t0") and code.endswith("-- and 10 more```")
    (actions,) = [b for b in msg["blocks"] if b["type"] == "actions"]
    assert [(b["text"]["text"], b["url"]) for b in actions["elements"]] == [
        ("Approve cut-over (POST)", "https://s.example/v1/jobs/j1/cutover"),
        ("Open job", "https://s.example/v1/jobs/j1"),
    ]
    failed = json.loads(
        slack_body(
            Event("e3", NOW, "push.failed", "prod", job_event(job(JobState.FAILED, error="<x> & y"))[1])
        )
    )  # type: ignore[index]
    assert "&lt;x&gt; &amp; y" in failed["blocks"][0]["text"]["text"]


# ///// delivery /////

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(handler: Handler) -> TestServer:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def dispatcher(url: str, ops: MemoryOpsStore, metrics: Metrics, **kw: Any) -> WebhookDispatcher:
    hook = WebhookConfig(name="t", url=url, signing_key=SecretRef(env="KEY"), timeout=2.0, **kw)
    return WebhookDispatcher([hook], ops, metrics, public_url="https://s.example", environ={"KEY": KEY})


async def test_delivers_in_order_retries_and_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "FIRST_RETRY", 0.05)
    got: list[dict[str, Any]] = []
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        body = await request.read()
        assert verify(
            KEY, body, request.headers["X-Schemad-Timestamp"], request.headers["X-Schemad-Signature"]
        )
        if calls == 2:
            return web.Response(status=503)  # the second event fails once
        got.append(json.loads(body))
        return web.Response(status=200)

    server = await serve(handler)
    ops, metrics = MemoryOpsStore(), Metrics()
    d = dispatcher(str(server.make_url("/hook")), ops, metrics)
    await d.start()
    try:
        for i in range(4):
            d.emit("drift.detected", "prod", "app", {"n": i})
        # The receiver has an event before the dispatcher, on its answer, takes it off the queue
        # (in a worker thread) and then counts it.
        delivered = metrics.webhook_deliveries.labels("t", "delivered")
        for _ in range(500):
            if len(got) == 4 and ops.depth("t") == 0 and delivered._value.get() == 4:
                break
            await asyncio.sleep(0.02)
        assert [e["data"]["n"] for e in got] == [0, 1, 2, 3]
        assert got[0]["data"]["links"] == {"diff": "https://s.example/v1/repos/app/environments/prod/diff"}
        assert ops.depth("t") == 0
        assert metrics.webhook_deliveries.labels("t", "failed")._value.get() >= 1  # the 503 (more if slow)
        assert metrics.webhook_deliveries.labels("t", "delivered")._value.get() == 4
    finally:
        await d.stop()
        await server.close()


async def test_an_unreachable_target_keeps_events_and_never_names_its_url() -> None:
    ops, metrics = MemoryOpsStore(), Metrics()
    d = dispatcher("http://127.0.0.1:9/hooks/T0/s3cr3t-path", ops, metrics)
    await d.start()
    try:
        d.emit("push.succeeded", "prod", "app", {})
        for _ in range(100):
            row = ops.head("t")
            if row is not None and row.attempts:
                break
            await asyncio.sleep(0.02)
        assert row is not None and row.attempts >= 1 and row.last_error == "cannot connect"
    finally:
        await d.stop()
    assert ops.depth("t") == 1  # still queued for the next start


async def test_filters_limits_and_max_age() -> None:
    ops, metrics = MemoryOpsStore(), Metrics()
    d = dispatcher("http://127.0.0.1:9/x", ops, metrics, events=("push.*",), queue_limit=2)
    assert d.emit("drift.detected", "prod", "app", {}) is None  # not wanted: nothing queued
    for i in range(3):
        d.emit("push.started", "prod", "app", {"i": i})
    await d.flush()  # queued in order off the event loop
    assert ops.depth("t") == 2
    assert json.loads(ops.head("t").body)["data"]["i"] == 1  # type: ignore[union-attr]
    assert metrics.webhook_deliveries.labels("t", "dropped")._value.get() == 1

    expired = dispatcher("http://127.0.0.1:9/x", ops, metrics, max_age=0.001)
    await asyncio.sleep(0.01)
    await expired.start()
    try:
        for _ in range(100):
            if ops.depth("t") == 0:
                break
            await asyncio.sleep(0.02)
        assert ops.depth("t") == 0
    finally:
        await expired.stop()


def test_push_started_is_announced_once_per_job() -> None:
    ops = MemoryOpsStore()
    d = dispatcher("http://127.0.0.1:9/x", ops, Metrics())
    for state in (
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.PENDING_CUTOVER,
        JobState.RUNNING,
        JobState.SUCCEEDED,
    ):
        d.job_changed(job(state))
    names = []
    while (row := ops.head("t")) is not None:
        names.append(row.event)
        ops.remove(row.id)
    assert names == ["push.planned", "push.started", "push.pending_cutover", "push.succeeded"]


async def test_a_target_a_reload_drops_loses_its_series_and_a_repo_of_its_name_does_not() -> None:
    ops, metrics = MemoryOpsStore(), Metrics()
    d = dispatcher("http://127.0.0.1:9/hook", ops, metrics)
    metrics.record_webhook("t", "failed")
    metrics.set_webhook_queue("t", 3)
    metrics.forget_repo("t")  # a repo named like the target: the target's series stay
    assert b'target="t"' in metrics.render()[0]
    await d.reconfigure([], None)
    assert b'target="t"' not in metrics.render()[0]
    await d.stop()


async def test_emit_never_waits_for_the_store_on_the_event_loop() -> None:
    """A slow outbox (a remote control schema) is written in a thread; the events keep their order."""
    import threading

    class SlowOps(MemoryOpsStore):
        def __init__(self) -> None:
            super().__init__()
            self.gate = threading.Event()
            self.threads: set[int] = set()

        def enqueue(self, rows: Any, limits: Any) -> Any:
            self.threads.add(threading.get_ident())
            self.gate.wait(5)
            return super().enqueue(rows, limits)

    ops = SlowOps()
    d = dispatcher("http://127.0.0.1:9/x", ops, Metrics())
    for i in range(3):
        d.emit("push.started", "prod", "app", {"i": i})  # returns while the first write is held
    assert ops.depth("t") == 0
    ops.gate.set()
    await d.flush()
    assert threading.get_ident() not in ops.threads
    order = []
    while (row := ops.head("t")) is not None:
        order.append(json.loads(row.body)["data"]["i"])
        ops.remove(row.id)
    assert order == [0, 1, 2]
