"""The ops tables (acknowledgements, baselines, the webhook outbox): one contract, SQLite and the fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.model.keys import ObjectKey, ObjectType
from schemad.service.acks import _follow_matching, object_hash, parse_expiry
from schemad.service.opsstore import (
    AckRecord,
    AckState,
    Baseline,
    MemoryOpsStore,
    NewEvent,
    OpsStore,
    SqliteOpsStore,
    ops_store_for,
)
from schemad.service.state import MemoryStateStore, SqliteStateStore, StateError

T = ObjectKey(ObjectType.TABLE, "t")
V = ObjectKey(ObjectType.VIEW, "v:1")  # a colon in a name survives the stored form


@pytest.fixture(params=["memory", "sqlite"])
def ops(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsStore]:
    if request.param == "memory":
        yield MemoryOpsStore()
        return
    with SqliteStateStore(tmp_path / "state.sqlite3") as store:  # creates and migrates the file
        yield SqliteOpsStore(store)


def ack(key: ObjectKey = T, **kw: object) -> AckRecord:
    base: dict[str, object] = {
        "id": 0,
        "repo": "app",
        "environment": "prod",
        "address": "h:1",
        "schema": "s",
        "key": key,
        "reason": "why",
        "who": "ci",
        "created_at": 10.0,
        "expires_at": 20.0,
        "statements_hash": "h",
        "fingerprint": None,
    }
    return AckRecord(**(base | kw))  # type: ignore[arg-type]


def test_acks(ops: OpsStore) -> None:
    a = ops.add_ack(ack(), 10.0)
    b = ops.add_ack(ack(V, fingerprint="fp"), 11.0)
    assert (a.id, b.id) == (1, 2)
    c = ops.add_ack(ack(reason="again"), 12.0)  # the same object: replaces a
    assert [x.id for x in ops.active_acks()] == [2, 3]
    listed = ops.list_acks("app", "prod")
    assert [(x.id, x.state) for x in listed] == [
        (3, AckState.ACTIVE),
        (2, AckState.ACTIVE),
        (1, AckState.REPLACED),
    ]
    assert listed[1] == b and listed[2].ended_at == 12.0
    ops.end_ack(c.id, AckState.VOID, 13.0, "changed")
    assert [x.id for x in ops.active_acks()] == [2]
    assert ops.list_acks("app", "prod", limit=1)[0].end_reason == "changed"
    assert ops.list_acks("app", "other") == []
    with pytest.raises(StateError):
        ops.end_ack(99, AckState.VOID, 1.0, "x")


def test_baselines(ops: OpsStore) -> None:
    tid = ("app", "prod", "h:1", "s")
    b = Baseline({T: "f1", V: "f2"}, frozenset({T}), frozenset({"lint1"}))
    ops.put_baseline(tid, b, 1.0)
    assert ops.baselines() == {tid: b}
    ops.put_baseline(tid, Baseline({}), 2.0)
    assert ops.baselines() == {tid: Baseline({})}


def test_outbox(ops: OpsStore) -> None:
    events = [NewEvent("a", f"e{i}", "push.started", float(i), b"{%d}" % i) for i in range(4)]
    assert (
        ops.enqueue([*events[:1], NewEvent("b", "x", "push.started", 0.0, b"{}")], {"a": 10, "b": 10}) == {}
    )
    assert ops.enqueue(events[1:], {"a": 2}) == {"a": 2}  # the two oldest of `a` go
    assert (ops.depth("a"), ops.depth("b")) == (2, 1)
    head = ops.head("a")
    assert head is not None and (head.event_id, head.body, head.attempts, head.last_error) == (
        "e2",
        b"{2}",
        0,
        None,
    )
    ops.retry(head.id, 1, 99.0, "cannot connect")
    again = ops.head("a")
    assert again is not None and (again.attempts, again.next_attempt_at, again.last_error) == (
        1,
        99.0,
        "cannot connect",
    )
    ops.remove(head.id)
    assert ops.head("a").event_id == "e3"  # type: ignore[union-attr]
    assert ops.head("nobody") is None


def test_ops_store_for(tmp_path: Path) -> None:
    with SqliteStateStore(tmp_path / "s.sqlite3") as store:
        assert isinstance(ops_store_for(store), SqliteOpsStore)
    assert isinstance(ops_store_for(MemoryStateStore()), MemoryOpsStore)


# ///// acks.py's pure parts /////


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("2s", 1002.0),
        ("1h30m", 6400.0),
        ("1970-01-01T01:00:00Z", 3600.0),
        ("1970-01-01T02:00:00+01:00", 3600.0),
    ],
)
def test_parse_expiry(text: str, at: float) -> None:
    assert parse_expiry(text, 1000.0) == at


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0s", "not in the future"),
        ("1970-01-01T00:00:00Z", "not in the future"),
        ("1970-01-01T02:00:00", "no time zone"),
        ("2161h", "more than 90 days"),
        ("soon", "expected a duration"),
        ("", "expected a duration"),
    ],
)
def test_parse_expiry_refuses(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_expiry(text, 1000.0)


def test_baselines_follow_the_objects_that_match() -> None:
    base = {T: "old", V: "v0", ObjectKey(ObjectType.TABLE, "gone"): "g"}
    live = {T: "new", V: "v1", ObjectKey(ObjectType.TABLE, "added"): "a"}
    # T differs from the repo: its baseline stays; the others match, so they follow the live side.
    assert _follow_matching(base, live, {T}) == {T: "old", V: "v1", ObjectKey(ObjectType.TABLE, "added"): "a"}


def test_object_hash_names_target_object_and_statements() -> None:
    h = object_hash("h:1", "s", T, ["ALTER TABLE t ADD COLUMN c int"])
    assert h == object_hash("h:1", "s", T, ["ALTER TABLE t ADD COLUMN c int"])
    assert h != object_hash("h:2", "s", T, ["ALTER TABLE t ADD COLUMN c int"])
    assert h != object_hash("h:1", "s", T, ["ALTER TABLE t ADD COLUMN d int"])
