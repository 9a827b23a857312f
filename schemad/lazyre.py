"""Regular expressions compiled on first use instead of at import.

schemad's modules hold some 150 module-level patterns; compiling them all at
import was 9% of a 10-table `schemad diff` (callgrind: 71 M instructions),
though one command uses a fraction of them.  `compile` returns a stand-in
that compiles on its first attribute access and then keeps the compiled
pattern's methods as its own attributes, so later calls cost what a
compiled pattern's do.  It is typed as `re.Pattern`: use it only through its
attributes (`.match`, `.sub`, `.pattern`, ...), not as an argument to
`re.sub(pattern, ...)` or `isinstance(x, re.Pattern)`.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

__all__ = ["compile"]

_ATTRS = (
    "match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split",
    "pattern", "flags", "groups", "groupindex",
)  # fmt: skip


class _LazyPattern:
    __slots__ = ("__dict__", "_flags", "_source")

    def __init__(self, source: str | bytes, flags: int) -> None:
        self._source = source
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only called while an attribute is missing
        compiled = re.compile(self._source, self._flags)
        for attr in _ATTRS:
            setattr(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazyre.compile({self._source!r}, {self._flags!r})"


def compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """`re.compile(pattern, flags)`, compiled when first used."""
    return cast("re.Pattern[AnyStr]", _LazyPattern(pattern, int(flags)))
