"""The /v1 handlers: environments, diffs, pushes, objects, jobs, audit, lint.

Every environment route exists twice: `/v1/repos/{repo}/environments/{env}/…`
and the short `/v1/environments/{env}/…`, where `env` is an environment of
the only repo that has it (or `repo/env` spelled as one path segment is not
accepted: use the long form).  Handlers are thin: look up, check the scope,
call the service, shape the answer (payloads.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from schemad.api.auth import SCOPES, WHO, require
from schemad.api.payloads import (
    ack_json,
    audit_json,
    diff_json,
    drift_object_json,
    environment_json,
    iso,
    job_json,
)
from schemad.errors import RateLimitError, SchemadError
from schemad.service.acks import (
    MAX_REASON_CHARS,
    AckRequest,
    NothingToAcknowledge,
    ObjectSpec,
    TargetDrift,
    parse_expiry,
)
from schemad.service.answers import Answer, AnswerCache
from schemad.service.daemon import Daemon
from schemad.service.drift import TargetDiff, render_sql
from schemad.service.environment import RepoEnvironment, TargetState
from schemad.service.fleet import ShardGroup, ShardState
from schemad.service.jobs import CutoverNotPending
from schemad.service.linting import lint_text
from schemad.service.objects import UnknownSchema, object_sides
from schemad.service.push import PushOutcomeKind, PushRequest, environment_hash, push_environment, selected
from schemad.service.replicas import Published
from schemad.service.state import JobState

__all__ = [
    "ANSWERS",
    "DAEMON",
    "add_routes",
    "cutover_here",
    "forwarded",
    "published_answers",
    "replica_command",
    "runner_elsewhere",
]

DAEMON = web.AppKey("daemon", Daemon)
ANSWERS = web.AppKey("answers", AnswerCache)  # the rendered diffs, per environment state

MAX_SQL_BYTES = 1 << 20  # POST /v1/lint


# ///// helpers /////


def _daemon(request: web.Request) -> Daemon:
    return request.app[DAEMON]


def _env(request: web.Request) -> tuple[str, RepoEnvironment]:
    d = _daemon(request)
    repo = request.match_info.get("repo")
    name = request.match_info["env"]
    if repo is not None and repo not in d.repos:
        raise web.HTTPNotFound(text=f"no repo {repo!r}")
    found = d.find(name, repo) if repo is not None else _short(d, name)
    if found is None:
        raise web.HTTPNotFound(text=f"no environment {name!r}" + (f" in repo {repo!r}" if repo else ""))
    return found


def _short(d: Daemon, name: str) -> tuple[str, RepoEnvironment] | None:
    if "/" in name:
        return None
    hits = [r.config.name for r in d.repos.values() if name in r.envs]
    if len(hits) > 1:
        raise web.HTTPNotFound(
            text=f"environment {name!r} exists in repos {', '.join(hits)}: "
            "use /v1/repos/{repo}/environments/…"
        )
    return d.find(name, hits[0]) if hits else None


def _list_param(request: web.Request, name: str) -> list[str]:
    out: list[str] = []
    for v in request.query.getall(name, []):
        out += [x for x in v.split(",") if x]
    return out


def _bool_param(request: web.Request, name: str) -> bool:
    v = request.query.get(name, "false").lower()
    if v not in ("true", "false", "1", "0"):
        raise web.HTTPBadRequest(text=f"query parameter {name}: expected true or false, got {v!r}")
    return v in ("true", "1")


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"query parameter {name}: expected an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"query parameter {name}: must be from {low} to {high}, got {value}")
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest(text="the body is not valid JSON") from None
    except RecursionError:
        raise web.HTTPBadRequest(text="the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def _field(
    body: Mapping[str, Any], name: str, kind: type, *, required: bool = False, default: Any = None
) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise web.HTTPBadRequest(text=f"field {name!r} is required")
        return default
    value = body[name]
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise web.HTTPBadRequest(text=f"field {name!r}: expected a list of strings")
        for x in value:
            _unicode(name, x)
        return value
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise web.HTTPBadRequest(text=f"field {name!r}: expected {kind.__name__}")
    if isinstance(value, str):
        _unicode(name, value)
    return value


def _unicode(name: str, text: str) -> None:
    """JSON can spell lone surrogates (`"\\ud800"`), which no file, server or answer can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise web.HTTPBadRequest(text=f"field {name!r}: not valid Unicode (a lone surrogate)") from None


