"""temp-schema-environment resolution (issue 14.4): the other environment's server, read for the same dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemad.errors import ConfigError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir
from schemad.plan.dir_options import DirOptions

SKEEMA = """temp-schema-environment=development
user=app
connect-options=wait_timeout=30

[production]
host=prod.example
password=prod-secret

[development]
host=dev.example:3307
user=ws
password=$DEV_PW
"""


def open_dir(tmp_path: Path, cli: dict[str, str | None] | None = None, env: str = "production") -> Dir:
    root = tmp_path / "home" / "repo"
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)
    (root / ".skeema").write_text(SKEEMA)
    (root / "app" / ".skeema").write_text("schema=app\n[development]\nconnect-options=wait_timeout=60\n")
    environ = {"PATH": os.environ["PATH"], "DEV_PW": "dev-secret"}
    sources = ConfigSources(home=tmp_path / "home", global_files=(), environ=environ, cli=cli or {})
    return Dir.open(root / "app", env, sources)


def test_the_other_environments_server_user_password_and_options(tmp_path: Path) -> None:
    ws = DirOptions.from_dir(open_dir(tmp_path)).workspace
    assert ws.environment == "development" and ws.server is not None
    s = ws.server
    assert (s.host, s.port, s.user, s.password) == ("dev.example", 3307, "ws", "dev-secret")
    assert s.connect_options == (("wait_timeout", "60"),)  # the subdir's [development] section
    assert "dev-secret" not in repr(ws)


def test_the_command_line_overrides_both_environments(tmp_path: Path) -> None:
    s = DirOptions.from_dir(open_dir(tmp_path, {"user": "cli_user"})).workspace.server
    assert s is not None and s.user == "cli_user"


@pytest.mark.parametrize(
    "cli",
    [
        {"temp-schema-environment": ""},
        {"temp-schema-environment": "production"},  # its own environment: the target itself
        {"workspace": "local"},  # Skeema: workspace=docker ignores it; so does local
        {"workspace": "docker"},
    ],
)
def test_when_the_temp_schema_stays_where_it_was(tmp_path: Path, cli: dict[str, str | None]) -> None:
    ws = DirOptions.from_dir(open_dir(tmp_path, cli)).workspace
    assert (ws.server, ws.environment) == (None, "")


def test_an_environment_without_a_host_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"temp-schema-environment=staging \(command line\): no host is "):
        DirOptions.from_dir(open_dir(tmp_path, {"temp-schema-environment": "staging"}))


def test_the_target_keeps_its_own_environment(tmp_path: Path) -> None:
    d = open_dir(tmp_path)
    assert d.hosts()[0].host == "prod.example" and d.password() == "prod-secret"
    other = d.in_environment("development")
    assert other.environment == "development" and d.environment == "production"
    assert other.hosts()[0].host == "dev.example"
