"""The `ssh` / `ssh-to-db` options as values: the SSH hops that lead to one database server.

Pure: parsing, naming and the choice of the far end's destination.  Opening
SSH connections is `schemad.connection.tunnel`'s job, which loads asyncssh
only when a dir sets one of these options.  Nothing here reads a file.
"""

from __future__ import annotations

from schemad import lazyre
from schemad.errors import ConfigError
from schemad.records import dataclass

__all__ = ["SshHost", "SshRoute", "parse_ssh_host"]

# [user@]host[:port], host a name, an IPv4 address or a bracketed IPv6 address.
_SSH_HOST = lazyre.compile(
    r"(?:(?P<user>[^@\s:/]+)@)?"
    r"(?:\[(?P<v6>[0-9A-Fa-f:.%]+)\]|(?P<host>[^@\s:/\[\]]+))"
    r"(?::(?P<port>\d+))?"
)
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class SshHost:
    """One SSH server to log in to."""

    host: str
    port: int | None = None  # None: ~/.ssh/config's Port for the host, else 22
    user: str | None = None  # None: ~/.ssh/config's User for the host, else the local user

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{user}{host}{port}"


def parse_ssh_host(text: str, *, option: str = "ssh", source: str = "") -> SshHost:
    """`[user@]host[:port]` (Skeema's `ssh` value) as an SshHost; ConfigError naming the option otherwise."""
    m = _SSH_HOST.fullmatch(text.strip())
    where = f" ({source})" if source else ""
    if m is None:
        raise ConfigError(f"option {option}{where}: {text[:100]!r} is not [user@]host[:port]")
    port = m["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise ConfigError(f"option {option}{where}: port {port} is out of range (1-65535)")
    return SshHost(host=m["v6"] or m["host"], port=int(port) if port else None, user=m["user"])


@dataclass(frozen=True, slots=True)
class SshRoute:
    """How a server is reached over SSH: through a bastion, to the db host itself, or both (two hops)."""

    bastion: SshHost | None = None  # `ssh`
    to_db: bool = False  # `ssh-to-db`: the last hop logs in to the database host itself
    known_hosts: str = ""  # the file host keys are checked against ("" = ~/.ssh/known_hosts)
    identity: str = ""  # an identity file offered before the agent's keys ("" = agent and ~/.ssh/id_*)

    def __post_init__(self) -> None:
        if self.bastion is None and not self.to_db:
            raise ValueError("an SshRoute needs a bastion, ssh-to-db, or both")

    def hops(self, db_host: str) -> tuple[SshHost, ...]:
        """The SSH servers to log in to, in order; the database host last under ssh-to-db.

        The db host's login takes the bastion's user (the same account on every
        hop is the common case), its port from ~/.ssh/config or 22.
        """
        out = [self.bastion] if self.bastion is not None else []
        if self.to_db:
            out.append(SshHost(db_host, None, self.bastion.user if self.bastion else None))
        return tuple(out)

    def destination(self, host: str, port: int, socket: str | None) -> tuple[str, int] | str:
        """Where the last hop connects: a unix socket path, or (host, port) as that SSH server sees it.

        Under ssh-to-db that server is the database host, so TCP goes to its loopback.
        """
        if socket:
            return socket
        return (LOOPBACK, port) if self.to_db else (host, port)

    def describe(self, db_host: str) -> str:
        """The hops for messages: `ssh deploy@bastion:2222 -> db1` (no credentials exist to leak)."""
        return "ssh " + " -> ".join(str(h) for h in self.hops(db_host))