def _known_fields(body: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise web.HTTPBadRequest(text=f"unknown field {extra[0]!r} (expected: {', '.join(sorted(allowed))})")


# ///// environments /////


async def list_environments(request: web.Request) -> web.Response:
    require(request, "read")
    d = _daemon(request)
    repo = request.match_info.get("repo")
    if repo is not None and repo not in d.repos:
        raise web.HTTPNotFound(text=f"no repo {repo!r}")
    items = []
    for key, env in d.environments():
        if request.match_info.get("repo") not in (None, env.repo):
            continue
        if not d.owns(env):  # another replica's: as it published it (pending until it did)
            assert d.replicas is not None
            published = await asyncio.to_thread(d.replicas.control.published, d.lease_of(env))
            if published is not None:
                item = dict(published.doc["environment"])
                item["owner"], item["published_at"] = published.owner, iso(published.published_at)
                items.append(item)
                continue
        try:
            poll = d.poller.state(key)
        except KeyError:
            poll = None
        items.append(environment_json(key, env, poll))
    return web.json_response({"environments": items})


async def get_diff(request: web.Request) -> web.Response:
    require(request, "read")
    key, env = _env(request)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "sql"):
        raise web.HTTPBadRequest(text=f"query parameter format: expected json or sql, got {fmt!r}")
    schemas, tables = _list_param(request, "schema"), _list_param(request, "table")
    d = _daemon(request)
    if not d.owns(env):  # another replica owns it: its published answer
        if schemas or tables:
            raise api_error(
                web.HTTPServiceUnavailable,
                "not_owner",
                f"{key} is polled by another replica; it publishes the whole environment's diff only:"
                " ask without schema/table filters",
            )
        refreshed = await _refresh_elsewhere(request, key, env)
        published = await _published(d, key, env)
        body = published.diff_sql if fmt == "sql" else published.diff_json
        headers = {**published.doc.get("headers", {}), **_published_headers(published), **refreshed}
        return _response(Answer(body, "text/plain" if fmt == "sql" else "application/json", headers))
    if _bool_param(request, "refresh"):
        # Joins a running poll; too soon after the last refresh: 429 (RateLimitError).
        await d.refresh(key, env)

    def render() -> Answer:
        return _render_diff(d, key, env, fmt, schemas, tables)

    # Only the whole environment's answer is kept (a filtered one is rendered each time).
    answer = render() if schemas or tables else request.app[ANSWERS].answer(env, f"diff/{fmt}", render)
    return _response(answer)


def _render_diff(
    d: Daemon, key: str, env: RepoEnvironment, fmt: str, schemas: list[str], tables: list[str]
) -> Answer:
    sel = selected(env, schemas, tables)
    h = environment_hash(key, env, sel)
    rt = d.repos.get(env.repo)
    commit = rt.head if rt is not None else None
    unevaluated = _unevaluated(env, sel, schemas)
    headers = {
        "X-Schemad-Plan-Hash": h,
        "X-Schemad-Stale": "true" if env.stale else "false",
        "X-Schemad-Unevaluated": str(len(unevaluated)),
    }
    drift = d.drift.view(env)
    if fmt == "sql":
        text = (
            _unevaluated_sql(unevaluated)
            + _acknowledged_sql(sel, drift)
            + render_sql([x for _, x in sel if x is not None])
        )
        return Answer(text.encode(), "text/plain", headers)
    doc = diff_json(key, env, sel, h, commit, drift)
    return Answer(json.dumps(doc).encode(), "application/json", headers)


