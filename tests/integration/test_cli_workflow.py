"""The Skeema workflow end to end through the CLI, against the real test server."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemad.cli.main import main
from tests.conftest import DBServer
from tests.helpers import load_sql

ONLY_CLI = "--ignore-schema=^(?!cli_)"  # the shared server holds other tests' schemas too


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def two_schemas(server: DBServer) -> object:
    sql(
        server,
        """
        DROP DATABASE IF EXISTS cli_app; DROP DATABASE IF EXISTS cli_logs;
        CREATE DATABASE cli_app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
        CREATE DATABASE cli_logs CHARACTER SET latin1;
        CREATE TABLE cli_app.users (id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
            email varchar(200) NOT NULL, UNIQUE KEY email (email)) AUTO_INCREMENT=42;
        CREATE TABLE cli_app.orders (id bigint PRIMARY KEY, user_id int unsigned,
            CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES cli_app.users (id));
        CREATE VIEW cli_app.v_users AS SELECT id, email FROM cli_app.users;
        DELIMITER //
        CREATE PROCEDURE cli_app.touch(IN x int) BEGIN SELECT x; END//
        DELIMITER ;
        CREATE TABLE cli_logs.events (id int PRIMARY KEY, msg text);
        """,
    )
    yield
    sql(
        server,
        "DROP DATABASE IF EXISTS cli_app; DROP DATABASE IF EXISTS cli_logs; DROP DATABASE IF EXISTS cli_new;",
    )


def init(server: DBServer, root: Path, *extra: str) -> Path:
    p = server.params
    code = main(
        ["init", "-h", p.host, "-P", str(p.port), "-u", p.user, "--dir", str(root / "host"), ONLY_CLI, *extra]
    )
    assert code == 0
    return root / "host"


def test_init_layout_and_contents(server: DBServer, two_schemas: object, tmp_path: Path) -> None:
    host = init(server, tmp_path)
    assert sorted(p.name for p in host.iterdir()) == [".skeema", "cli_app", "cli_logs"]
    host_opts = (host / ".skeema").read_text()
    assert "[production]" in host_opts and f"port={server.params.port}" in host_opts
    assert "flavor=" in host_opts and "password" not in host_opts
    app = host / "cli_app"
    assert (app / ".skeema").read_text() == (
        "default-character-set=utf8mb4\ndefault-collation=utf8mb4_unicode_ci\nschema=cli_app\n"
    )
    assert sorted(p.name for p in app.glob("*.sql")) == [
        "orders.sql",
        "touch.sql",
        "users.sql",
        "v_users.sql",
    ]
    users = (app / "users.sql").read_text()
    assert users.startswith("CREATE TABLE `users` (\n") and users.endswith(" COLLATE=utf8mb4_unicode_ci;\n")
    assert "AUTO_INCREMENT=42" not in users  # stripped by default, as Skeema does
    touch = (app / "touch.sql").read_text()
    assert touch.startswith("DELIMITER //\nCREATE DEFINER=") and touch.endswith("END//\nDELIMITER ;\n")


def test_pull_unchanged_then_one_table(
    server: DBServer, two_schemas: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = init(server, tmp_path)
    before = snapshot(host)
    monkeypatch.chdir(host)
    assert main(["pull"]) == 0
    assert snapshot(host) == before

    sql(server, "ALTER TABLE cli_app.users ADD COLUMN name varchar(20)")
    assert main(["pull"]) == 0
    after = snapshot(host)
    changed = {k for k in before if before[k] != after.get(k)} | (after.keys() - before.keys())
    assert changed == {"cli_app/users.sql"}
    assert "`name` varchar(20) DEFAULT NULL" in (host / "cli_app" / "users.sql").read_text()


def test_pull_adds_removes_and_new_schemas(
    server: DBServer, two_schemas: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = init(server, tmp_path)
    monkeypatch.chdir(host)
    sql(
        server,
        "CREATE TABLE cli_app.added (id int PRIMARY KEY); DROP VIEW cli_app.v_users;"
        " DROP DATABASE cli_logs; CREATE DATABASE cli_new; CREATE TABLE cli_new.t (id int);",
    )
    assert main(["pull"]) == 0
    assert (host / "cli_app" / "added.sql").is_file()
    assert not (host / "cli_app" / "v_users.sql").exists()
    assert not (host / "cli_logs").exists()
    assert (host / "cli_new" / "t.sql").is_file()
    assert "schema=cli_new" in (host / "cli_new" / ".skeema").read_text()


def test_pull_rewrites_in_place_in_shared_files(
    server: DBServer, two_schemas: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = init(server, tmp_path)
    app = host / "cli_app"
    # Hand-organised: two tables in one custom file, with a comment between them.
    combined = (
        "-- all the tables\n"
        + (app / "users.sql").read_text()
        + "\n-- orders\n"
        + (app / "orders.sql").read_text()
    )
    (app / "tables.sql").write_text(combined)
    (app / "users.sql").unlink()
    (app / "orders.sql").unlink()
    monkeypatch.chdir(host)
    assert main(["pull"]) == 0
    assert (app / "tables.sql").read_text() == combined
    assert not (app / "users.sql").exists()
    sql(server, "ALTER TABLE cli_app.orders ADD COLUMN note text")
    assert main(["pull"]) == 0
    text = (app / "tables.sql").read_text()
    assert (
        text.startswith("-- all the tables\nCREATE TABLE `users`")
        and "\n-- orders\nCREATE TABLE `orders`" in text
    )
    assert "`note` text" in text


def test_seed_workflow_over_socket(
    server: DBServer, two_schemas: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not server.socket:
        pytest.fail("the suite's own server always has a unix socket")
    host = init(server, tmp_path)
    monkeypatch.chdir(host)
    assert main(["add-environment", "development", "-h", "localhost", "-S", server.socket]) == 0
    opts = (host / ".skeema").read_text()
    assert "[development]\nflavor=" in opts and f"socket={server.socket}" in opts
    before = snapshot(host)
    assert main(["pull", "development"]) == 0
    assert snapshot(host) == before


def test_format_rewrites_hand_edited_files(
    server: DBServer, two_schemas: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = init(server, tmp_path)
    app = host / "cli_app"
    (app / "extra.sql").write_text(
        "-- kept comment\ncreate table extra (id int not null auto_increment primary key,"
        " v varchar(10) default 'x') auto_increment=7;\n"
    )
    monkeypatch.chdir(host)
    assert main(["format", "--skip-write"]) == 1
    assert "create table extra" in (app / "extra.sql").read_text()  # --skip-write only reports
    assert main(["format"]) == 1
    text = (app / "extra.sql").read_text()
    assert text.startswith("-- kept comment\nCREATE TABLE `extra` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,")
    assert "AUTO_INCREMENT=7" in text  # the file pinned a value above 1: kept
    assert main(["format"]) == 0  # now canonical


def test_bad_sql_reports_file_line_and_other_dirs_still_run(
    server: DBServer,
    two_schemas: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = init(server, tmp_path)
    (host / "cli_app" / "bad.sql").write_text("\n\nCREATE TABLE bad (id int,, x int);\n")
    (host / "cli_logs" / "more.sql").write_text("create table more (id int primary key);\n")
    (host / "cli_app" / "unterminated.sql").write_text("CREATE TABLE q (c varchar(3) default 'oops);\n")
    monkeypatch.chdir(host)
    code = main(["format"])
    assert code == 2
    messages = caplog.text
    assert "unterminated.sql:1" in messages
    assert (host / "cli_logs" / "more.sql").read_text().startswith("CREATE TABLE `more` (\n")


def test_bad_skeema_file_names_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".skeema").write_text("port=3306\nno-such-option=1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["pull"]) == 78
    assert f"{tmp_path / '.skeema'}:2" in caplog.text


def test_unreachable_server_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "MYSQL_PWD": "hunter2-secret"}
    proc = subprocess.run(
        [sys.executable, "-m", "schemad", "init", "-h", "127.0.0.1", "-P", "1", "--dir", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1:1" in lines[0] and "[ERROR]" in lines[0]
    assert "Traceback" not in proc.stderr and "hunter2-secret" not in proc.stderr + proc.stdout


def test_password_never_written_or_logged(
    server: DBServer, two_schemas: object, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-Pa55"
    sql(
        server,
        f"CREATE USER IF NOT EXISTS 'cli_pw'@'%' IDENTIFIED BY '{secret}'; GRANT ALL ON *.* TO 'cli_pw'@'%';",
    )
    try:
        p = server.params
        code = main(
            [
                "init",
                "-h",
                p.host,
                "-P",
                str(p.port),
                "-u",
                "cli_pw",
                f"-p{secret}",
                "--dir",
                str(tmp_path / "h"),
                ONLY_CLI,
            ]
        )
        assert code == 0
        out, err = capfd.readouterr()
        assert secret not in out + err
        for f in (tmp_path / "h").rglob("*"):
            if f.is_file():
                assert secret not in f.read_text()
        assert (
            main(
                [
                    "init",
                    "-h",
                    p.host,
                    "-P",
                    str(p.port),
                    "-u",
                    "cli_pw",
                    "-pwrong-" + secret,
                    "--dir",
                    str(tmp_path / "h2"),
                ]
            )
            == 2
        )
        out, err = capfd.readouterr()
        assert "Access denied" in err and secret not in out + err
    finally:
        sql(server, "DROP USER IF EXISTS 'cli_pw'@'%'")


def test_pull_refreshes_flavor(
    server: DBServer, two_schemas: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = init(server, tmp_path)
    opts = host / ".skeema"
    real = next(line for line in opts.read_text().splitlines() if line.startswith("flavor="))
    opts.write_text(opts.read_text().replace(real, "flavor=mysql:5.7"))
    monkeypatch.chdir(host)
    assert main(["pull"]) == 0
    assert real in opts.read_text().splitlines()
