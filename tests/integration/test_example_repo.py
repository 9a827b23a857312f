"""The bundled example repo (what `make run` serves) is canonical and seeds cleanly."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.daemon_config import EXAMPLE_REPO
from schemad.embedded.seed import seed_repo
from tests.conftest import DBServer
from tests.helpers import load_sql

DROP = "DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS analytics"


def test_example_repo_seeds_and_pulls_unchanged(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not server.socket:
        pytest.fail("the suite's own server always has a unix socket")
    asyncio.run(
        load_sql(server.params, None, "DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS analytics")
    )
    monkeypatch.setenv("SCHEMAD_EMBEDDED_SOCKET", server.socket)
    try:
        failures = asyncio.run(seed_repo(server.socket_params, EXAMPLE_REPO, "embedded"))
        assert failures == []
        repo = tmp_path / "repo"
        shutil.copytree(EXAMPLE_REPO, repo)
        before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
        monkeypatch.chdir(repo)
        assert main(["pull", "embedded", "--skip-new-schemas"]) == 0
        after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
        assert after == before  # the files are exactly what the server prints
    finally:
        asyncio.run(
            load_sql(server.params, None, "DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS analytics")
        )