# ///// replicas: answers published by an environment's owner (service/replicas.py) /////


def published_answers(d: Daemon, key: str, env: RepoEnvironment) -> dict[str, Any]:
    """What the owner of `env` publishes after each poll, for every other replica to serve."""
    as_json = _render_diff(d, key, env, "json", [], [])
    as_sql = _render_diff(d, key, env, "sql", [], [])
    try:
        poll = d.poller.state(key)
    except KeyError:
        poll = None
    diffs = [t.diff for t in env.targets.values() if t.diff is not None]
    return {
        "plan_hash": as_json.headers["X-Schemad-Plan-Hash"],
        "stale": env.stale,
        "last_poll_at": (poll.last_finished if poll and poll.last_finished else env.evaluated_at),
        "last_error": poll.last_error if poll else env.last_poll_error,
        "statements": sum(len(x.steps) for x in diffs),
        "drifted": sum(1 for x in diffs if x.steps),
        "fingerprints": {
            f"{t.target.address} {t.target.schema}": {str(k): str(v) for k, v in t.live.fingerprints.items()}
            for t in env.ordered_targets()
        },
        "doc": {"environment": environment_json(key, env, poll), "headers": as_json.headers},
        "diff_json": as_json.body.decode(),
        "diff_sql": as_sql.body.decode(),
        "fleet_json": json.dumps(fleet_json(key, env)),
    }


async def _published(d: Daemon, key: str, env: RepoEnvironment) -> Published:
    assert d.replicas is not None
    got = await asyncio.to_thread(d.replicas.control.published, d.lease_of(env))
    if got is None:
        raise api_error(
            web.HTTPServiceUnavailable,
            "not_published",
            f"{key} is polled by another replica, which has not published its diff yet",
        )
    return got


def _owned(request: web.Request, key: str, env: RepoEnvironment) -> None:
    """503 `not_owner` (naming the owner) for what only the replica polling `env` can answer."""
    d = _daemon(request)
    if d.owns(env):
        return
    assert d.replicas is not None
    owner = d.replicas.owner_hint(d.lease_of(env))
    raise api_error(
        web.HTTPServiceUnavailable,
        "not_owner",
        f"{key} is polled by replica {owner or '(none yet)'}: ask that replica for this",
    )


async def _refresh_elsewhere(request: web.Request, key: str, env: RepoEnvironment) -> dict[str, str]:
    """`?refresh=true` on a replica that does not own `env`: its owner polls and publishes, then we answer.

    The owner answers as it would itself (429 rate_limited too); 503 owner_unavailable when no replica
    owns it or the owner does not answer (see `Replicas.send`).  Returns the header saying so.
    """
    if not _bool_param(request, "refresh"):
        return {}
    d = _daemon(request)
    assert d.replicas is not None
    name = d.lease_of(env)
    owner = await asyncio.to_thread(d.replicas.control.lease_owner, name)
    if owner is None:
        raise api_error(
            web.HTTPServiceUnavailable,
            "owner_unavailable",
            f"no replica owns {key} now: nothing was refreshed",
        )
    forwarded(await d.replicas.send(owner, name, "refresh", request[WHO], f"environment {key}"))
    return {"X-Schemad-Refreshed-By": owner}


#: The statuses a replica's answer to a handed-over command can carry, as HTTP errors.
_FORWARDED_ERRORS: dict[int, type[web.HTTPException]] = {
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    429: web.HTTPTooManyRequests,
    502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable,
}


def forwarded(answer: Mapping[str, Any]) -> web.Response:
    """Another replica's answer to a command (`replica_command`), as that replica would have answered."""
    status = int(answer.get("status", 500))
    if status >= 400:
        cls = _FORWARDED_ERRORS.get(status, web.HTTPInternalServerError)
        raise api_error(cls, str(answer.get("code", "internal_error")), str(answer.get("message", "")))
    return web.json_response(answer.get("body", {}), status=status)


