"""SSH tunnels (`ssh`, `ssh-to-db`): one SSH connection per route, shared by the whole process.

A connection whose ConnParams carry an `ssh` route connects to a local
forwarded port instead of the server: `local_endpoint(params)` gives
127.0.0.1 and the port of a listener whose connections asyncssh forwards
(direct-tcpip, or direct-streamlocal for a unix socket) over the route's SSH
connection to the server as the last hop sees it.  There is one listener per
(hops, credentials, destination) and one SSH connection per (hops,
credentials); a dropped SSH connection is made again on next use.

Everything runs on one background thread with its own event loop: a CLI run
makes several `asyncio.run()` loops and the daemon more than one, while an
SSH connection belongs to the loop that made it.  A listener's port serves
any loop, and the alter-wrapper tools too.  `close_all()` / `close_all_sync()`
end it all (the CLI after each command and at exit, the daemon on shutdown).

Host keys are checked against known_hosts (`ssh-known-hosts`, default
~/.ssh/known_hosts); an unknown or changed key is refused, never added.
Logins use ssh-agent (SSH_AUTH_SOCK), ~/.ssh/config and the default identity
files, plus `ssh-identity-file`.  This module will not: prompt for a password
or passphrase, or run commands on the SSH hosts.  asyncssh is imported only
when the first tunnel is asked for.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import warnings
from collections.abc import Coroutine
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from schemad.connection.sshopts import LOOPBACK, SshHost, SshRoute
from schemad.errors import ConnectError
from schemad.records import dataclass

if TYPE_CHECKING:
    from types import ModuleType

    from asyncssh import SSHClientConnection, SSHListener

    from schemad.connection.params import ConnParams

__all__ = ["close_all", "close_all_sync", "diagnose", "local_endpoint", "tool_params"]

T = TypeVar("T")
Dest = tuple[str, int] | str  # (host, port) or a unix socket path, as the last hop sees it
_ConnKey = tuple[tuple[SshHost, ...], str, str]  # hops, known_hosts, identity file
_CLOSE_TIMEOUT = 10.0


def _asyncssh() -> ModuleType:
    # cryptography deprecates DSA, which asyncssh still registers at import: not the user's concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import asyncssh

    return asyncssh


@dataclass(slots=True)
class _Forward:
    listener: SSHListener
    port: int
    conn: SSHClientConnection  # the SSH connection it forwards over (gone: make a new listener)


@dataclass(slots=True)
class _Registry:
    """The tunnel thread's state; the dicts are touched only on its loop."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    conns: dict[_ConnKey, SSHClientConnection] = field(default_factory=dict)
    forwards: dict[tuple[_ConnKey, Dest], _Forward] = field(default_factory=dict)
    locks: dict[object, asyncio.Lock] = field(default_factory=dict)

    def lock(self, key: object) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())


_guard = threading.Lock()
_registry: _Registry | None = None
_atexit_registered = False


def _start() -> _Registry:
    global _registry, _atexit_registered
    with _guard:
        if _registry is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="schemad-ssh", daemon=True)
            thread.start()
            _registry = _Registry(loop, thread)
            if not _atexit_registered:
                atexit.register(close_all_sync)
                _atexit_registered = True
        return _registry


async def _on_tunnel_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the tunnel thread and wait for it from the caller's loop (cancellation passes on)."""
    reg = _start()
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, reg.loop))


# ---- public API ---------------------------------------------------------------------------------


async def local_endpoint(params: ConnParams, *, timeout: float = 10.0) -> tuple[str, int]:
    """The local (host, port) that reaches `params`' server through its SSH route.

    ConnectError naming the hops and the server when an SSH login or the
    forward cannot be set up.
    """
    route = params.ssh
    assert route is not None, "local_endpoint needs params with an ssh route"
    reg = _start()
    port = await _on_tunnel_loop(_endpoint(reg, route, params, timeout))
    return LOOPBACK, port


async def tool_params(params: ConnParams) -> ConnParams:
    """Where a wrapper tool connects: `params`, or under ssh the tunnel's 127.0.0.1:port.

    The tools run on this machine, not on the SSH host, so {HOST}/{PORT} (and
    the {DEFAULTSFILE}) name the forwarded port while schemad runs.
    """
    if params.ssh is None:
        return params
    host, port = await local_endpoint(params)
    return replace(params, host=host, port=port, socket=None, ssh=None)


