"""`schemad serve`: run the daemon (HTTP API) in the foreground until SIGINT/SIGTERM.

`--config FILE` is the TOML configuration (config/schemad.example.toml);
`--embedded` starts a throwaway MariaDB and serves the bundled example repo
(what `make run` does); `--repo NAME=PATH` adds repos; `--listen HOST:PORT`
(HTTPS when the config gives that address a certificate).
With `--embedded` and no tokens configured, a random token with every scope
is made for this run and printed with three curl commands to try.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
import stat
import sys
from dataclasses import replace
from pathlib import Path

from schemad.daemon_config import DaemonConfig, ListenAddress
from schemad.errors import ConfigError
from schemad.listen_tls import ServerTls, TlsFileError, announce

EMBEDDED_LISTEN = "127.0.0.1:8080"


def run_serve(argv: list[str]) -> int:
    import argparse

    from schemad.api.app import create_app
    from schemad.api.server import run, setup_logging
    from schemad.daemon_config import EXAMPLE_REPO, RepoConfig, Token

    parser = argparse.ArgumentParser(prog="schemad serve", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help="the daemon's TOML file (see config/schemad.example.toml)"
    )
    parser.add_argument(
        "--listen",
        help=f"HOST:PORT (default: the config's first TCP address; {EMBEDDED_LISTEN} with --embedded)",
    )
    parser.add_argument(
        "--state-dir", type=Path, help="jobs and audit log (default: the config's, else ./.state)"
    )
    parser.add_argument(
        "--embedded", action="store_true", help="start a throwaway server with the example repo"
    )
    parser.add_argument("--repo", action="append", default=[], metavar="NAME=PATH", help="a repo checkout")
    parser.add_argument(
        "--audit-stdout", action="store_true", help="also write every audit record to stdout as a JSON line"
    )
    parser.add_argument("--log-format", choices=("json", "text"), help="default: the config's, else text")
    parser.add_argument("--debug", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    base = DaemonConfig.load(args.config) if args.config else DaemonConfig(state_dir=Path(".state").resolve())
    listen = args.listen or (EMBEDDED_LISTEN if args.embedded and not args.config else None)
    host, port = DaemonConfig.parse_listen(listen) if listen else (base.listen_host, base.listen_port)
    repos = list(base.repos)
    for spec in args.repo:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            raise ConfigError(f"--repo expects NAME=PATH, got {spec!r}")
        if not Path(path).is_dir():
            raise ConfigError(f"--repo {name}: {path} is not a directory")
        repos.append(RepoConfig(name=name, path=Path(path).resolve()))
    if args.embedded and not repos:
        repos.append(RepoConfig(name="example", path=EXAMPLE_REPO, environments=("embedded",)))
    token: str | None = None
    tokens = base.tokens
    if args.embedded and not tokens:
        token = secrets.token_urlsafe(24)
        scopes = frozenset({"read", "lint"} | {f"push:{e}" for r in repos for e in r.environments})
        tokens = (Token("embedded", hashlib.sha256(token.encode()).hexdigest(), scopes),)
    config = replace(
        base,
        listen_host=host,
        listen_port=port,
        repos=tuple(repos),
        embedded=args.embedded,
        tokens=tokens,
        state_dir=args.state_dir.resolve() if args.state_dir else base.state_dir,
        audit_stdout=args.audit_stdout or base.audit_stdout,
        log_format=args.log_format or base.log_format,
    )
    root = logging.getLogger()
    # The daemon logs its own way (text or JSON lines), not in the CLI's format.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "schemad-cli"]
    setup_logging(config.log_format, level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr)
    # Per-request and per-poll lines only with --debug: at thousands of requests a
    # second they would cost more than the requests.
    for name, quiet in (
        ("asyncmy", logging.ERROR),
        ("aiohttp.access", logging.WARNING),
        ("apscheduler", logging.WARNING),
    ):
        logging.getLogger(name).setLevel(logging.DEBUG if args.debug else quiet)
    addresses = listen_addresses(config, ListenAddress(host, port) if listen else None)
    # Every certificate loads before any socket is bound: a bad one stops the start whole.
    listener_tls = {str(a): _server_tls(config, a) for a in addresses if a.tls is not None}
    url = next((a.url for a in addresses if a.unix is None), addresses[0].url)
    where = config.state.mysql.location if config.state.mysql is not None else config.state_dir
    logging.getLogger("schemad").info("schemad serving on %s/ (state in %s)", url, where)
    if token is not None:
        env = repos[0].environments[0]
        print(_hints(url, token, env), file=sys.stderr)
    sockets = [_bind(a) for a in addresses]
    for a in addresses:
        if str(a) in listener_tls:
            announce(a.url, listener_tls[str(a)].info)
        else:
            logging.getLogger("schemad").info("listening on %s", a.url)
    listeners = [
        (s, listener_tls[str(a)].context if str(a) in listener_tls else None)
        for s, a in zip(sockets, addresses, strict=True)
    ]
    run(create_app(config, listener_tls=listener_tls), listeners, shutdown_timeout=10)
    return 0


def listen_addresses(config: DaemonConfig, given: ListenAddress | None) -> list[ListenAddress]:
    """What `serve` listens on: `--listen`'s address alone (`given`), else the configuration's.

    `--listen` keeps the TLS files the configuration gives that same address, if any.
    """
    if given is not None:
        return [next((a for a in config.listen if a.same_place(given)), given)]
    return list(config.listen) or [ListenAddress(config.listen_host, config.listen_port)]


def _server_tls(config: DaemonConfig, address: ListenAddress) -> ServerTls:
    """The TLS listener of `address`; ConfigError names the file's key, as the loader does."""
    assert address.tls is not None
    try:
        return ServerTls(address.tls)
    except TlsFileError as exc:  # changed since the configuration was loaded
        where = [i for i, a in enumerate(config.listen) if a.same_place(address)]
        key = f"listen[{where[0]}].tls_{exc.which}" if where else f"listen {address}"
        raise ConfigError(f"{config.source}: {key}: {exc}") from None


def _bind(address: ListenAddress) -> socket.socket:
    """A listening socket for one configured address; ConfigError names it when it can't be had."""
    try:
        if address.unix is not None:
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISSOCK(os.stat(address.unix).st_mode):
                    os.unlink(address.unix)  # a stale socket of a previous run
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(address.unix))
            os.chmod(address.unix, 0o660)
        else:
            assert address.host is not None and address.port is not None
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address.host, address.port))
        sock.listen(1024)
        sock.set_inheritable(False)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {address}: {exc.strerror or exc}") from None
    return sock


def _hints(url: str, token: str, env: str) -> str:
    auth = f"-H 'Authorization: Bearer {token}'"
    return (
        f"\nThis run's API token (every scope): {token}\nTry:\n"
        f"  curl -s {auth} '{url}/v1/environments/{env}/diff?format=sql'\n"
        f"  HASH=$(curl -s {auth} {url}/v1/environments/{env}/diff | "
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"plan_hash\"])')\n"
        f'  curl -s {auth} -X POST -d "{{\\"plan_hash\\": \\"$HASH\\"}}" '
        f"{url}/v1/environments/{env}/push\n"
        f"  curl -s {url}/metrics | grep ^schemad_drift\n"
    )
