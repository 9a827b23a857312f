"""`schemad serve`: run the daemon (HTTP API) in the foreground until SIGINT/SIGTERM.

`--embedded` starts a throwaway MariaDB and serves the bundled example repo
(what `make run` does); `--repo NAME=PATH` adds repos; `--listen HOST:PORT`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from schemad.errors import ConfigError


def run_serve(argv: list[str]) -> int:
    import argparse

    from aiohttp import web

    from schemad.api.app import create_app
    from schemad.config import EXAMPLE_REPO, DaemonConfig, RepoConfig

    parser = argparse.ArgumentParser(prog="schemad serve", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help="the daemon's TOML file (see config/schemad.example.toml)"
    )
    parser.add_argument(
        "--listen", help="HOST:PORT (default: the config's first TCP address, else 127.0.0.1:7480)"
    )
    parser.add_argument(
        "--state-dir", type=Path, help="jobs and audit log (default: the config's, else ./.state)"
    )
    parser.add_argument(
        "--embedded", action="store_true", help="start a throwaway server with the example repo"
    )
    parser.add_argument("--repo", action="append", default=[], metavar="NAME=PATH", help="a repo checkout")
    args = parser.parse_args(argv)
    base = DaemonConfig.load(args.config) if args.config else DaemonConfig(state_dir=Path(".state").resolve())
    host, port = (
        DaemonConfig.parse_listen(args.listen) if args.listen else (base.listen_host, base.listen_port)
    )
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
    config = replace(
        base,
        listen_host=host,
        listen_port=port,
        repos=tuple(repos),
        embedded=args.embedded,
        state_dir=args.state_dir.resolve() if args.state_dir else base.state_dir,
    )
    print(f"schemad serving on http://{host}:{port}/ (Ctrl-C stops)", file=sys.stderr)
    web.run_app(create_app(config), host=host, port=port, print=None)
    return 0
