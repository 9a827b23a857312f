"""The suite's general-log check knows the standalone index statements the workspace sends (issue 12.4)."""

from __future__ import annotations

from tests.unit.workspace.test_workspace_log import log
from tests.workspace_log import workspace_violations


def test_folded_statements_as_the_workspace_sends_them_are_clean() -> None:
    assert not workspace_violations(
        log(
            "CREATE INDEX i ON t (c)",
            "CREATE UNIQUE INDEX `u` ON `t` (`c`)",
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES shop.parent (id)",
        )
    )


def test_a_create_index_elsewhere_is_caught() -> None:
    bad = workspace_violations(
        log("CREATE INDEX i ON shop.orders (note)", "ALTER TABLE shop.orders ADD KEY (note)")
    )
    assert len(bad) == 2, bad
