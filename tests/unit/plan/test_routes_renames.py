"""A rename-only ALTER (a `@renamed from=` annotation) never goes through the alter-wrapper.

pt-online-schema-change and gh-ost refuse RENAME, and a rename is metadata
only; the ddl-wrapper, when set, still takes it as it takes other DDL.
"""

from __future__ import annotations

import pytest

from schemad.connection.params import ConnParams
from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectKey, ObjectType
from schemad.plan.routes import WrapperConfig, WrapperPlanner, renames_only

PT_OSC = "pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE}"


def _step(sql: str) -> Step:
    return Step(ObjectKey(ObjectType.TABLE, "t"), DiffKind.ALTER, sql)


@pytest.mark.parametrize(
    ("sql", "only"),
    [
        ("ALTER TABLE `t` RENAME COLUMN `a` TO `b`", True),
        ("ALTER TABLE `t` RENAME KEY `k` TO `k2`, RENAME COLUMN `a` TO `b`", True),
        ("ALTER TABLE `t` ALGORITHM=INPLACE, LOCK=NONE, RENAME INDEX `k` TO `j`", True),
        ("ALTER TABLE `old` RENAME TO `new`", True),
        # A system-versioned table's ALTER (history kept): a rename is still metadata only.
        (
            "SET STATEMENT system_versioning_alter_history=KEEP FOR ALTER TABLE `t` RENAME COLUMN `a` TO `b`",
            True,
        ),
        (
            "SET STATEMENT system_versioning_alter_history=KEEP FOR ALTER TABLE `t` ADD COLUMN `c` int(11)",
            False,
        ),
        ("ALTER TABLE `t` RENAME COLUMN `a` TO `b`, ADD COLUMN `c` int(11) DEFAULT NULL", False),
        ("ALTER TABLE `t` CHANGE COLUMN `a` `b` bigint(20) DEFAULT NULL", False),
        ("ALTER TABLE `t` ADD COLUMN `rename` int(11) DEFAULT NULL", False),
        ("ALTER TABLE `t` RENAME COLUMN `a, RENAME TO x` TO `b`, DROP COLUMN `c`", False),
    ],
)
def test_renames_only(sql: str, only: bool) -> None:
    assert renames_only(sql) is only


def test_a_rename_runs_directly_or_through_the_ddl_wrapper_never_the_alter_wrapper() -> None:
    rename = _step("ALTER TABLE `t` RENAME COLUMN `a` TO `b`")
    add = _step("ALTER TABLE `t` ADD COLUMN `c` int")
    planner = WrapperPlanner(WrapperConfig(alter_wrapper=PT_OSC), ConnParams(), "shop", {"t": 100})
    assert planner.route(rename) is None and planner.route(add) == ("alter-wrapper", PT_OSC)
    cfg = WrapperConfig(alter_wrapper=PT_OSC, ddl_wrapper="run {DDL}")
    both = WrapperPlanner(cfg, ConnParams(), "shop", {})
    assert both.route(rename) == ("ddl-wrapper", "run {DDL}")