async def diagnose(params: ConnParams, *, timeout: float = 10.0) -> str | None:
    """Why the last hop will not open a channel to the server (None: it will).

    A forwarded port accepts the local connection first and opens the SSH
    channel afterwards, so a refused forward reaches the driver as a lost
    connection; this asks the SSH server directly for its reason.
    """
    route = params.ssh
    assert route is not None
    return await _on_tunnel_loop(_probe(_start(), route, params, timeout))


async def close_all() -> None:
    """Close every listener and SSH connection and stop the tunnel thread (a later use starts afresh)."""
    reg = _take()
    if reg is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_close(reg), reg.loop)), _CLOSE_TIMEOUT
            )
        await asyncio.to_thread(_stop, reg)


def close_all_sync() -> None:
    """close_all() for code without a running loop (the CLI after a command, interpreter exit)."""
    reg = _take()
    if reg is not None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close(reg), reg.loop).result(_CLOSE_TIMEOUT)
        _stop(reg)


# ---- on the tunnel loop -------------------------------------------------------------------------


def _take() -> _Registry | None:
    global _registry
    with _guard:
        reg, _registry = _registry, None
    return reg


def _stop(reg: _Registry) -> None:
    reg.loop.call_soon_threadsafe(reg.loop.stop)
    reg.thread.join(_CLOSE_TIMEOUT)
    if not reg.thread.is_alive():
        reg.loop.close()


async def _close(reg: _Registry) -> None:
    for fwd in reg.forwards.values():
        fwd.listener.close()
    for conn in reg.conns.values():
        conn.close()
    for conn in reg.conns.values():
        with contextlib.suppress(Exception):
            await conn.wait_closed()
    reg.forwards.clear()
    reg.conns.clear()


def _keys(route: SshRoute, params: ConnParams) -> tuple[_ConnKey, Dest]:
    hops = route.hops(params.host)
    dest = route.destination(params.host, params.port, params.socket)
    return (hops, route.known_hosts, route.identity), dest


def _where(route: SshRoute, params: ConnParams) -> str:
    """`db1:3306 (via ssh deploy@bastion:2222)`: what every message here names."""
    return f"{params.address} (via {route.describe(params.host)})"


async def _endpoint(reg: _Registry, route: SshRoute, params: ConnParams, timeout: float) -> int:
    ckey, dest = _keys(route, params)
    async with reg.lock((ckey, dest)):
        conn = await _connection(reg, ckey, route, params, timeout)
        fwd = reg.forwards.get((ckey, dest))
        if fwd is not None and fwd.conn is conn:
            return fwd.port
        if fwd is not None:
            fwd.listener.close()
        ssh = _asyncssh()

        def live(_host: str, _port: int) -> bool:
            # A connection accepted after the SSH connection died is closed at once, not left waiting.
            return not conn.is_closed()

        try:
            if isinstance(dest, str):
                listener = await conn.forward_local_port_to_path(LOOPBACK, 0, dest, accept_handler=live)
            else:
                listener = await conn.forward_local_port(LOOPBACK, 0, dest[0], dest[1], accept_handler=live)
        except (ssh.Error, OSError) as exc:
            raise ConnectError(
                f"cannot forward a local port to {_where(route, params)}: {_reason(exc)}", host=params.address
            ) from None
        fwd = _Forward(listener, listener.get_port(), conn)
        reg.forwards[(ckey, dest)] = fwd
        return fwd.port


async def _connection(
    reg: _Registry, key: _ConnKey, route: SshRoute, params: ConnParams, timeout: float
) -> SSHClientConnection:
    """The SSH connection to `key`'s last hop, through the ones before it; made when missing or closed."""
    hops, known_hosts, identity = key
    async with reg.lock(key):
        conn = reg.conns.get(key)
        if conn is not None and not conn.is_closed():
            return conn
        tunnel = None
        if len(hops) > 1:
            tunnel = await _connection(reg, (hops[:-1], known_hosts, identity), route, params, timeout)
        conn = await _login(hops[-1], tunnel, route, params, timeout)
        reg.conns[key] = conn
        return conn


