"""The online-schema-change handlers: approve a held cut-over, clean up leftovers, list leftovers.

* `POST /v1/jobs/{id}/cutover` (scope `cutover:<env>`, never implied by
  `push:<env>`): releases the cut-over a `pending_cutover` job holds; the
  token's name is recorded as the approver (job and audit log).  409
  `job_not_pending_cutover` otherwise.  With replicas, a job another replica
  runs is approved by that replica (handed over in the control schema).
* `POST /v1/jobs/{id}/cleanup` (scope `push:<env>`): drops what an ended
  job's tools left, as its statements list it; 409 `job_not_ended` while it
  runs.  The answer lists what was dropped, kept (and why) or failed.
* `GET /v1/environments/{env}/leftovers` (scope `read`): what the tools'
  names hold in each target schema now.  Nothing is dropped.

Thin, as routes.py: look up, check the scope, call the job runner, shape.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schemad.api.auth import WHO, require
from schemad.api.payloads import job_json, leftover_json
from schemad.api.routes import (
    _daemon,
    _env,
    _job_or_404,
    api_error,
    cutover_here,
    forwarded,
    runner_elsewhere,
)
from schemad.service.jobs import JobNotEnded, environment_leftovers

__all__ = ["add_osc_routes"]


def _env_name(job: Any) -> str:
    return str(job.environment).rpartition("/")[2]


async def approve_cutover(request: web.Request) -> web.Response:
    job = await _job_or_404(request)
    require(request, f"cutover:{_env_name(job)}")
    d = _daemon(request)
    elsewhere = await runner_elsewhere(d, job)
    if elsewhere is not None:  # replicas: the runner approves it and answers
        assert d.replicas is not None
        return forwarded(await d.replicas.send(elsewhere, job.id, "cutover", request[WHO], f"job {job.id}"))
    return web.json_response(await cutover_here(d, job, request[WHO]), status=202)


async def cleanup(request: web.Request) -> web.Response:
    job = await _job_or_404(request)
    require(request, f"push:{_env_name(job)}")
    d = _daemon(request)
    try:
        record, outcomes = await d.jobs.cleanup(job.id, request[WHO], d.target_of)
    except JobNotEnded as exc:
        raise api_error(web.HTTPConflict, "job_not_ended", str(exc)) from None
    statements = []
    for o in outcomes:
        c = o.cleanup
        statements.append(
            {
                "index": o.index,
                "target": o.target,
                "error": o.error,
                "dropped": [] if c is None else [leftover_json(x) for x in c.dropped],
                "kept": []
                if c is None
                else [{"leftover": leftover_json(x), "reason": y} for x, y in c.refused],
                "failed": []
                if c is None
                else [{"leftover": leftover_json(x), "error": e} for x, e in c.failed],
                "gone": [] if c is None else [leftover_json(x) for x in c.gone],
                "sql": [] if c is None else list(c.statements),
            }
        )
    return web.json_response({"job": job_json(record), "cleanup": statements})


async def list_leftovers(request: web.Request) -> web.Response:
    require(request, "read")
    key, env = _env(request)
    targets = [t.target for t in env.ordered_targets()]
    found = await environment_leftovers(targets)
    return web.json_response(
        {
            "environment": key,
            "targets": [
                {
                    "address": t.address,
                    "schema": t.schema,
                    "error": t.error,
                    "leftovers": [leftover_json(x) for x in t.leftovers],
                }
                for t in found
            ],
        }
    )


def add_osc_routes(app: web.Application) -> None:
    r = app.router
    for prefix in ("/v1", "/v1/repos/{repo}"):
        r.add_get(f"{prefix}/environments/{{env}}/leftovers", list_leftovers)
    r.add_post("/v1/jobs/{id}/cutover", approve_cutover)
    r.add_post("/v1/jobs/{id}/cleanup", cleanup)
