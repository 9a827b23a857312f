"""Verify replays tables that gain foreign keys to each other one after the other.

Two concurrent ALTERs each adding a foreign key to the other's table deadlock
(error 1213) even with foreign_key_checks=0; the push then failed verify about
one time in five (sqldef's ForeignKeyDependenciesCircular case).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DBServer
from tests.integration.test_peer_cases_converge import converges, repo

pytestmark = pytest.mark.db

LIVE = (
    "CREATE TABLE departments (dept_id int NOT NULL PRIMARY KEY, name varchar(50));\n"
    "CREATE TABLE employees (emp_id int NOT NULL PRIMARY KEY, dept_id int, name varchar(50));\n"
)
FILES = {
    "departments": "CREATE TABLE departments (dept_id int NOT NULL PRIMARY KEY, name varchar(50),"
    " manager_id int, KEY manager_id (manager_id),"
    " CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (emp_id));\n",
    "employees": "CREATE TABLE employees (emp_id int NOT NULL PRIMARY KEY, dept_id int, name varchar(50),"
    " KEY dept_id (dept_id), CONSTRAINT fk_dept FOREIGN KEY (dept_id) REFERENCES departments (dept_id));\n",
}


@pytest.mark.parametrize("attempt", range(3))
def test_circular_foreign_keys_verify_and_converge(
    attempt: int,
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with repo(server, tmp_path, monkeypatch, LIVE, FILES) as schema_dir:
        assert schema_dir.is_dir()
        pushed = converges(server, schema_dir, capsys)
        assert "fk_manager" in pushed and "fk_dept" in pushed


# The parent gains a column and a wider primary key while its children's FKs move onto it: the
# push drops the old FKs in the children's ALTER, alters the parent, and adds the new FKs last.
# Verify must replay that order (each table alone, CREATE then ALTERs, failed with error 1829).
LIVE_WIDER_KEY = (
    "CREATE TABLE accounts (id int PRIMARY KEY, name varchar(50));\n"
    "CREATE TABLE orders (id int PRIMARY KEY, buyer_id int, seller_id int,"
    " CONSTRAINT buyer_fk FOREIGN KEY (buyer_id) REFERENCES accounts (id),"
    " CONSTRAINT seller_fk FOREIGN KEY (seller_id) REFERENCES accounts (id));\n"
)
FILES_WIDER_KEY = {
    "accounts": "CREATE TABLE accounts (id int NOT NULL, name varchar(50), region_id int NOT NULL,"
    " PRIMARY KEY (region_id, id));\n",
    "orders": "CREATE TABLE orders (id int PRIMARY KEY, buyer_id int, buyer_region_id int, seller_id int,"
    " seller_region_id int,"
    " CONSTRAINT buyer_fk FOREIGN KEY (buyer_region_id, buyer_id) REFERENCES accounts (region_id, id),"
    " CONSTRAINT seller_fk FOREIGN KEY (seller_region_id, seller_id) REFERENCES accounts (region_id, id));\n",
}


def test_verify_replays_linked_tables_in_the_push_order(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with repo(server, tmp_path, monkeypatch, LIVE_WIDER_KEY, FILES_WIDER_KEY) as schema_dir:
        pushed = converges(server, schema_dir, capsys)
        assert "ADD PRIMARY KEY" in pushed and "ADD CONSTRAINT `buyer_fk`" in pushed
