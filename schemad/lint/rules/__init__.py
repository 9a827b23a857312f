"""The registry of lint rules: every rule, listed explicitly, one module per family.

A rule is registered by adding it to :data:`ALL_RULES` (no import-time side effects).
"""

from __future__ import annotations

from collections.abc import Mapping

from schemad.lint.rule import Rule
from schemad.lint.rules.auto_inc import AUTO_INC
from schemad.lint.rules.charset import CHARSET
from schemad.lint.rules.columns import (
    DISPLAY_WIDTH,
    HAS_ENUM,
    HAS_FLOAT,
    HAS_TIME,
    IDS,
    NULLABLE,
    ZERO_DATE,
)
from schemad.lint.rules.definer import DEFINER
from schemad.lint.rules.keys import DUPE_INDEX, FK_PARENT, HAS_FK, PK, PK_TYPE
from schemad.lint.rules.names import NAME_CASE, RESERVED_WORD
from schemad.lint.rules.presence import HAS_EVENT, HAS_ROUTINE, HAS_TRIGGER, HAS_VIEW
from schemad.lint.rules.renames import STALE_RENAME
from schemad.lint.rules.storage import COMPRESSION, ENGINE

__all__ = ["ALL_RULES", "RULES_BY_NAME"]

ALL_RULES: tuple[Rule, ...] = (
    PK,
    DUPE_INDEX,
    CHARSET,
    ENGINE,
    COMPRESSION,
    AUTO_INC,
    DEFINER,
    ZERO_DATE,
    RESERVED_WORD,
    FK_PARENT,
    DISPLAY_WIDTH,
    HAS_ENUM,
    HAS_FK,
    HAS_FLOAT,
    HAS_TIME,
    HAS_ROUTINE,
    NAME_CASE,
    PK_TYPE,
    IDS,
    NULLABLE,
    HAS_VIEW,
    HAS_TRIGGER,
    HAS_EVENT,
    STALE_RENAME,
)

RULES_BY_NAME: Mapping[str, Rule] = {r.name: r for r in ALL_RULES}