async def _login(
    hop: SshHost, tunnel: SSHClientConnection | None, route: SshRoute, params: ConnParams, timeout: float
) -> SSHClientConnection:
    ssh = _asyncssh()
    what = f"ssh {hop} (for {params.address})"
    known = os.path.expanduser(route.known_hosts or "~/.ssh/known_hosts")
    if not os.path.isfile(known):
        raise ConnectError(
            f"{what}: no known_hosts file {known} to check the host key against (add the host's key, e.g. "
            "with ssh-keyscan, or name a file with ssh-known-hosts)",
            host=params.address,
        )
    kwargs: dict[str, Any] = {
        "known_hosts": known,  # always a file: `UserKnownHostsFile none` in ~/.ssh/config cannot skip checks
        "connect_timeout": timeout,
        "login_timeout": timeout,
        "keepalive_interval": 30,  # a dead bastion is noticed, and the next use reconnects
        "keepalive_count_max": 3,
    }
    if hop.port is not None:
        kwargs["port"] = hop.port
    if hop.user is not None:
        kwargs["username"] = hop.user
    if tunnel is not None:
        kwargs["tunnel"] = tunnel
    if route.identity:
        kwargs["client_keys"] = [os.path.expanduser(route.identity)]
    try:
        return await ssh.connect(hop.host, **kwargs)  # type: ignore[no-any-return]
    except ssh.HostKeyNotVerifiable:
        raise ConnectError(f"{what}: {_host_key_problem(ssh, known, hop)}", host=params.address) from None
    except ssh.PermissionDenied:
        user = hop.user or "the default user"
        raise ConnectError(
            f"{what}: login as {user} refused (tried ssh-agent, ~/.ssh/config and the identity files"
            + (f", and {route.identity}" if route.identity else "")
            + ")",
            host=params.address,
        ) from None
    except ssh.KeyImportError as exc:
        raise ConnectError(
            f"{what}: cannot use identity file {route.identity}: {_reason(exc)} (a passphrase-protected key "
            "has to come from ssh-agent)",
            host=params.address,
        ) from None
    except (TimeoutError, ssh.TimeoutError):
        raise ConnectError(f"{what}: no answer within {timeout:g}s", host=params.address) from None
    except (ssh.Error, OSError, ValueError) as exc:
        raise ConnectError(f"{what}: cannot connect: {_reason(exc)}", host=params.address) from None


def _host_key_problem(ssh: ModuleType, known: str, hop: SshHost) -> str:
    """Unknown host, or a key that differs from the one known_hosts holds (the worse case)."""
    try:
        port = hop.port if hop.port not in (None, 22) else None
        keys = ssh.read_known_hosts(known).match(hop.host, "", port)
        listed = bool(keys[0] or keys[1])
    except (ssh.Error, OSError, ValueError):
        listed = False
    if listed:
        return (
            f"host key verification failed: the key the server offered differs from the one {known} holds "
            "for it (changed host key, or someone in between); refused"
        )
    return f"host key verification failed: the host is not in {known}; refused (add its key first)"


async def _probe(reg: _Registry, route: SshRoute, params: ConnParams, timeout: float) -> str | None:
    ckey, dest = _keys(route, params)
    ssh = _asyncssh()
    try:
        conn = await _connection(reg, ckey, route, params, timeout)
        if isinstance(dest, str):
            _, writer = await asyncio.wait_for(conn.open_unix_connection(dest), timeout)
        else:
            _, writer = await asyncio.wait_for(conn.open_connection(dest[0], dest[1]), timeout)
    except ConnectError as exc:
        return exc.message
    except ssh.ChannelOpenError as exc:
        target = dest if isinstance(dest, str) else f"{dest[0]}:{dest[1]}"
        return f"{route.describe(params.host)} refused to forward to {target}: {_reason(exc)}"
    except (ssh.Error, OSError, TimeoutError) as exc:
        return f"{route.describe(params.host)}: {_reason(exc)}"
    writer.close()
    return None


def _reason(exc: BaseException) -> str:
    # asyncssh errors carry the peer's text in `reason`; OSError its strerror.  Neither holds key material.
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    return str(reason).strip() or type(exc).__name__
