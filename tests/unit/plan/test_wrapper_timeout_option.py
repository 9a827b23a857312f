"""wrapper-timeout (schemad addition): a .skeema duration that bounds each wrapper run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemad.errors import ConfigError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir
from schemad.plan.dir_options import DirOptions


def _timeout(tmp_path: Path, extra: str) -> float | None:
    root = tmp_path / "home" / "repo"
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / ".skeema").write_text(f"schema=app\nalter-wrapper=echo {{TABLE}}\n{extra}")
    sources = ConfigSources(home=tmp_path / "home", global_files=(), environ={"PATH": os.environ["PATH"]})
    return DirOptions.from_dir(Dir.open(root, "production", sources)).wrappers.timeout


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("", None),
        ("wrapper-timeout=0\n", None),
        ("wrapper-timeout=90\n", 90.0),
        ("wrapper-timeout=6h\n", 21600.0),
    ],
)
def test_the_option_sets_the_wrapper_timeout(tmp_path: Path, line: str, seconds: float | None) -> None:
    assert _timeout(tmp_path, line) == seconds


def test_a_bad_value_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wrapper-timeout"):
        _timeout(tmp_path, "wrapper-timeout=soon\n")
