"""openapi.yaml and the running app agree: same routes, and every JSON response matches its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from schemad.api.app import OPENAPI, create_app
from schemad.config import EXAMPLE_REPO, DaemonConfig, RepoConfig


def spec() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return doc


def inline(node: Any, components: dict[str, Any]) -> Any:
    """The schema with every `#/components/schemas/X` reference replaced by X."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return inline(components[ref.rsplit("/", 1)[1]], components)
        return {k: inline(v, components) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, components) for v in node]
    return node


def test_spec_is_openapi_3_1() -> None:
    doc = spec()
    assert doc["openapi"].startswith("3.1")
    assert doc["paths"]


async def test_routes_and_spec_match(aiohttp_client: Any, tmp_path: Path) -> None:
    app = create_app(DaemonConfig(state_dir=tmp_path))
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    documented = {(m, p) for p, ops in spec()["paths"].items() for m in ops}
    assert routes == documented


async def test_responses_match_their_schemas(aiohttp_client: Any, tmp_path: Path) -> None:
    doc = spec()
    components = doc["components"]["schemas"]
    cfg = DaemonConfig(
        state_dir=tmp_path,
        repos=(RepoConfig("example", EXAMPLE_REPO, environments=("nowhere",)),),
        allow_anonymous_read=True,
    )
    client = await aiohttp_client(create_app(cfg))
    for path, ops in doc["paths"].items():
        r = await client.get(path)
        responses = ops["get"]["responses"]
        assert str(r.status) in responses, (path, r.status)
        content = responses[str(r.status)]["content"]
        assert r.content_type in content, (path, r.content_type)
        if r.content_type == "application/json":
            schema = inline(content["application/json"]["schema"], components)
            jsonschema.validate(await r.json(), schema)
    r = await client.get("/v1/no-such-thing")
    assert r.status == 404
    jsonschema.validate(await r.json(), inline({"$ref": "#/components/schemas/Error"}, components))