async def replica_command(d: Daemon, subject: str, command: str, who: str) -> dict[str, Any]:
    """Run a command another replica handed over (replicas.py `send`): cancel, cutover, refresh.

    The answer is what the route would have answered here: {status, body} or {status, code, message}.
    """
    try:
        if command == "refresh":
            return await _refresh_command(d, subject)
        job = await asyncio.to_thread(d.store.get_job, subject)
        if job is None:
            return {"status": 404, "code": "not_found", "message": f"no job {subject!r}"}
        if command == "cancel":
            return {"status": 202, "body": await _cancel_here(d, job)}
        if command == "cutover":
            return {"status": 202, "body": await cutover_here(d, job, who)}
    except web.HTTPException as exc:
        code = getattr(exc, "error_code", None) or exc.reason.lower().replace(" ", "_")
        return {"status": exc.status, "code": code, "message": exc.text or exc.reason}
    except RateLimitError as exc:
        return {"status": 429, "code": "rate_limited", "message": str(exc)}
    return {"status": 400, "code": "bad_request", "message": f"unknown command {command!r}"}


async def _refresh_command(d: Daemon, name: str) -> dict[str, Any]:
    found = next(((k, e) for k, e in d.environments() if d.lease_of(e) == name), None)
    if found is None or not d.owns(found[1]) or d.replicas is None or d.render_published is None:
        who = d.replicas.id if d.replicas else "?"
        return {"status": 503, "code": "owner_unavailable", "message": f"replica {who} does not own {name}"}
    key, env = found
    await d.refresh(key, env)
    # Published before the answer: the asking replica serves what this poll found.
    await asyncio.to_thread(d.replicas.control.publish, name, d.render_published(key, env))
    return {"status": 200, "body": {}}


def _published_headers(p: Published) -> dict[str, str]:
    """Who published an answer served by another replica, and how old it is (seconds)."""
    return {
        "X-Schemad-Owner": p.owner,
        "X-Schemad-Published-At": iso(p.published_at) or "",
        "X-Schemad-Age": f"{p.age:.3f}",
    }


def _unevaluated(
    env: RepoEnvironment, sel: list[tuple[TargetState, TargetDiff | None]], schemas: list[str]
) -> list[str]:
    """What the diff cannot say anything about: targets without a diff and (unfiltered) config errors.

    The targets with an error block a push (422 `plan_blocked`); one without a
    diff and without an error is being read for the first time.
    """
    out = [
        f"schema {t.target.schema} on {t.target.address}: {t.error or 'not evaluated yet'}"
        for t, d in sel
        if t.error or d is None
    ]
    if not schemas:
        out += [e for e in env.config_errors if all(t.error != e for t, _ in sel)]
    return out


def _unevaluated_sql(unevaluated: list[str]) -> str:
    """SQL comments saying which schemas could not be evaluated (their changes are missing)."""
    return "".join(
        "-- not evaluated, changes left out: " + u.replace("\n", "\n-- ") + "\n" for u in unevaluated
    )


def _acknowledged_sql(
    sel: list[tuple[TargetState, TargetDiff | None]], drift: Mapping[tuple[str, str], TargetDrift]
) -> str:
    """SQL comments naming the acknowledged objects among the statements served (who, until, why)."""
    out = []
    for t, d in sel:
        view = drift.get(t.key)
        if d is None or view is None:
            continue
        keys = {p.step.key for p in d.planned}
        for o in view.objects:
            if o.ack is not None and o.key in keys:
                a = o.ack
                line = (
                    f"-- acknowledged drift: {o.key} in {t.target.schema} on {t.target.address},"
                    f" by {a.who} until {iso(a.expires_at)}: {a.reason}"
                )
                out.append(line.replace("\n", "\n-- ") + "\n")
    return "".join(out)


def _response(answer: Answer) -> web.Response:
    return web.Response(
        body=answer.body, content_type=answer.content_type, charset="utf-8", headers=answer.headers
    )


