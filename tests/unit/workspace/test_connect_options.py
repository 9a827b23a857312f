"""connect-options become `SET SESSION name=value` on each connection: nothing may end that statement."""

from __future__ import annotations

import pytest

from schemad.connection.params import parse_connect_options
from schemad.errors import ConfigError


def test_ordinary_options_parse() -> None:
    got = parse_connect_options(
        "sql_mode='ANSI_QUOTES,TRADITIONAL',wait_timeout=60,time_zone='+00:00',readTimeout=5s,tls=skip-verify"
    )
    assert got == {
        "sql_mode": "'ANSI_QUOTES,TRADITIONAL'",
        "wait_timeout": "60",
        "time_zone": "'+00:00'",
        "readTimeout": "5s",
        "tls": "skip-verify",
    }


@pytest.mark.parametrize(
    "text",
    [
        "sql_mode='x'; DROP DATABASE shop; --'",
        "wait_timeout=1; DROP DATABASE shop",
        "sql_mode='a\\'; DROP DATABASE shop; -- '",  # one string only with backslash escapes
        "x=(SELECT 1)",
        "a b=1",
        "`x`=1",
        "wait_timeout=1 /* c */",
    ],
)
def test_anything_that_could_end_or_extend_the_set_statement_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="connect-options"):
        parse_connect_options(text)
