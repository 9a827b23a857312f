"""Config.check_values: every set value checked against its option's type, reported at its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemad.errors import ConfigError
from schemad.fs.cascade import Config, ConfigSources


def load(tmp_path: Path, text: str, cli: dict[str, str | None] | None = None, **environ: str) -> Config:
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / ".skeema").write_text(text)
    src = ConfigSources(home=tmp_path / "home", global_files=(), environ=environ, cli=cli or {})
    return Config.load(tmp_path, "production", src)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port=notanumber\n", r"\.skeema:1: option port: 'notanumber' is not an integer"),
        (
            "user=x\n[production]\nsafe-below-size=1T\n",
            r"\.skeema:3: option safe-below-size: '1T' is not a size",
        ),
        ("lint-pk=loud\n", r"\.skeema:1: option lint-pk can only be set to one of"),
        ("ignore-table=(\n", r"\.skeema:1: invalid regular expression for option ignore-table"),
    ],
)
def test_bad_values_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    cfg = load(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        cfg.check_values()


def test_command_line_values_are_checked_too(tmp_path: Path) -> None:
    cfg = load(tmp_path, "", cli={"concurrent-servers": "many"})
    with pytest.raises(ConfigError, match=r"^command line: option concurrent-servers: .many. is not"):
        cfg.check_values()


@pytest.mark.parametrize(
    "text",
    [
        "port=3307\nsafe-below-size=10M\nlint-pk=error\nskip-lint-engine\nworkspace=DOCKER\nignore-table=^x\n",
        "port=\n",  # empty: the default
        "port=$DB_PORT\n",  # expanded by the getter, which sees the environment's value
        "[staging]\nport=notanumber\n",  # another environment's section is not read
    ],
)
def test_good_values_and_what_is_not_checked(tmp_path: Path, text: str) -> None:
    load(tmp_path, text, DB_PORT="3307").check_values()
