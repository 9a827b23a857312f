"""The online-schema-change tools schemad knows, and how it holds and releases their cut-over.

`tool_of(command)` names the tool a wrapper command runs: the basename of
its executable, the first word of the rendered command after any
`NAME=value` assignments and an `exec` (`/opt/bin/gh-ost --alter ...` is
gh-ost).  `pt-online-schema-change`, `gh-ost` and `spirit` are known;
anything else (a script around a tool, `nice gh-ost`, a pipeline) is an
opaque tool: it runs as before, and nothing is parsed or gated.

A gated cut-over ("postpone_cutover") needs a tool that can wait before
its swap, and arguments schemad adds to the rendered command itself:

* gh-ost: `--postpone-cut-over-flag-file=<dir>/postpone.flag` (schemad
  creates the file before the start; gh-ost waits while it exists) and,
  unless the template sets its own, `--serve-socket-file=<dir>/gh-ost.sock`.
  Approval sends `unpostpone=<table>` on the socket, then deletes the file
  (either alone releases gh-ost).  `<dir>` is a fresh 0700 directory,
  removed when the run ends.
* Spirit: `--defer-cutover`.  Spirit creates `_spirit_sentinel` in the
  schema and waits while it exists (up to 48 hours, then fails); approval
  drops it.  A change Spirit does with INSTANT DDL never waits.
* pt-online-schema-change cannot wait before its swap (`--no-swap-tables`
  leaves the swap to someone else, which is not a gate): `gate_refusal`
  refuses the option for it, and for opaque tools, naming the tool.

The arguments are appended to the end of the command, so the template must
be one simple command (`simple_command`: no `;`, `&`, `|`, parentheses or
newline outside quotes, no trailing `#` comment) that does not set the flag
file itself.  Nothing here decides when a run is waiting: the tool's own
progress output says so (`apply.progress`, phase `postponed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterable

from schemad import lazyre
from schemad.apply.leftovers import SPIRIT_SENTINEL
from schemad.apply.progress import Tool
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import SchemadError
from schemad.plan.shellout import WrapperCommand, escape_value
from schemad.records import dataclass

__all__ = [
    "GATEABLE",
    "CutoverGate",
    "GhostGate",
    "SpiritGate",
    "gate_for",
    "gate_refusal",
    "simple_command",
    "tool_of",
    "with_arguments",
]

#: The tools by executable basename.
KNOWN_TOOLS: dict[str, Tool] = {str(t): t for t in Tool}

#: The tools that can hold their cut-over until schemad says go.
GATEABLE = frozenset({Tool.GH_OST, Tool.SPIRIT})

_ASSIGNMENT = lazyre.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
_OPERATORS = frozenset(";&|()\n")
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


def tool_of(command: str) -> Tool | None:
    """The known tool `command` runs (its executable's basename), or None for an opaque tool."""
    try:
        words = shlex.split(command, comments=False)
    except ValueError:
        return None
    for word in words:
        if _ASSIGNMENT.fullmatch(word) or word == "exec":
            continue
        return KNOWN_TOOLS.get(os.path.basename(word))
    return None


def simple_command(command: str) -> bool:
    """True if `command` is one simple shell command, so arguments appended to it reach its program.

    Walks the text as /bin/sh would quote it: `;`, `&`, `|`, `(`, `)` or a
    newline outside quotes (other than in a redirection such as `2>&1`), or a
    `#` starting a word (a comment would swallow what is appended), make it
    something else.
    """
    quote: str | None = None
    escaped = False
    word_start = True
    prev = ""
    for ch in command:
        after, prev = prev, ch
        if escaped:
            escaped, word_start = False, False
            continue
        if quote == "'":
            if ch == "'":
                quote = None
            continue
        if ch == "\\":
            escaped = True
            continue
        if quote == '"':
            if ch == '"':
                quote = None
            continue
        if ch in "'\"":
            quote, word_start = ch, False
            continue
        if ch in "&|" and after in ("<", ">"):  # a redirection: 2>&1, <&3, >|
            continue
        if ch in _OPERATORS or (ch == "#" and word_start):
            return False
        word_start = ch in " \t"
    return quote is None and not escaped


def with_arguments(cmd: WrapperCommand, args: Iterable[str]) -> WrapperCommand:
    """`cmd` with `args` (shell-quoted) appended; the same secrets are masked in the new texts."""
    extra = " ".join(escape_value(a) for a in args)
    if not extra:
        return cmd
    real = cmd.argv_for_exec()[2]
    return WrapperCommand(
        template=cmd.template,
        display=cmd.mask(f"{cmd.display} {extra}"),
        _text=f"{real} {extra}",
        secrets=cmd.secrets,
    )


def gate_refusal(tool: Tool | None, template: str, command: str) -> str | None:
    """Why a run of `command` (from `template`) cannot hold its cut-over for approval; None if it can."""
    if tool is None:
        first = command.split(maxsplit=1)[0] if command.strip() else command
        return (
            f"the alter-wrapper runs {first!r}, which is not an online-schema-change tool schemad knows"
            " (gh-ost or spirit): it cannot postpone the cut-over"
        )
    if tool not in GATEABLE:
        return f"{tool} cannot postpone its cut-over (it swaps the tables as soon as the copy is done)"
    if not simple_command(template):
        return (
            f"the alter-wrapper template running {tool} is not one simple command (it has ;, &, |,"
            " parentheses, a newline or a comment), so schemad cannot add its cut-over arguments"
        )
    if tool is Tool.GH_OST and "--postpone-cut-over-flag-file" in template:
        return "the alter-wrapper template sets --postpone-cut-over-flag-file itself; schemad needs to own it"
    return None


class CutoverGateError(SchemadError):
    """Releasing a held cut-over failed."""


class CutoverGate:
    """Holds one tool run's cut-over until `release`; `arguments` go on the tool's command line."""

    tool: Tool

    def arguments(self) -> tuple[str, ...]:
        raise NotImplementedError

    async def release(self) -> str:
        """Let the tool cut over; returns what was done (for the job log and the audit log)."""
        raise NotImplementedError

    def close(self) -> None:
        """The run ended: remove what the gate made."""


@dataclass
class GhostGate(CutoverGate):
    """gh-ost's postpone flag file (and control socket) in a private directory."""

    table: str
    own_socket: bool = True  # False: the template names its own --serve-socket-file
    tool: Tool = Tool.GH_OST

    def __post_init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="schemad-osc-")  # 0700
        self.flag = os.path.join(self.dir, "postpone.flag")
        fd = os.open(self.flag, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.close(fd)
        sock = os.path.join(self.dir, "gh-ost.sock")
        self.socket: str | None = sock if self.own_socket and len(sock) < _UNIX_PATH_MAX else None

    def arguments(self) -> tuple[str, ...]:
        args = [f"--postpone-cut-over-flag-file={self.flag}"]
        if self.socket is not None:
            args.append(f"--serve-socket-file={self.socket}")
        return tuple(args)

    async def release(self) -> str:
        done = []
        if self.socket is not None and os.path.exists(self.socket):
            try:
                reply = await asyncio.wait_for(self._command(f"unpostpone={self.table}"), 10)
                done.append(f"sent unpostpone={self.table} on gh-ost's socket ({reply or 'no answer'})")
            except (OSError, TimeoutError) as exc:
                done.append(f"could not send unpostpone on gh-ost's socket ({exc.__class__.__name__})")
        try:
            os.unlink(self.flag)
            done.append("removed the postpone flag file")
        except FileNotFoundError:
            done.append("the postpone flag file was already gone")
        except OSError as exc:
            raise CutoverGateError(f"cannot remove gh-ost's postpone flag file: {exc.strerror}") from exc
        return "; ".join(done)

    async def _command(self, text: str) -> str:
        assert self.socket is not None
        reader, writer = await asyncio.open_unix_connection(self.socket)
        try:
            writer.write(text.encode() + b"\n")
            await writer.drain()
            answer = await reader.read(4096)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return answer.decode(errors="replace").strip().splitlines()[0] if answer.strip() else ""

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class SpiritGate(CutoverGate):
    """Spirit's `--defer-cutover`: the sentinel table it waits on is dropped on approval."""

    params: ConnParams
    schema: str
    tool: Tool = Tool.SPIRIT

    def arguments(self) -> tuple[str, ...]:
        return ("--defer-cutover",)

    @property
    def drop_sql(self) -> str:
        quoted = "`" + self.schema.replace("`", "``") + "`"
        return f"DROP TABLE IF EXISTS {quoted}.`{SPIRIT_SENTINEL}`"

    async def release(self) -> str:
        try:
            async with Instance(self.params, pool_size=1) as inst:
                await inst.execute(self.drop_sql)
        except SchemadError as exc:
            raise CutoverGateError(f"cannot drop Spirit's sentinel table: {exc}") from exc
        return self.drop_sql


def gate_for(tool: Tool, template: str, table: str, params: ConnParams, schema: str) -> CutoverGate:
    """A new gate for one run of `tool` (one of GATEABLE)."""
    if tool is Tool.GH_OST:
        return GhostGate(table, own_socket="--serve-socket-file" not in template)
    if tool is Tool.SPIRIT:
        return SpiritGate(params, schema)
    raise ValueError(f"{tool} cannot hold its cut-over")
