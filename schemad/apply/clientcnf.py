r"""The temporary MySQL option file behind the `{DEFAULTSFILE}` wrapper variable.

A wrapper template such as ``pt-online-schema-change ... D={SCHEMA},t={TABLE},F={DEFAULTSFILE}``
or ``gh-ost --conf={DEFAULTSFILE} ...`` lets the tool read the credentials from
a file instead of its command line, where every local user can read them
(`ps`, `/proc/PID/cmdline`).  `client_option_file` writes that file for one
run: a `[client]` group with user, password, host, port (and socket), mode
0600, alone in a fresh private (0700) directory, and removes both when the
`with` block ends, whether the tool succeeded, failed, timed out or the
awaiting task was cancelled.

How the readers parse it, and so how values are written (`option_value`):

* pt-online-schema-change passes DSN key `F` to DBD::mysql as
  `mysql_read_default_file` (group `client`), i.e. the client library's
  option-file reader: libmysqlclient (`my_default.cc`) or MariaDB
  Connector/C (`ma_default.c`).  Both strip one pair of surrounding quotes
  and then decode `\\ \" \' \n \t \r \b \s`; libmysqlclient ends the
  value at a `#` outside quotes, Connector/C has no end-of-line comments.  So
  every value is written double-quoted with `\` and `"` and control
  characters backslash-escaped: both read back exactly the value, whatever
  spaces, quotes, `#`, `;`, `=` or backslashes it holds.  The `mysql` /
  `mariadb` command-line tools (`--defaults-file`) read it the same way.
* gh-ost 1.1.6+ reads `--conf` with go-ini, which (as gh-ost calls it) knows
  no escapes: a double-quoted value is cut at the first `#` or `;`, and
  `\\`, `\"` stay as written.  It ignores everything but `[client]` user and
  password.  A value containing `"`, `\`, `#`, `;` or a control character
  therefore cannot reach gh-ost through this file, and gh-ost also replaces a
  value containing `${NAME}` with the environment variable NAME.  go-ini's
  `Key.String()` also expands `%(key)s` with another key of the section.
  `ghost_misreads` says when that happens so the caller can warn.
* Spirit reads `--conf` with the same go-ini loader (`pkg/migration/conf_params.go`):
  `[client]` user, password, host and port (it has no socket option: a
  socket in the params reaches Spirit as host `localhost` and the port, over
  TCP).  It has no `${NAME}` substitution; `spirit_misreads` is
  `ghost_misreads` without it.  Spirit's only other way to take a password
  is `--password` on its command line (no environment variable), which
  schemad never uses.

With `tls=True` (pt-online-schema-change runs) the group also carries the
target's TLS settings in the client libraries' spelling
(`apply.wrapper_tls.client_tls_lines`).

This module will not: write connect options, choose which tool reads the
file, or remove it if schemad itself is killed with SIGKILL (the directory
`schemad-cnf-*` then stays under `$TMPDIR`, readable by its owner only).
The daemon names each directory after its job (`tag`), and its next start
removes what an interrupted job left (`remove_option_files`); the CLI's stay
until removed by hand.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from schemad import lazyre
from schemad.apply.wrapper_tls import client_tls_lines
from schemad.connection.params import ConnParams
from schemad.errors import ConfigError

__all__ = [
    "FILE_NAME",
    "client_option_file",
    "ghost_misreads",
    "option_value",
    "remove_option_files",
    "render_client_options",
    "spirit_misreads",
]

#: The option file's name inside its private directory.
FILE_NAME = "client.cnf"
_PREFIX = "schemad-cnf-"
_TAG = lazyre.compile(r"[A-Za-z0-9_.+-]{1,64}", re.ASCII)  # a job id: a plain name in a path and a DSN

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}
_TO_ESCAPE = lazyre.compile('[\\\\"\n\r\t\b]')
# A path that survives pt-online-schema-change's DSN (`,` and `=` separate keys)
# and DBD::mysql's (`;` separates attributes) unquoted.
_DSN_SAFE_PATH = lazyre.compile(r"[\w/.+-]+", re.ASCII)
# gh-ost's envVariableRegexp ("[$][{](.*)[}]", Go RE2: `.` stops at a newline).
_GHOST_ENV_REF = lazyre.compile(r"\$\{.*\}")
# go-ini's varPattern: `%(key)s`, expanded by Key.String() when the section has such a key.
_GOINI_KEY_REF = lazyre.compile(r"%\([^)]+\)s")


def option_value(value: str) -> str:
    """`value` double-quoted for a MySQL option file, read back exactly by libmysqlclient and Connector/C.

    Raises `ValueError` (without the value in the message) for a NUL character,
    which no option file can hold.
    """
    if "\0" in value:
        raise ValueError("a value for an option file cannot contain a NUL character")
    return '"' + _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group()], value) + '"'


def render_client_options(params: ConnParams, *, tls: bool = False) -> str:
    """The option file's text: a `[client]` group with the credentials and address of `params`.

    With a socket, host is `localhost` (the client libraries use the socket only
    then).  An empty password writes no `password` line.  `tls`: add the TLS lines.
    """
    lines = [
        "# Written by schemad for one wrapper run and deleted when it ends.",
        "[client]",
        f"user = {option_value(params.user)}",
    ]
    if params.password:
        lines.append(f"password = {option_value(params.password)}")
    if params.socket:
        lines.append(f"host = {option_value('localhost')}")
        lines.append(f"socket = {option_value(params.socket)}")
    else:
        lines.append(f"host = {option_value(params.host)}")
    lines.append(f"port = {int(params.port)}")
    if tls:
        lines += [f"{name} = {option_value(value)}" for name, value in client_tls_lines(params.tls)]
    return "\n".join(lines) + "\n"


def ghost_misreads(value: str) -> bool:
    """True if gh-ost (1.1.6+, go-ini) would not read `value` back from this file as written.

    Follows go-ini's `readValue` with the default options gh-ost loads the
    file with, then gh-ost's own `${NAME}` substitution.
    """
    if _GHOST_ENV_REF.search(value):
        return True
    return spirit_misreads(value)


def spirit_misreads(value: str) -> bool:
    """True if Spirit (go-ini, `Key.String()`) would not read `value` back from this file as written."""
    if _GOINI_KEY_REF.search(value):
        return True
    return _goini_value(option_value(value)) != value


def _goini_value(text: str) -> str:
    # go-ini parser.go readValue, default LoadOptions, for a single-line value.
    line = text.lstrip()
    if not line:
        return ""
    if (len(line) > 3 and line.startswith('"""')) or line[0] == "`":
        quote = '"""' if line[0] == '"' else "`"
        rest = line[len(quote) :]
        end = rest.rfind(quote)
        return rest[:end] if end >= 0 else rest  # (multi-line values: not written by us)
    line = line.strip()
    if line.endswith("\\"):
        return line  # a continuation line; never the case for a quoted value
    cut = min((i for i in (line.find("#"), line.find(";")) if i >= 0), default=-1)
    if cut >= 0:
        line = line[:cut].strip()
    for q in ("'", '"'):
        if len(line) >= 2 and line[0] == q and line[-1] == q and line.find(q, 1) == len(line) - 1:
            return line[1:-1]
    return line


