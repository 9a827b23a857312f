"""Wrapper credentials stay out of the process table: real pt-online-schema-change pushes, F={DEFAULTSFILE}.

While `schemad push` runs, a thread reads `ps -eo args` and every readable
/proc/*/cmdline and /proc/*/environ every 100 ms and records any that holds
the password (searched as a random token it starts with, so the shell-quoted
form counts too).  With `F={DEFAULTSFILE}` the token never shows; with the old
`p={PASSWORDX}` form it does (the documented trade-off, which proves the
sampler sees the tool) and schemad logs a warning once per push.  MYSQL_PWD is
checked with a wrapper that dumps its environment.  Needs
`pt-online-schema-change` (`make setup` installs it); a missing tool is an
error, not a skip.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.helpers import load_sql

pytestmark = pytest.mark.db

TOKEN = "Tk" + secrets.token_hex(8)
# Every character the option file has to escape, or that a DSN or shell would trip on.
PASSWORD = TOKEN + " pw'\"#;\\=,x$y"
USER = f"cred_{os.getpid()}"
ROWS = 6000
# --sleep 0.1 after each of the 30 chunks: the tool runs a few seconds, ~30 samples.
PT_OSC_OPTIONS = (
    "--recursion-method=none --no-version-check --chunk-size 200 --chunk-time 0 --sleep 0.1"
    " --progress percentage,1"
)
DEFAULTSFILE_FORM = (
    "pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE},"
    "F={DEFAULTSFILE} " + PT_OSC_OPTIONS
)
OLD_FORM = (
    "pt-online-schema-change --execute --alter {CLAUSES} D={SCHEMA},t={TABLE},h={HOST},P={PORT},u={USER},"
    "p={PASSWORDX} " + PT_OSC_OPTIONS
)
# pt-online-schema-change splits its DSN at commas, so `p=` cannot carry PASSWORD: the old form gets this one.
DSN_PASSWORD = TOKEN + " pw'\"#;\\=x$y"
WARNING = "alter-wrapper puts the password on the tool's command line"


def skeema_quote(value: str) -> str:
    """`value` single-quoted for a .skeema file (backslash-escaped; no $VAR expansion)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Sampler:
    """Reads the process table every `interval` seconds in a thread until stopped."""

    needle: bytes
    interval: float = 0.1
    tool: bytes = b"pt-online-schema-change"  # a command line with this and --execute is the tool's
    read_environ: bool = (
        True  # also /proc/*/environ (not when the tests' own daemon holds the password there)
    )
    rounds: int = 0
    leaks: list[str] = field(default_factory=list)  # where the needle was seen
    tool_seen: list[str] = field(default_factory=list)  # the tool's command lines seen
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _round(self) -> None:
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, check=False).stdout
        if self.needle in ps:
            self.leaks.append("ps -eo args")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            for what in ("cmdline", "environ") if self.read_environ else ("cmdline",):
                try:
                    data = Path(f"/proc/{entry}/{what}").read_bytes()
                except OSError:
                    continue  # not ours to read, or gone
                if self.needle in data:
                    self.leaks.append(f"/proc/{entry}/{what}")
                if what == "cmdline" and self.tool in data and b"--execute" in data:
                    self.tool_seen.append(data.replace(b"\0", b" ").decode(errors="replace"))
        self.rounds += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._round()
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="process-table-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)


def sql(server: DBServer, text: str, schema: str | None = None) -> None:
    asyncio.run(load_sql(server.params, schema, text))


async def _state(server: DBServer, schema: str) -> tuple[int, str]:
    async with Instance(server.params) as inst:
        n = (await inst.query(f"SELECT COUNT(*) AS n FROM `{schema}`.big"))[0]["n"]
        create = (await inst.query(f"SHOW CREATE TABLE `{schema}`.big"))[0]["Create Table"]
    return int(n), str(create)


async def _create_user(server: DBServer) -> None:
    async with Instance(server.params) as inst:
        await inst.execute(f"DROP USER IF EXISTS '{USER}'@'%'")
        await inst.execute(f"CREATE USER '{USER}'@'%%' IDENTIFIED BY %s", [PASSWORD])
        await inst.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'")


def _change_password(server: DBServer, repo: Path, password: str) -> None:
    async def change() -> None:
        async with Instance(server.params) as inst:
            await inst.execute(f"ALTER USER '{USER}'@'%%' IDENTIFIED BY %s", [password])

    asyncio.run(change())
    host_file = repo.parent / ".skeema"
    lines = [
        f"password={skeema_quote(password)}" if line.startswith("password=") else line
        for line in host_file.read_text().splitlines()
    ]
    host_file.write_text("\n".join(lines) + "\n")


