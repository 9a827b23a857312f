"""A directory of a Skeema repository tree and what its options mean.

`Dir` couples a path with its own `.skeema` (if any) and the resolved
`Config`, lists the `*.sql` files directly inside and the subdirectories, and
walks the tree depth-first (dot-dirs skipped, at most `max_depth` levels).
It interprets the connection options the way Skeema does:

* target rule: `host` set (inheriting is fine) and the dir's *own* `.skeema`
  sets `schema` for the environment;
* `host`: comma list, `host:port`, whole-value `$VAR`, backtick command,
  `host-wrapper`; `localhost` uses the socket unless a port was set explicitly;
* `schema`: name, comma list, `*`, `/regex/`, `$VAR`, backtick command, minus
  system schemas and `ignore-schema` matches;
* `user` / `password`: `$VAR`, backtick command; bare `password` = prompt.

Backtick commands and wrappers run with `/bin/sh -c`; their variables are both
interpolated as `{NAME}` (shell-quoted) and exported in the environment.
Passwords never appear in messages or reprs.

This module does not parse `*.sql` contents, connect to servers or decide
what to do with a target.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path

from schemad import lazyre
from schemad.errors import ConfigError
from schemad.fs.cascade import Config, ConfigSources, read_dir_option_file, split_list
from schemad.fs.optionfile import OptionFile
from schemad.fs.registry import SYSTEM_SCHEMAS, parse_int, parse_regex
from schemad.records import dataclass

__all__ = ["Dir", "HostPort"]

DEFAULT_PORT = 3306
MAX_DEPTH = 5


@dataclass(frozen=True, slots=True)
class HostPort:
    """Where to connect: TCP `host:port`, or the unix `socket` when it is set."""

    host: str
    port: int = DEFAULT_PORT
    socket: str = ""

    def __str__(self) -> str:
        return f"{self.host}:{self.socket}" if self.socket else f"{self.host}:{self.port}"


class Dir:
    """One directory: path, own option file, resolved config."""

    __slots__ = ("config", "option_file", "path")

    def __init__(self, path: Path, config: Config, option_file: OptionFile | None = None) -> None:
        self.path = path
        self.config = config
        self.option_file = option_file

    def __repr__(self) -> str:
        return f"Dir({str(self.path)!r})"

    # ------------------------------------------------------------------ tree

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        environment: str = "production",
        sources: ConfigSources | None = None,
    ) -> Dir:
        """The dir at `path` with the full cascade above it (global files, ancestors, CLI)."""
        abs_path = Path(os.path.abspath(path))
        if not abs_path.is_dir():
            raise ConfigError(f"{abs_path} is not a directory")
        base = Config.load(abs_path, environment, sources, include_start_dir=False)
        own = read_dir_option_file(abs_path, base.repo_base, base.registry)
        return cls(abs_path, base.child(own) if own is not None else base, own)

    @classmethod
    def walk(
        cls,
        start: str | os.PathLike[str],
        environment: str = "production",
        max_depth: int = MAX_DEPTH,
        sources: ConfigSources | None = None,
        *,
        on_error: Callable[[Path, ConfigError], None] | None = None,
    ) -> Iterator[Dir]:
        """`start` and its subdirs depth-first (pre-order), at most `max_depth` levels down.

        A subdir whose `.skeema` can't be read raises, or with `on_error` is
        reported to it and skipped together with its subtree (whose options
        would inherit from it), as Skeema skips such a dir and goes on.
        """
        root = cls.open(start, environment, sources)

        def visit(d: Dir, depth: int) -> Iterator[Dir]:
            yield d
            if depth < max_depth:
                for path in d._subdir_paths():
                    try:
                        sub = d._child(path)
                    except ConfigError as exc:
                        if on_error is None:
                            raise
                        on_error(path, exc)
                        continue
                    yield from visit(sub, depth + 1)

        yield from visit(root, 0)

    def in_environment(self, environment: str) -> Dir:
        """This dir with the options of another environment (same files, same command line)."""
        return Dir(self.path, self.config.for_environment(environment), self.option_file)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def environment(self) -> str:
        return self.config.environment

    def subdirs(self) -> list[Dir]:
        """Direct, non-hidden subdirectories (symlinked dirs are not followed), by name."""
        return [self._child(sub) for sub in self._subdir_paths()]

    def _subdir_paths(self) -> list[Path]:
        return [
            self.path / entry.name
            for entry in sorted(os.scandir(self.path), key=lambda e: e.name)
            if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
        ]

    def _child(self, sub: Path) -> Dir:
        own = read_dir_option_file(sub, self.config.repo_base, self.config.registry)
        return Dir(sub, self.config.child(own) if own is not None else self.config, own)

    def sql_files(self) -> list[Path]:
        """`*.sql` regular files directly inside, by name; symlinks only if they stay in the repo."""
        base = os.path.realpath(self.config.repo_base or self.path)
        out: list[Path] = []
        for entry in sorted(os.scandir(self.path), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.commonpath([base, target]) != base or not os.path.isfile(target):
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue
            out.append(self.path / entry.name)
        return out

    @property
    def is_target(self) -> bool:
        """`host` set (inherited is fine) and this dir's own `.skeema` sets `schema`."""
        if not self.config.get("host") or self.option_file is None:
            return False
        own = self.option_file.lookup("schema", self.environment)
        return own is not None and own.value != ""

    # ------------------------------------------------------------------ hosts

    def hosts(self) -> list[HostPort]:
        """The servers this dir maps to (empty when no host is configured)."""
        cfg = self.config
        if cfg.get("host-wrapper"):
            variables = self._vars(HOST=cfg.expand("host"), SCHEMA=cfg.expand("schema"))
            names = _split_output(self._shell(cfg.get("host-wrapper"), variables, "host-wrapper"))
        elif cfg.setting("host").quote == "`":
            variables = self._vars(SCHEMA=cfg.expand("schema"))
            names = _split_output(self._shell(cfg.get("host"), variables, "host"))
        else:
            names = split_list(cfg.expand("host"))
        if not names:
            return []

        port_text = cfg.expand("port").strip()
        port = parse_int(port_text, name="port", source=cfg.source("port")) if port_text else 0
        port = port or DEFAULT_PORT
        port_set = cfg.is_set("port")
        socket = cfg.expand("socket")
        socket_set = cfg.is_set("socket")

        out: list[HostPort] = []
        for name in names:
            if name == "localhost" and (socket_set or not port_set):
                out.append(HostPort("localhost", port, socket))
                continue
            host, embedded = _split_host_port(name)
            if embedded is not None:
                if port_set and embedded != port:
                    raise ConfigError(
                        f"port given as {embedded} in host {name} but as {port} in {cfg.source('port')}"
                    )
                this_port = embedded
            else:
                this_port = port
            # Port explicitly set for localhost: TCP, and "localhost" would mean the socket to a driver.
            out.append(HostPort("127.0.0.1" if host == "localhost" else host, this_port))
        return out

    # ------------------------------------------------------------------ schemas

    def schema_names(
        self,
        available: Callable[[], list[str]] | None = None,
        *,
        host: HostPort | None = None,
    ) -> list[str]:
        """Schema names for `schema`; `available` lists the server's schemas (for `*` and `/re/`)."""
        cfg = self.config
        setting = cfg.setting("schema")
        if setting.value == "":
            return []
        if setting.quote == "`":
            command = setting.value
            variables = self._vars(
                HOST=host.host if host else "",
                PORT=str(host.port) if host else "",
                USER=self.user(host),
                # Resolving the password may prompt or run a command: only when asked for.
                PASSWORD=self.password(host) if "PASSWORD" in command else "",
            )
            variables.pop("SCHEMA")
            names = _split_output(self._shell(command, variables, "schema"))
        else:
            text = cfg.expand("schema")
            if text == "*" or (len(text) > 2 and text[0] == "/" and text[-1] == "/"):
                if available is None:
                    raise ConfigError(f"{setting.source}: schema={text} needs the server's list of schemas")
                names = sorted(available())
                if text != "*":
                    pattern = parse_regex(text[1:-1], name="schema", source=setting.source)
                    names = [n for n in names if pattern is not None and pattern.search(n)]
                temp = cfg.expand("temp-schema")
                names = [n for n in names if n != temp]
            else:
                names = split_list(text)
        ignore = cfg.get_regex("ignore-schema")
        return [
            n
            for n in names
            if n.lower() not in SYSTEM_SCHEMAS and not (ignore is not None and ignore.search(n))
        ]

    # ------------------------------------------------------------------ credentials

    def user(self, host: HostPort | None = None) -> str:
        cfg = self.config
        setting = cfg.setting("user")
        if setting.quote == "`":
            variables = self._vars(
                SCHEMA=cfg.expand("schema"),
                HOST=host.host if host else "",
                PORT=str(host.port) if host else "",
            )
            user = self._shell(setting.value, variables, "user").strip()
            if not user:
                raise ConfigError(f"{setting.source}: user command printed nothing")
        else:
            user = cfg.expand("user")
        if ":" in user:
            raise ConfigError(f"{setting.source}: user may not contain a colon")
        return user

    def password(
        self,
        host: HostPort | None = None,
        *,
        cache: MutableMapping[str, str] | None = None,
        prompt: Callable[[str], str] = getpass.getpass,
    ) -> str:
        """The password: static, `$VAR`/`$MYSQL_PWD`, backtick command, or a TTY prompt.

        Prompted and command-produced passwords are remembered in `cache`
        (keyed by user@host) when one is given.
        """
        cfg = self.config
        setting = cfg.setting("password")
        if not setting.bare and setting.quote != "`":
            return cfg.expand("password")
        user = self.user(host)
        key = f"{user}@{host}" if host else f"{user}@{self.path}"
        if cache is not None and key in cache:
            return cache[key]
        if setting.bare:
            if sys.stdin is None or not sys.stdin.isatty():
                raise ConfigError("password prompt needed but stdin is not a terminal")
            what = f"{user}@{host}" if host else f"directory {self.path}"
            value = prompt(f"Enter password for {what}: ")
        else:
            variables = self._vars(
                SCHEMA=cfg.expand("schema"),
                HOST=host.host if host else "",
                PORT=str(host.port) if host else "",
                USER=user,
            )
            value = self._shell(setting.value, variables, "password", secret=True).rstrip("\r\n")
        if cache is not None:
            cache[key] = value
        return value

    # ------------------------------------------------------------------ shell-outs

    def _vars(self, **extra: str) -> dict[str, str]:
        base = {
            "ENVIRONMENT": self.environment,
            "DIRNAME": self.name,
            "DIRPATH": str(self.path),
            "SCHEMA": "",
        }
        base.update(extra)
        return base

    def _shell(self, command: str, variables: Mapping[str, str], what: str, *, secret: bool = False) -> str:
        text = _interpolate(command, variables)
        env = {**self.config.environ, **variables}
        where = self.config.source(what)  # the file:line that set the command (callers add the dir)
        try:
            proc = subprocess.run(
                ["/bin/sh", "-c", text],
                capture_output=True,
                text=True,
                env=env,
                cwd=self.path,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except OSError as exc:
            raise ConfigError(f"{where}: cannot run {what} command: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            # A password command's output or errors could contain the secret: say nothing about them.
            detail = "" if secret else f": {proc.stderr.strip()[:500]}"
            raise ConfigError(f"{where}: {what} command exited with status {proc.returncode}{detail}")
        return proc.stdout


_VAR_RE = lazyre.compile(r"\{([A-Z_]+)\}")


def _interpolate(command: str, variables: Mapping[str, str]) -> str:
    """Replace `{NAME}` of known variables by shell-quoted values; leave other braces alone."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return shlex.quote(variables[name]) if name in variables else m.group(0)

    return _VAR_RE.sub(sub, command)


def _split_output(text: str) -> list[str]:
    """Command output as a list: split on newlines, else commas, else tabs, else spaces."""
    text = text.strip()
    if not text:
        return []
    for sep in ("\n", ",", "\t", " "):
        if sep in text:
            return [t.strip() for t in text.split(sep) if t.strip()]
    return [text]


def _split_host_port(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address has no port."""
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise ConfigError(f"invalid host {text!r}: unterminated [")
        host, rest = text[1:end], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ConfigError(f"invalid host {text!r}")
        return host, _port(rest[1:], text)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, text)
    return text, None


def _port(text: str, host: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"invalid port in host {host!r}")
    return int(text)
