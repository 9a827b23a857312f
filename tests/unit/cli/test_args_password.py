"""parse_args marks a bare -p / --password directly followed by a positional (`-p secret`)."""

from __future__ import annotations

import pytest

from schemad.cli.args import parse_args
from schemad.fs.registry import SKEEMA_OPTIONS


@pytest.mark.parametrize(
    ("argv", "marked"),
    [
        (["-p", "secret"], True),
        (["--password", "secret"], True),
        (["-up", "x"], False),  # -u takes the rest of the word: user "p", no password
        (["-h", "db", "-p", "staging"], True),
        (["staging", "-p"], False),  # environment first, then a prompt
        (["-psecret", "staging"], False),  # attached
        (["--password=secret", "staging"], False),
        (["-p", "--host=db", "staging"], False),  # an option in between
        (["-p", "--", "staging"], False),  # explicit end of options
        (["-u", "p", "staging"], False),
    ],
)
def test_password_then_positional(argv: list[str], marked: bool) -> None:
    parsed = parse_args("init", argv, SKEEMA_OPTIONS)
    assert parsed.password_then_positional is marked
    if argv[0] == "-up":
        assert parsed.options["user"] == "p" and "password" not in parsed.options
