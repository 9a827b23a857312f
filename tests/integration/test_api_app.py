"""The daemon's HTTP app as it stands: health, readiness, repos, JSON errors."""

from __future__ import annotations

from typing import Any

from schemad.api.app import create_app
from schemad.config import EXAMPLE_REPO, DaemonConfig, RepoConfig


async def test_health_ready_and_repos(aiohttp_client: Any) -> None:
    config = DaemonConfig(repos=(RepoConfig(name="example", path=EXAMPLE_REPO),))
    client = await aiohttp_client(create_app(config))
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json()) == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status == 200 and (await r.json())["ready"] is True
    r = await client.get("/v1/repos")
    body = await r.json()
    assert body["repos"][0]["name"] == "example"
    assert body["repos"][0]["environments"] == ["embedded", "production"]


async def test_unknown_path_is_json_404(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(DaemonConfig()))
    r = await client.get("/v1/nothing-here")
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "not_found"
