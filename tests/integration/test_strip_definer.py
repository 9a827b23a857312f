"""strip-definer against the real server: init writes no DEFINER, diff/push match any live definer where
a file names none and create objects as the connecting user, lint leaves such definers alone, and the
unset default follows the user's privileges (a user that can only create objects as itself strips)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from tests.conftest import DBServer
from tests.helpers import load_sql
from tests.integration.test_peer_cases_converge import SCHEMA, repo

pytestmark = pytest.mark.db

OTHER = "`sd_other`@`%`"
LIMITED = "sd_limited"  # may create objects in SCHEMA as itself only

LIVE = f"""
CREATE TABLE t (id int NOT NULL PRIMARY KEY, a int);
CREATE DEFINER={OTHER} VIEW v AS SELECT id FROM t;
DELIMITER //
CREATE DEFINER={OTHER} PROCEDURE p() BEGIN SELECT 1; END//
CREATE DEFINER={OTHER} FUNCTION f() RETURNS int DETERMINISTIC RETURN 1//
CREATE DEFINER={OTHER} TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1//
CREATE DEFINER={OTHER} EVENT ev ON SCHEDULE EVERY 1 DAY STARTS '2031-01-01 00:00:00' DO SELECT 1//
DELIMITER ;
"""

# The same objects as files that name no definer.
FILES = {
    "t": "CREATE TABLE t (id int NOT NULL PRIMARY KEY, a int);\n",
    "v": "CREATE VIEW v AS SELECT id FROM t;\n",
    "p": "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\n",
    "f": "CREATE FUNCTION f() RETURNS int DETERMINISTIC RETURN 1;\n",
    "tr": "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;\n",
    "ev": "CREATE EVENT ev ON SCHEDULE EVERY 1 DAY STARTS '2031-01-01 00:00:00' DO SELECT 1;\n",
}
STORED = ("v", "p", "f", "tr", "ev")


@pytest.fixture(scope="module")
def users(server: DBServer) -> Iterator[None]:
    """sd_other (a definer that may read SCHEMA: MariaDB prints a view whose definer may not read its
    tables in another form) and sd_limited (all privileges on SCHEMA and the temp schema, none global)."""
    asyncio.run(
        load_sql(
            server.params,
            None,
            "CREATE USER IF NOT EXISTS 'sd_other'@'%';"
            f" GRANT ALL PRIVILEGES ON `{SCHEMA}`.* TO 'sd_other'@'%';"
            f" CREATE USER IF NOT EXISTS '{LIMITED}'@'%';"
            f" GRANT ALL PRIVILEGES ON `{SCHEMA}`.* TO '{LIMITED}'@'%';"
            f" GRANT ALL PRIVILEGES ON `\\_skeema\\_tmp`.* TO '{LIMITED}'@'%'",
        )
    )
    yield
    asyncio.run(load_sql(server.params, None, f"DROP USER 'sd_other'@'%'; DROP USER '{LIMITED}'@'%'"))


def _definers(params: ConnParams) -> dict[str, str]:
    """Each stored object's definer in SCHEMA, and `me`: the connection's CURRENT_USER()."""

    async def read() -> dict[str, str]:
        async with Instance(params) as inst:
            rows = await inst.query(
                "SELECT table_name AS n, definer AS d FROM information_schema.views WHERE table_schema = %s"
                " UNION ALL SELECT routine_name, definer FROM information_schema.routines"
                " WHERE routine_schema = %s"
                " UNION ALL SELECT trigger_name, definer FROM information_schema.triggers"
                " WHERE trigger_schema = %s"
                " UNION ALL SELECT event_name, definer FROM information_schema.events WHERE event_schema = %s"
                " UNION ALL SELECT 'me', CURRENT_USER()",
                (SCHEMA, SCHEMA, SCHEMA, SCHEMA),
            )
        return {str(r["n"]): str(r["d"]) for r in rows}

    return asyncio.run(read())


def _init(params: ConnParams, where: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> dict[str, str]:
    where.mkdir()
    monkeypatch.chdir(where)
    args = ["init", "-h", params.host, "-P", str(params.port), "-u", params.user, "--schema", SCHEMA]
    assert main([*args, "--dir", "out", *extra]) == 0
    return {p.stem: p.read_text() for p in (where / "out").glob("*.sql")}


def test_init_with_strip_definer_writes_no_definer(
    server: DBServer, users: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo").mkdir()
    with repo(server, tmp_path / "repo", monkeypatch, LIVE, {}):
        kept = _init(server.params, tmp_path / "kept", monkeypatch)  # root may set any definer: unset = off
        stripped = _init(server.params, tmp_path / "stripped", monkeypatch, "--strip-definer")
    assert set(stripped) == {"t", *STORED}
    for name in STORED:
        assert f"DEFINER={OTHER}" in kept[name], kept[name]
        assert "DEFINER=" not in stripped[name], stripped[name]
    assert "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS" in stripped["v"]
    assert stripped["p"].startswith("DELIMITER //\nCREATE PROCEDURE `p`()")
    assert stripped["t"] == kept["t"]


def test_unset_strip_definer_follows_the_users_privileges(
    server: DBServer, users: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = LIVE.replace(OTHER, f"`{LIMITED}`@`%`")
    limited = ConnParams(host=server.params.host, port=server.params.port, user=LIMITED)
    (tmp_path / "repo").mkdir()
    with repo(server, tmp_path / "repo", monkeypatch, mine, {}):
        as_limited = _init(limited, tmp_path / "limited", monkeypatch)
        as_root = _init(server.params, tmp_path / "root", monkeypatch)
        forced = _init(limited, tmp_path / "forced", monkeypatch, "--skip-strip-definer")
    for name in STORED:
        assert "DEFINER=" not in as_limited[name], as_limited[name]
        assert f"DEFINER=`{LIMITED}`@`%`" in as_root[name]
        assert f"DEFINER=`{LIMITED}`@`%`" in forced[name]


def test_diff_ignores_definers_the_files_leave_out(
    server: DBServer,
    users: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with repo(server, tmp_path, monkeypatch, LIVE, FILES):
        assert main(["diff", "--strip-definer"]) == 0, capsys.readouterr().out
        # Without it, the files stand for the connecting user, and every live object differs.
        assert main(["diff", "--skip-strip-definer"]) == 1
        out = capsys.readouterr().out
        for name in ("VIEW `v`", "PROCEDURE `p`", "FUNCTION `f`", "TRIGGER tr", "EVENT `ev`"):
            assert name in out, out
        # A file that does name a definer is still compared.
        (tmp_path / SCHEMA / "f.sql").write_text(
            "CREATE DEFINER=`nobody`@`%` FUNCTION f() RETURNS int DETERMINISTIC RETURN 1;\n"
        )
        assert main(["diff", "--strip-definer"]) == 1
        assert "DEFINER=`nobody`@`%` FUNCTION `f`" in capsys.readouterr().out


def test_push_creates_and_recreates_without_definer(
    server: DBServer,
    users: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {
        **FILES,
        "p": "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 2; END//\nDELIMITER ;\n",  # body changed
        "np": "CREATE PROCEDURE np() SELECT 3;\n",  # new
        "nv": "CREATE VIEW nv AS SELECT a FROM t;\n",  # new
    }
    with repo(server, tmp_path, monkeypatch, LIVE, files) as schema_dir:
        (schema_dir / ".skeema").write_text((schema_dir / ".skeema").read_text() + "strip-definer\n")
        assert main(["push"]) == 0
        pushed = capsys.readouterr().out
        assert "CREATE OR REPLACE PROCEDURE `p`()" in pushed and "CREATE PROCEDURE `np`()" in pushed, pushed
        assert "DEFINER=" not in pushed
        live = _definers(server.params)
        me = live["me"]
        assert live["p"] == live["np"] == live["nv"] == me  # made by the connecting user
        assert live["v"] == live["f"] == live["tr"] == live["ev"] == "sd_other@%"  # untouched
        assert main(["diff"]) == 0, capsys.readouterr().out


def test_lint_skips_the_definers_files_leave_out(
    server: DBServer,
    users: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with repo(server, tmp_path, monkeypatch, "", {"p": FILES["p"]}):
        lint = ["lint", "--skip-format", "--allow-definer=nobody@nowhere", "--lint-definer=error"]
        assert main([*lint, "--skip-strip-definer"]) == 2  # the workspace user is no allowed definer
        assert "[error] definer:" in caplog.text
        caplog.clear()
        assert main([*lint, "--strip-definer"]) == 0, caplog.text
        assert "] definer:" not in caplog.text


def test_format_with_strip_definer_removes_the_clauses(
    server: DBServer, users: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = {n: FILES[n].replace("CREATE ", f"CREATE DEFINER={OTHER} ", 1) for n in ("p", "f", "tr", "ev")}
    with repo(server, tmp_path, monkeypatch, "", {"t": FILES["t"], **named}) as schema_dir:
        assert main(["format", "--skip-strip-definer"]) == 1  # canonical form, definers kept
        for name in named:
            assert f"DEFINER={OTHER}" in (schema_dir / f"{name}.sql").read_text()
        assert main(["format", "--strip-definer"]) == 1
        for name in named:
            text = (schema_dir / f"{name}.sql").read_text()
            assert "DEFINER=" not in text, text
        assert main(["format", "--strip-definer"]) == 0  # converged
