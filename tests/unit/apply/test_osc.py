"""Knowing the tool a wrapper runs, and holding / releasing a gh-ost cut-over (no database)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from schemad.apply.osc import GhostGate, SpiritGate, gate_refusal, simple_command, tool_of, with_arguments
from schemad.apply.progress import Tool
from schemad.connection.params import ConnParams
from schemad.plan.shellout import WrapperCommand


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        ("pt-online-schema-change --execute --alter 'ADD c int' D=s,t=t", Tool.PT_OSC),
        ("/usr/bin/pt-online-schema-change --execute", Tool.PT_OSC),
        ("gh-ost --conf=/tmp/x --alter='ADD c int' --execute", Tool.GH_OST),
        ("/opt/gh/bin/gh-ost --execute", Tool.GH_OST),
        ("GOMAXPROCS=2 exec gh-ost --execute", Tool.GH_OST),
        ("spirit migrate --statement 'ALTER TABLE t ADD c int'", Tool.SPIRIT),
        ("./spirit migrate", Tool.SPIRIT),
        ("nice gh-ost --execute", None),  # anything else first is an opaque tool
        ("my-gh-ost-wrapper.sh", None),
        ("gh-ost.sh --execute", None),
        ("echo 'unbalanced", None),
        ("", None),
    ],
)
def test_tool_of_reads_the_executable(command: str, tool: Tool | None) -> None:
    assert tool_of(command) is tool


@pytest.mark.parametrize(
    ("command", "simple"),
    [
        ("gh-ost --alter {CLAUSES} --execute", True),
        ("gh-ost --alter 'a; b | c & (d)' --execute 2>&1", True),  # quoted, and a redirection
        ('gh-ost --alter "x;y" --password=a\\;b', True),
        ("gh-ost --x=a#b", True),  # `#` inside a word is no comment
        ("gh-ost --execute; echo done", False),
        ("gh-ost --execute && echo done", False),
        ("gh-ost --execute | tee log", False),
        ("gh-ost --execute &", False),
        ("(gh-ost --execute)", False),
        ("gh-ost --execute\necho", False),
        ("gh-ost --execute # trailing comment", False),
        ("gh-ost --alter 'unclosed", False),
    ],
)
def test_simple_command(command: str, simple: bool) -> None:
    assert simple_command(command) is simple


def test_with_arguments_appends_quoted_and_keeps_masking() -> None:
    cmd = WrapperCommand.from_template("gh-ost --password={PASSWORDX}", {"PASSWORD": "s3cr et"})
    out = with_arguments(cmd, ["--postpone-cut-over-flag-file=/tmp/a b/flag", "--x"])
    assert (
        out.argv_for_exec()[2]
        == "gh-ost --password='s3cr et' '--postpone-cut-over-flag-file=/tmp/a b/flag' --x"
    )
    assert out.display == "gh-ost --password=***** '--postpone-cut-over-flag-file=/tmp/a b/flag' --x"
    assert out.mask("s3cr et") == "*****"


@pytest.mark.parametrize(
    ("tool", "template", "refused"),
    [
        (Tool.GH_OST, "gh-ost --execute", None),
        (Tool.SPIRIT, "spirit migrate", None),
        (Tool.PT_OSC, "pt-online-schema-change --execute", "pt-online-schema-change cannot postpone"),
        (None, "my-tool --go", "'my-tool', which is not an online-schema-change tool"),
        (Tool.GH_OST, "gh-ost --execute | tee /tmp/log", "not one simple command"),
        (Tool.GH_OST, "gh-ost --postpone-cut-over-flag-file=/x", "sets --postpone-cut-over-flag-file itself"),
    ],
)
def test_gate_refusal(tool: Tool | None, template: str, refused: str | None) -> None:
    why = gate_refusal(tool, template, template)
    assert (why is None) if refused is None else (why is not None and refused in why), why


async def test_ghost_gate_flag_file_and_unpostpone_on_the_socket() -> None:
    gate = GhostGate("orders")
    try:
        assert stat.S_IMODE(os.stat(gate.dir).st_mode) == 0o700
        assert os.path.exists(gate.flag)
        assert gate.arguments() == (
            f"--postpone-cut-over-flag-file={gate.flag}",
            f"--serve-socket-file={gate.socket}",
        )
        got: list[str] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.append((await reader.readline()).decode().strip())
            writer.write(b"Unpostponed\n# Migrating `shop`.`orders`\n")
            await writer.drain()
            writer.close()

        assert gate.socket is not None
        server = await asyncio.start_unix_server(serve, gate.socket)
        async with server:
            done = await gate.release()
        assert got == ["unpostpone=orders"]
        assert (
            done == "sent unpostpone=orders on gh-ost's socket (Unpostponed); removed the postpone flag file"
        )
        assert not os.path.exists(gate.flag)
    finally:
        gate.close()
    assert not os.path.exists(gate.dir)


async def test_ghost_gate_without_a_socket_removes_the_file() -> None:
    gate = GhostGate("orders", own_socket=False)
    try:
        assert gate.arguments() == (f"--postpone-cut-over-flag-file={gate.flag}",)
        assert await gate.release() == "removed the postpone flag file"
        assert await gate.release() == "the postpone flag file was already gone"
    finally:
        gate.close()


def test_spirit_gate_defers_and_drops_the_sentinel(tmp_path: Path) -> None:
    gate = SpiritGate(ConnParams(host="h", port=1, user="u"), "we`ird")
    assert gate.arguments() == ("--defer-cutover",)
    assert gate.drop_sql == "DROP TABLE IF EXISTS `we``ird`.`_spirit_sentinel`"
