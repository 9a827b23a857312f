"""The suite's general-log check (tests/workspace_log.py) must catch what it is there to catch."""

from __future__ import annotations

from tests.workspace_log import entries, workspace_violations

HEAD = (
    "/usr/sbin/mariadbd, Version: 10.11.19-MariaDB. started with:\n"
    "Time\t\t    Id Command\tArgument\n"
    "261206  4:31:00\t     6 Connect\troot@127.0.0.1 on  using TCP/IP\n"
    "\t\t     6 Query\tCREATE DATABASE IF NOT EXISTS `_skeema_tmp`"
    " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci\n"
    "\t\t     7 Connect\troot@127.0.0.1 on _skeema_tmp using TCP/IP\n"
    "\t\t     7 Query\tSET SESSION sql_quote_show_create=1, foreign_key_checks=0\n"
)


def log(*queries: str, thread: int = 7) -> str:
    return HEAD + "".join(f"\t\t     {thread} Query\t{q}\n" for q in queries)


def test_multi_line_statements_are_one_entry() -> None:
    got = entries(log("CREATE TABLE t (id int,\n  x int)", "SELECT 1"))
    assert [e.argument for e in got if e.thread == 7][-2:] == [
        "CREATE TABLE t (id int,\n  x int)",
        "SELECT 1",
    ]


def test_what_the_workspace_sends_is_clean() -> None:
    assert not workspace_violations(
        log(
            "CREATE TABLE `t` (id int, FOREIGN KEY (id) REFERENCES shop.parent (id))",
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x = 1",
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE DO INSERT INTO shop.log VALUES (1)",
            "ALTER TABLE `t` ADD COLUMN y int",
            "SHOW CREATE TABLE `_skeema_tmp`.`t`",
            "USE `_skeema_tmp`",
        )
    )


def test_writes_elsewhere_are_caught() -> None:
    bad = workspace_violations(
        log(
            "CREATE TABLE shop.x (id int)",
            "CREATE TRIGGER tr BEFORE INSERT ON shop.orders FOR EACH ROW SET @x = 1",
            "CREATE EVENT e ON SCHEDULE AT CURRENT_TIMESTAMP DO INSERT INTO shop.log VALUES (1)",
            "INSERT INTO shop.log VALUES (1)",
            "DROP TABLE `shop`.`orders`",
        )
    )
    assert len(bad) == 5, bad


def test_other_connections_and_a_use_elsewhere() -> None:
    assert not workspace_violations(log("INSERT INTO shop.log VALUES (1)", thread=6))  # not a workspace one
    bad = workspace_violations(log("USE `shop`", "INSERT INTO t VALUES (1)", "USE `_skeema_tmp`", "SELECT 1"))
    assert not bad  # after USE shop the connection is no longer in the workspace


def test_alters_of_versioned_tables_are_judged_as_alters() -> None:
    """verify replays an ALTER of a system-versioned table with `SET STATEMENT .. KEEP FOR` (issue 12.7)."""
    keep = "SET STATEMENT system_versioning_alter_history=KEEP FOR "
    assert not workspace_violations(log(keep + "ALTER TABLE `t` ADD COLUMN y int"))
    bad = workspace_violations(
        log(keep + "ALTER TABLE `shop`.`t` ADD COLUMN y int", keep + "INSERT INTO t VALUES (1)")
    )
    assert len(bad) == 2, bad
