"""LintOptions: Skeema's defaults, and values parsed from option strings."""

from __future__ import annotations

import pytest

from schemad.errors import ConfigError
from schemad.lint.options import DEFAULT_SEVERITIES, LintOptions, Severity, normalize_type
from schemad.lint.rules import RULES_BY_NAME


def test_defaults_are_skeemas() -> None:
    opts = LintOptions()
    assert opts.severity("pk") is Severity.WARNING
    assert opts.severity("definer") is Severity.ERROR
    assert opts.severity("display-width") is Severity.WARNING
    for name in ("has-enum", "has-fk", "name-case", "pk-type", "ids", "nullable", "has-view", "has-event"):
        assert opts.severity(name) is Severity.IGNORE
    assert opts.allow_charset == {"latin1", "utf8mb4"}
    assert opts.allow_engine == {"innodb"}
    assert opts.allow_compression == {"none", "4kb", "8kb"}
    assert opts.allow_auto_inc == {"int unsigned", "bigint unsigned"}
    assert opts.allow_definer == ("%@%",)
    assert opts.allow_pk_type == frozenset()
    assert LintOptions.from_values({}) == opts


def test_every_rule_has_a_default() -> None:
    assert set(DEFAULT_SEVERITIES) == set(RULES_BY_NAME)


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("warning", Severity.WARNING),
        ("ERROR", Severity.ERROR),
        ("ignore", Severity.IGNORE),
        ("", Severity.IGNORE),
        ("false", Severity.IGNORE),
        ("0", Severity.IGNORE),
    ],
)
def test_severity_values(value: str, severity: Severity) -> None:
    assert LintOptions.from_values({"lint-pk": value}).severity("pk") is severity


def test_bad_severity() -> None:
    with pytest.raises(ConfigError, match="lint-pk"):
        LintOptions.from_values({"lint-pk": "loud"})


def test_allow_lists_from_strings() -> None:
    opts = LintOptions.from_values(
        {
            "allow-charset": "utf8, Latin1 ,,",
            "allow-engine": "InnoDB,MyISAM",
            "allow-compression": "none, PAGE",
            "allow-auto-inc": "INT(11) UNSIGNED,  bigint(20)   unsigned",
            "allow-definer": "root@localhost, 'app'@'%'",
            "allow-pk-type": "bigint unsigned",
            "host": "ignored",
        }
    )
    assert opts.allow_charset == {"utf8mb3", "latin1"}
    assert opts.allow_engine == {"innodb", "myisam"}
    assert opts.allow_compression == {"none", "page"}
    assert opts.allow_auto_inc == {"int unsigned", "bigint unsigned"}
    assert opts.allow_definer == ("root@localhost", "'app'@'%'")
    assert opts.allow_pk_type == {"bigint unsigned"}
    assert LintOptions.from_values({"allow-auto-inc": ""}).allow_auto_inc == frozenset()


@pytest.mark.parametrize(
    ("text", "normal"),
    [("int(11)", "int"), ("BIGINT(20) UNSIGNED", "bigint unsigned"), ("varchar(10)", "varchar(10)")],
)
def test_normalize_type(text: str, normal: str) -> None:
    assert normalize_type(text) == normal
