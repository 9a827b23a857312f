"""`schemad serve --embedded`: a throwaway MariaDB server with the configured repos' schemas in it.

The server starts before the daemon reads its repos and stops after it.  Its
socket is published as `$SCHEMAD_EMBEDDED_SOCKET` (the bundled example repo's
`.skeema` connects through it), each repo's schemas are created from its
files (`embedded.seed`), and when the example repo is served first, the hand
change `make run` starts with is made, so its diff has something to show.
What could not be created is said in `errors`; the daemon runs anyway.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import field

from schemad.connection.params import ConnParams
from schemad.daemon_config import EXAMPLE_REPO, DaemonConfig
from schemad.embedded import EmbeddedServer
from schemad.embedded.seed import make_demo_drift, seed_repo
from schemad.errors import SchemadError
from schemad.records import dataclass

__all__ = ["EmbeddedDemo", "embedded_demo"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EmbeddedDemo:
    socket: str  # the server's unix socket
    errors: list[str] = field(default_factory=list)  # what the repos' files could not create


@asynccontextmanager
async def embedded_demo(config: DaemonConfig) -> AsyncIterator[EmbeddedDemo]:
    """Start the throwaway server and seed the repos into it; stop it on the way out."""
    srv = EmbeddedServer()
    await asyncio.to_thread(srv.start)
    os.environ["SCHEMAD_EMBEDDED_SOCKET"] = srv.socket  # the example repo's .skeema reads it
    demo = EmbeddedDemo(srv.socket)
    log.info("embedded MariaDB ready on %s (port %d)", srv.socket, srv.port)
    try:
        params = ConnParams(host="localhost", socket=srv.socket)
        for repo in config.repos:
            try:
                failures = await seed_repo(params, repo.path, "embedded")
                demo.errors += [str(f) for f in failures]
            except SchemadError as exc:
                demo.errors.append(f"{repo.name}: {exc}")
        if config.repos and config.repos[0].path == EXAMPLE_REPO:
            await make_demo_drift(params)
        yield demo
    finally:
        await asyncio.to_thread(srv.stop)
