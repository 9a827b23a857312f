"""Signed webhooks: events queued in the state store and delivered to the configured targets.

An event is `{id, timestamp, event, environment, data}` (format "json") or a
Slack message (`text` plus blocks: the summary, the statements, buttons to
open the job or the diff and to approve a cut-over; format "slack").  `emit`
renders it once per target whose `events` patterns match and writes it to the
target's queue in the state store (`OpsStore.enqueue`, committed before
`emit` returns), so no event is lost across a restart, however the daemon
stopped.  One task per target sends its queue in order, oldest first, one at a
time (so events arrive in the order they happened): a 2xx answer removes the
event; anything else (another status, no connection, no answer within the
target's `timeout`) is retried after 1 s, 2 s, 4 s, ... up to 60 s between
attempts, for up to the target's `max_age`, after which it is dropped (logged
and counted).  A queue holds at most `queue_limit` events: the oldest goes
first.  Delivery is at least once: a receiver dedupes by the event `id`.  A
dead receiver delays only its own queue; the daemon never waits for one.

**Signing** (every request to a target with a signing key):

    X-Schemad-Event: push.succeeded
    X-Schemad-Event-Id: 6c1f...            (the body's `id`)
    X-Schemad-Timestamp: 1767225600         (Unix seconds when this attempt was sent)
    X-Schemad-Signature: sha256=<hex>       (HMAC-SHA256 with the key, of timestamp + "." + raw body)

A receiver recomputes the HMAC over the header's timestamp, a `.` and the raw
body bytes, compares in constant time, and rejects a timestamp more than 5
minutes from its clock (`verify` is a reference implementation).  The
timestamp is that of the attempt, not of the event, so a retry an hour later
still verifies; a replay of a captured request is refused after 5 minutes, and
within them the event `id` dedupes it.

Secrets (signing keys, URLs that hold a token) are `Secret`s: never logged,
never in an answer, a metric or a stored error.  A failed attempt is recorded
as `HTTP 503`, `cannot connect`, `no answer within 10s` or an exception's
class name, never its text (aiohttp's carries the URL).  Logs and metrics name
a target by its configured `name` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from importlib import metadata
from typing import Any

import aiohttp

from schemad.errors import ConfigError
from schemad.records import dataclass
from schemad.service.metrics import Metrics
from schemad.service.opsstore import NewEvent, OpsStore, OutboxRow
from schemad.service.state import JobRecord
from schemad.service.writebehind import WriteBehind
from schemad.webhook_config import Secret, WebhookConfig

__all__ = [
    "EVENT_HEADER",
    "ID_HEADER",
    "REPLAY_WINDOW",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Event",
    "WebhookDispatcher",
    "backoff",
    "job_event",
    "json_body",
    "sign",
    "slack_body",
    "verify",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Schemad-Signature"
TIMESTAMP_HEADER = "X-Schemad-Timestamp"
EVENT_HEADER = "X-Schemad-Event"
ID_HEADER = "X-Schemad-Event-Id"
#: How far a receiver should let a request's timestamp be from its own clock.
REPLAY_WINDOW = 300.0

FIRST_RETRY = 1.0  # seconds before the second attempt
MAX_RETRY = 60.0  # the longest wait between two attempts

#: How many statements an event carries (the rest are counted, not listed).
MAX_STATEMENTS = 50
#: Slack's limit for one section's text is 3000 characters.
_SLACK_TEXT = 2900


# ///// events /////


@dataclass(frozen=True, slots=True)
class Event:
    """One event, before rendering."""

    id: str  # unique; receivers dedupe by it
    at: float  # epoch seconds
    name: str  # one of webhook_config.EVENTS
    environment: str  # the API's environment key
    data: Mapping[str, Any]  # JSON-ready; always has `repo`


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def json_body(event: Event) -> bytes:
    """The "json" format: `{id, timestamp, event, environment, data}`."""
    doc = {
        "id": event.id,
        "timestamp": _iso(event.at),
        "event": event.name,
        "environment": event.environment,
        "data": dict(event.data),
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()


def _job_statuses(state: str) -> str | None:
    return {
        "queued": "push.planned",
        "running": "push.started",
        "pending_cutover": "push.pending_cutover",
        "succeeded": "push.succeeded",
        "failed": "push.failed",
        "cancelled": "push.failed",
        "interrupted": "push.failed",
    }.get(state)


def job_event(job: JobRecord) -> tuple[str, dict[str, Any]] | None:
    """The event a job's state announces (cancelled and interrupted are `push.failed`), and its data."""
    name = _job_statuses(str(job.state))
    if name is None:
        return None
    statements = [s.sql for s in job.statements]
    return name, {
        "repo": job.repo,
        "job": {
            "id": job.id,
            "state": str(job.state),
            "requested_by": job.requested_by,
            "plan_hash": job.plan_hash,
            "created_at": _iso(job.created_at),
            "error": job.error,
        },
        "statement_count": len(statements),
        "statements": statements[:MAX_STATEMENTS],
    }