#: HTTP status of each refused push (the outcome kind is the error code).
_PUSH_REFUSED: dict[PushOutcomeKind, type[web.HTTPException]] = {
    PushOutcomeKind.RUNNING: web.HTTPConflict,
    PushOutcomeKind.UNREACHABLE: web.HTTPServiceUnavailable,
    PushOutcomeKind.PLAN_CHANGED: web.HTTPConflict,
    PushOutcomeKind.BLOCKED: web.HTTPUnprocessableEntity,
    PushOutcomeKind.UNACKNOWLEDGED_DRIFT: web.HTTPConflict,
    PushOutcomeKind.LINT: web.HTTPUnprocessableEntity,
    PushOutcomeKind.UNSAFE: web.HTTPUnprocessableEntity,
    PushOutcomeKind.VERIFY: web.HTTPUnprocessableEntity,
    PushOutcomeKind.CUTOVER: web.HTTPUnprocessableEntity,
    PushOutcomeKind.PREFLIGHT: web.HTTPUnprocessableEntity,
    PushOutcomeKind.OWNER_UNAVAILABLE: web.HTTPServiceUnavailable,
}


async def push(request: web.Request) -> web.Response:
    key, env = _env(request)
    require(request, f"push:{env.name}")
    body = await _body(request)
    _known_fields(body, {"plan_hash", "allow_unsafe", "schemas", "tables", "dry_run", "postpone_cutover"})
    req = PushRequest(
        plan_hash=_field(body, "plan_hash", str, required=True),
        who=request[WHO],
        allow_unsafe=_field(body, "allow_unsafe", bool, default=False),
        schemas=_field(body, "schemas", list, default=[]),
        tables=_field(body, "tables", list, default=[]),
        dry_run=_field(body, "dry_run", bool, default=False),
        postpone_cutover=_field(body, "postpone_cutover", bool, default=False),
    )
    outcome = await push_environment(_daemon(request), key, env, req)
    refused = _PUSH_REFUSED.get(outcome.kind)
    if refused is not None:
        raise api_error(refused, outcome.kind.value, outcome.message)
    if outcome.kind is PushOutcomeKind.SUBMITTED and outcome.job is not None:
        return web.json_response({"job": job_json(outcome.job)}, status=202)
    answer: dict[str, Any] = {
        "dry_run": req.dry_run,
        "plan_hash": outcome.plan_hash,
        "statements": outcome.statements,
        "message": outcome.message,
    }
    if outcome.kind is PushOutcomeKind.DRY_RUN:  # the online changes' pre-flight findings
        answer["preflight"] = [
            {"target": n.where, "table": n.table, "tool": str(n.tool), **n.finding.to_json()}
            for n in outcome.preflight
        ]
    return web.json_response(answer)


async def get_object(request: web.Request) -> web.Response:
    require(request, "read")
    key, env = _env(request)
    schema, name = request.match_info["schema"], request.match_info["name"]
    kind = request.query.get("type", "table")
    _owned(request, key, env)
    try:
        sides = object_sides(env, schema, kind, name)
    except ValueError:
        raise web.HTTPBadRequest(text=f"query parameter type: unknown object type {kind!r}") from None
    except UnknownSchema:
        raise web.HTTPNotFound(text=f"no schema {schema!r} in environment {key}") from None
    if sides is None:
        raise web.HTTPNotFound(text=f"no {kind} {name!r} in schema {schema!r} of {key}, in the repo or live")
    repo, live = sides.repo, sides.live
    return web.json_response(
        {
            "environment": key,
            "schema": schema,
            "type": sides.key.type.value,
            "name": name,
            "repo": None
            if repo is None
            else {"file": repo.file, "line": repo.line, "text": repo.text, "canonical": repo.canonical},
            "live": None
            if live is None
            else {"canonical": live.canonical, "snapshot_at": iso(live.snapshot_at)},
            "differs": sides.differs,
        }
    )


