"""LintOptions: the severity of every rule and the allow-* lists, as values.

Built from option name -> string value (``lint-pk`` = ``warning``,
``allow-charset`` = ``latin1,utf8mb4``) exactly as the config hands them over;
it does not read config itself.  Defaults are Skeema's (reference §7), plus
schemad's ``has-view``/``has-trigger``/``has-event`` (Skeema Premium), ignored,
and ``stale-rename`` (a `@renamed` annotation already applied), a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum

from schemad import lazyre
from schemad.errors import ConfigError
from schemad.records import dataclass

__all__ = ["DEFAULT_SEVERITIES", "LintOptions", "Severity", "normalize_charset", "normalize_type"]


class Severity(StrEnum):
    IGNORE = "ignore"
    WARNING = "warning"
    ERROR = "error"


#: Skeema's default severity of each rule, keyed by rule name (the option minus ``lint-``).
DEFAULT_SEVERITIES: Mapping[str, Severity] = {
    "pk": Severity.WARNING,
    "dupe-index": Severity.WARNING,
    "charset": Severity.WARNING,
    "engine": Severity.WARNING,
    "compression": Severity.WARNING,
    "auto-inc": Severity.WARNING,
    "definer": Severity.ERROR,
    "zero-date": Severity.WARNING,
    "reserved-word": Severity.WARNING,
    "fk-parent": Severity.WARNING,
    "display-width": Severity.WARNING,
    "has-enum": Severity.IGNORE,
    "has-fk": Severity.IGNORE,
    "has-float": Severity.IGNORE,
    "has-time": Severity.IGNORE,
    "has-routine": Severity.IGNORE,
    "name-case": Severity.IGNORE,
    "pk-type": Severity.IGNORE,
    "ids": Severity.IGNORE,
    "nullable": Severity.IGNORE,
    "has-view": Severity.IGNORE,
    "has-trigger": Severity.IGNORE,
    "has-event": Severity.IGNORE,
    "stale-rename": Severity.WARNING,
}

# Bool-false spellings (`skip-lint-pk`, `lint-pk=0`) mean ignore.
_FALSE = frozenset({"", "0", "false", "off", "no", "skip"})
_DISPLAY_WIDTH_RE = lazyre.compile(r"^([a-z]*int)\(\d+\)")


def normalize_charset(name: str) -> str:
    """Lower case; ``utf8`` and ``utf8mb3`` are one character set."""
    low = name.strip().lower()
    return "utf8mb3" if low == "utf8" else low


def normalize_type(type_text: str) -> str:
    """A column type for comparing with allow lists: lower case, single spaces, no int display width."""
    text = " ".join(type_text.lower().split())
    return _DISPLAY_WIDTH_RE.sub(r"\1", text)


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _severity(name: str, value: str) -> Severity:
    low = value.strip().lower()
    if low in _FALSE:
        return Severity.IGNORE
    try:
        return Severity(low)
    except ValueError:
        raise ConfigError(
            f'option lint-{name}: "{value}" is not one of "ignore", "warning", "error"'
        ) from None


@dataclass(frozen=True, slots=True)
class LintOptions:
    """What to lint and how severely; the defaults are Skeema's."""

    severities: Mapping[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    allow_charset: frozenset[str] = frozenset({"latin1", "utf8mb4"})  # normalize_charset() form
    allow_engine: frozenset[str] = frozenset({"innodb"})  # lower case
    allow_compression: frozenset[str] = frozenset({"none", "4kb", "8kb"})  # lower case
    allow_auto_inc: frozenset[str] = frozenset({"int unsigned", "bigint unsigned"})  # normalize_type()
    allow_definer: tuple[str, ...] = ("%@%",)  # user@host patterns with % and _ wildcards
    allow_pk_type: frozenset[str] = frozenset()  # normalize_type() form

    def severity(self, rule: str) -> Severity:
        """The severity of `rule`; a rule nobody configured is ignored."""
        return self.severities.get(rule, DEFAULT_SEVERITIES.get(rule, Severity.IGNORE))

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> LintOptions:
        """Options from option name -> string value; other options are skipped, missing ones default."""
        severities = dict(DEFAULT_SEVERITIES)
        for name, value in values.items():
            if name.startswith("lint-"):
                severities[name[5:]] = _severity(name[5:], value)
        base = cls()

        def listed(option: str, default: frozenset[str]) -> frozenset[str]:
            if option not in values:
                return default
            return frozenset(item.lower() for item in _split(values[option]))

        allow_charset = base.allow_charset
        if "allow-charset" in values:
            allow_charset = frozenset(normalize_charset(c) for c in _split(values["allow-charset"]))
        allow_auto_inc = base.allow_auto_inc
        if "allow-auto-inc" in values:
            allow_auto_inc = frozenset(normalize_type(t) for t in _split(values["allow-auto-inc"]))
        allow_pk_type = base.allow_pk_type
        if "allow-pk-type" in values:
            allow_pk_type = frozenset(normalize_type(t) for t in _split(values["allow-pk-type"]))
        allow_definer = base.allow_definer
        if "allow-definer" in values:
            allow_definer = _split(values["allow-definer"])
        return cls(
            severities=severities,
            allow_charset=allow_charset,
            allow_engine=listed("allow-engine", base.allow_engine),
            allow_compression=listed("allow-compression", base.allow_compression),
            allow_auto_inc=allow_auto_inc,
            allow_definer=allow_definer,
            allow_pk_type=allow_pk_type,
        )
