"""Metrics: the exposition holds the right series, labels and values, and nothing unbounded."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from schemad.service.metrics import PUSH_REFUSALS, PUSH_RESULTS, Metrics

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
        m.record_poll("main", "prod", seconds, ok, at)
    env = {"repo": "main", "environment": "prod"}
    assert value(m, "schemad_poll_errors_total", **env) == errors
    assert value(m, "schemad_last_successful_poll_timestamp_seconds", **env) == last_success
    assert value(m, "schemad_poll_duration_seconds_count", **env) == count
    assert value(m, "schemad_poll_duration_seconds_sum", **env) == pytest.approx(sum(c[0] for c in calls))


def test_consecutive_failures_count_up_until_a_success() -> None:
    m = Metrics()
    env = {"repo": "main", "environment": "prod"}
    seen = []
    for ok in (True, False, False, False, True, False):
        m.record_poll("main", "prod", 0.1, ok, 1.0)
        seen.append(value(m, "schemad_poll_consecutive_failures", **env))
    assert seen == [0.0, 1.0, 2.0, 3.0, 0.0, 1.0]


def test_poll_interval_gauge() -> None:
    m = Metrics()
    m.set_poll_interval("main", "prod", 300.0)
    assert value(m, "schemad_poll_interval_seconds", repo="main", environment="prod") == 300.0
    with pytest.raises(ValueError):
        m.set_poll_interval("main", "prod", 0)


def test_poll_histogram_buckets_span_5ms_to_60s() -> None:
    m = Metrics()
    m.record_poll("main", "prod", 0.004, True, 1.0)
    m.record_poll("main", "prod", 45.0, True, 2.0)
    buckets = {dict(lb)["le"] for lb in names(m, "schemad_poll_duration_seconds_bucket")}
    assert {"0.005", "60.0", "+Inf"} <= buckets
    env = {"repo": "main", "environment": "prod"}
    assert value(m, "schemad_poll_duration_seconds_bucket", **env, le="0.005") == 1.0
    assert value(m, "schemad_poll_duration_seconds_bucket", **env, le="30.0") == 1.0
    assert value(m, "schemad_poll_duration_seconds_bucket", **env, le="60.0") == 2.0


def el(env: str = "prod", repo: str = "main", **more: str) -> Labels:
    """Sorted labels of one environment's series (plus `more`)."""
    return tuple(sorted({"repo": repo, "environment": env, **more}.items()))


def test_set_drift_exports_counts_and_flag() -> None:
    m = Metrics()
    m.set_drift("main", "prod", "app", {"table": 3, "view": 1, "trigger": 0})
    m.set_drift("main", "prod", "billing", {})
    assert names(m, "schemad_drift_objects") == {
        el(kind="table", schema="app"),
        el(kind="view", schema="app"),
    }
    env = {"repo": "main", "environment": "prod"}
    assert value(m, "schemad_drift_objects", **env, schema="app", kind="table") == 3.0
    assert value(m, "schemad_drift_objects", **env, schema="app", kind="view") == 1.0
    assert value(m, "schemad_drift", **env, schema="app") == 1.0
    assert value(m, "schemad_drift", **env, schema="billing") == 0.0
    assert value(m, "schemad_drift_unknown", **env, schema="app") == 0.0
    assert value(m, "schemad_drift_unknown", **env, schema="billing") == 0.0


def test_set_drift_removes_kinds_that_went_to_zero() -> None:
    m = Metrics()
    m.set_drift("main", "prod", "app", {"table": 3, "view": 1, "procedure": 2})
    m.set_drift("main", "staging", "app", {"view": 5})
    m.set_drift("main", "prod", "app", {"table": 1, "view": 0})  # view -> 0, procedure missing
    assert names(m, "schemad_drift_objects") == {
        el(kind="table", schema="app"),
        el("staging", kind="view", schema="app"),  # other env untouched
    }
    env = {"repo": "main", "environment": "prod"}
    assert value(m, "schemad_drift_objects", **env, schema="app", kind="table") == 1.0
    m.set_drift("main", "prod", "app", {"table": 0})
    assert names(m, "schemad_drift_objects") == {el("staging", kind="view", schema="app")}
    assert value(m, "schemad_drift", **env, schema="app") == 0.0
    m.set_drift("main", "prod", "app", {"view": 2})  # a kind can come back
    assert value(m, "schemad_drift_objects", **env, schema="app", kind="view") == 2.0
    assert value(m, "schemad_drift", **env, schema="app") == 1.0


