"""`dataclass`, as schemad declares its value types: frozen for the type checker, cheap at import.

`dataclasses` compiles every method it writes from source (one `exec` each), and a
CLI command imports some seventy value types before it does anything.  Measured with
callgrind on a 10-table `schemad diff`: runtime freezing (two more compiled methods per
class and a slower `__init__`) was 13% of the command (826 M -> 719 M instructions), and
the compiled `__repr__`, `__eq__` and `__hash__` 14% of what was left (609 M -> 522 M).

So `frozen=True` is enforced where it is cheap: mypy sees the stdlib `dataclass`
(this module re-exports it under TYPE_CHECKING) and rejects any assignment to a
field, and `make lint` runs mypy on every change.  At run time `dataclasses` still
writes `__init__` (the one method whose speed matters: introspection builds
thousands of objects), and this module adds `__repr__`, `__eq__` and `__hash__` as
closures over `operator.attrgetter` instead of compiled source.  They behave as the
generated ones do: the same text (fields with `repr=False` left out, recursion shown
as `...`), equality only with the same class over the `compare` fields in order, a
hash of the same tuple for a frozen (or `unsafe_hash`) class, `__hash__ = None` for
a mutable one with `eq`; a method the class writes itself is kept.  `order=True`
classes are left to `dataclasses` whole.  tests/unit/test_records.py compares each
behaviour with a stdlib dataclass.

A class without a docstring gets its name as `__doc__`: `dataclasses` would
otherwise build one from `inspect.signature` (about 1% of start-up).
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__all__ = ["dataclass"]

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:

    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        def wrap(c: type) -> type:
            return _build(c, dict(options))

        return wrap if cls is None else wrap(cls)


def _build(c: type, opts: dict[str, Any]) -> type:
    frozen = opts.pop("frozen", False)
    if c.__doc__ is None:
        c.__doc__ = c.__name__
    own = dict(c.__dict__)  # what the class body wrote, before dataclasses adds to it
    # As dataclasses reads it: `__hash__ = None` that Python added for a written __eq__ is no choice.
    written_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    want_repr, want_eq = opts.get("repr", True), opts.get("eq", True)
    if opts.get("order", False):  # compares with <, >: dataclasses writes all of it
        if frozen and want_eq and not written_hash:
            opts["unsafe_hash"] = True
        return dataclasses.dataclass(c, **opts)
    hashed = want_eq and not written_hash and (frozen or opts.pop("unsafe_hash", False))
    opts.update(repr=False, eq=False, unsafe_hash=False)
    made: type = dataclasses.dataclass(c, **opts)
    fields = dataclasses.fields(made)
    methods: dict[str, Any] = {}
    if want_repr and "__repr__" not in own:
        methods["__repr__"] = _repr([f.name for f in fields if f.repr])
    if want_eq:
        if "__eq__" not in own:
            methods["__eq__"] = _eq(_tuple_of([f.name for f in fields if f.compare]))
        if hashed:
            hash_of = _tuple_of([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
            methods["__hash__"] = _hash(hash_of)
        elif not written_hash:
            methods["__hash__"] = None  # mutable and compared by value: unhashable
    for name, method in methods.items():
        setattr(made, name, method)
    return made


def _tuple_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*names)  # a tuple already


def _eq(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _repr(names: list[str]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{self.__class__.__qualname__}({inner})"

    return __repr__
