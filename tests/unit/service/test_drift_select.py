"""drift.select: narrowing a served diff to some schemas and tables keeps what concerns them."""

from __future__ import annotations

from schemad.model.keys import ObjectKey, ObjectType
from schemad.service.drift import TargetDiff, select


def _diff(schema: str) -> TargetDiff:
    return TargetDiff(
        address="db1:3306",
        schema=schema,
        dir="app",
        planned=(),
        unsupported=(ObjectKey(ObjectType.TABLE, "orders"), ObjectKey(ObjectType.TABLE, "users")),
    )


def test_tables_keep_their_unsupported_entries() -> None:
    [only] = select([_diff("app")], tables=["orders"])
    assert only.unsupported == (ObjectKey(ObjectType.TABLE, "orders"),)


def test_schemas_filter_whole_targets() -> None:
    assert [d.schema for d in select([_diff("app"), _diff("other")], schemas=["other"])] == ["other"]
    assert select([_diff("app")], tables=["nope"])[0].unsupported == ()
