"""The daemon's Prometheus metrics, in a registry owned by one app.

`Metrics` creates its own `CollectorRegistry`: there is no module-level registry
and nothing is ever registered in prometheus_client's global one, so two apps
(or two tests) in one process never share a series.  The poller, watcher and job
runner call the `record_*`/`set_*` methods; the API serves `render()`.

What it will not do: label a series with anything unbounded.  Label values are
only environment, schema and repository names from the daemon's config, an
object *kind* (`ObjectType` value) and a push result from `PUSH_RESULTS`; never
an object name, job id, user or error text.  Unknown kinds and results are
refused with ValueError instead of silently growing the series count.  The
alerting rules that read these series live in config/alerts.yml.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Mapping
from importlib import metadata

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from schemad.model.keys import ObjectType

#: Histogram buckets for one poll (introspect + diff of one environment): 5 ms to 60 s.
POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

#: The values `record_push` accepts for the `result` label.
PUSH_RESULTS = frozenset({"succeeded", "failed", "cancelled", "refused"})

#: The values `set_drift` accepts as kinds (the keys of `counts`).
DRIFT_KINDS = frozenset(t.value for t in ObjectType)


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
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str], set[str]] = {}  # (environment, schema) -> kinds exported
        self._environments: set[str] = set()  # environments that have polled at least once
        self._wrappers = 0

        self.drift_objects = Gauge(
            "schemad_drift_objects",
            "Objects whose live definition differs from the repository, by kind.",
            ["environment", "schema", "kind"],
            registry=r,
        )
        self.drift = Gauge(
            "schemad_drift",
            "1 if the live schema differs from the repository, else 0.",
            ["environment", "schema"],
            registry=r,
        )
        self.poll_duration = Histogram(
            "schemad_poll_duration_seconds",
            "Time taken by one drift poll of an environment.",
            ["environment"],
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.poll_errors = Counter(
            "schemad_poll_errors",
            "Drift polls that failed.",
            ["environment"],
            registry=r,
        )
        self.last_successful_poll = Gauge(
            "schemad_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful drift poll (0 if none succeeded yet).",
            ["environment"],
            registry=r,
        )
        self.repo_file_errors = Gauge(
            "schemad_repo_file_errors",
            "Files in the repository checkout that could not be read or parsed.",
            ["repo"],
            registry=r,
        )
        self.push_jobs = Counter(
            "schemad_push_jobs",
            "Finished push jobs, by result.",
            ["environment", "result"],
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
        self.build_info = Gauge(
            "schemad_build_info",
            "Always 1; the labels say which schemad and Python are running.",
            ["version", "python"],
            registry=r,
        )
        self.build_info.labels(version=version or _schemad_version(), python=platform.python_version()).set(1)

    # ///// polls /////

    def record_poll(self, environment: str, seconds: float, ok: bool, at: float) -> None:
        """Record one finished poll of `environment` that took `seconds` and ended at Unix time `at`.

        The first poll of an environment creates its error counter at 0 and its
        last-success timestamp at 0, so that `increase()` sees the first error and
        an environment that never polled successfully looks stale.
        """
        with self._lock:
            if environment not in self._environments:
                self._environments.add(environment)
                self.poll_errors.labels(environment=environment)
                self.last_successful_poll.labels(environment=environment).set(0)
        self.poll_duration.labels(environment=environment).observe(seconds)
        if ok:
            self.last_successful_poll.labels(environment=environment).set(at)
        else:
            self.poll_errors.labels(environment=environment).inc()

    # ///// drift /////

    def set_drift(self, environment: str, schema: str, counts: Mapping[str, int]) -> None:
        """Publish the drift of one schema: `counts` maps kind -> number of differing objects.

        Kinds whose count is zero (or missing) have no `schemad_drift_objects`
        series; one exported by an earlier call is removed.  `schemad_drift` is 1
        if any kind differs, else 0.
        """
        unknown = sorted(set(counts) - DRIFT_KINDS)
        if unknown:
            raise ValueError(f"unknown drift kinds {unknown}; expected some of {sorted(DRIFT_KINDS)}")
        negative = sorted(k for k, n in counts.items() if n < 0)
        if negative:
            raise ValueError(f"negative drift counts for {negative}")
        present = {kind: n for kind, n in counts.items() if n > 0}
        with self._lock:
            before = self._kinds.get((environment, schema), set())
            for kind in before - present.keys():
                self.drift_objects.remove(environment, schema, kind)
            for kind, n in present.items():
                self.drift_objects.labels(environment=environment, schema=schema, kind=kind).set(n)
            self._kinds[(environment, schema)] = set(present)
            self.drift.labels(environment=environment, schema=schema).set(1 if present else 0)

    def forget_schema(self, environment: str, schema: str) -> None:
        """Remove every drift series of a schema that is no longer managed (no-op if unknown)."""
        with self._lock:
            kinds = self._kinds.pop((environment, schema), None)
            if kinds is None:
                return
            for kind in kinds:
                self.drift_objects.remove(environment, schema, kind)
            self.drift.remove(environment, schema)

    # ///// repository, push jobs, alter-wrapper /////

    def set_repo_file_errors(self, repo: str, n: int) -> None:
        """Publish how many files of repository checkout `repo` failed to read or parse."""
        if n < 0:
            raise ValueError(f"negative file error count {n}")
        self.repo_file_errors.labels(repo=repo).set(n)

    def record_push(self, environment: str, result: str) -> None:
        """Count one finished push job; `result` is one of `PUSH_RESULTS`."""
        if result not in PUSH_RESULTS:
            raise ValueError(f"unknown push result {result!r}; expected one of {sorted(PUSH_RESULTS)}")
        self.push_jobs.labels(environment=environment, result=result).inc()

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

    # ///// exposition /////

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every series, and its HTTP Content-Type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
