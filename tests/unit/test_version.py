"""The version the code reports is the package's."""

from __future__ import annotations

import tomllib
from pathlib import Path

import schemad


def test_package_version_matches_pyproject() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert schemad.__version__ == pyproject["project"]["version"]
