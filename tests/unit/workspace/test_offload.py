"""temp-schema-environment's checks and session (issue 14.4): which flavors may stand in, what is set."""

from __future__ import annotations

import pytest

from schemad.connection.params import ConnParams
from schemad.model.flavor import Flavor, Vendor
from schemad.workspace import mirror
from schemad.workspace.offload import flavor_mismatch, workspace_session
from tests.unit.workspace.test_mirror import MARIADB_ROW


def M(major: int, minor: int, patch: int = 0) -> Flavor:
    return Flavor(Vendor.MARIADB, major, minor, patch)


@pytest.mark.parametrize(
    ("target", "workspace", "reason"),
    [
        (M(10, 11, 6), M(10, 11, 9), None),  # patch levels may differ
        (
            M(10, 11, 6),
            M(10, 6, 21),
            "the target is MariaDB 10.11.6 but the workspace server is MariaDB 10.6.21",
        ),
        (M(11, 4), M(10, 11), "the target is MariaDB 11.4.0 but the workspace server is MariaDB 10.11.0"),
        (
            Flavor(Vendor.MYSQL, 8, 0, 36),
            M(10, 11, 6),
            "the target is MySQL 8.0.36 but the workspace server is MariaDB 10.11.6",
        ),
        (
            Flavor(Vendor.PERCONA, 8, 0, 36),
            Flavor(Vendor.MYSQL, 8, 0, 36),
            "the target is Percona Server 8.0.36 but the workspace server is MySQL 8.0.36",
        ),
        (Flavor(Vendor.MYSQL, 8, 0, 36), Flavor(Vendor.MYSQL, 8, 0, 40), None),
        (
            Flavor(Vendor.MYSQL, 8, 0, 18),
            Flavor(Vendor.MYSQL, 8, 0, 36),
            "the target is MySQL 8.0.18 but the workspace server is MySQL 8.0.36, and only one of them "
            "prints int display widths (MySQL 8.0.19 dropped them)",
        ),
    ],
)
def test_flavor_mismatch(target: Flavor, workspace: Flavor, reason: str | None) -> None:
    assert flavor_mismatch(target, workspace) == reason


def test_the_workspace_session_is_the_targets_after_its_own_options() -> None:
    facts = mirror.facts_from_row(MARIADB_ROW)
    server = ConnParams(
        host="dev.example",
        port=3307,
        user="ws",
        password="pw",
        connect_options=(("tls", "skip-verify"), ("sql_mode", "'ANSI'"), ("wait_timeout", "60")),
        database="x",
    )
    target = ConnParams(
        host="prod.example",
        user="app",
        connect_options=(("tls", "true"), ("innodb_lock_wait_timeout", "5"), ("sql_mode", "'TRADITIONAL'")),
    )
    ws = workspace_session(server, target, facts)
    assert (ws.host, ws.port, ws.user, ws.password, ws.database) == ("dev.example", 3307, "ws", "pw", None)
    opts = list(ws.connect_options)
    # Its own driver parameter and variables the target says nothing about stay; the target's sql_mode wins.
    assert opts[:2] == [("tls", "skip-verify"), ("wait_timeout", "60")]
    assert opts[2:4] == [("innodb_lock_wait_timeout", "5"), ("sql_mode", "'TRADITIONAL'")]
    copied = dict(opts[4:])
    assert "sql_mode" not in copied  # the target's connect-options set it: not copied again
    assert copied["character_set_server"] == "'latin1'" and copied["time_zone"] == "'-05:00'"
    assert [k for k, _ in opts].count("tls") == 1  # the target's driver parameters stay the target's
