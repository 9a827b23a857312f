"""Metrics: the exposition holds the right series, labels and values, and nothing unbounded."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from schemad.service.metrics import PUSH_RESULTS, Metrics

Labels = tuple[tuple[str, str], ...]


def samples(m: Metrics) -> dict[tuple[str, Labels], float]:
    """Every sample of the rendered exposition, keyed by (name, sorted labels)."""
    text, _ = m.render()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
        if not s.name.endswith("_created")
    }


def value(m: Metrics, name: str, **labels: str) -> float | None:
    return samples(m).get((name, tuple(sorted(labels.items()))))


def names(m: Metrics, prefix: str) -> set[Labels]:
    """The label sets of every sample named `prefix`."""
    return {labels for name, labels in samples(m) if name == prefix}


def test_render_returns_text_and_content_type() -> None:
    text, content_type = Metrics().render()
    assert content_type.startswith("text/plain")
    assert b"# TYPE schemad_drift gauge" in text


def test_fresh_metrics_export_only_build_info_and_unlabelled_series() -> None:
    m = Metrics(version="1.2.3")
    fresh = {k: v for k, v in samples(m).items() if not k[0].endswith("_created")}
    assert fresh == {
        ("schemad_build_info", (("python", platform.python_version()), ("version", "1.2.3"))): 1.0,
        ("schemad_alter_wrapper_running", ()): 0.0,
        ("schemad_workspace_statements_total", ()): 0.0,
    }


def test_workspace_counter_follows_the_cache_total_and_never_goes_back() -> None:
    m = Metrics()
    m.set_workspace_statements(5)
    m.set_workspace_statements(3)
    m.set_workspace_statements(7)
    assert samples(m)[("schemad_workspace_statements_total", ())] == 7.0


def test_build_info_defaults_to_installed_version() -> None:
    (labels,) = names(Metrics(), "schemad_build_info")
    assert dict(labels)["version"]
    assert dict(labels)["python"] == platform.python_version()


@pytest.mark.parametrize(
    ("calls", "errors", "last_success", "count"),
    [
        ([(0.2, True, 1000.0)], 0.0, 1000.0, 1.0),
        ([(0.2, False, 1000.0)], 1.0, 0.0, 1.0),  # never succeeded: timestamp 0 (stale)
        ([(0.2, True, 1000.0), (30.0, False, 1060.0), (0.1, False, 1120.0)], 2.0, 1000.0, 3.0),
        ([(0.2, False, 1000.0), (0.3, True, 1060.0)], 1.0, 1060.0, 2.0),
    ],
)
def test_record_poll(
    calls: list[tuple[float, bool, float]], errors: float, last_success: float, count: float
) -> None:
    m = Metrics()
    for seconds, ok, at in calls:
        m.record_poll("prod", seconds, ok, at)
    assert value(m, "schemad_poll_errors_total", environment="prod") == errors
    assert value(m, "schemad_last_successful_poll_timestamp_seconds", environment="prod") == last_success
    assert value(m, "schemad_poll_duration_seconds_count", environment="prod") == count
    assert value(m, "schemad_poll_duration_seconds_sum", environment="prod") == pytest.approx(
        sum(c[0] for c in calls)
    )


def test_poll_histogram_buckets_span_5ms_to_60s() -> None:
    m = Metrics()
    m.record_poll("prod", 0.004, True, 1.0)
    m.record_poll("prod", 45.0, True, 2.0)
    buckets = {dict(lb)["le"] for lb in names(m, "schemad_poll_duration_seconds_bucket")}
    assert {"0.005", "60.0", "+Inf"} <= buckets
    assert value(m, "schemad_poll_duration_seconds_bucket", environment="prod", le="0.005") == 1.0
    assert value(m, "schemad_poll_duration_seconds_bucket", environment="prod", le="30.0") == 1.0
    assert value(m, "schemad_poll_duration_seconds_bucket", environment="prod", le="60.0") == 2.0


def test_set_drift_exports_counts_and_flag() -> None:
    m = Metrics()
    m.set_drift("prod", "app", {"table": 3, "view": 1, "trigger": 0})
    m.set_drift("prod", "billing", {})
    assert names(m, "schemad_drift_objects") == {
        (("environment", "prod"), ("kind", "table"), ("schema", "app")),
        (("environment", "prod"), ("kind", "view"), ("schema", "app")),
    }
    assert value(m, "schemad_drift_objects", environment="prod", schema="app", kind="table") == 3.0
    assert value(m, "schemad_drift_objects", environment="prod", schema="app", kind="view") == 1.0
    assert value(m, "schemad_drift", environment="prod", schema="app") == 1.0
    assert value(m, "schemad_drift", environment="prod", schema="billing") == 0.0


def test_set_drift_removes_kinds_that_went_to_zero() -> None:
    m = Metrics()
    m.set_drift("prod", "app", {"table": 3, "view": 1, "procedure": 2})
    m.set_drift("staging", "app", {"view": 5})
    m.set_drift("prod", "app", {"table": 1, "view": 0})  # view -> 0, procedure missing
    assert names(m, "schemad_drift_objects") == {
        (("environment", "prod"), ("kind", "table"), ("schema", "app")),
        (("environment", "staging"), ("kind", "view"), ("schema", "app")),  # other env untouched
    }
    assert value(m, "schemad_drift_objects", environment="prod", schema="app", kind="table") == 1.0
    m.set_drift("prod", "app", {"table": 0})
    assert names(m, "schemad_drift_objects") == {
        (("environment", "staging"), ("kind", "view"), ("schema", "app")),
    }
    assert value(m, "schemad_drift", environment="prod", schema="app") == 0.0
    m.set_drift("prod", "app", {"view": 2})  # a kind can come back
    assert value(m, "schemad_drift_objects", environment="prod", schema="app", kind="view") == 2.0
    assert value(m, "schemad_drift", environment="prod", schema="app") == 1.0


def test_forget_schema_removes_its_series_only() -> None:
    m = Metrics()
    m.set_drift("prod", "app", {"table": 3, "view": 1})
    m.set_drift("prod", "billing", {"table": 1})
    m.forget_schema("prod", "app")
    m.forget_schema("prod", "never-seen")  # no-op
    assert names(m, "schemad_drift_objects") == {
        (("environment", "prod"), ("kind", "table"), ("schema", "billing")),
    }
    assert names(m, "schemad_drift") == {(("environment", "prod"), ("schema", "billing"))}
    m.set_drift("prod", "app", {"event": 1})  # can be managed again afterwards
    assert value(m, "schemad_drift", environment="prod", schema="app") == 1.0


@pytest.mark.parametrize(
    "counts",
    [
        {"orders": 1},  # an object name, not a kind
        {"Table": 1},
        {"table": -1},
    ],
)
def test_set_drift_refuses_unbounded_or_bad_values(counts: dict[str, int]) -> None:
    m = Metrics()
    with pytest.raises(ValueError):
        m.set_drift("prod", "app", counts)
    assert names(m, "schemad_drift_objects") == set()
    assert names(m, "schemad_drift") == set()


def test_repo_file_errors() -> None:
    m = Metrics()
    m.set_repo_file_errors("main", 2)
    m.set_repo_file_errors("main", 0)
    m.set_repo_file_errors("other", 1)
    assert value(m, "schemad_repo_file_errors", repo="main") == 0.0
    assert value(m, "schemad_repo_file_errors", repo="other") == 1.0
    with pytest.raises(ValueError):
        m.set_repo_file_errors("main", -1)


def test_record_push_counts_by_result() -> None:
    m = Metrics()
    m.record_push("prod", "succeeded")
    m.record_push("prod", "succeeded")
    m.record_push("prod", "failed")
    m.record_push("staging", "cancelled")
    assert value(m, "schemad_push_jobs_total", environment="prod", result="succeeded") == 2.0
    assert value(m, "schemad_push_jobs_total", environment="prod", result="failed") == 1.0
    assert value(m, "schemad_push_jobs_total", environment="staging", result="cancelled") == 1.0
    assert {dict(lb)["result"] for lb in names(m, "schemad_push_jobs_total")} <= PUSH_RESULTS


@pytest.mark.parametrize("result", ["ok", "Duplicate column name 'x'", "job-1234"])
def test_record_push_refuses_unknown_results(result: str) -> None:
    m = Metrics()
    with pytest.raises(ValueError):
        m.record_push("prod", result)
    assert names(m, "schemad_push_jobs_total") == set()


def test_wrapper_running_gauge() -> None:
    m = Metrics()
    m.wrapper_started()
    m.wrapper_started()
    assert value(m, "schemad_alter_wrapper_running") == 2.0
    m.wrapper_finished()
    m.wrapper_finished()
    m.wrapper_finished()  # an extra finish never drives it negative
    assert value(m, "schemad_alter_wrapper_running") == 0.0
    m.wrapper_started()
    assert value(m, "schemad_alter_wrapper_running") == 1.0


def test_two_metrics_share_no_state() -> None:
    a, b = Metrics(), Metrics()
    assert a.registry is not b.registry
    a.record_poll("prod", 1.0, False, 10.0)
    a.set_drift("prod", "app", {"table": 1})
    a.record_push("prod", "failed")
    a.wrapper_started()
    a.set_repo_file_errors("main", 4)
    b.set_drift("prod", "app", {"view": 7})
    assert value(b, "schemad_poll_errors_total", environment="prod") is None
    assert value(b, "schemad_alter_wrapper_running") == 0.0
    assert names(b, "schemad_push_jobs_total") == set()
    assert names(b, "schemad_repo_file_errors") == set()
    assert names(b, "schemad_drift_objects") == {
        (("environment", "prod"), ("kind", "view"), ("schema", "app")),
    }
    assert names(a, "schemad_drift_objects") == {
        (("environment", "prod"), ("kind", "table"), ("schema", "app")),
    }


def test_nothing_is_registered_globally() -> None:
    before = set(REGISTRY._names_to_collectors)
    m = Metrics()
    m.record_poll("prod", 1.0, True, 1.0)
    assert not any(n.startswith("schemad_") for n in REGISTRY._names_to_collectors)
    assert set(REGISTRY._names_to_collectors) == before


def test_label_values_are_only_the_given_ones() -> None:
    m = Metrics(version="9.9.9")
    m.record_poll("prod", 0.5, True, 100.0)
    m.record_poll("prod", 0.5, False, 160.0)
    m.set_drift("prod", "app", {"table": 2, "function": 1, "view": 0})
    m.set_repo_file_errors("main", 1)
    m.record_push("prod", "refused")
    m.wrapper_started()
    allowed = {
        "environment": {"prod"},
        "schema": {"app"},
        "kind": {"table", "function"},
        "repo": {"main"},
        "result": {"refused"},
        "version": {"9.9.9"},
        "python": {platform.python_version()},
    }
    seen: dict[str, set[str]] = {}
    for name, labels in samples(m):
        assert name.startswith("schemad_"), name
        for key, val in labels:
            if key == "le":  # histogram bucket bounds
                continue
            seen.setdefault(key, set()).add(val)
    assert seen == allowed
