"""Wrapped statements and credentials: the {DEFAULTSFILE} file's lifetime, MYSQL_PWD, the warnings.

The executor tests run real `/bin/sh` wrappers (no database): the tool copies
what it was given somewhere the test can look after the run.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from schemad.apply.clientcnf import render_client_options
from schemad.apply.runner import WrapperFailed
from schemad.apply.wrapped import WrappingExecutor, wrapper_warnings
from schemad.connection.params import ConnParams
from schemad.diff.kinds import DiffKind
from schemad.diff.schema_diff import Step
from schemad.model.keys import ObjectKey, ObjectType
from schemad.plan.routes import WrapperConfig, WrapperPlanner

PASSWORD = "W r'a\"p#;\\=pw"
PARAMS = ConnParams(host="127.0.0.1", port=3306, user="osc", password=PASSWORD)
STEP = Step(ObjectKey(ObjectType.TABLE, "t"), DiffKind.ALTER, "ALTER TABLE `t` ADD COLUMN `c` int")
CREATE = Step(ObjectKey(ObjectType.TABLE, "n"), DiffKind.CREATE, "CREATE TABLE `n` (id int)")


class Direct:
    """The inner executor: records what ran directly."""

    def __init__(self) -> None:
        self.ran: list[Step] = []

    async def execute(self, step: Step) -> None:
        self.ran.append(step)


def executor(
    alter_wrapper: str,
    *,
    timeout: float | None = 30,
    cancel: asyncio.Event | None = None,
    params: ConnParams = PARAMS,
) -> tuple[WrappingExecutor, Direct]:
    planner = WrapperPlanner(WrapperConfig(alter_wrapper=alter_wrapper, timeout=timeout), params, "shop", {})
    inner = Direct()
    return WrappingExecutor(inner, planner, cancel=cancel, env={"SCHEMAD_JOB_ID": "j1"}), inner


def leftover(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("schemad-cnf-"))


@pytest.fixture
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TMPDIR, so the test sees every option file directory created and removed."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    return tmp


# ///// the option file's lifetime /////


async def test_tool_reads_the_file_and_it_is_gone_afterwards(tmpdir_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run, inner = executor(
        f"echo {{DEFAULTSFILE}} > {out}.path; stat -c %a {{DEFAULTSFILE}} >> {out}.path;"
        f" cat {{DEFAULTSFILE}} > {out}"
    )
    await run.execute(STEP)
    assert inner.ran == []
    path, mode = out.with_suffix(".path").read_text().split()
    assert Path(path).parent.parent == tmpdir_env and mode == "600"
    assert out.read_text() == render_client_options(PARAMS)
    assert not Path(path).exists() and leftover(tmpdir_env) == []


async def test_removed_when_the_tool_fails(tmpdir_env: Path, tmp_path: Path) -> None:
    run, _ = executor(f"echo {{DEFAULTSFILE}} > {tmp_path}/p; echo boom >&2; exit 3")
    with pytest.raises(WrapperFailed) as info:
        await run.execute(STEP)
    assert info.value.exit_code == 3
    assert not Path((tmp_path / "p").read_text().strip()).exists() and leftover(tmpdir_env) == []


async def test_removed_when_the_tool_times_out(tmpdir_env: Path, tmp_path: Path) -> None:
    run, _ = executor(f"echo {{DEFAULTSFILE}} > {tmp_path}/p; sleep 60", timeout=1.0)
    with pytest.raises(WrapperFailed) as info:
        await run.execute(STEP)
    assert info.value.timed_out
    assert not Path((tmp_path / "p").read_text().strip()).exists() and leftover(tmpdir_env) == []


async def test_removed_when_the_job_is_cancelled(tmpdir_env: Path, tmp_path: Path) -> None:
    cancel = asyncio.Event()
    marker = tmp_path / "p"
    run, _ = executor(
        f"echo {{DEFAULTSFILE}} > {marker}.tmp; mv {marker}.tmp {marker}; sleep 60", cancel=cancel
    )
    task = asyncio.create_task(run.execute(STEP))
    while not marker.exists():
        await asyncio.sleep(0.05)
    assert Path(marker.read_text().strip()).exists()
    cancel.set()
    with pytest.raises(WrapperFailed) as info:
        await task
    assert info.value.cancelled
    assert leftover(tmpdir_env) == []


async def test_removed_when_the_task_is_cancelled(tmpdir_env: Path, tmp_path: Path) -> None:
    marker = tmp_path / "p"
    run, _ = executor(f"echo {{DEFAULTSFILE}} > {marker}.tmp; mv {marker}.tmp {marker}; sleep 60")
    task = asyncio.create_task(run.execute(STEP))
    while not marker.exists():
        await asyncio.sleep(0.05)
    assert leftover(tmpdir_env) != []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftover(tmpdir_env) == []


async def test_no_file_unless_the_template_asks(tmpdir_env: Path, tmp_path: Path) -> None:
    run, _ = executor(f"ls -A $TMPDIR > {tmp_path}/ls")
    await run.execute(STEP)
    assert (tmp_path / "ls").read_text() == ""


async def test_statements_no_wrapper_takes_run_directly(tmpdir_env: Path) -> None:
    run, inner = executor("false")
    await run.execute(CREATE)
    assert inner.ran == [CREATE]


# ///// MYSQL_PWD /////


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_bytes().decode().split("\0") if "=" in line)


async def test_mysql_pwd_is_not_inherited(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    out = tmp_path / "env"
    run, _ = executor(f"env -0 > {out}")
    await run.execute(STEP)
    env = _env_file(out)
    assert "MYSQL_PWD" not in env and PASSWORD not in out.read_bytes().decode()
    assert env["SCHEMAD_JOB_ID"] == "j1" and env["PATH"] == os.environ["PATH"]  # the rest is inherited


@pytest.mark.parametrize("ref", ["$MYSQL_PWD", "${MYSQL_PWD}"])
async def test_mysql_pwd_is_inherited_when_the_template_reads_it(
    ref: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    out = tmp_path / "env"
    run, _ = executor(f'test -n "{ref}" && env -0 > {out}')
    await run.execute(STEP)
    assert _env_file(out)["MYSQL_PWD"] == PASSWORD


# ///// printing and warnings /////


def planner(
    alter_wrapper: str = "", ddl_wrapper: str = "", *, min_size: int = 0, **params: str
) -> WrapperPlanner:
    cfg = WrapperConfig(alter_wrapper=alter_wrapper, ddl_wrapper=ddl_wrapper, alter_wrapper_min_size=min_size)
    p = ConnParams(
        host="127.0.0.1", port=3306, user=params.get("user", "osc"), password=params.get("password", PASSWORD)
    )
    return WrapperPlanner(cfg, p, "shop", {"t": 100})


def test_printed_command_shows_the_placeholder() -> None:
    cmd = planner(
        "pt-online-schema-change --alter {CLAUSES} D={SCHEMA},t={TABLE},F={DEFAULTSFILE}"
    ).command_for(STEP)
    assert cmd is not None
    assert cmd.display == "pt-online-schema-change --alter 'ADD COLUMN `c` int' D=shop,t=t,F={DEFAULTSFILE}"
    with pytest.raises(ValueError):
        cmd.argv_for_exec()


@pytest.mark.parametrize(
    ("alter_wrapper", "ddl_wrapper", "min_size", "steps", "expected"),
    [
        ("pt-online-schema-change D={SCHEMA},t={TABLE},p={PASSWORDX}", "", 0, [STEP], ["alter-wrapper puts"]),
        ("gh-ost --password={PASSWORD} --table={TABLE}", "", 0, [STEP, STEP], ["alter-wrapper puts"]),
        ("", "mysql -p{PASSWORDX} -e {DDL}", 0, [STEP, CREATE], ["ddl-wrapper puts"]),
        # Both options, both on the command line: one warning each.
        ("a -p{PASSWORDX}", "b -p{PASSWORD}", 0, [STEP, CREATE], ["alter-wrapper puts", "ddl-wrapper puts"]),
        ("pt-online-schema-change D={SCHEMA},t={TABLE},F={DEFAULTSFILE}", "", 0, [STEP], []),
        # The table is below the min size: the wrapper does not run, nothing to warn about.
        ("pt-online-schema-change p={PASSWORDX}", "", 1000, [STEP], []),
        # gh-ost's --conf reader cannot read this password back.
        ("gh-ost --conf={DEFAULTSFILE} --table={TABLE}", "", 0, [STEP], ["alter-wrapper gives gh-ost"]),
    ],
)
def test_warnings(
    alter_wrapper: str, ddl_wrapper: str, min_size: int, steps: list[Step], expected: list[str]
) -> None:
    notes = wrapper_warnings(planner(alter_wrapper, ddl_wrapper, min_size=min_size), steps)
    assert [n for n in notes if not any(n.startswith(e) for e in expected)] == []
    assert len(notes) == len(expected)
    for note in notes:
        assert PASSWORD not in note and "W r" not in note
    if any("puts" in e for e in expected):
        assert all("{DEFAULTSFILE}" in n for n in notes)


def test_gh_ost_with_a_plain_password_gets_no_warning() -> None:
    assert (
        wrapper_warnings(
            planner("gh-ost --conf={DEFAULTSFILE} --table={TABLE}", password="plain-pw 1"), [STEP]
        )
        == ()
    )
