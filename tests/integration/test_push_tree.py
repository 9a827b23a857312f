"""diff/push over a tree with several host dirs and schema dirs, servers in parallel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemad.cli.main import main
from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMAS = ("tree_a", "tree_b", "tree_c")


@pytest.fixture
def tree(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not server.socket:
        pytest.fail("the suite's own server always has a unix socket")
    drop = "; ".join(f"DROP DATABASE IF EXISTS {s}" for s in SCHEMAS)
    asyncio.run(load_sql(server.params, None, drop))
    p = server.params
    # Two host dirs reach the same server two ways (TCP, socket): schemad treats them as two instances.
    tcp, sock = tmp_path / "tcp", tmp_path / "sock"
    tcp.mkdir()
    sock.mkdir()
    (tcp / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    (sock / ".skeema").write_text(f"[production]\nhost=localhost\nsocket={server.socket}\nuser={p.user}\n")
    for parent, name in ((tcp, "tree_a"), (tcp, "tree_b"), (sock, "tree_c")):
        d = parent / name
        d.mkdir()
        (d / ".skeema").write_text(
            f"schema={name}\ndefault-character-set=latin1\ndefault-collation=latin1_bin\n"
        )
        (d / "t.sql").write_text(f"CREATE TABLE t (id int PRIMARY KEY, src varchar(10) DEFAULT '{name}');\n")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    asyncio.run(load_sql(server.params, None, drop))


def test_push_creates_every_schema_of_every_host_dir(
    tree: Path, capsys: pytest.CaptureFixture[str], server: DBServer
) -> None:
    assert main(["diff"]) == 1
    out = capsys.readouterr().out
    assert out.count("-- instance: ") == 2  # once per server (tree_a and tree_b share one), as Skeema
    assert "CREATE DATABASE `tree_a` CHARACTER SET latin1 COLLATE latin1_bin;\nUSE `tree_a`;\n" in out
    assert f"-- instance: localhost:{server.socket}\nCREATE DATABASE `tree_c`" in out
    assert main(["push", "--concurrent-servers=2"]) == 0
    capsys.readouterr()
    assert main(["diff"]) == 0
    assert capsys.readouterr().out == ""


def test_first_only_and_brief(tree: Path, capsys: pytest.CaptureFixture[str], server: DBServer) -> None:
    assert main(["diff", "--brief"]) == 1
    out = capsys.readouterr().out.split()
    assert sorted(out) == sorted([f"{server.params.host}:{server.params.port}", f"localhost:{server.socket}"])
    (tree / "tcp" / "tree_b" / ".skeema").write_text("schema=tree_b,tree_x\n")
    assert main(["push", "--first-only"]) == 0
    capsys.readouterr()
    assert main(["diff", "--brief", "--first-only"]) == 0
    assert main(["diff", "--brief"]) == 1  # tree_x, the second schema of that dir, was left out
    assert capsys.readouterr().out.split() == [f"{server.params.host}:{server.params.port}"]


def test_broken_sql_in_one_dir_does_not_stop_the_others(
    tree: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "tcp" / "tree_a" / "bad.sql").write_text("\n\nCREATE TABLE bad (id int,, x int);\n")
    assert main(["push"]) == 2
    assert "bad.sql:3" in caplog.text
    assert main(["diff"]) == 2  # tree_a still can't be planned...
    out = capsys.readouterr().out
    assert "tree_a" not in out.split("-- instance:")[-1] or "bad" not in out
    (tree / "tcp" / "tree_a" / "bad.sql").unlink()
    assert main(["push"]) == 0  # ...and tree_b / tree_c were pushed the first time


def test_schema_regex_expands_against_the_server(
    tree: Path, server: DBServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push"]) == 0
    capsys.readouterr()
    # One dir standing for every tree_* schema of the server: the same files pushed to each.
    d = tree / "tcp" / "tree_a"
    (d / ".skeema").write_text(
        "schema=/^tree_[ab]$/\ndefault-character-set=latin1\ndefault-collation=latin1_bin\n"
    )
    (d / "extra.sql").write_text("CREATE TABLE extra (id int PRIMARY KEY);\n")
    (tree / "tcp" / "tree_b" / ".skeema").unlink()  # no longer a target of its own
    assert main(["diff"]) == 1
    out = capsys.readouterr().out
    assert "USE `tree_a`;" in out and "USE `tree_b`;" in out and "USE `tree_c`;" not in out
