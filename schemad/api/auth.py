"""Bearer-token authentication and per-request scopes.

The middleware resolves `Authorization: Bearer <token>` once per request
(constant-time comparison of SHA-256 digests, `Token.matches`) and stores the
granted scopes and the caller's name on the request; handlers then call
`require(request, scope)`.  Health, readiness, metrics and the spec are open:
probes and Prometheus scrapes carry no token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from schemad.daemon_config import DaemonConfig

__all__ = ["OPEN_PATHS", "SCOPES", "WHO", "auth_middleware", "require"]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.yaml"})

SCOPES = web.RequestKey("scopes", frozenset)
WHO = web.RequestKey("who", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unauthorized(web.HTTPUnauthorized):
    def __init__(self, text: str) -> None:
        super().__init__(text=text, headers={"WWW-Authenticate": 'Bearer realm="schemad"'})


def auth_middleware(
    config_of: Callable[[web.Application], DaemonConfig],
) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        config = config_of(request.app)
        header = request.headers.get("Authorization")
        token: str | None = None
        if header is not None:
            if not header.isascii() and not _utf8(header):  # aiohttp keeps undecodable bytes as surrogates
                raise Unauthorized("the Authorization header is not valid UTF-8")
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthorized("expected an Authorization header of the form 'Bearer <token>'")
            token = value.strip()
        scopes = config.scopes_for(token)
        if token is not None and not scopes:
            raise Unauthorized("unknown token")
        if not scopes:
            raise Unauthorized("this endpoint needs a bearer token (anonymous read is off)")
        request[SCOPES] = scopes
        request[WHO] = _name(config, token)
        return await handler(request)

    return middleware


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name(config: DaemonConfig, token: str | None) -> str:
    if token is None:
        return "anonymous"
    for t in config.tokens:
        if t.matches(token):
            return t.name
    return "anonymous"


def require(request: web.Request, scope: str) -> None:
    """403 unless the request's token grants `scope`."""
    if scope not in request.get(SCOPES, frozenset()):
        raise web.HTTPForbidden(text=f"this request needs the {scope!r} scope")
