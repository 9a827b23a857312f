"""create_app(config): the aiohttp application of `schemad serve`.

Wiring only: typed AppKeys for shared objects and one cleanup_ctx per
background service (state store, embedded server, systemd notification),
started in that order and stopped in reverse.  Handlers stay thin and
answer JSON; errors are JSON too.  This version serves health, readiness,
the configured repos and /metrics; diff, push and jobs arrive with the rest
of the daemon issue.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import logging
import math
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import field

from aiohttp import web

from schemad.api.auth import SCOPES, auth_middleware, require
from schemad.api.campaignroutes import add_campaign_routes
from schemad.api.oscroutes import add_osc_routes
from schemad.api.routes import ANSWERS, DAEMON, add_routes, published_answers, replica_command
from schemad.daemon_config import DaemonConfig
from schemad.errors import (
    ConfigError,
    ConnectError,
    DatabaseError,
    RateLimitError,
    SchemadError,
    SQLFileError,
)
from schemad.listen_tls import ServerTls
from schemad.records import dataclass
from schemad.service.answers import AnswerCache
from schemad.service.daemon import Daemon
from schemad.service.jobs import SharedLog
from schemad.service.metrics import Metrics
from schemad.service.objects import repo_environments
from schemad.service.reload import ConfigReloader
from schemad.service.state import StateStore
from schemad.service.stores import open_state_store
from schemad.service.systemd import Notifier, watchdog_loop

log = logging.getLogger(__name__)


@dataclass(slots=True)
class State:
    ready: bool = False
    errors: list[str] = field(default_factory=list)


CONFIG = web.AppKey("config", DaemonConfig)  # as started; the one in force is RELOADER's
RELOADER = web.AppKey("reloader", ConfigReloader)
STATE = web.AppKey("state", State)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", StateStore)
# The TLS listeners by address (`str(ListenAddress)`): a SIGHUP gives them their new certificates.
LISTENER_TLS = web.AppKey("listener_tls", Mapping[str, ServerTls])


async def _state_store(app: web.Application) -> AsyncIterator[None]:
    """Open the job/audit store (the daemon marks what a previous process left running)."""
    config = app[CONFIG]
    # In a thread: a control schema may take a while (connecting, another daemon's migration).
    store = await asyncio.to_thread(open_state_store, config.state, config.state_dir)
    app[STORE] = store
    try:
        yield
    finally:
        await asyncio.to_thread(store.close)


async def _daemon(app: web.Application) -> AsyncIterator[None]:
    """Evaluate every repo x environment, then watch, poll and run pushes until shutdown."""
    daemon = Daemon(current_config(app), app[STORE], app[METRICS])
    # What an owner publishes for the other replicas: the answers as this API serves them.
    daemon.render_published = functools.partial(published_answers, daemon)
    if daemon.replicas is not None:
        # Cancel/cut-over/refresh asked on another replica, answered as these routes answer.
        daemon.replicas.hooks.command = functools.partial(replica_command, daemon)
        # Every job's log is copied to the control schema, so that any replica serves it.
        control = daemon.replicas.control
        daemon.jobs.shared_log = SharedLog(control.append_log, control.replica)
    app[DAEMON] = daemon
    await daemon.start()
    app[STATE].ready = True
    try:
        yield
    finally:
        await daemon.stop(grace=app[CONFIG].shutdown_grace)


async def _end_log_streams(app: web.Application) -> None:
    if DAEMON in app:
        app[DAEMON].jobs.close_followers()


def current_config(app: web.Application) -> DaemonConfig:
    """The configuration in force: the start-up one until a SIGHUP reload replaces it."""
    return app[RELOADER].config


async def _reload_on_sighup(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    notifier = Notifier.from_environ()

    async def reload() -> None:
        await app[RELOADER].reload(app.get(DAEMON), notifier, app[LISTENER_TLS])
        _publish_certificates(app)

    tasks: set[asyncio.Task[None]] = set()

    def on_hup() -> None:
        task = loop.create_task(reload())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


def _publish_certificates(app: web.Application) -> None:
    for address, tls in app[LISTENER_TLS].items():
        app[METRICS].set_listen_certificate(address, tls.info.not_after.timestamp())


async def _systemd(app: web.Application) -> AsyncIterator[None]:
    """READY=1 once every other service is up, watchdog pings meanwhile, STOPPING=1 on the way out."""
    notifier = Notifier.from_environ()
    stop = asyncio.Event()
    pinger = asyncio.create_task(watchdog_loop(notifier, stop))
    notifier.ready()
    try:
        yield
    finally:
        notifier.stopping()
        stop.set()
        await pinger


async def _embedded_server(app: web.Application) -> AsyncIterator[None]:
    """The throwaway server with the repos' schemas in it (only with --embedded)."""
    config, state = app[CONFIG], app[STATE]
    if not config.embedded:
        yield
        return
    from schemad.service.demo import embedded_demo

    async with embedded_demo(config) as demo:
        state.errors += demo.errors
        yield