@contextlib.contextmanager
def client_option_file(
    params: ConnParams, *, parent: str | os.PathLike[str] | None = None, tls: bool = False, tag: str = ""
) -> Iterator[Path]:
    """Create the option file for `params`; yield its path; remove it and its directory on exit.

    The directory comes from `tempfile.mkdtemp` under `parent` (default
    `$TMPDIR`, else /tmp), mode 0700; the file is created exclusively, mode
    0600.  Raises `ConfigError` when that directory's path holds characters a
    DSN cannot carry unquoted (then nothing is left behind).  `tag` (the
    daemon's job id) goes into the directory's name, so that a restart after
    a crash finds what that job left (`remove_option_files`).
    """
    if tag and not _TAG.fullmatch(tag):
        raise ValueError(f"option file tag {tag!r} is not a plain name")
    directory = tempfile.mkdtemp(prefix=f"{_PREFIX}{tag}-" if tag else _PREFIX, dir=parent)
    try:
        path = os.path.join(directory, FILE_NAME)
        if not _DSN_SAFE_PATH.fullmatch(path):
            raise ConfigError(
                f"the temporary option file path {path!r} has characters a DSN cannot carry"
                " (only letters, digits and / . _ + - work): set TMPDIR to a plain directory"
            )
        data = render_client_options(params, tls=tls).encode("utf-8", "surrogateescape")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        yield Path(path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def remove_option_files(tag: str, *, parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the option-file directories made with `tag` that a killed process left; what was removed.

    Only directories of this user under `parent` (default `$TMPDIR`, else
    /tmp) whose name carries exactly this tag: the credentials a job's
    wrapper read, left behind when the daemon was killed (SIGKILL, OOM) while
    it ran.  Call it once that wrapper no longer runs.
    """
    if not _TAG.fullmatch(tag):
        return []
    removed: list[Path] = []
    base = Path(parent if parent is not None else tempfile.gettempdir())
    for d in base.glob(f"{_PREFIX}{tag}-*"):
        try:
            st = d.lstat()
        except OSError:
            continue
        # mkdtemp adds 8 random characters after the prefix; an owner other than us: not ours.
        if len(d.name) != len(_PREFIX) + len(tag) + 1 + 8 or st.st_uid != os.getuid():
            continue
        if d.is_symlink() or not d.is_dir():
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed
