"""openapi.yaml and the running app agree: same routes, and every JSON response matches its schema.

`check_response` is the one validator the API tests share: the status must
be documented for the operation, the content type too, and a JSON body must
match the documented schema (references inlined, Draft 2020-12, RFC 3339
timestamps checked).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from schemad.api.app import OPENAPI, create_app
from schemad.daemon_config import EXAMPLE_REPO, DaemonConfig, RepoConfig

METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    datetime.fromisoformat(value)
    return True


@cache
def _spec() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return doc


def spec() -> dict[str, Any]:
    return _spec()


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """The node a local reference (`#/components/...`) points at."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(node: Any, doc: dict[str, Any]) -> Any:
    """The node with every local `$ref` replaced by what it points at (siblings of `$ref` kept)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target = inline(resolve(doc, ref), doc)
            siblings = {k: inline(v, doc) for k, v in node.items() if k != "$ref"}
            return {**target, **siblings} if isinstance(target, dict) else target
        return {k: inline(v, doc) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, doc) for v in node]
    return node


def operations(doc: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(method, path template) of every documented operation."""
    doc = doc or spec()
    return [(m, p) for p, item in doc["paths"].items() for m in item if m in METHODS]


def check_response(
    method: str, template: str, status: int, content_type: str, body: bytes | str | Any
) -> dict[str, Any]:
    """Assert the answer is documented for the operation; returns the documented response."""
    doc = spec()
    op = doc["paths"][template][method.lower()]
    responses = op["responses"]
    assert str(status) in responses, f"{method} {template}: status {status} is not documented"
    response: dict[str, Any] = inline(responses[str(status)], doc)
    content = response.get("content", {})
    media = content_type.split(";")[0].strip().lower()
    assert media in content, f"{method} {template} {status}: content type {media!r} is not documented"
    if media == "application/json":
        schema = content[media]["schema"]
        value = yaml.safe_load(body) if isinstance(body, bytes | str) else body
        jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(value)
    return response


def test_spec_is_openapi_3_1() -> None:
    doc = spec()
    assert doc["openapi"].startswith("3.1")
    assert doc["paths"]
    jsonschema.Draft202012Validator.check_schema(inline(doc["components"]["schemas"], doc))


def test_every_operation_documents_its_errors_as_json() -> None:
    doc = spec()
    ids = [doc["paths"][p][m]["operationId"] for m, p in operations(doc)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for method, path in operations(doc):
        op = inline(doc["paths"][path][method], doc)
        open_ = op.get("security") == []
        if not open_:
            assert {"401", "403"} <= set(op["responses"]), (method, path)
        for status, response in op["responses"].items():
            if int(status) >= 400 and path != "/readyz":  # 503 there is the Readiness answer
                schema = response["content"]["application/json"]["schema"]
                assert schema == inline({"$ref": "#/components/schemas/Error"}, doc), (method, path, status)
        for param in op.get("parameters", []) + doc["paths"][path].get("parameters", []):
            param = inline(param, doc)
            if param["in"] == "path":
                assert "{" + param["name"] + "}" in path, (path, param["name"])


async def test_routes_and_spec_match(aiohttp_client: Any, tmp_path: Path) -> None:
    app = create_app(DaemonConfig(state_dir=tmp_path))
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    assert routes == set(operations())


async def test_responses_match_their_schemas(aiohttp_client: Any, tmp_path: Path) -> None:
    """The GETs without path parameters, on an in-process app with anonymous read."""
    cfg = DaemonConfig(
        state_dir=tmp_path,
        repos=(RepoConfig("example", EXAMPLE_REPO, environments=("nowhere",)),),
        allow_anonymous_read=True,
    )
    client = await aiohttp_client(create_app(cfg))
    checked = 0
    for method, path in operations():
        if method != "get" or "{" in path:
            continue
        r = await client.get(path)
        check_response(method, path, r.status, r.headers["Content-Type"], await r.read())
        checked += 1
    assert checked >= 7
    r = await client.get("/v1/jobs?limit=0")
    check_response("get", "/v1/jobs", r.status, r.headers["Content-Type"], await r.read())
    assert r.status == 400
    r = await client.get("/v1/repos/nope/environments")
    check_response(
        "get", "/v1/repos/{repo}/environments", r.status, r.headers["Content-Type"], await r.read()
    )
    assert r.status == 404
    r = await client.get("/v1/no-such-thing")
    assert r.status == 404
    jsonschema.validate(await r.json(), inline({"$ref": "#/components/schemas/Error"}, spec()))
