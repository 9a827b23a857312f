"""`dataclass`, as schemad declares its value types: frozen for the type checker, cheap at import.

Every frozen dataclass costs its module two generated functions
(`__setattr__`/`__delattr__`, each compiled from source by `dataclasses`) and a
slower `__init__` (one `object.__setattr__` call per field).  A CLI command
imports some seventy of them before it does anything: measured with callgrind,
runtime freezing was 13% of a 10-table `schemad diff` (100 M of 826 M
instructions), all of it start-up.

So `frozen=True` is enforced where it is cheap: mypy sees the stdlib
`dataclass` (this module re-exports it under TYPE_CHECKING) and rejects any
assignment to a field, and `make lint` runs mypy on every change.  At run time
the class is built unfrozen with the same `__eq__` and the same field-based
`__hash__` (`unsafe_hash=True` generates what `frozen=True, eq=True` would),
so equality, hashing, sets, dict keys, pickling and `dataclasses.replace`
behave exactly as before.  A class that writes its own `__hash__` keeps it.

A class without a docstring also gets its name as `__doc__`: `dataclasses`
would otherwise build one from `inspect.signature` (about 1% of start-up).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

__all__ = ["dataclass"]

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:

    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        if options.pop("frozen", False):
            options["_hash_unless_written"] = True

        def wrap(c: type) -> type:
            opts = dict(options)
            if (
                opts.pop("_hash_unless_written", False)
                and opts.get("eq", True)
                and "__hash__" not in c.__dict__
            ):
                opts["unsafe_hash"] = True
            if c.__doc__ is None:
                c.__doc__ = c.__name__
            return dataclasses.dataclass(c, **opts)

        return wrap if cls is None else wrap(cls)
