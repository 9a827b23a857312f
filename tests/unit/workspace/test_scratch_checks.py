"""What scratch_schema refuses before it connects: a temp schema it must not drop, non-name charsets."""

from __future__ import annotations

import pytest

from schemad.connection.params import ConnParams
from schemad.errors import ConfigError
from schemad.workspace.scratch import WorkspaceOptions, check_charset_names
from schemad.workspace.tempschema import exec_statements

NOWHERE = ConnParams(host="203.0.113.1", port=1)  # never reached: the checks come first


@pytest.mark.parametrize("temp", ["shop", "mysql", "INFORMATION_SCHEMA", "sys", ""])
async def test_temp_schema_that_would_be_dropped_is_refused(temp: str) -> None:
    with pytest.raises(ConfigError, match="temp-schema"):
        await exec_statements(
            NOWHERE,
            [],
            schema_name="shop",
            char_set="utf8mb4",
            collation="utf8mb4_general_ci",
            options=WorkspaceOptions(temp_schema=temp),
        )


@pytest.mark.parametrize(
    ("char_set", "collation"),
    [("utf8mb4; DROP DATABASE shop", "utf8mb4_general_ci"), ("utf8mb4", "x COLLATE y"), ("", "utf8mb4_bin")],
)
def test_charset_names_must_be_names(char_set: str, collation: str) -> None:
    with pytest.raises(ConfigError):
        check_charset_names(char_set, collation)


def test_plain_names_pass() -> None:
    check_charset_names("utf8mb4", "utf8mb4_0900_ai_ci")


async def test_nothing_to_run_needs_no_server_and_no_temp_schema() -> None:
    """Every file a fixed point (a no-change diff after init): the workspace is not set up at all."""
    result = await exec_statements(
        NOWHERE, [], schema_name="shop", char_set="utf8mb4", collation="utf8mb4_general_ci"
    )
    assert (result.schema.name, result.schema.char_set, result.schema.objects(), result.failures) == (
        "shop",
        "utf8mb4",
        {},
        (),
    )