async def metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[METRICS].render()
    # The header as a whole: aiohttp's content_type= would keep only the media type and charset.
    return web.Response(body=body, headers={"Content-Type": content_type})


# The API's description, shipped as package data (schemad/api/openapi.yaml).
OPENAPI = importlib.resources.files("schemad.api") / "openapi.yaml"


async def openapi(request: web.Request) -> web.Response:
    try:
        text = await asyncio.to_thread(OPENAPI.read_text, encoding="utf-8")
    except OSError:
        raise web.HTTPNotFound(text="openapi.yaml is not installed with this copy of schemad") from None
    return web.Response(text=text, content_type="application/yaml")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body: dict[str, object] = {"ready": state.ready, "errors": state.errors}
    daemon = request.app.get(DAEMON)
    if daemon is not None and daemon.replicas is not None:  # one of several: which environments it polls
        r = daemon.replicas
        body["replica"] = {
            "id": r.id,
            "live_replicas": list(r.live),
            "owns": sorted(k for k, e in daemon.environments() if daemon.owns(e)),
        }
    return web.json_response(body, status=200 if state.ready else 503)


async def repos(request: web.Request) -> web.Response:
    require(request, "read")
    config = current_config(request.app)
    scopes = request[SCOPES]
    # Where the checkout lives on the daemon's host is for those who may push to it, not for readers.
    items = [
        {
            "name": r.name,
            "path": str(r.path) if any(f"push:{e}" in scopes for e in r.environments) else None,
            "environments": repo_environments(r.path),
        }
        for r in config.repos
    ]
    return web.json_response({"repos": items})


# The one place a schemad error class becomes an HTTP status (STYLE rule 6); most specific first.
_ERROR_STATUS: dict[type[SchemadError], tuple[int, str]] = {
    ConnectError: (503, "database_unavailable"),
    DatabaseError: (502, "database_error"),
    ConfigError: (422, "config_error"),
    SQLFileError: (422, "sql_file_error"),
    RateLimitError: (429, "rate_limited"),
}


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = getattr(exc, "error_code", None) or exc.reason.lower().replace(" ", "_")
        return web.json_response(
            {"error": {"code": code, "message": exc.text or exc.reason}},
            status=exc.status,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("www-authenticate", "allow")},
        )
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except SchemadError as exc:
        # schemad's own errors never hold secrets (errors.py): their text is the answer.
        status, code = next(
            (answer for cls, answer in _ERROR_STATUS.items() if isinstance(exc, cls)), (500, "internal_error")
        )
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimitError):  # routine under a client's loop: not worth a warning each
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
            log.debug("%s %s: %s", request.method, request.path, exc)
        else:
            log.warning("%s %s: %s", request.method, request.path, exc)
        return web.json_response(
            {"error": {"code": code, "message": str(exc)}}, status=status, headers=headers
        )
    except Exception:
        # Never echo an unexpected exception: its text may hold anything.
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response(
            {"error": {"code": "internal_error", "message": "internal error; see the daemon's log"}},
            status=500,
        )


def create_app(
    config: DaemonConfig, *, listener_tls: Mapping[str, ServerTls] | None = None
) -> web.Application:
    app = web.Application(middlewares=[json_errors, auth_middleware(current_config)])
    app[CONFIG] = config
    app[LISTENER_TLS] = listener_tls or {}
    app[RELOADER] = ConfigReloader(config)
    app[STATE] = State()
    app[METRICS] = Metrics()
    _publish_certificates(app)
    app.cleanup_ctx.append(_state_store)
    app.cleanup_ctx.append(_embedded_server)
    app.cleanup_ctx.append(_daemon)
    app.on_shutdown.append(_end_log_streams)
    app.cleanup_ctx.append(_reload_on_sighup)
    app.cleanup_ctx.append(_systemd)  # last: READY only when everything above is up
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/v1/repos", repos)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.yaml", openapi)
    app[ANSWERS] = AnswerCache()
    add_routes(app)
    add_osc_routes(app)
    add_campaign_routes(app)
    return app
