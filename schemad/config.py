"""Daemon configuration: a frozen value built from the command line (and, later, a TOML file).

No I/O beyond resolving paths.  Passwords never live here: they come from the
repos' `.skeema` files, the environment or credential files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemad.errors import ConfigError


@dataclass(frozen=True, slots=True)
class RepoConfig:
    name: str
    path: Path  # a checkout in Skeema layout
    environments: tuple[str, ...] = ("production",)


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 7480
    repos: tuple[RepoConfig, ...] = ()
    embedded: bool = False  # start a throwaway MariaDB and seed the repos' schemas into it

    @classmethod
    def parse_listen(cls, text: str) -> tuple[str, int]:
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"--listen expects HOST:PORT, got {text!r}")
        return host or "127.0.0.1", int(port)


EXAMPLE_REPO = Path(__file__).resolve().parent.parent / "examples" / "repo"
