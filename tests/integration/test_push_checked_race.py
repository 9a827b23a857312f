"""A push checked while the watcher re-reads its dir is refused (409), never a 500.

The daemon checks a push against a fresh poll and then plans each target; the
file watcher can replace the dir's desired state between those awaits.  The
interleaving is forced here by letting the dir's desired state go missing
right as the target is planned, which is what a re-read in flight looks like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemad.api.app import create_app
from schemad.api.routes import DAEMON
from schemad.connection.instance import Instance
from schemad.daemon_config import DaemonConfig, RepoConfig
from schemad.service.environment import RepoEnvironment
from schemad.service.push import PushOutcomeKind, PushRequest, environment_hash, push_environment, selected
from tests.conftest import DBServer


def _repo(root: Path, server: DBServer, schema: str) -> None:
    p = server.params
    (root / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
    d = root / schema
    d.mkdir()
    (d / ".skeema").write_text(f"schema={schema}\n")
    (d / "t.sql").write_text("CREATE TABLE t (id int NOT NULL PRIMARY KEY, x int DEFAULT NULL);\n")


async def test_push_planned_while_the_dir_is_reread_is_refused(
    aiohttp_client: Any,
    tmp_path: Path,
    server: DBServer,
    instance: Instance,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await instance.execute(f"CREATE TABLE `{schema}`.t (id int NOT NULL PRIMARY KEY)")
    root = tmp_path / "repo"
    root.mkdir()
    _repo(root, server, schema)
    cfg = DaemonConfig(
        state_dir=tmp_path / "state",
        repos=(RepoConfig("r", root, environments=("production",)),),
        allow_anonymous_read=True,
    )
    client = await aiohttp_client(create_app(cfg))
    daemon = client.app[DAEMON]
    found = daemon.find("production")
    assert found is not None
    key, env = found
    await daemon.refresh(key, env)
    sel = selected(env, (), ())
    assert [d for _, d in sel if d is not None and d.steps] and all(t.error is None for t, _ in sel)
    reviewed = environment_hash(key, env, sel)

    original = RepoEnvironment.push_plan

    async def push_plan_during_reread(self: RepoEnvironment, *args: Any, **kwargs: Any) -> Any:
        for ds in self.dirs.values():
            ds.desired.clear()  # the re-read has dropped the old state and not built the new one yet
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(RepoEnvironment, "push_plan", push_plan_during_reread)
    outcome = await push_environment(daemon, key, env, PushRequest(plan_hash=reviewed, who="test"))
    assert outcome.kind is PushOutcomeKind.PLAN_CHANGED, outcome
    assert "not evaluated yet" in outcome.message and "review the diff again" in outcome.message
    assert not env.push_lock.locked()
    rows = await instance.query(
        "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME='t'",
        (schema,),
    )
    assert rows[0]["n"] == 1  # nothing ran