# ///// signing /////


def sign(key: str, timestamp: int, body: bytes) -> str:
    """The X-Schemad-Signature value: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>`."""
    mac = hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    key: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    window: float = REPLAY_WINDOW,
) -> bool:
    """What a receiver does: the timestamp within `window` seconds of now, and the signature right."""
    if timestamp is None or signature is None or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        return False
    return hmac.compare_digest(sign(key, int(timestamp), body), signature)


def backoff(attempts: int) -> float:
    """Seconds to wait after `attempts` failed attempts: 1, 2, 4, ... up to MAX_RETRY."""
    return min(FIRST_RETRY * 2.0 ** max(attempts - 1, 0), MAX_RETRY)


# ///// Slack /////


def _esc(text: str) -> str:
    """Slack mrkdwn escaping: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _objects_text(objects: Sequence[Mapping[str, Any]]) -> str:
    names = [f"{o['type']} `{o['name']}`" for o in objects[:10]]
    more = f" and {len(objects) - 10} more" if len(objects) > 10 else ""
    return ", ".join(names) + more


def _slack_title(event: Event) -> str:
    d, env = event.data, event.environment
    where = f"schema `{d.get('schema')}` on {d.get('address')}"
    job = d.get("job") or {}
    camp = d.get("campaign") or {}
    n = d.get("statement_count", 0)
    titles = {
        "drift.detected": f"Drift detected in {env}: {_objects_text(d.get('objects', []))} ({where})"
        " changed outside schemad",
        "drift.resolved": f"Drift resolved in {env}: {_objects_text(d.get('objects', []))} ({where})",
        "drift.acknowledged": f"Drift acknowledged in {env} by {d.get('who')} until {d.get('expires_at')}:"
        f" {d.get('reason')}",
        "push.planned": f"Push to {env} requested by {job.get('requested_by')}: job {job.get('id')},"
        f" {n} statement(s)",
        "push.started": f"Push to {env} started: job {job.get('id')}, {n} statement(s)",
        "push.pending_cutover": f"Push to {env} is ready to cut over: job {job.get('id')} waits for approval",
        "push.succeeded": f"Push to {env} succeeded: job {job.get('id')}, {n} statement(s)",
        "push.failed": f"Push to {env} ended {job.get('state')}: job {job.get('id')}"
        + (f": {job.get('error')}" if job.get("error") else ""),
        "lint.failed": f"Lint failed in {env}: {len(d.get('findings', []))} error(s) in {where}",
        "campaign.started": f"Campaign {camp.get('id')} in {env} started: {camp.get('shards')} shard(s)",
        "campaign.wave_done": f"Campaign {camp.get('id')} in {env}: wave {d.get('wave_done')} of"
        f" {camp.get('waves')} done ({camp.get('done')} of {camp.get('shards')} shard(s) done)",
        "campaign.halted": f"Campaign {camp.get('id')} in {env} halted: {camp.get('error')}",
        "campaign.finished": f"Campaign {camp.get('id')} in {env} ended {camp.get('state')}:"
        f" {camp.get('done')} of {camp.get('shards')} shard(s) done, {camp.get('failures')} failed",
    }
    return titles.get(event.name, f"{event.name} in {env}")


def _slack_detail(event: Event) -> str:
    d = event.data
    if event.name == "drift.detected":
        lines = [sql for o in d.get("objects", []) for sql in o.get("statements", [])]
    elif event.name == "drift.acknowledged":
        lines = [f"{a['type']} {a['name']} in {a['schema']} on {a['address']}" for a in d["acknowledgements"]]
    elif event.name == "lint.failed":
        lines = [f"{f['file']}:{f['line']}: [{f['rule']}] {f['message']}" for f in d.get("findings", [])]
    elif event.name.startswith("push."):
        lines = list(d.get("statements", []))
        if d.get("statement_count", 0) > len(lines):
            lines.append(f"-- and {d['statement_count'] - len(lines)} more")
    else:
        lines = []
    text = "\n".join(lines)
    return text if len(text) <= _SLACK_TEXT else text[: _SLACK_TEXT - 4] + "\n..."


def slack_body(event: Event) -> bytes:
    """The "slack" format: `text` (the summary) and blocks (summary, statements, links)."""
    title = _slack_title(event)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": _esc(title)}}]
    detail = _slack_detail(event)
    if detail:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "```" + _esc(detail) + "```"}})
    links = event.data.get("links") or {}
    labels = (("cutover", "Approve cut-over (POST)"), ("job", "Open job"), ("diff", "Open diff"))
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": links[name]}
        | ({"style": "primary"} if name == "cutover" else {})
        for name, label in labels
        if links.get(name)
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    if links.get("cutover"):
        hint = f"Approve with: curl -X POST -H 'Authorization: Bearer $TOKEN' {links['cutover']}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(hint)}]})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _esc(f"schemad {event.name} · {_iso(event.at)} · {event.id}")}
            ],
        }
    )
    return json.dumps({"text": title, "blocks": blocks}, separators=(",", ":")).encode()


def _links(public_url: str | None, name: str, environment: str, data: Mapping[str, Any]) -> dict[str, str]:
    if not public_url:
        return {}
    repo, _, env = environment.rpartition("/")
    base = f"{public_url}/v1/repos/{data.get('repo') or repo}/environments/{env}"
    out = {"diff": f"{base}/diff"}
    job = data.get("job")
    if isinstance(job, Mapping) and job.get("id"):
        out["job"] = f"{public_url}/v1/jobs/{job['id']}"
        if name == "push.pending_cutover":
            out["cutover"] = f"{public_url}/v1/jobs/{job['id']}/cutover"
    return out


# ///// delivery /////


@dataclass(slots=True)
class _Target:
    config: WebhookConfig
    url: Secret
    key: Secret | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    depth: int = 0


def _resolve(configs: Sequence[WebhookConfig], environ: Mapping[str, str]) -> list[_Target]:
    """Read every target's secrets; ConfigError (naming the variable or file only) if one is missing."""
    out = []
    for c in configs:
        what = f"webhook {c.name}"
        if c.url_ref is not None:
            url = c.url_ref.read(f"{what}: url", environ)
        else:
            assert c.url is not None
            url = Secret(c.url)
        key = c.signing_key.read(f"{what}: signing key", environ) if c.signing_key is not None else None
        out.append(_Target(c, url, key))
    return out


