"""What a local or Docker workspace copies from the target, and what it refuses (issue 12.8)."""

from __future__ import annotations

import pytest

from schemad.connection.params import ConnParams
from schemad.errors import ConfigError
from schemad.model.flavor import Flavor, Vendor
from schemad.workspace import mirror
from schemad.workspace.local_server import flavor_from_version_output

MARIADB_ROW: dict[str, object] = {
    "version": "10.11.6-MariaDB-0+deb12u1",
    "version_comment": "Debian 12",
    "account": "app@%",
    "time_zone": "SYSTEM",
    "utc_offset": "-05:00:00",
    "sql_mode": "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION",
    "character_set_server": "latin1",
    "collation_server": "latin1_swedish_ci",
    "innodb_strict_mode": 1,
    "explicit_defaults_for_timestamp": 0,
    "default_storage_engine": "InnoDB",
    "lower_case_table_names": 0,
    "innodb_page_size": 16384,
    "innodb_default_row_format": "dynamic",
    "innodb_file_per_table": 1,
    "old_mode": "UTF8_IS_UTF8MB3",
    "enforce_storage_engine": None,
    "innodb_compression_default": 0,
}


def M(major: int, minor: int, patch: int = 0) -> Flavor:
    return Flavor(Vendor.MARIADB, major, minor, patch)


@pytest.mark.parametrize(
    ("target", "local", "refused"),
    [
        (M(10, 11, 6), M(10, 11, 19), False),  # patch levels may differ
        (M(10, 6, 2), M(10, 11, 19), True),
        (M(11, 4), M(10, 11), True),
        (Flavor(Vendor.MYSQL, 8, 0), M(10, 11), True),
        (Flavor(Vendor.MYSQL, 8, 0, 36), Flavor(Vendor.MYSQL, 8, 0, 40), False),
        (Flavor(Vendor.PERCONA, 8, 0), Flavor(Vendor.MYSQL, 8, 0), True),
        (Flavor(Vendor.MYSQL, 8, 0, 18), Flavor(Vendor.MYSQL, 8, 0, 36), True),  # int(11) vs int
    ],
)
def test_flavor_must_match_major_minor(target: Flavor, local: Flavor, refused: bool) -> None:
    if refused:
        with pytest.raises(ConfigError):
            mirror.check_flavor("local", target, local, "the local server binaries are")
    else:
        mirror.check_flavor("local", target, local, "the local server binaries are")


def test_mismatch_says_what_to_install() -> None:
    with pytest.raises(ConfigError) as err:
        mirror.check_flavor("local", M(10, 6, 12), M(10, 11, 19), "the local server binaries are")
    assert str(err.value) == (
        "workspace=local: the target is MariaDB 10.6 but the local server binaries are MariaDB 10.11; "
        "install mariadb-server 10.6 or use workspace=temp-schema"
    )
    assert err.value.exit_code == 78
    assert mirror.install_hint(Flavor(Vendor.MYSQL, 8, 4)) == "mysql-server 8.4"


@pytest.mark.parametrize(
    ("text", "flavor"),
    [
        (
            "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)\n",
            M(10, 11, 19),
        ),
        (
            "mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)\n",
            Flavor(Vendor.MYSQL, 8, 0, 36),
        ),
        (
            "mysqld  Ver 8.0.36-28 for Linux on x86_64 (Percona Server (GPL), Release '28')\n",
            Flavor(Vendor.PERCONA, 8, 0, 36),
        ),
    ],
)
def test_binaries_version_output(text: str, flavor: Flavor) -> None:
    assert flavor_from_version_output(text) == flavor


def test_facts_and_session_settings_of_a_mariadb_target() -> None:
    facts = mirror.facts_from_row(MARIADB_ROW)
    assert facts.flavor == M(10, 11, 6) and facts.account == "app@%"
    assert mirror.session_settings(facts) == (
        ("sql_mode", "'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'"),
        ("character_set_server", "'latin1'"),
        ("collation_server", "'latin1_swedish_ci'"),
        ("innodb_strict_mode", "1"),  # a number, not '1': ON/OFF variables refuse the string
        ("explicit_defaults_for_timestamp", "0"),
        ("default_storage_engine", "'InnoDB'"),
        ("old_mode", "'UTF8_IS_UTF8MB3'"),
        ("enforce_storage_engine", "NULL"),
        ("innodb_compression_default", "0"),
        ("time_zone", "'-05:00'"),  # SYSTEM: the target's system zone as its offset now
    )


def test_mysql_target_copies_no_mariadb_variables() -> None:
    row = {**MARIADB_ROW, "version": "8.0.36", "version_comment": "MySQL Community Server - GPL"}
    names = [n for n, _ in mirror.session_settings(mirror.facts_from_row(row))]
    assert "old_mode" not in names and "sql_mode" in names


def test_a_value_that_could_end_the_set_statement_is_refused() -> None:
    facts = mirror.facts_from_row({**MARIADB_ROW, "sql_mode": "ANSI'; DROP DATABASE x; --"})
    with pytest.raises(ConfigError, match="sql_mode"):
        mirror.session_settings(facts)


def test_target_connect_options_win_over_copies() -> None:
    facts = mirror.facts_from_row(MARIADB_ROW)
    target = ConnParams(connect_options=(("sql_mode", "'ANSI'"), ("charset", "utf8mb4")))
    got = mirror.with_target_session(ConnParams(port=1234, user="app"), target, facts)
    names = [k for k, _ in got.connect_options]
    assert names.count("sql_mode") == 1 and got.connect_options[0] == ("sql_mode", "'ANSI'")
    assert got.port == 1234 and "time_zone" in names


def test_global_only_differences_are_refused_by_name() -> None:
    facts = mirror.facts_from_row({**MARIADB_ROW, "lower_case_table_names": 1})
    same = {"lower_case_table_names": "0", "innodb_page_size": "16384"}
    with pytest.raises(ConfigError) as err:
        mirror.check_globals("local", facts, same)
    assert "lower_case_table_names=1 on the target but 0 on the workspace server" in str(err.value)
    assert "workspace=temp-schema" in str(err.value)
    mirror.check_globals("local", mirror.facts_from_row(MARIADB_ROW), same)  # equal: accepted


@pytest.mark.parametrize(
    ("timediff", "zone"), [("00:00:00", "+00:00"), ("05:30:00", "+05:30"), ("-08:00:00", "-08:00")]
)
def test_system_time_zone_as_offset(timediff: str, zone: str) -> None:
    assert mirror._offset(timediff) == zone