@pytest.fixture
def repo(server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A host dir (user with PASSWORD) and one schema dir whose file adds a column to a 6000-row table."""
    schema = f"cred_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS `{schema}`; CREATE DATABASE `{schema}`")
    asyncio.run(_create_user(server))
    rows = ",".join(f"({i}, 'n{i}')" for i in range(1, ROWS + 1))
    sql(
        server,
        f"CREATE TABLE big (id int NOT NULL PRIMARY KEY, name varchar(20)); INSERT INTO big VALUES {rows};",
        schema,
    )
    p = server.params
    (tmp_path / ".skeema").write_text(
        f"[production]\nhost={p.host}\nport={p.port}\nuser={USER}\npassword={skeema_quote(PASSWORD)}\n"
    )
    d = tmp_path / schema
    d.mkdir()
    (d / ".skeema").write_text(f"schema={schema}\n")
    (d / "big.sql").write_text(
        "CREATE TABLE big (id int NOT NULL PRIMARY KEY, name varchar(20), added int);\n"
    )
    tmp = tmp_path / "tmp"  # TMPDIR: the test sees the option file directories come and go
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.chdir(tmp_path)
    yield d
    sql(server, f"DROP DATABASE IF EXISTS `{schema}`; DROP USER IF EXISTS '{USER}'@'%'")


def _require_pt_osc() -> None:
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")


def _add_options(repo: Path, text: str) -> None:
    (repo / ".skeema").write_text((repo / ".skeema").read_text() + text)


def test_defaults_file_keeps_the_password_out_of_the_process_table(
    server: DBServer, repo: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    _require_pt_osc()
    _add_options(repo, f"alter-wrapper={DEFAULTSFILE_FORM}\nalter-wrapper-min-size=1\n")
    assert main(["diff"]) == 1
    out, _ = capfd.readouterr()
    assert "D=" + repo.name + ",t=big,F={DEFAULTSFILE} " in out  # printed with the placeholder

    with Sampler(TOKEN.encode()) as sampler:
        code = main(["push"])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert sampler.tool_seen, f"the sampler never saw pt-online-schema-change ({sampler.rounds} rounds)"
    assert any("/schemad-cnf-" in line and "client.cnf" in line for line in sampler.tool_seen)
    assert sampler.leaks == []
    assert "Successfully altered" in err and "Copying" in err  # pt-osc really did the work
    assert PASSWORD not in out + err + caplog.text and TOKEN not in out + err + caplog.text
    assert WARNING not in caplog.text
    assert list((repo.parent / "tmp").iterdir()) == []  # the option file is gone

    n, create = asyncio.run(_state(server, repo.name))
    assert n == ROWS and "`added` int(11) DEFAULT NULL" in create
    assert main(["diff"]) == 0  # converged


def test_password_on_the_command_line_warns_once_and_shows_in_ps(
    server: DBServer, repo: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    _require_pt_osc()
    _change_password(server, repo, DSN_PASSWORD)
    _add_options(repo, f"alter-wrapper={OLD_FORM}\nalter-wrapper-min-size=1\n")
    # A second table through the same template in the same push: still one warning.
    (repo / "big2.sql").write_text("CREATE TABLE big2 (id int NOT NULL PRIMARY KEY, added int);\n")
    sql(
        server,
        "CREATE TABLE big2 (id int NOT NULL PRIMARY KEY); INSERT INTO big2 VALUES (1),(2),(3);",
        repo.name,
    )

    assert main(["diff"]) == 1
    capfd.readouterr()
    assert WARNING not in caplog.text  # diff runs nothing: no warning
    with Sampler(TOKEN.encode()) as sampler:
        code = main(["push"])
    out, err = capfd.readouterr()
    assert code == 0, err
    warnings = [r for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert "{DEFAULTSFILE}" in warnings[0].getMessage()
    assert DSN_PASSWORD not in out + err + caplog.text and TOKEN not in out + err + caplog.text
    # The documented trade-off: while pt-osc runs, its command line holds the password.
    assert sampler.tool_seen and any("cmdline" in where for where in sampler.leaks), sampler.leaks

    n, create = asyncio.run(_state(server, repo.name))
    assert n == ROWS and "`added` int(11) DEFAULT NULL" in create
    assert main(["diff"]) == 0


def test_mysql_pwd_is_not_in_the_wrapper_environment(
    server: DBServer, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    dump = tmp_path / "env.txt"
    _add_options(repo, f"alter-wrapper=sh -c 'env > {dump}'\n")
    assert main(["push"]) == 0  # the "tool" does not run the DDL; enough to see its environment
    env = dump.read_text()
    assert env and "PATH=" in env  # the rest of the environment is inherited
    assert "MYSQL_PWD" not in env and TOKEN not in env


def test_a_password_variable_the_skeema_file_reads_is_not_in_the_wrapper_environment(
    server: DBServer, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `password=$DB_SECRET`: the variable holds the password, so the tool must not inherit it either.
    monkeypatch.setenv("DB_SECRET", PASSWORD)
    host_file = repo.parent / ".skeema"
    host_file.write_text(
        host_file.read_text().replace(f"password={skeema_quote(PASSWORD)}", "password=$DB_SECRET")
    )
    dump = tmp_path / "env.txt"
    _add_options(repo, f"alter-wrapper=sh -c 'env > {dump}'\n")
    assert main(["push"]) == 0
    env = dump.read_text()
    assert env and "PATH=" in env
    assert "DB_SECRET" not in env and PASSWORD not in env


def test_mysql_pwd_is_passed_when_the_template_reads_it(
    server: DBServer, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    dump = tmp_path / "env.txt"
    _add_options(repo, f'alter-wrapper=test -n "$MYSQL_PWD" && env > {dump}\n')
    assert main(["push"]) == 0
    assert f"MYSQL_PWD={PASSWORD}\n" in dump.read_text()


def test_tool_failure_still_removes_the_option_file(
    server: DBServer, repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen = tmp_path / "seen.txt"
    _add_options(repo, f"alter-wrapper=cp {{DEFAULTSFILE}} {seen}; exit 4\n")
    assert main(["push"]) == 2
    assert "password =" in seen.read_text()  # the tool got the file...
    assert list((repo.parent / "tmp").iterdir()) == []  # ...and it is gone though the tool failed
    assert TOKEN not in caplog.text


# ///// the daemon: one warning per job, MYSQL_PWD kept from its wrappers /////


def test_daemon_job_warns_once_and_its_wrappers_get_no_mysql_pwd(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.daemon_proc import (
        DB_PASSWORD,
        DaemonRepo,
        RunningDaemon,
        assert_no_password,
        ensure_db_user,
    )

    items = (
        "CREATE TABLE `items` (\n  `id` int(11) NOT NULL,\n  `name` varchar(50) DEFAULT NULL,\n"
        "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;\n"
    )
    ensure_db_user(server)
    schemas = [f"credd{i}_{os.getpid()}" for i in (1, 2)]
    for s in schemas:
        sql(server, f"DROP DATABASE IF EXISTS {s}; CREATE DATABASE {s} CHARACTER SET utf8mb4;")
        sql(server, items + "ALTER TABLE items ADD KEY by_name (name);", s)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    # The "tool" records its environment; `: {PASSWORDX}` puts the password on its command line.
    wrapper = f"env > {dumps}/{{SCHEMA}}.env; : {{PASSWORDX}}"
    repo = DaemonRepo.create(
        tmp_path / "repo",
        server,
        schemas[0],
        {"items.sql": items},
        extra_options=f"alter-wrapper={wrapper}\n",
    )
    (repo.dir / ".skeema").write_text(f"schema={','.join(schemas)}\n")  # one dir, two schemas: two targets
    monkeypatch.setenv("MYSQL_PWD", DB_PASSWORD)  # the daemon inherits it
    d = RunningDaemon(repo, tmp_path / "run").start()
    try:
        diff = d.diff(refresh="true")
        r = d.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
        assert r.status == 202, r.text
        job_id = r.json()["job"]["id"]
        job = d.wait_job(job_id)
        assert job["state"] == "succeeded", job
        assert len(job["statements"]) == 2
        log = d.get(f"/v1/jobs/{job_id}/log").text
        assert log.count("alter-wrapper puts the password on the tool's command line") == 1, log
        for s in schemas:
            env = (dumps / f"{s}.env").read_text()
            assert "SCHEMAD_JOB_ID=" in env and "MYSQL_PWD" not in env
    finally:
        d.stop()
        for s in schemas:
            sql(server, f"DROP DATABASE IF EXISTS {s}")
    assert_no_password(d)