async def get_fleet(request: web.Request) -> web.Response:
    """The consistency view: each dir's shards grouped by live schema fingerprint (service/fleet.py)."""
    require(request, "read")
    key, env = _env(request)
    d = _daemon(request)
    if not d.owns(env):  # another replica polls it: the view it published (a refresh is handed to it)
        refreshed = await _refresh_elsewhere(request, key, env)
        published = await _published(d, key, env)
        if published.fleet_json is None:
            raise api_error(
                web.HTTPServiceUnavailable,
                "not_published",
                f"{key} is polled by another replica, which has not published its fleet view yet",
            )
        headers = {**_published_headers(published), **refreshed}
        return _response(Answer(published.fleet_json, "application/json", headers))
    if _bool_param(request, "refresh"):
        await d.refresh(key, env)
    return web.json_response(fleet_json(key, env))


def fleet_json(key: str, env: RepoEnvironment) -> dict[str, Any]:
    """GET .../fleet's answer, as served and as published for the other replicas."""
    shards = env.shards()
    views = env.fleet()

    def shard(s: ShardState) -> dict[str, Any]:
        return {**s.to_json(), "last_poll": iso(s.last_poll)}

    def group(g: ShardGroup) -> dict[str, Any]:
        return {**g.to_json(), "shards": [shard(s) for s in g.shards]}

    return {
        "environment": key,
        "repo": env.repo,
        "fleet": env.is_fleet,
        "stale": env.stale,
        "shards": len(shards),
        "groups": sum(len(v.groups) for v in views),
        "drifted": sum(s.drifted is True for s in shards),
        "failing": sum(s.error is not None for s in shards),
        "dirs": [{**v.to_json(), "groups": [group(g) for g in v.groups]} for v in views],
    }


# ///// drift acknowledgements /////

MAX_ACK_OBJECTS = 100


def _require_any(request: web.Request, *scopes: str) -> None:
    """403 unless the request's token grants one of `scopes`."""
    if not set(scopes) & request.get(SCOPES, frozenset()):
        raise web.HTTPForbidden(text=f"this request needs one of the scopes {', '.join(map(repr, scopes))}")


def _object_spec(value: Any, i: int) -> ObjectSpec:
    where = f"objects[{i}]"
    if not isinstance(value, dict):
        raise web.HTTPBadRequest(text=f"field {where!r}: expected an object")
    _known_fields(value, {"schema", "name", "type", "address"})
    try:
        return ObjectSpec.parse(
            _field(value, "schema", str, required=True),
            _field(value, "name", str, required=True),
            _field(value, "type", str, default="table"),
            _field(value, "address", str),
        )
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"field {where!r}: {exc}") from None


async def ack_drift(request: web.Request) -> web.Response:
    key, env = _env(request)
    _require_any(request, f"ack:{env.name}", f"push:{env.name}")
    body = await _body(request)
    _known_fields(body, {"objects", "reason", "expires"})
    objects = body.get("objects")
    if not isinstance(objects, list) or not objects:
        raise web.HTTPBadRequest(text="field 'objects': expected a non-empty list of objects")
    if len(objects) > MAX_ACK_OBJECTS:
        raise web.HTTPBadRequest(text=f"field 'objects': at most {MAX_ACK_OBJECTS} objects per request")
    specs = tuple(_object_spec(o, i) for i, o in enumerate(objects))
    reason = _field(body, "reason", str, required=True).strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise web.HTTPBadRequest(text=f"field 'reason': expected 1 to {MAX_REASON_CHARS} characters")
    d = _daemon(request)
    try:
        expires_at = parse_expiry(_field(body, "expires", str, required=True), d.clock())
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"field 'expires': {exc}") from None
    try:
        acks = await d.drift.acknowledge(key, env, AckRequest(specs, reason, request[WHO], expires_at))
    except NothingToAcknowledge as exc:
        raise api_error(web.HTTPUnprocessableEntity, "nothing_to_acknowledge", str(exc)) from None
    d.publish(key, env)  # the metrics no longer count them
    return web.json_response({"acknowledgements": [ack_json(a) for a in acks]}, status=201)


