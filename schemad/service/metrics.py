"""The daemon's Prometheus metrics, in a registry owned by one app.

`Metrics` creates its own `CollectorRegistry`: there is no module-level registry
and nothing is ever registered in prometheus_client's global one, so two apps
(or two tests) in one process never share a series.  The poller, watcher and job
runner call the `record_*`/`set_*` methods; the API serves `render()`.

Labels are chosen once and never change with the configuration: every series of
an environment carries `repo` (the repo's name in the config) and `environment`
(the environment's name in that repo's `.skeema` files), whether or not another
repo has an environment of the same name, so adding a repo renames nothing.
The API's key for an environment (`env`, or `repo/env` when two repos share it)
is never a label value: the job runner names its environment by that key, and
`name_environment` tells which repo x environment each key stands for.  What
the configuration drops is dropped here too: `forget_environment` and
`forget_repo` remove every series of it (counters included), `forget_schema`
those of one schema dir.

A schema whose drift cannot be evaluated (a file the workspace server rejects,
a broken `.skeema`, a server never reached) has `schemad_drift_unknown` 1 and no
`schemad_drift`/`schemad_drift_objects` at all: not knowing is not "no drift".
A separate 0/1 gauge rather than a state label keeps `schemad_drift` a plain
boolean (the rules and dashboards reading it are unchanged), makes "unknown" one
selector (`schemad_drift_unknown == 1`), and never moves a schema's series from
one label value to another (a state label would, and `for:` clauses restart when
it does).

What it will not do: label a series with anything unbounded.  Label values are
only repo, environment, schema and webhook names from the daemon's config, an
object *kind* (`ObjectType` value), a push result from `PUSH_RESULTS`, a refusal
reason from `PUSH_REFUSALS` and a webhook result from `WEBHOOK_RESULTS`; never
an object name, job id, user or error text.  The one exception is the
online-schema-change pair (`schemad_osc_progress_ratio`,
`schemad_osc_cutover_pending`), labelled with the table and tool of a change
that is running: they exist only while its tool runs (`forget_osc` removes
them when it ends), so their number is bounded by the changes running at once.
Unknown kinds, results and reasons are refused with ValueError instead of
silently growing the series count.  The alerting rules that read these series
live in config/alerts.yml.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from schemad.model.keys import ObjectType

# The text exposition format `generate_latest` writes (Prometheus text format 0.0.4), with its
# version parameter, as prometheus_client's own handler labels it.  Not CONTENT_TYPE_LATEST: from
# prometheus_client 0.22 on that says version=1.0.0, which the client serves only when a scraper
# asks for it by Accept and with an escaping= parameter.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Histogram buckets for one poll (introspect + diff of one environment): 5 ms to 60 s.
POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

#: The values `record_push` accepts for the `result` label: how a push job ended.
PUSH_RESULTS = frozenset({"succeeded", "failed", "cancelled"})

#: The values `record_push_refused` accepts for the `reason` label (the API's error codes).
PUSH_REFUSALS = frozenset(
    {
        "unsafe_statements",
        "lint_errors",
        "verify_failed",
        "plan_blocked",
        "unacknowledged_drift",
        "cutover_not_supported",
        "preflight_failed",
    }
)

#: The values `record_webhook` accepts for the `result` label.
WEBHOOK_RESULTS = frozenset({"delivered", "failed", "dropped"})

#: The values `set_drift` accepts as kinds (the keys of `counts`).
DRIFT_KINDS = frozenset(t.value for t in ObjectType)

Env = tuple[str, str]  # (repo, environment): the labels of one environment's series


def _schemad_version() -> str:
    try:
        return metadata.version("schemad")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class Metrics:
    """Every series the daemon exports, registered in a registry of its own."""

    def __init__(self, version: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._lock = threading.RLock()
        # Label values of every child created, per labelled metric: what `forget_*` removes.
        self._children: dict[Any, set[tuple[str, ...]]] = {}
        self._kinds: dict[tuple[str, str, str], set[str]] = {}  # (repo, env, schema) -> kinds exported
        self._failures: dict[Env, int] = {}  # polls failed since the last success, per polled environment
        self._keys: dict[str, Env] = {}  # the API's key of an environment -> its labels
        self._wrappers = 0

        env = ["repo", "environment"]
        self.drift_objects = Gauge(
            "schemad_drift_objects",
            "Objects whose live definition differs from the repository, by kind.",
            [*env, "schema", "kind"],
            registry=r,
        )
        self.drift = Gauge(
            "schemad_drift",
            "1 if the live schema differs from the repository, else 0 (absent while drift is unknown).",
            [*env, "schema"],
            registry=r,
        )
        self.drift_unknown = Gauge(
            "schemad_drift_unknown",
            "1 if the schema's drift cannot be evaluated now (a repo file the server rejects or that"
            " cannot be read, a server never reached), else 0.",
            [*env, "schema"],
            registry=r,
        )
        # Fleets: per environment, never per shard (a fleet may have thousands).
        self.fleet_shards = Gauge(
            "schemad_fleet_shards", "Shards (server x schema) of a fleet environment.", env, registry=r
        )
        self.fleet_groups = Gauge(
            "schemad_fleet_schema_groups",
            "Distinct live schemas (fingerprint groups) among a fleet's shards; 1 when consistent.",
            env,
            registry=r,
        )
        self.fleet_drifted = Gauge(
            "schemad_fleet_shards_drifted",
            "Shards of a fleet whose live schema differs from the repository.",
            env,
            registry=r,
        )
        self.fleet_failing = Gauge(
            "schemad_fleet_shards_failing",
            "Shards of a fleet whose last poll failed or whose drift cannot be evaluated.",
            env,
            registry=r,
        )
        # Push campaigns: per environment and state, never per campaign or shard; only from the runner.
        self.campaigns = Gauge(
            "schemad_campaigns",
            "Push campaigns this daemon runs in an environment, by state (running, paused).",
            [*env, "state"],
            registry=r,
        )
        self.campaigns_ended = Counter(
            "schemad_campaigns_ended",
            "Push campaigns that ended here, by how (finished, halted, aborted).",
            [*env, "state"],
            registry=r,
        )
        self.campaign_shards = Gauge(
            "schemad_campaign_shards",
            "Shards of the environment's latest campaign run here, by state (pending, running, done,"
            " failed, skipped).",
            [*env, "state"],
            registry=r,
        )
        self.poll_duration = Histogram(
            "schemad_poll_duration_seconds",
            "Time taken by one drift poll of an environment.",
            env,
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.poll_errors = Counter(
            "schemad_poll_errors",
            "Drift polls that failed.",
            env,
            registry=r,
        )
        self.poll_consecutive_failures = Gauge(
            "schemad_poll_consecutive_failures",
            "Drift polls that failed since the last successful one (0 after a success).",
            env,
            registry=r,
        )
        self.last_successful_poll = Gauge(
            "schemad_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful drift poll (0 if none succeeded yet).",
            env,
            registry=r,
        )
        self.poll_interval = Gauge(
            "schemad_poll_interval_seconds",
            "The poll schedule's interval (for a cron schedule, the gap between its next two runs).",
            env,
            registry=r,
        )
        self.repo_file_errors = Gauge(
            "schemad_repo_file_errors",
            "Files in the repository checkout that could not be read or parsed, or whose statements"
            " the workspace server rejected (most of any one environment).",
            ["repo"],
            registry=r,
        )
        self.push_jobs = Counter(
            "schemad_push_jobs",
            "Finished push jobs, by result.",
            [*env, "result"],
            registry=r,
        )
        self.push_refusals = Counter(
            "schemad_push_refusals",
            "Pushes refused before any job was created, by reason.",
            [*env, "reason"],
            registry=r,
        )
        self.workspace_statements = Counter(
            "schemad_workspace_statements",
            "CREATE statements run in workspaces (the canonical cache answers the others).",
            registry=r,
        )
        self._workspace_seen = 0
        self.alter_wrapper_running = Gauge(
            "schemad_alter_wrapper_running",
            "Alter-wrapper subprocesses running now.",
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "schemad_webhook_deliveries",
            "Webhook delivery attempts by result: delivered, failed (retried later), dropped (given up).",
            ["target", "result"],
            registry=r,
        )
        self.webhook_queue = Gauge(
            "schemad_webhook_queue_depth",
            "Events waiting in a webhook target's queue.",
            ["target"],
            registry=r,
        )
        osc = [*env, "schema", "table", "tool"]
        self.osc_progress = Gauge(
            "schemad_osc_progress_ratio",
            "Row copy progress (0-1) of an online schema change running now; absent once its tool ends.",
            osc,
            registry=r,
        )
        self.osc_cutover_pending = Gauge(
            "schemad_osc_cutover_pending",
            "1 while an online schema change waits for its cut-over to be approved, else 0;"
            " absent once its tool ends.",
            osc,
            registry=r,
        )
        self.listen_certificate_expiry = Gauge(
            "schemad_listen_certificate_expiry_timestamp_seconds",
            "When the certificate an HTTPS listener serves stops being valid (Unix time), by listen address.",
            ["listen"],
            registry=r,
        )
        self.build_info = Gauge(
            "schemad_build_info",
            "Always 1; the labels say which schemad and Python are running.",
            ["version", "python"],
            registry=r,
        )
        self.build_info.labels(version=version or _schemad_version(), python=platform.python_version()).set(1)

    # ///// children: every labelled series goes through these, so `forget_*` finds it /////

    def _child(self, metric: Any, *values: str) -> Any:
        self._children.setdefault(metric, set()).add(values)
        return metric.labels(*values)

    def _remove(self, metric: Any, *values: str) -> None:
        if values in self._children.get(metric, set()):
            self._children[metric].discard(values)
            metric.remove(*values)

    def _remove_where(self, *prefix: str) -> None:
        """Remove every child whose first label values are `prefix` (repo[, environment])."""
        for metric, children in self._children.items():
            if metric in (self.webhook_deliveries, self.webhook_queue):
                continue  # labelled by webhook target, not repo: a repo may share a target's name
            for values in [v for v in children if v[: len(prefix)] == prefix]:
                self._remove(metric, *values)

    def forget_webhook(self, target: str) -> None:
        """Remove the series of a webhook target a reload dropped."""
        with self._lock:
            for metric in (self.webhook_deliveries, self.webhook_queue):
                for values in [v for v in self._children.get(metric, set()) if v[0] == target]:
                    self._remove(metric, *values)

    # ///// environments /////

    def name_environment(self, key: str, repo: str, environment: str) -> None:
        """Say that the API's environment key `key` stands for `environment` of `repo`."""
        with self._lock:
            self._keys[key] = (repo, environment)

    def forget_environment(self, repo: str, environment: str) -> None:
        """Remove every series of one repo x environment (polls, drift, pushes) and its keys."""
        with self._lock:
            self._remove_where(repo, environment)
            self._forget_bookkeeping(lambda env: env == (repo, environment))

    def forget_repo(self, repo: str) -> None:
        """Remove every series of a repo: its file errors and all of its environments'."""
        with self._lock:
            self._remove_where(repo)
            self._forget_bookkeeping(lambda env: env[0] == repo)

    def _forget_bookkeeping(self, gone: Callable[[Env], bool]) -> None:
        for env in [e for e in self._failures if gone(e)]:
            del self._failures[env]
        for k in [k for k in self._kinds if gone(k[:2])]:
            del self._kinds[k]
        for key in [k for k, env in self._keys.items() if gone(env)]:
            del self._keys[key]

    # ///// polls /////

    def record_poll(self, repo: str, environment: str, seconds: float, ok: bool, at: float) -> None:
        """Record one finished poll that took `seconds` and ended at Unix time `at`.

        The first poll of an environment creates its error counter at 0 and its
        last-success timestamp at 0, so that `increase()` sees the first error and
        an environment that never polled successfully looks stale.
        """
        with self._lock:
            env = (repo, environment)
            if env not in self._failures:
                self._child(self.poll_errors, *env)
                self._child(self.last_successful_poll, *env).set(0)
            failures = 0 if ok else self._failures.get(env, 0) + 1
            self._failures[env] = failures
            self._child(self.poll_consecutive_failures, *env).set(failures)
            self._child(self.poll_duration, *env).observe(seconds)
            if ok:
                self._child(self.last_successful_poll, *env).set(at)
            else:
                self._child(self.poll_errors, *env).inc()

    def set_poll_interval(self, repo: str, environment: str, seconds: float) -> None:
        """Publish the environment's poll interval (what the staleness rules measure against)."""
        if not seconds > 0:
            raise ValueError(f"poll interval must be positive, got {seconds}")
        with self._lock:
            self._child(self.poll_interval, repo, environment).set(seconds)

    # ///// drift /////

    def set_drift(self, repo: str, environment: str, schema: str, counts: Mapping[str, int]) -> None:
        """Publish the drift of one schema: `counts` maps kind -> number of differing objects.

        Kinds whose count is zero (or missing) have no `schemad_drift_objects`
        series; one exported by an earlier call is removed.  `schemad_drift` is 1
        if any kind differs, else 0; `schemad_drift_unknown` is 0.
        """
        unknown = sorted(set(counts) - DRIFT_KINDS)
        if unknown:
            raise ValueError(f"unknown drift kinds {unknown}; expected some of {sorted(DRIFT_KINDS)}")
        negative = sorted(k for k, n in counts.items() if n < 0)
        if negative:
            raise ValueError(f"negative drift counts for {negative}")
        present = {kind: n for kind, n in counts.items() if n > 0}
        with self._lock:
            key = (repo, environment, schema)
            for kind in self._kinds.get(key, set()) - present.keys():
                self._remove(self.drift_objects, *key, kind)
            for kind, n in present.items():
                self._child(self.drift_objects, *key, kind).set(n)
            self._kinds[key] = set(present)
            self._child(self.drift, *key).set(1 if present else 0)
            self._child(self.drift_unknown, *key).set(0)

    def set_drift_unknown(self, repo: str, environment: str, schema: str) -> None:
        """The schema's drift cannot be evaluated now: unknown 1, no drift series until it can."""
        with self._lock:
            key = (repo, environment, schema)
            for kind in self._kinds.get(key, set()):
                self._remove(self.drift_objects, *key, kind)
            self._kinds[key] = set()
            self._remove(self.drift, *key)
            self._child(self.drift_unknown, *key).set(1)

    def forget_schema(self, repo: str, environment: str, schema: str) -> None:
        """Remove every drift series of a schema that is no longer managed (no-op if unknown)."""
        with self._lock:
            key = (repo, environment, schema)
            if self._kinds.pop(key, None) is None:
                return
            self._remove_where(*key)

    # ///// fleets /////

    def set_fleet(
        self, repo: str, environment: str, *, shards: int, groups: int, drifted: int, failing: int
    ) -> None:
        """Publish a fleet environment's shard counts (one series each per environment)."""
        with self._lock:
            self._child(self.fleet_shards, repo, environment).set(shards)
            self._child(self.fleet_groups, repo, environment).set(groups)
            self._child(self.fleet_drifted, repo, environment).set(drifted)
            self._child(self.fleet_failing, repo, environment).set(failing)

    def forget_fleet(self, repo: str, environment: str) -> None:
        """The environment is no fleet (any more): no fleet series (no-op if it had none)."""
        with self._lock:
            for metric in (self.fleet_shards, self.fleet_groups, self.fleet_drifted, self.fleet_failing):
                self._remove(metric, repo, environment)

    # ///// push campaigns /////

    def set_campaigns(
        self, repo: str, environment: str, running: int, paused: int, shards: Mapping[str, int]
    ) -> None:
        """The environment's campaigns run here, and its latest campaign's shards by state."""
        with self._lock:
            self._child(self.campaigns, repo, environment, "running").set(running)
            self._child(self.campaigns, repo, environment, "paused").set(paused)
            for state, n in shards.items():
                self._child(self.campaign_shards, repo, environment, state).set(n)

    def record_campaign_ended(self, repo: str, environment: str, state: str) -> None:
        with self._lock:
            self._child(self.campaigns_ended, repo, environment, state).inc()

    # ///// repository, push jobs, alter-wrapper /////

    def set_repo_file_errors(self, repo: str, n: int) -> None:
        """Publish how many files of repository checkout `repo` failed to read, parse or run."""
        if n < 0:
            raise ValueError(f"negative file error count {n}")
        with self._lock:
            self._child(self.repo_file_errors, repo).set(n)

    def record_push(self, environment: str, result: str) -> None:
        """Count one finished push job of the environment the API calls `environment`.

        `result` is one of `PUSH_RESULTS`.  A key `name_environment` never named
        (or whose environment was forgotten since: a reload dropped it) is not
        counted: its series are gone with it.
        """
        if result not in PUSH_RESULTS:
            raise ValueError(f"unknown push result {result!r}; expected one of {sorted(PUSH_RESULTS)}")
        with self._lock:
            env = self._keys.get(environment)
            if env is not None:
                self._child(self.push_jobs, *env, result).inc()

    def record_push_refused(self, environment: str, reason: str) -> None:
        """Count one push refused before a job was made; `reason` is one of `PUSH_REFUSALS`.

        Keys as `record_push`.  A refused push is no job: `schemad_push_jobs_total` never counts it.
        """
        if reason not in PUSH_REFUSALS:
            raise ValueError(f"unknown refusal reason {reason!r}; expected one of {sorted(PUSH_REFUSALS)}")
        with self._lock:
            env = self._keys.get(environment)
            if env is not None:
                self._child(self.push_refusals, *env, reason).inc()

    def set_workspace_statements(self, total: int) -> None:
        """Advance the workspace counter to `total` (the cache's running count; never goes back)."""
        with self._lock:
            if total > self._workspace_seen:
                self.workspace_statements.inc(total - self._workspace_seen)
                self._workspace_seen = total

    def wrapper_started(self) -> None:
        """An alter-wrapper subprocess started."""
        with self._lock:
            self._wrappers += 1
            self.alter_wrapper_running.set(self._wrappers)

    def wrapper_finished(self) -> None:
        """An alter-wrapper subprocess ended (however it ended); never goes below 0."""
        with self._lock:
            self._wrappers = max(0, self._wrappers - 1)
            self.alter_wrapper_running.set(self._wrappers)

    def record_webhook(self, target: str, result: str, n: int = 1) -> None:
        """Count `n` outcomes of webhook `target` (its configured name); `result` is in WEBHOOK_RESULTS."""
        if result not in WEBHOOK_RESULTS:
            raise ValueError(f"unknown webhook result {result!r}; expected one of {sorted(WEBHOOK_RESULTS)}")
        with self._lock:
            self._child(self.webhook_deliveries, target, result).inc(n)

    def set_webhook_queue(self, target: str, depth: int) -> None:
        """Publish how many events wait in webhook `target`'s queue."""
        with self._lock:
            self._child(self.webhook_queue, target).set(max(depth, 0))

    def set_listen_certificate(self, listen: str, not_after: float) -> None:
        """Publish the end of validity of the certificate listener `listen` (its configured address) serves.

        Listeners change only at a restart, so their series are never forgotten.
        """
        with self._lock:
            self.listen_certificate_expiry.labels(listen=listen).set(not_after)

    # ///// online schema changes /////

    def set_osc(
        self, environment: str, schema: str, table: str, tool: str, ratio: float | None, pending: bool
    ) -> None:
        """Publish a running online schema change of the environment the API calls `environment`.

        `ratio` is the copy's progress (None: not known yet, the series keeps
        its last value or starts at 0); `pending` whether it waits for its
        cut-over to be approved.  Keys as `record_push`.
        """
        with self._lock:
            env = self._keys.get(environment)
            if env is None:
                return
            labels = (*env, schema, table, tool)
            gauge = self._child(self.osc_progress, *labels)
            if ratio is not None:
                gauge.set(max(0.0, min(1.0, ratio)))
            self._child(self.osc_cutover_pending, *labels).set(1 if pending else 0)

    def forget_osc(self, environment: str, schema: str, table: str, tool: str) -> None:
        """The online schema change's tool ended: remove its series."""
        with self._lock:
            env = self._keys.get(environment)
            if env is None:
                return
            labels = (*env, schema, table, tool)
            self._remove(self.osc_progress, *labels)
            self._remove(self.osc_cutover_pending, *labels)

    # ///// exposition /////

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every series, and its HTTP Content-Type."""
        return generate_latest(self.registry), METRICS_CONTENT_TYPE
