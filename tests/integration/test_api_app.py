"""The daemon's HTTP app as it stands: health, readiness, repos, metrics, state, systemd, errors."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from schemad.api.app import STORE, create_app
from schemad.daemon_config import EXAMPLE_REPO, DaemonConfig, RepoConfig
from schemad.service.state import JobRecord, JobState, SqliteStateStore, StatementRecord


def config(tmp_path: Path, **kw: Any) -> DaemonConfig:
    kw.setdefault("allow_anonymous_read", True)
    return DaemonConfig(state_dir=tmp_path / "state", **kw)


async def test_health_ready_and_repos(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(
        create_app(config(tmp_path, repos=(RepoConfig("example", EXAMPLE_REPO, environments=("nowhere",)),)))
    )
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json()) == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status == 200 and (await r.json())["ready"] is True
    r = await client.get("/v1/repos")
    body = await r.json()
    assert body["repos"][0]["name"] == "example"
    assert body["repos"][0]["environments"] == ["embedded", "production"]


async def test_unknown_path_is_json_404(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(config(tmp_path)))
    r = await client.get("/v1/nothing-here")
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "not_found"


async def test_metrics_endpoint(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(config(tmp_path)))
    r = await client.get("/metrics")
    assert r.status == 200 and r.content_type == "text/plain"
    text = await r.text()
    assert "schemad_build_info{" in text and "schemad_alter_wrapper_running 0.0" in text


async def test_jobs_left_running_are_marked_interrupted_on_start(aiohttp_client: Any, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    with SqliteStateStore(tmp_path / "state" / "state.sqlite3") as store:
        now = time.time()
        stmts = (StatementRecord("ALTER 1", "done"), StatementRecord("ALTER 2", "pending"))
        store.create_job(
            JobRecord(
                "j1", "production", "repo", "h", "ci", now, JobState.RUNNING, stmts, None, now, 4242, None
            )
        )
    client = await aiohttp_client(create_app(config(tmp_path)))
    job = client.app[STORE].get_job("j1")
    assert job is not None and job.state is JobState.INTERRUPTED
    assert [s.status for s in job.statements] == ["done", "not_run"]


async def test_systemd_is_told_ready_and_stopping(
    aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        client = await aiohttp_client(create_app(config(tmp_path)))
        assert sock.recv(4096) == b"READY=1"
        await client.close()
        assert sock.recv(4096) == b"STOPPING=1"


async def test_sighup_reloads_the_config_file(aiohttp_client: Any, tmp_path: Path) -> None:
    import asyncio
    import os
    import signal

    repo = tmp_path / "repo"
    repo.mkdir()
    toml = tmp_path / "schemad.toml"
    toml.write_text(
        f'state_dir = "state"\nallow_anonymous_read = true\n[[repos]]\nname = "first"\npath = "{repo}"\n'
    )
    client = await aiohttp_client(create_app(DaemonConfig.load(toml)))
    assert [r["name"] for r in (await (await client.get("/v1/repos")).json())["repos"]] == ["first"]

    toml.write_text(
        f'state_dir = "state"\nallow_anonymous_read = true\n[[repos]]\nname = "second"\npath = "{repo}"\n'
    )
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(100):
        await asyncio.sleep(0.01)
        names = [r["name"] for r in (await (await client.get("/v1/repos")).json())["repos"]]
        if names == ["second"]:
            break
    assert names == ["second"]

    toml.write_text("this is = not [valid toml\n")
    os.kill(os.getpid(), signal.SIGHUP)
    await asyncio.sleep(0.1)
    names = [r["name"] for r in (await (await client.get("/v1/repos")).json())["repos"]]
    assert names == ["second"]  # a broken file keeps the running configuration
