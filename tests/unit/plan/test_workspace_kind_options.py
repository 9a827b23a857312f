"""The workspace kind options (issue 12.8): workspace, local-workspace-idle, docker-image, docker-cleanup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemad.errors import ConfigError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir
from schemad.plan.dir_options import DirOptions
from schemad.workspace.scratch import WorkspaceKind, WorkspaceOptions, preflight


def open_dir(tmp_path: Path, skeema: str) -> Dir:
    root = tmp_path / "home" / "repo"
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / ".skeema").write_text(skeema)
    sources = ConfigSources(home=tmp_path / "home", global_files=(), environ={"PATH": os.environ["PATH"]})
    return Dir.open(root, "production", sources)


def test_defaults_are_skeemas_temp_schema(tmp_path: Path) -> None:
    ws = DirOptions.from_dir(open_dir(tmp_path, "schema=app\n")).workspace
    assert ws.kind is WorkspaceKind.TEMP_SCHEMA
    assert ws.local_idle == 300.0 and ws.docker_image == "" and ws.docker_cleanup == "none"


def test_local_and_docker_options_are_read(tmp_path: Path) -> None:
    d = open_dir(tmp_path, "schema=app\nworkspace=local\nlocal-workspace-idle=90s\n")
    assert DirOptions.from_dir(d).workspace == WorkspaceOptions(kind=WorkspaceKind.LOCAL, local_idle=90.0)
    d = open_dir(
        tmp_path,
        "schema=app\nflavor=mariadb:10.6\nworkspace=docker\ndocker-image=mariadb:10.6.12\n"
        "docker-cleanup=destroy\n",
    )
    ws = DirOptions.from_dir(d).workspace
    assert (ws.kind, ws.docker_image, ws.docker_cleanup, ws.flavor) == (
        WorkspaceKind.DOCKER,
        "mariadb:10.6.12",
        "destroy",
        "mariadb:10.6",
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5m", 300.0), ("30s", 30.0), ("1h", 3600.0), ("90", 90.0), ("500ms", 0.5), ("0", 0.0)],
)
def test_idle_durations(tmp_path: Path, value: str, seconds: float) -> None:
    d = open_dir(tmp_path, f"schema=app\nlocal-workspace-idle={value}\n")
    assert DirOptions.from_dir(d).workspace.local_idle == seconds


@pytest.mark.parametrize("skeema", ["local-workspace-idle=soon\n", "workspace=vm\n"])
def test_bad_values_are_config_errors(tmp_path: Path, skeema: str) -> None:
    with pytest.raises(ConfigError):
        DirOptions.from_dir(open_dir(tmp_path, "schema=app\n" + skeema))


def test_preflight_without_docker_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here
    preflight({"temp-schema", "bogus"})  # nothing to check
    with pytest.raises(ConfigError, match="the docker command is not installed") as err:
        preflight({"docker"})
    assert err.value.exit_code == 78
