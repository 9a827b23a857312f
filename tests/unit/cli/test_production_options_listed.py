"""Issue 14.8: the options for reaching production servers are real options.

Each is listed in the --help of the commands that take it, documented in the
README, and a misspelling of one is an error at its file and line like any
other unknown option (no Premium-style tolerance left).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemad.cli.help import command_help
from schemad.errors import OptionFileError
from schemad.fs.optionfile import OptionFile
from schemad.fs.registry import SKEEMA_OPTIONS

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()

# option -> a command whose --help must list it
PRODUCTION_OPTIONS = {
    "ssl-mode": "diff",
    "ssl-ca": "push",
    "ssl-cert": "pull",
    "ssl-key": "init",
    "ssl-verify-server-cert": "lint",
    "server-public-key-path": "diff",
    "ssh": "push",
    "ssh-to-db": "diff",
    "ssh-known-hosts": "init",
    "ssh-identity-file": "pull",
    "temp-schema-environment": "diff",
    "strip-definer": "pull",
    "update-views": "format",
    "inserts": "push",
    "update-seed-inserts": "pull",
    "ignore-view": "diff",
    "ignore-trigger": "init",
    "ignore-event": "push",
}


def test_none_is_left_tolerated_and_ignored() -> None:
    assert [o.name for o in SKEEMA_OPTIONS if o.premium] == []


@pytest.mark.parametrize(("name", "command"), sorted(PRODUCTION_OPTIONS.items()))
def test_listed_in_help_and_readme(name: str, command: str) -> None:
    assert f"--{name}" in command_help(command, "summary"), f"{command} --help does not list {name}"
    assert f"`{name}`" in README or f"{name}=" in README or f"--{name}" in README, name


@pytest.mark.parametrize("typo", ["ssl-verify-server-crt", "ssh-too-db", "strip-definers", "insert"])
def test_a_misspelled_one_is_an_error_at_its_line(tmp_path: Path, typo: str) -> None:
    path = tmp_path / ".skeema"
    with pytest.raises(OptionFileError) as err:
        OptionFile.parse(f"host=db.example\n[production]\n{typo}=1\n", path)
    assert err.value.line == 3 and typo in str(err.value)