async def get_drift(request: web.Request) -> web.Response:
    require(request, "read")
    key, env = _env(request)
    limit = _int_param(request, "limit", 100, 1, 500)
    d = _daemon(request)
    _owned(request, key, env)
    objects = [
        {"address": v.address, "schema": v.schema, **drift_object_json(o)}
        for v in d.drift.view(env).values()
        for o in v.objects
    ]
    history = await asyncio.to_thread(d.drift.history, env, limit)
    return web.json_response(
        {
            "environment": key,
            "repo": env.repo,
            "push_requires_drift_ack": d.config.push_requires_drift_ack,
            "objects": objects,
            "acknowledgements": [ack_json(a) for a in history],
        }
    )


# ///// jobs and audit /////


async def _job_or_404(request: web.Request) -> Any:
    job_id = request.match_info["id"]
    job = await asyncio.to_thread(_daemon(request).store.get_job, job_id)
    if job is None:
        raise web.HTTPNotFound(text=f"no job {job_id!r}")
    return job


async def list_jobs(request: web.Request) -> web.Response:
    require(request, "read")
    d = _daemon(request)
    env = request.query.get("environment")
    limit = _int_param(request, "limit", 50, 1, 500)
    before_raw = request.query.get("before")
    before = None
    if before_raw is not None:
        try:
            before = float(before_raw)
        except ValueError:
            raise web.HTTPBadRequest(
                text=f"query parameter before: expected a Unix time, got {before_raw!r}"
            ) from None
    jobs = await asyncio.to_thread(d.store.list_jobs, environment=env, limit=limit, before=before)
    return web.json_response({"jobs": [job_json(j, d.jobs.progress(j.id)) for j in jobs]})


async def get_job(request: web.Request) -> web.Response:
    require(request, "read")
    job = await _job_or_404(request)
    return web.json_response({"job": job_json(job, _daemon(request).jobs.progress(job.id))})


async def job_log(request: web.Request) -> web.StreamResponse:
    require(request, "read")
    job = await _job_or_404(request)
    resp = web.StreamResponse(
        headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"}
    )
    d = _daemon(request)
    # A job another replica runs or ran: the copy of its log in the control schema (replicas.py).
    lines = (
        d.jobs.follow(job.id)
        if d.replicas is None or d.jobs.has_log(job.id)
        else d.replicas.follow_log(job.id, lambda: d.jobs.closing)
    )
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    async for line in lines:
        await resp.write((line + "\n").encode())
    await resp.write_eof()
    return resp


async def cancel_job(request: web.Request) -> web.Response:
    job = await _job_or_404(request)
    d = _daemon(request)
    env_name = job.environment.rpartition("/")[2]
    require(request, f"push:{env_name}")
    elsewhere = await runner_elsewhere(d, job)
    if elsewhere is not None:
        assert d.replicas is not None
        return forwarded(await d.replicas.send(elsewhere, job.id, "cancel", request[WHO], f"job {job.id}"))
    return web.json_response(await _cancel_here(d, job), status=202)


async def runner_elsewhere(d: Daemon, job: Any) -> str | None:
    """The replica running `job` when it is active and runs elsewhere (commands are handed to it)."""
    if d.replicas is None or job.state not in _ACTIVE or job.id in d.jobs.running_for(job.environment):
        return None
    runner, _ = await asyncio.to_thread(d.replicas.control.job_runner, job.id)
    return runner if runner is not None and runner != d.replicas.id else None


_ACTIVE = (JobState.QUEUED, JobState.RUNNING, JobState.PENDING_CUTOVER)


async def _cancel_here(d: Daemon, job: Any) -> dict[str, Any]:
    if job.state not in _ACTIVE or not d.jobs.cancel(job.id):
        raise api_error(web.HTTPConflict, "job_not_running", f"job {job.id} is {job.state}, not running")
    now = await asyncio.to_thread(d.store.get_job, job.id)
    return {"job": job_json(now or job)}


