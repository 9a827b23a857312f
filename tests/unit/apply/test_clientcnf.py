"""The `{DEFAULTSFILE}` option file: quoting for the MySQL readers, gh-ost's reader, mode, removal."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from schemad.apply.clientcnf import (
    FILE_NAME,
    client_option_file,
    ghost_misreads,
    option_value,
    remove_option_files,
    render_client_options,
)
from schemad.connection.params import ConnParams
from schemad.errors import ConfigError

# Each is a password the option file must carry exactly.
HARD_VALUES = [
    "plain",
    "",
    "has space",
    " leading and trailing ",
    'double"quote',
    "single'quote",
    '"wrapped in double quotes"',
    "'wrapped in single quotes'",
    "hash#mark",
    "#starts with a hash",
    "semi;colon",
    ";starts with a semicolon",
    "back\\slash",
    "ends with a backslash\\",
    "\\",
    "\\n is not a newline",
    'a\\"b',
    "eq=ua=ls",
    "=",
    "${HOME}",
    "$(id)`id`",
    "new\nline",
    "tab\there",
    "café ünïcode",
    "all of them: \"'#;\\= \t${X}",
]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        ("has space", '"has space"'),
        ('dq"', '"dq\\""'),
        ("sq'", '"sq\'"'),
        ("a\\b", '"a\\\\b"'),
        ("#;=", '"#;="'),
        ("n\nr\rt\tb\b", '"n\\nr\\rt\\tb\\b"'),
    ],
)
def test_option_value(value: str, written: str) -> None:
    assert option_value(value) == written


def test_option_value_refuses_nul_without_showing_the_value() -> None:
    with pytest.raises(ValueError) as info:
        option_value("sec\0ret")
    assert "sec" not in str(info.value)


def _mysys_reads(path: Path) -> dict[str, str]:
    """What MariaDB's own option-file reader (mysys, as in the mysql/mariadb tools) makes of `path`."""
    tool = shutil.which("my_print_defaults")
    if tool is None:
        pytest.fail("my_print_defaults is not installed (mariadb-client): run make setup")
    out = subprocess.run(
        [tool, f"--defaults-file={path}", "client"], check=True, capture_output=True
    ).stdout.decode()
    # One `--name=value` per option; a value holding a newline continues on the next line.
    options: dict[str, str] = {}
    name = ""
    for line in out.split("\n")[:-1]:
        if (
            line.startswith("--")
            and "=" in line
            and line[2:].split("=", 1)[0]
            in (
                "user",
                "password",
                "host",
                "port",
                "socket",
            )
        ):
            name, value = line[2:].split("=", 1)
            options[name] = value
        else:
            options[name] += "\n" + line
    return options


@pytest.mark.parametrize("value", HARD_VALUES)
def test_mysql_option_reader_reads_back_every_value(value: str, tmp_path: Path) -> None:
    params = ConnParams(host="db.example.com", port=3307, user=value or "u", password=value)
    path = tmp_path / "c.cnf"
    path.write_text(render_client_options(params), encoding="utf-8")
    got = _mysys_reads(path)
    expected = {"user": value or "u", "host": "db.example.com", "port": "3307"}
    if value:
        expected["password"] = value
    assert got == expected


def test_socket_means_localhost_and_the_socket() -> None:
    text = render_client_options(ConnParams(host="label", socket="/run/my sql.sock", user="u", password="p"))
    assert text.splitlines()[1:] == [
        "[client]",
        'user = "u"',
        'password = "p"',
        'host = "localhost"',
        'socket = "/run/my sql.sock"',
        "port = 3306",
    ]


def test_empty_password_writes_no_password_line() -> None:
    assert "password" not in render_client_options(ConnParams(user="u", password=""))


@pytest.mark.parametrize(
    ("value", "misread"),
    [
        ("plain", False),
        ("has space", False),
        ("sq'uote", False),
        ("eq=ua=ls", False),
        ("$HOME and $(id)", False),
        ("", False),
        ('dq"uote', True),  # go-ini has no \" escape (gh-ost does not turn UnescapeValueDoubleQuotes on)
        ("hash#mark", True),  # go-ini ends the value at the first # or ;, quotes or not
        ("semi;colon", True),
        ("back\\slash", True),  # written \\, read \\
        ("tab\there", True),
        ("${HOME}", True),  # gh-ost swaps ${NAME} for the environment variable
        ("x${A}y", True),
    ],
)
def test_ghost_misreads(value: str, misread: bool) -> None:
    assert ghost_misreads(value) is misread


def test_file_is_private_and_removed_afterwards(tmp_path: Path) -> None:
    params = ConnParams(host="h", port=1, user="u", password="pw")
    with client_option_file(params, parent=tmp_path) as path:
        assert path.name == FILE_NAME and path.parent.parent == tmp_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.read_text(encoding="utf-8") == render_client_options(params)
    assert list(tmp_path.iterdir()) == []


def test_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with client_option_file(ConnParams(password="pw"), parent=tmp_path) as path:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_removed_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="tool failed"), client_option_file(ConnParams(), parent=tmp_path):
        raise RuntimeError("tool failed")
    assert list(tmp_path.iterdir()) == []


async def test_removed_when_the_task_is_cancelled(tmp_path: Path) -> None:
    inside = asyncio.Event()
    seen: list[Path] = []

    async def run() -> None:
        with client_option_file(ConnParams(password="pw"), parent=tmp_path) as path:
            seen.append(path)
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(run())
    await inside.wait()
    assert seen[0].exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


def test_a_parent_path_a_dsn_cannot_carry_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    parent = tmp_path / "a,b=c"
    parent.mkdir()
    with (
        pytest.raises(ConfigError, match="TMPDIR"),
        client_option_file(ConnParams(password="pw"), parent=parent),
    ):
        pass
    assert list(parent.iterdir()) == []


def test_a_crashed_jobs_option_file_is_found_by_its_tag(tmp_path: Path) -> None:
    # The daemon dies (SIGKILL) while job-1's wrapper reads its file: the with-block never ends.
    crashed = client_option_file(ConnParams(password="pw"), parent=tmp_path, tag="20261206T172721-2c09489e")
    path = crashed.__enter__()
    assert path.parent.name.startswith("schemad-cnf-20261206T172721-2c09489e-")
    others = []
    for tag in ("20261206T172721-2c09489", "20261206T172721-2c09489e-x", ""):  # other jobs, the CLI's
        others.append(client_option_file(ConnParams(password="pw"), parent=tmp_path, tag=tag))
        others[-1].__enter__()
    lookalike = tmp_path / "schemad-cnf-20261206T172721-2c09489e-file0000"
    lookalike.write_text("not a directory")

    assert remove_option_files("20261206T172721-2c09489e", parent=tmp_path) == [path.parent]
    assert not path.parent.exists()
    assert len(list(tmp_path.iterdir())) == 4  # the other three dirs and the file
    assert remove_option_files("no/such*tag", parent=tmp_path) == []
    for cm in others:
        cm.__exit__(None, None, None)
    assert list(tmp_path.iterdir()) == [lookalike]


def test_a_tag_must_be_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a plain name"), client_option_file(ConnParams(), tag="a b"):
        pass
