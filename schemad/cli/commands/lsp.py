"""`schemad lsp`: a Language Server on stdin/stdout for editors (lint diagnostics, format document).

Each `*.sql` document is linted like `schemad lint` lints its dir: options
cascade from the `.skeema` files above it and its CREATEs run in the
workspace of the first host of `--environment` (default `development`, so
an editor never creates temp schemas on production unless asked).  With
`--daemon URL`, linting is the daemon's POST /v1/lint instead, authenticated
with the bearer token read from the environment variable named by
`--token-env` (a token is never taken on the command line); formatting
still runs against the environment's own host.  Logs go to stderr: warnings
and errors only, unless `--debug`; never the JSON-RPC messages.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from schemad.errors import ConfigError

if TYPE_CHECKING:
    from schemad.lsp.engine import DaemonLinter, Engine
    from schemad.workspace.cache import CanonicalCache

DEFAULT_ENVIRONMENT = "development"


class _NoPayloads(logging.Filter):
    """pygls' protocol lines at WARNING and above keep their text, ids and method names, not the
    messages' params (a document's whole text, for one): any argument that is not a str or an int
    is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("pygls.protocol") and isinstance(record.args, tuple):
            record.args = tuple(a if isinstance(a, str | int) else "(left out)" for a in record.args)
        return True


def quiet_logging(debug: bool) -> None:
    """What an editor gets on the server's stderr (Neovim logs each line as an error).

    Warnings and errors only, unless --debug.  Never the JSON-RPC payloads, even with --debug:
    pygls logs every message sent (`Sending data: …`) and the params of several others at
    INFO/DEBUG under pygls.protocol, which is capped at WARNING, and _NoPayloads strips the params
    from what it logs above that.
    """
    logging.getLogger().setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("pygls").setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("pygls.protocol").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _NoPayloads) for f in handler.filters):
            handler.addFilter(_NoPayloads())


def run_lsp(argv: list[str]) -> int:
    from schemad.cli.common import VERSION

    parser = argparse.ArgumentParser(prog="schemad lsp", description=__doc__)
    parser.add_argument(
        "--environment",
        default=DEFAULT_ENVIRONMENT,
        help=f"the .skeema environment whose first host runs the workspace (default: {DEFAULT_ENVIRONMENT})",
    )
    parser.add_argument("--daemon", metavar="URL", help="lint through this schemad daemon's POST /v1/lint")
    parser.add_argument(
        "--token-env", metavar="NAME", help="environment variable holding the daemon's bearer token"
    )
    parser.add_argument("--repo", help="the daemon's repo to lint against (default: its first)")
    parser.add_argument(
        "--stdio", action="store_true", help="accepted for editors that pass it (the default)"
    )
    parser.add_argument("--debug", action="store_true", help="debug logging (stderr)")
    args = parser.parse_args(argv)
    quiet_logging(args.debug)
    env = args.environment
    if not env or any(c in env for c in "[]\n\r"):
        raise ConfigError(f"environment name {env!r} is not allowed")
    token: str | None = None
    if args.token_env:
        if not args.daemon:
            raise ConfigError("--token-env needs --daemon")
        token = os.environ.get(args.token_env)
        if not token:
            raise ConfigError(f"--token-env: environment variable {args.token_env} is not set")
    # pygls and lsprotocol: what answers `initialize`.  The engine (the workspace, sqlglot, the lint
    # rules) is imported by load(), in a thread, once the editor has initialized.
    from schemad.lsp.server import build_server

    caches: list[CanonicalCache] = []

    def load() -> tuple[Engine, DaemonLinter | None]:
        from schemad.lsp.engine import DaemonLinter, Engine
        from schemad.workspace.cache import CanonicalCache

        caches.append(CanonicalCache())
        daemon = DaemonLinter(args.daemon, token, env, args.repo) if args.daemon else None
        return Engine(env, caches[0]), daemon

    server = build_server(load, VERSION)
    try:
        server.start_io(sys.stdin.buffer, sys.stdout.buffer)
    finally:
        for cache in caches:
            cache.close()
    return 0 if server.shut_down else 1