async def cutover_here(d: Daemon, job: Any, who: str) -> dict[str, Any]:
    try:
        record = await d.jobs.approve_cutover(job.id, who)
    except CutoverNotPending as exc:
        raise api_error(web.HTTPConflict, "job_not_pending_cutover", str(exc)) from None
    except SchemadError as exc:  # the gate could not be released (socket, flag file, sentinel DROP)
        raise api_error(web.HTTPBadGateway, "cutover_release_failed", str(exc)) from None
    return {"job": job_json(record, d.jobs.progress(record.id))}


async def audit(request: web.Request) -> web.Response:
    require(request, "read")
    after = _int_param(request, "after", 0, 0, 1 << 62)
    limit = _int_param(request, "limit", 100, 1, 1000)
    entries = await asyncio.to_thread(_daemon(request).store.list_audit, after_id=after, limit=limit)
    return web.json_response(
        {"entries": [audit_json(a) for a in entries], "next_after": entries[-1].id if entries else after}
    )


# ///// lint /////


async def lint(request: web.Request) -> web.Response:
    require(request, "lint")
    if request.content_length is not None and request.content_length > MAX_SQL_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_SQL_BYTES, actual_size=request.content_length)
    body = await _body(request)
    _known_fields(body, {"file", "sql", "environment", "repo"})
    file = _field(body, "file", str, required=True)
    sql = _field(body, "sql", str, required=True)
    # null is the default, as if absent; "" names nothing (400).
    env_name = _field(body, "environment", str)
    repo = _field(body, "repo", str)
    for field_name, value in (("repo", repo), ("environment", env_name)):
        if value == "":
            raise web.HTTPBadRequest(text=f"field {field_name!r}: must not be empty (null: the default)")
    d = _daemon(request)
    if repo is not None and repo not in d.repos:
        raise web.HTTPBadRequest(text=f"field 'repo': no repo {repo!r}")
    rt = d.repos[repo] if repo is not None else next(iter(d.repos.values()), None)
    if rt is None:
        raise web.HTTPConflict(text="no repo is configured")
    name = env_name if env_name is not None else next(iter(rt.envs), None)
    if name is None or name not in rt.envs:
        raise web.HTTPBadRequest(
            text=f"field 'environment': no environment {env_name!r} in repo {rt.config.name!r}"
        )
    try:
        diags = await lint_text(rt.envs[name], file, sql)
    except LookupError as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    return web.json_response(
        {
            "file": file,
            "diagnostics": [
                {
                    "line": x.line,
                    "column": x.column,
                    "rule": x.rule,
                    "severity": x.severity,
                    "message": x.message,
                }
                for x in diags
            ],
        }
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    for prefix in ("/v1", "/v1/repos/{repo}"):
        r.add_get(f"{prefix}/environments", list_environments)
        r.add_get(f"{prefix}/environments/{{env}}/diff", get_diff)
        r.add_post(f"{prefix}/environments/{{env}}/push", push)
        r.add_get(f"{prefix}/environments/{{env}}/drift", get_drift)
        r.add_get(f"{prefix}/environments/{{env}}/fleet", get_fleet)
        r.add_post(f"{prefix}/environments/{{env}}/drift/ack", ack_drift)
        r.add_get(f"{prefix}/environments/{{env}}/schemas/{{schema}}/objects/{{name}}", get_object)
    r.add_get("/v1/jobs", list_jobs)
    r.add_get("/v1/jobs/{id}", get_job)
    r.add_get("/v1/jobs/{id}/log", job_log)
    r.add_post("/v1/jobs/{id}/cancel", cancel_job)
    r.add_get("/v1/audit", audit)
    r.add_post("/v1/lint", lint)


def api_error(cls: type[web.HTTPException], code: str, text: str) -> web.HTTPException:
    """An HTTP error whose JSON body carries `code` (e.g. "plan_changed")."""
    exc = cls(text=text)
    exc.error_code = code  # type: ignore[attr-defined]
    return exc
