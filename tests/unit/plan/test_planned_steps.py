"""plan_steps: which statements may run, with typed refusals."""

from __future__ import annotations

from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectKey, ObjectType
from schemad.plan.planner import Refusal, RefusalKind, plan_steps

T = ObjectKey(ObjectType.TABLE, "t")
DROP = Step(T, DiffKind.ALTER, "ALTER TABLE `t` DROP COLUMN `c`", unsafe="column c would be dropped")
ADD = Step(T, DiffKind.ALTER, "ALTER TABLE `t` ADD COLUMN `d` int")


def test_unsafe_steps_are_refused_with_a_typed_reason() -> None:
    planned = plan_steps([ADD, DROP], {}, allow_unsafe=False, safe_below_size=0)
    assert [p.refused for p in planned] == [None, Refusal(RefusalKind.UNSAFE, T, "column c would be dropped")]
    assert str(planned[1].refused) == "unsafe: column c would be dropped"


def test_allow_unsafe_and_safe_below_size_let_them_run() -> None:
    assert all(p.refused is None for p in plan_steps([DROP], {}, allow_unsafe=True, safe_below_size=0))
    small = plan_steps([DROP], {"t": 1000}, allow_unsafe=False, safe_below_size=2000)
    assert small[0].refused is None and small[0].size == 1000
    big = plan_steps([DROP], {"t": 5000}, allow_unsafe=False, safe_below_size=2000)
    assert big[0].refused is not None and big[0].refused.kind is RefusalKind.UNSAFE