def test_unknown_drift_has_no_drift_series_until_known_again() -> None:
    m = Metrics()
    env = {"repo": "main", "environment": "prod"}
    m.set_drift("main", "prod", "app", {"table": 2})
    m.set_drift("main", "prod", "billing", {})
    m.set_drift_unknown("main", "prod", "app")
    assert value(m, "schemad_drift_unknown", **env, schema="app") == 1.0
    assert value(m, "schemad_drift", **env, schema="app") is None  # not "no drift": not known
    assert names(m, "schemad_drift_objects") == set()
    assert value(m, "schemad_drift", **env, schema="billing") == 0.0  # the other schema is known
    m.set_drift_unknown("main", "prod", "app")  # twice: still one series, no error
    m.set_drift("main", "prod", "app", {"view": 1})
    assert value(m, "schemad_drift_unknown", **env, schema="app") == 0.0
    assert value(m, "schemad_drift", **env, schema="app") == 1.0
    assert names(m, "schemad_drift_objects") == {el(kind="view", schema="app")}
    m.set_drift_unknown("main", "prod", "never-known")
    m.forget_schema("main", "prod", "never-known")  # an unknown schema is forgotten like the others
    assert names(m, "schemad_drift_unknown") == {el(schema="app"), el(schema="billing")}


def test_forget_schema_removes_its_series_only() -> None:
    m = Metrics()
    m.set_drift("main", "prod", "app", {"table": 3, "view": 1})
    m.set_drift("main", "prod", "billing", {"table": 1})
    m.forget_schema("main", "prod", "app")
    m.forget_schema("main", "prod", "never-seen")  # no-op
    assert names(m, "schemad_drift_objects") == {el(kind="table", schema="billing")}
    assert names(m, "schemad_drift") == {el(schema="billing")}
    assert names(m, "schemad_drift_unknown") == {el(schema="billing")}
    m.set_drift("main", "prod", "app", {"event": 1})  # can be managed again afterwards
    assert value(m, "schemad_drift", repo="main", environment="prod", schema="app") == 1.0


def _everything(m: Metrics, repo: str, env: str, key: str) -> None:
    """One of every per-environment series for repo x env, pushes counted under `key`."""
    m.name_environment(key, repo, env)
    m.record_poll(repo, env, 0.1, False, 10.0)
    m.set_poll_interval(repo, env, 60)
    m.set_drift(repo, env, "app", {"table": 1})
    m.set_drift_unknown(repo, env, "other")
    m.record_push(key, "succeeded")
    m.record_push_refused(key, "plan_blocked")
    m.set_repo_file_errors(repo, 1)


def _labelled(m: Metrics) -> set[tuple[str, Labels]]:
    return {(name, labels) for name, labels in samples(m) if labels and name != "schemad_build_info"}


def test_forget_environment_removes_every_series_of_it_and_nothing_else() -> None:
    m = Metrics()
    _everything(m, "main", "prod", "main/prod")
    kept = _labelled(m)
    _everything(m, "main", "staging", "staging")
    _everything(m, "other", "prod", "other/prod")
    m.forget_environment("main", "staging")
    assert {x for x in _labelled(m) if ("environment", "staging") in x[1]} == set()
    assert kept <= _labelled(m)
    assert {x for x in _labelled(m) if ("repo", "other") in x[1]}  # the other repo untouched
    # Its key no longer counts (a job of a dropped environment ending late adds no series) ...
    m.record_push("staging", "failed")
    assert {x for x in _labelled(m) if ("environment", "staging") in x[1]} == set()
    # ... and it starts afresh if it comes back: the first poll sets the error counter to 0 again.
    m.record_poll("main", "staging", 0.1, True, 20.0)
    assert value(m, "schemad_poll_errors_total", repo="main", environment="staging") == 0.0
    assert value(m, "schemad_poll_consecutive_failures", repo="main", environment="staging") == 0.0


def test_forget_repo_removes_its_file_errors_and_all_its_environments() -> None:
    m = Metrics()
    _everything(m, "main", "prod", "main/prod")
    _everything(m, "main", "staging", "staging")
    _everything(m, "other", "prod", "other/prod")
    other = {x for x in _labelled(m) if ("repo", "other") in x[1]}
    m.forget_repo("main")
    assert _labelled(m) == other
    m.record_push("main/prod", "succeeded")
    assert _labelled(m) == other


def test_a_key_renamed_counts_under_the_same_labels() -> None:
    """Adding a repo renames an environment's key (`prod` -> `main/prod`), never its labels."""
    m = Metrics()
    m.name_environment("prod", "main", "prod")
    m.record_push("prod", "succeeded")
    m.name_environment("main/prod", "main", "prod")
    m.name_environment("other/prod", "other", "prod")
    m.record_push("main/prod", "succeeded")
    m.record_push("prod", "succeeded")  # a job submitted under the old key ends after the rename
    m.record_push("other/prod", "failed")
    assert value(m, "schemad_push_jobs_total", repo="main", environment="prod", result="succeeded") == 3.0
    assert names(m, "schemad_push_jobs_total") == {
        el(result="succeeded"),
        el(repo="other", result="failed"),
    }


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
        m.set_drift("main", "prod", "app", counts)
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


def test_record_push_counts_finished_jobs_by_result() -> None:
    m = Metrics()
    m.name_environment("prod", "main", "prod")
    m.name_environment("staging", "main", "staging")
    m.record_push("prod", "succeeded")
    m.record_push("prod", "succeeded")
    m.record_push("prod", "failed")
    m.record_push("staging", "cancelled")
    m.record_push("unnamed", "failed")  # a key no environment has: not counted
    env = {"repo": "main", "environment": "prod"}
    assert value(m, "schemad_push_jobs_total", **env, result="succeeded") == 2.0
    assert value(m, "schemad_push_jobs_total", **env, result="failed") == 1.0
    assert value(m, "schemad_push_jobs_total", repo="main", environment="staging", result="cancelled") == 1.0
    assert {dict(lb)["result"] for lb in names(m, "schemad_push_jobs_total")} <= PUSH_RESULTS
    assert len(names(m, "schemad_push_jobs_total")) == 3


