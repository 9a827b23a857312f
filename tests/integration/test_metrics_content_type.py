"""/metrics says which exposition format it is: Prometheus text format 0.0.4, with its version parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from schemad.api.app import create_app
from schemad.daemon_config import DaemonConfig


async def test_metrics_content_type_keeps_the_format_version(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(DaemonConfig(state_dir=tmp_path / "state")))
    # What Prometheus 2 sends: the client library's format is the text format's fallback.
    accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
    for headers in ({}, {"Accept": accept}):
        r = await client.get("/metrics", headers=headers)
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        # ... and the body is that format: it parses, with the daemon's own series in it.
        families = {f.name for f in text_string_to_metric_families(await r.text())}
        assert {"schemad_build_info", "schemad_alter_wrapper_running"} <= families, families
