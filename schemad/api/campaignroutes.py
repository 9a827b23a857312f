"""The push-campaign handlers (service/campaigns.py).

* `POST .../environments/{env}/campaigns` (scope `push:<env>`): the groups
  (fingerprint + reviewed plan_hash, from GET .../fleet) and how to roll
  out; 202 with the campaign.  409 `push_running` / `plan_changed`, 422
  `plan_blocked` / `nothing_to_do`.
* `GET .../environments/{env}/campaigns`, `GET /v1/campaigns/{id}` (scope
  `read`): state, waves, every shard's state and job.
* `POST /v1/campaigns/{id}/pause|resume|abort` (scope `push:<env>`); 409
  `campaign_not_active` when the campaign is not in a state that allows it.

Thin, as routes.py: look up, check the scope, call the runner, shape.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schemad.api.auth import WHO, require
from schemad.api.payloads import iso
from schemad.api.routes import _body, _daemon, _env, _field, _int_param, _known_fields, api_error
from schemad.service.campaigns import CampaignRefused, CampaignRequest, GroupRef, counts, waves
from schemad.service.campaignstore import CampaignRecord, CampaignSettings
from schemad.service.state import StateError

__all__ = ["add_campaign_routes", "campaign_json"]

_STATUS: dict[str, type[web.HTTPException]] = {
    "push_running": web.HTTPConflict,
    "plan_changed": web.HTTPConflict,
    "campaign_not_active": web.HTTPConflict,
    "plan_blocked": web.HTTPUnprocessableEntity,
    "nothing_to_do": web.HTTPUnprocessableEntity,
    "invalid_request": web.HTTPBadRequest,
    "not_found": web.HTTPNotFound,
    "not_published": web.HTTPServiceUnavailable,  # replicas: the owner has not published its fleet yet
    "owner_unavailable": web.HTTPServiceUnavailable,  # replicas: no runner took an action in time
}

MAX_GROUPS = 1000


def campaign_json(c: CampaignRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "repo": c.repo,
        "environment": c.environment,
        "requested_by": c.requested_by,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "ended_at": iso(c.ended_at),
        "state": str(c.state),
        "error": c.error,
        **c.settings.to_json(),
        "groups": [g.to_json() for g in c.groups],
        "wave": c.wave,
        "waves": c.waves,
        "next_wave_at": iso(c.next_wave_at),
        "failures": c.failures,
        "counts": dict(counts(c)),
        "wave_list": [
            {
                "wave": w,
                "canary": w == 0,
                "shards": len(members),
                "states": {k: v for k, v in _tally(members).items() if v},
            }
            for w, members in waves(c)
        ],
        "shards": [
            {**s.to_json(), "started_at": iso(s.started_at), "finished_at": iso(s.finished_at)}
            for s in c.shards
        ],
    }


def _tally(members: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in members:
        out[str(s.state)] = out.get(str(s.state), 0) + 1
    return out


def _refused(exc: CampaignRefused) -> web.HTTPException:
    return api_error(_STATUS.get(exc.code, web.HTTPConflict), exc.code, str(exc))


def _group(value: Any, i: int) -> GroupRef:
    if not isinstance(value, dict):
        raise web.HTTPBadRequest(text=f"field 'groups'[{i}]: expected an object")
    _known_fields(value, {"fingerprint", "plan_hash", "dir"})
    return GroupRef(
        fingerprint=_field(value, "fingerprint", str, required=True),
        plan_hash=_field(value, "plan_hash", str, required=True),
        dir=_field(value, "dir", str),
    )


def _positive(body: dict[str, Any], name: str, default: int) -> int:
    value: int = _field(body, name, int, default=default)
    if not 1 <= value <= 100000:
        raise web.HTTPBadRequest(text=f"field {name!r}: must be from 1 to 100000, got {value}")
    return value


async def create_campaign(request: web.Request) -> web.Response:
    key, env = _env(request)
    require(request, f"push:{env.name}")
    body = await _body(request)
    _known_fields(
        body,
        {
            "groups",
            "canaries",
            "wave_size",
            "concurrency",
            "pause_between_waves",
            "max_failures",
            "allow_unsafe",
        },
    )
    raw = body.get("groups")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_GROUPS:
        raise web.HTTPBadRequest(
            text=f"field 'groups': expected a list of 1 to {MAX_GROUPS} {{fingerprint, plan_hash}} objects"
        )
    groups = [_group(g, i) for i, g in enumerate(raw)]
    canaries: int = _field(body, "canaries", int, default=1)
    if not 0 <= canaries <= 100000:
        raise web.HTTPBadRequest(text=f"field 'canaries': must be from 0 to 100000, got {canaries}")
    wave_size = _positive(body, "wave_size", 8)
    pause = body.get("pause_between_waves")
    pause = 0 if pause is None else pause
    if isinstance(pause, bool) or not isinstance(pause, int | float) or not 0 <= pause <= 86400:
        raise web.HTTPBadRequest(text="field 'pause_between_waves': expected seconds from 0 to 86400")
    settings = CampaignSettings(
        canaries=canaries,
        wave_size=wave_size,
        concurrency=_positive(body, "concurrency", wave_size),
        pause_between_waves=float(pause),
        max_failures=_positive(body, "max_failures", 1),
        allow_unsafe=_field(body, "allow_unsafe", bool, default=False),
    )
    try:
        record = await _daemon(request).campaigns.create(
            key, env, CampaignRequest(groups, request[WHO], settings)
        )
    except CampaignRefused as exc:
        raise _refused(exc) from None
    return web.json_response({"campaign": campaign_json(record)}, status=202)


async def list_campaigns(request: web.Request) -> web.Response:
    require(request, "read")
    _, env = _env(request)
    limit = _int_param(request, "limit", 50, 1, 500)
    found = await _daemon(request).campaigns.list(env.repo, env.name, limit)
    return web.json_response({"campaigns": [campaign_json(c) for c in found]})


async def _campaign_or_404(request: web.Request) -> CampaignRecord:
    cid = request.match_info["id"]
    rec = await _daemon(request).campaigns.get(cid)
    if rec is None:
        raise web.HTTPNotFound(text=f"no campaign {cid!r}")
    return rec


async def get_campaign(request: web.Request) -> web.Response:
    require(request, "read")
    return web.json_response({"campaign": campaign_json(await _campaign_or_404(request))})


def _action(name: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        rec = await _campaign_or_404(request)
        require(request, f"push:{rec.environment}")
        runner = _daemon(request).campaigns
        try:
            out = await runner.act(name, rec.id, request[WHO])
        except CampaignRefused as exc:
            raise _refused(exc) from None
        except StateError as exc:  # applied by the runner here, but its record could not be written
            raise api_error(web.HTTPServiceUnavailable, "database_unavailable", str(exc)) from None
        return web.json_response({"campaign": campaign_json(out)}, status=202)

    handler.__name__ = f"{name}_campaign"
    return handler


def add_campaign_routes(app: web.Application) -> None:
    r = app.router
    for prefix in ("/v1", "/v1/repos/{repo}"):
        r.add_post(f"{prefix}/environments/{{env}}/campaigns", create_campaign)
        r.add_get(f"{prefix}/environments/{{env}}/campaigns", list_campaigns)
    r.add_get("/v1/campaigns/{id}", get_campaign)
    for name in ("pause", "resume", "abort"):
        r.add_post(f"/v1/campaigns/{{id}}/{name}", _action(name))