def test_refused_pushes_are_not_jobs() -> None:
    m = Metrics()
    m.name_environment("prod", "main", "prod")
    for reason in sorted(PUSH_REFUSALS):
        m.record_push_refused("prod", reason)
    m.record_push_refused("prod", "unsafe_statements")
    assert names(m, "schemad_push_jobs_total") == set()
    env = {"repo": "main", "environment": "prod"}
    assert value(m, "schemad_push_refusals_total", **env, reason="unsafe_statements") == 2.0
    assert value(m, "schemad_push_refusals_total", **env, reason="plan_blocked") == 1.0
    assert "refused" not in PUSH_RESULTS
    with pytest.raises(ValueError):
        m.record_push("prod", "refused")


@pytest.mark.parametrize("result", ["ok", "Duplicate column name 'x'", "job-1234"])
def test_record_push_refuses_unknown_results(result: str) -> None:
    m = Metrics()
    m.name_environment("prod", "main", "prod")
    with pytest.raises(ValueError):
        m.record_push("prod", result)
    with pytest.raises(ValueError):
        m.record_push_refused("prod", result)
    assert names(m, "schemad_push_jobs_total") == set()
    assert names(m, "schemad_push_refusals_total") == set()


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
    a.name_environment("prod", "main", "prod")
    a.record_poll("main", "prod", 1.0, False, 10.0)
    a.set_drift("main", "prod", "app", {"table": 1})
    a.record_push("prod", "failed")
    a.wrapper_started()
    a.set_repo_file_errors("main", 4)
    b.set_drift("main", "prod", "app", {"view": 7})
    b.record_push("prod", "failed")  # the key was named in `a` only
    assert value(b, "schemad_poll_errors_total", repo="main", environment="prod") is None
    assert value(b, "schemad_alter_wrapper_running") == 0.0
    assert names(b, "schemad_push_jobs_total") == set()
    assert names(b, "schemad_repo_file_errors") == set()
    assert names(b, "schemad_drift_objects") == {el(kind="view", schema="app")}
    assert names(a, "schemad_drift_objects") == {el(kind="table", schema="app")}


def test_nothing_is_registered_globally() -> None:
    before = set(REGISTRY._names_to_collectors)
    m = Metrics()
    m.record_poll("main", "prod", 1.0, True, 1.0)
    assert not any(n.startswith("schemad_") for n in REGISTRY._names_to_collectors)
    assert set(REGISTRY._names_to_collectors) == before


def test_label_values_are_only_the_given_ones() -> None:
    m = Metrics(version="9.9.9")
    m.name_environment("main/prod", "main", "prod")
    m.record_poll("main", "prod", 0.5, True, 100.0)
    m.record_poll("main", "prod", 0.5, False, 160.0)
    m.set_poll_interval("main", "prod", 60)
    m.set_drift("main", "prod", "app", {"table": 2, "function": 1, "view": 0})
    m.set_repo_file_errors("main", 1)
    m.record_push("main/prod", "failed")
    m.record_push_refused("main/prod", "lint_errors")
    m.wrapper_started()
    allowed = {
        "environment": {"prod"},  # never the API's key `main/prod`
        "schema": {"app"},
        "kind": {"table", "function"},
        "repo": {"main"},
        "result": {"failed"},
        "reason": {"lint_errors"},
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


def test_osc_series_live_only_while_the_tool_runs() -> None:
    m = Metrics(version="t")
    m.name_environment("prod", "app", "prod")
    labels = {"repo": "app", "environment": "prod", "schema": "shop", "table": "orders", "tool": "gh-ost"}
    m.set_osc("prod", "shop", "orders", "gh-ost", None, False)
    assert m.registry.get_sample_value("schemad_osc_progress_ratio", labels) == 0.0
    m.set_osc("prod", "shop", "orders", "gh-ost", 0.42, False)
    assert m.registry.get_sample_value("schemad_osc_progress_ratio", labels) == 0.42
    assert m.registry.get_sample_value("schemad_osc_cutover_pending", labels) == 0.0
    m.set_osc("prod", "shop", "orders", "gh-ost", 1.0, True)
    assert m.registry.get_sample_value("schemad_osc_cutover_pending", labels) == 1.0
    m.set_osc("nowhere", "shop", "orders", "gh-ost", 1.0, True)  # an unknown key: nothing
    m.forget_osc("prod", "shop", "orders", "gh-ost")
    assert m.registry.get_sample_value("schemad_osc_progress_ratio", labels) is None
    assert m.registry.get_sample_value("schemad_osc_cutover_pending", labels) is None
    assert b"schemad_osc_progress_ratio{" not in m.render()[0]
