"""workspace=local learns the local binaries' flavor from `--version` once, not on every command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemad.model.flavor import Flavor, Vendor
from schemad.workspace import local
from schemad.workspace.local_server import ServerBinaries, version_output


def _fake_server(path: Path, version: str, runs: Path) -> None:
    path.write_text(f"#!/bin/sh\necho run >> {runs}\necho 'mariadbd  Ver {version} for debian-linux-gnu'\n")
    path.chmod(0o755)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("SCHEMAD_CACHE_DIR", str(tmp_path / "cache"))
    binary, runs = tmp_path / "mariadbd", tmp_path / "runs"
    _fake_server(binary, "10.11.6-MariaDB-0+deb12u1", runs)
    monkeypatch.setattr(local, "find_server_binaries", lambda: ServerBinaries(str(binary), str(binary)))
    return binary, runs


def _another_process() -> None:
    local._binary_flavor.cache_clear()
    version_output.cache_clear()


def test_the_version_is_read_once_per_binary(fake: tuple[Path, Path]) -> None:
    binary, runs = fake
    _another_process()
    assert local.local_flavor() == Flavor(Vendor.MARIADB, 10, 11, 6)
    _another_process()
    assert local.local_flavor() == Flavor(Vendor.MARIADB, 10, 11, 6)
    assert runs.read_text().count("run") == 1
    state = local.state_dir() / "binaries.cache"
    assert state.stat().st_mode & 0o777 == 0o600

    # A replaced binary (a package upgrade) is read again.
    _fake_server(binary, "10.11.11-MariaDB", runs)
    os.utime(binary, ns=(1, 1))
    _another_process()
    assert local.local_flavor() == Flavor(Vendor.MARIADB, 10, 11, 11)
    assert runs.read_text().count("run") == 2


def test_an_unreadable_memo_is_ignored(fake: tuple[Path, Path]) -> None:
    _, runs = fake
    local.state_dir().mkdir(parents=True)
    (local.state_dir() / "binaries.cache").write_text("[not a dict")
    _another_process()
    assert local.local_flavor() == Flavor(Vendor.MARIADB, 10, 11, 6)
    assert runs.read_text().count("run") == 1
