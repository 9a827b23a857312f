"""`schemad lsp`: a Language Server on stdin/stdout for editors (lint diagnostics, format document).

Each `*.sql` document is linted like `schemad lint` lints its dir: options
cascade from the `.skeema` files above it and its CREATEs run in the
workspace of the first host of `--environment` (default `development`, so
an editor never creates temp schemas on production unless asked).  With
`--daemon URL`, linting is the daemon's POST /v1/lint instead, authenticated
with the bearer token read from the environment variable named by
`--token-env` (a token is never taken on the command line); formatting
still runs against the environment's own host.  Logs go to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys

from schemad.errors import ConfigError

DEFAULT_ENVIRONMENT = "development"


def run_lsp(argv: list[str]) -> int:
    from schemad.cli.common import VERSION
    from schemad.lsp.engine import DaemonLinter, Engine
    from schemad.lsp.server import build_server
    from schemad.workspace.cache import CanonicalCache

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
    daemon = DaemonLinter(args.daemon, token, env, args.repo) if args.daemon else None
    cache = CanonicalCache()
    server = build_server(Engine(env, cache), daemon, VERSION)
    try:
        server.start_io(sys.stdin.buffer, sys.stdout.buffer)
    finally:
        cache.close()
    return 0 if server.shut_down else 1
