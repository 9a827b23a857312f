"""How `schemad serve` runs the app: aiohttp's AppRunner, with aiohttp's own error answers in JSON.

aiohttp answers some requests before any middleware sees them: those its
HTTP parser rejects (a request line or a header over 8190 bytes, a malformed
header, something that is not HTTP), and a handler error that escaped every
middleware.  It builds those answers in `RequestHandler.handle_error`
(aiohttp 3.14, web_protocol.py) as text/plain, and has no hook for them
(aio-libs/aiohttp#3287), so `JsonErrorHandler` overrides that method to send
the API's JSON error instead, `ApiRunner` makes the server create that
protocol, and `run` replaces `web.run_app` with the same signal handling and
shutdown order (the app's cleanup runs before the remaining tasks are
cancelled).

What it will not do: change aiohttp's limits or statuses (a too-long line is
still a 400), or repeat the rejected bytes in the answer or the log: they
may hold a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from collections.abc import Iterable
from typing import Any

from aiohttp import http_exceptions, web

# The daemon's logging set-up, for `schemad serve`: the CLI reaches the service only through the API.
from schemad.service.logs import setup_logging

__all__ = ["ApiRunner", "JsonErrorHandler", "Listener", "run", "setup_logging"]

log = logging.getLogger(__name__)

KEEPALIVE_TIMEOUT = 75.0  # web.run_app's default


def _reason(status: int, exc: BaseException | None) -> tuple[str, str]:
    """(code, message) of an error aiohttp answers itself; never the request's own bytes."""
    if status >= 500:
        if status == 504:
            return "gateway_timeout", "the request took too long"
        return "internal_error", "internal error; see the daemon's log"
    if isinstance(exc, http_exceptions.LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else "the"
        return "bad_request", f"a request line or header is longer than {limit} bytes"
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return "bad_request", "not an HTTP request (bad method)"
    if isinstance(exc, http_exceptions.BadStatusLine):
        return "bad_request", "malformed request line"
    if isinstance(exc, http_exceptions.InvalidHeader):
        return "bad_request", "malformed header"
    return "bad_request", "malformed HTTP request"


class JsonErrorHandler(web.RequestHandler):
    """aiohttp's connection protocol, answering the errors it handles itself as the API's JSON error."""

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: too late for another answer
            raise ConnectionError("response already started; cannot send the error")
        code, text = _reason(status, exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, text, exc_info=exc)
        else:
            log.info("request from %s rejected before routing (%d): %s", request.remote, status, text)
        body = json.dumps({"error": {"code": code, "message": text}})
        resp = web.Response(status=status, text=body, content_type="application/json")
        resp.force_close()
        return resp


class _ApiServer(web.Server):
    """The app's low-level server, creating a `JsonErrorHandler` per connection."""

    def __init__(self, base: web.Server) -> None:
        super().__init__(
            base.request_handler,
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            loop=base._loop,
            **base._kwargs,
        )

    def __call__(self) -> web.RequestHandler:
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """`web.AppRunner` whose server answers aiohttp's own errors as JSON (see the module docstring)."""

    async def _make_server(self) -> web.Server:
        return _ApiServer(await super()._make_server())


# A listening socket, and the context of its TLS listener (None: plain HTTP).
Listener = tuple[socket.socket, ssl.SSLContext | None]


async def _serve(app: web.Application, listeners: Iterable[Listener], shutdown_timeout: float) -> None:
    runner = ApiRunner(
        app, handle_signals=True, shutdown_timeout=shutdown_timeout, keepalive_timeout=KEEPALIVE_TIMEOUT
    )
    await runner.setup()
    try:
        for sock, ssl_context in listeners:
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        while True:
            await asyncio.sleep(3600)
    finally:
        await runner.cleanup()


def run(app: web.Application, listeners: Iterable[Listener], *, shutdown_timeout: float) -> None:
    """Serve `app` on the listening sockets until SIGINT/SIGTERM, as `web.run_app` does.

    A socket with an SSLContext serves HTTPS (the context of a `listen_tls.ServerTls`,
    whose certificate a reload can replace).
    """
    loop = asyncio.new_event_loop()
    main = loop.create_task(_serve(app, list(listeners), shutdown_timeout))
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):  # SIGTERM/SIGINT (the runner's signal handlers)
        pass
    finally:
        try:
            if not main.done():  # first the app's own shutdown and cleanup...
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:  # ...then whatever it left running
            _cancel_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = list(asyncio.all_tasks(loop))
    for task in tasks:
        task.cancel()
    results: list[Any] = loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, Exception) and not task.cancelled():
            loop.call_exception_handler(
                {"message": "unhandled exception during shutdown", "exception": result, "task": task}
            )