def _version() -> str:
    try:
        return metadata.version("schemad")
    except metadata.PackageNotFoundError:
        return "unknown"


class WebhookDispatcher:
    """Queues events for the configured targets and delivers them; see the module docstring."""

    def __init__(
        self,
        configs: Sequence[WebhookConfig],
        ops: OpsStore,
        metrics: Metrics,
        *,
        public_url: str | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.ops = ops
        self.metrics = metrics
        self.public_url = public_url
        self.clock = clock
        self.environ = environ
        self._targets = _resolve(configs, environ)
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False
        self._user_agent = f"schemad/{_version()}"
        self._started: set[str] = set()  # jobs that announced push.started and have not ended
        self._writes = WriteBehind("webhooks")  # the outbox rows, in emit order, off the event loop

    @property
    def targets(self) -> list[str]:
        return [t.config.name for t in self._targets]

    # ///// emitting /////

    def emit(self, name: str, environment: str, repo: str, data: Mapping[str, Any]) -> Event | None:
        """Queue event `name` for every target that wants it; None if none does.

        The outbox rows are written in order in a thread (`flush` waits for them): an
        unreachable control schema never holds up the poll or job that emitted it.
        """
        wanting = [t for t in self._targets if t.config.wants(name)]
        if not wanting:
            return None
        links = _links(self.public_url, name, environment, {"repo": repo, **data})
        event = Event(
            uuid.uuid4().hex,
            self.clock(),
            name,
            environment,
            {"repo": repo, **data, **({"links": links} if links else {})},
        )
        rows = [
            NewEvent(
                t.config.name,
                event.id,
                name,
                event.at,
                slack_body(event) if t.config.format == "slack" else json_body(event),
            )
            for t in wanting
        ]
        limits = {t.config.name: t.config.queue_limit for t in wanting}

        def queued(dropped: dict[str, int] | None) -> None:
            if dropped is None:  # could not be queued (logged): counted as lost
                for t in wanting:
                    self.metrics.record_webhook(t.config.name, "dropped")
                return
            for t in wanting:
                lost = dropped.get(t.config.name, 0)
                t.depth += 1 - lost
                self.metrics.set_webhook_queue(t.config.name, t.depth)
                if lost:
                    log.error("webhook %s: queue full: dropped its %d oldest event(s)", t.config.name, lost)
                    self.metrics.record_webhook(t.config.name, "dropped", lost)
                t.wake.set()

        # Queued in order off the event loop (a remote control schema may be slow or unreachable);
        # never fails what emitted it (a poll, a job): a lost event is logged and counted.
        self._writes.put(
            f"queue event {event.id} ({name})",
            lambda: self._enqueue(event, rows, limits),
            after=queued,
        )
        return event

    def _enqueue(self, event: Event, rows: list[NewEvent], limits: dict[str, int]) -> dict[str, int] | None:
        """(In the writes' thread.) The event's rows in the outbox; None when they could not be written."""
        try:
            return self.ops.enqueue(rows, limits)
        except Exception as exc:
            what = type(exc).__name__
            log.error("webhooks: event %s (%s) could not be queued: %s", event.id, event.name, what)
            return None

    async def flush(self) -> None:
        """Wait until every event emitted so far is in the outbox (or known lost)."""
        await self._writes.flush()

    def job_changed(self, job: JobRecord) -> None:
        """A job's state changed: announce it (push.planned, push.started, ...).

        `push.started` is announced once per job: a job that goes back to
        running after an approved cut-over does not start again.
        """
        found = job_event(job)
        if found is None:
            return
        name, data = found
        if name == "push.started":
            if job.id in self._started:
                return
            self._started.add(job.id)
        elif name in ("push.succeeded", "push.failed"):
            self._started.discard(job.id)
        self.emit(name, job.environment, job.repo, data)

    # ///// lifecycle /////

    async def start(self) -> None:
        self._stopping = False
        self._session = aiohttp.ClientSession()
        for t in self._targets:
            self._start_target(t)

    def _start_target(self, t: _Target) -> None:
        t.task = asyncio.get_running_loop().create_task(self._deliver(t), name=f"webhook {t.config.name}")

    async def stop(self, grace: float = 2.0) -> None:
        """Stop sending; an attempt in flight gets `grace` seconds (what is queued stays queued)."""
        await self._writes.flush()
        self._stopping = True
        tasks = [t.task for t in self._targets if t.task is not None]
        for t in self._targets:
            t.wake.set()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def reconfigure(self, configs: Sequence[WebhookConfig], public_url: str | None) -> None:
        """Apply a reloaded configuration; a secret that can't be read keeps the running targets."""
        try:
            targets = _resolve(configs, self.environ)
        except ConfigError as exc:
            log.error("webhooks not reconfigured, the running targets stay: %s", exc)
            return
        await self.stop()
        kept = {t.config.name for t in targets}
        for gone in [t.config.name for t in self._targets if t.config.name not in kept]:
            self.metrics.forget_webhook(gone)  # its queue stays in the state store, unsent
        self._targets = targets
        self.public_url = public_url
        await self.start()

    # ///// one target's queue /////

    async def _sleep(self, t: _Target, seconds: float | None) -> None:
        """Until `seconds` pass or `emit` queues something (`wake` is cleared before the queue is read)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(t.wake.wait(), seconds)

    async def _deliver(self, t: _Target) -> None:
        name = t.config.name
        with contextlib.suppress(Exception):
            t.depth = await asyncio.to_thread(self.ops.depth, name)
            self.metrics.set_webhook_queue(name, t.depth)
        while not self._stopping:
            t.wake.clear()  # before reading: an event queued from now on wakes the sleep below
            try:
                row = await asyncio.to_thread(self.ops.head, name)
            except Exception as exc:
                log.error("webhook %s: cannot read its queue: %s", name, type(exc).__name__)
                await self._sleep(t, 5.0)
                continue
            if row is None:
                await self._sleep(t, None)
                continue
            now = self.clock()
            if now - row.created_at > t.config.max_age:
                log.error(
                    "webhook %s: event %s (%s) dropped: undelivered after %d attempt(s) in %gs (%s)",
                    name,
                    row.event_id,
                    row.event,
                    row.attempts,
                    t.config.max_age,
                    row.last_error,
                )
                await self._remove(t, row, "dropped")
                continue
            if row.next_attempt_at > now:
                await self._sleep(t, row.next_attempt_at - now)
                continue
            error = await self._post(t, row)
            if error is None:
                await self._remove(t, row, "delivered")
                continue
            attempts = row.attempts + 1
            delay = backoff(attempts)
            self.metrics.record_webhook(name, "failed")
            log.warning(
                "webhook %s: event %s (%s) not delivered, attempt %d: %s; next attempt in %gs",
                name,
                row.event_id,
                row.event,
                attempts,
                error,
                delay,
            )
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.ops.retry, row.id, attempts, self.clock() + delay, error)
            if not self._stopping:
                await self._sleep(t, delay)

    async def _remove(self, t: _Target, row: OutboxRow, result: str) -> None:
        try:
            await asyncio.to_thread(self.ops.remove, row.id)
        except Exception as exc:
            log.error("webhook %s: cannot update its queue: %s", t.config.name, type(exc).__name__)
            await self._sleep(t, 5.0)
            return
        t.depth = max(t.depth - 1, 0)
        self.metrics.set_webhook_queue(t.config.name, t.depth)
        self.metrics.record_webhook(t.config.name, result)

    async def _post(self, t: _Target, row: OutboxRow) -> str | None:
        """One attempt; None when the target took it (2xx), else why not (never a URL or secret)."""
        assert self._session is not None
        stamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            EVENT_HEADER: row.event,
            ID_HEADER: row.event_id,
            TIMESTAMP_HEADER: str(stamp),
        }
        if t.key is not None:
            headers[SIGNATURE_HEADER] = sign(t.key.reveal(), stamp, row.body)
        timeout = t.config.timeout
        try:
            async with self._session.post(
                t.url.reveal(),
                data=row.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as resp:
                status = resp.status
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except aiohttp.ClientConnectorError:
            return "cannot connect"
        except Exception as exc:  # its text may hold the URL: only the class
            return type(exc).__name__
        return None if 200 <= status < 300 else f"HTTP {status}"
