"""schemad.records.dataclass: frozen for mypy, built unfrozen at run time with the same value semantics."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from dataclasses import field
from pathlib import Path

import pytest

from schemad import lazyre
from schemad.records import dataclass


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class OwnHash:
    """Writes its own __hash__, which is kept."""

    x: int

    def __hash__(self) -> int:
        return 7


@dataclass(frozen=True, slots=True, order=True)
class Ranked(Point):
    z: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class StdPoint:
    x: int
    y: tuple[int, ...] = ()


def test_value_semantics_match_a_stdlib_frozen_dataclass() -> None:
    a, b = Point(1, (2,)), Point(1, (2,))
    std = StdPoint(1, (2,))
    assert a == b and a is not b
    assert hash(a) == hash(b) == hash(std)  # the same field tuple is hashed
    assert len({a, b}) == 1 and {a: "v"}[b] == "v"
    assert a != Point(2) and a != std  # other values, other classes
    assert repr(a) == "Point(x=1, y=(2,))"
    assert dataclasses.replace(a, x=3) == Point(3, (2,))
    assert pickle.loads(pickle.dumps(a)) == a
    assert not hasattr(a, "__dict__")  # slots kept
    assert Ranked(1, (), 2) < Ranked(2) and Ranked(2) == Ranked(2, (), 0)


def test_a_written_hash_and_a_docstring_are_kept_and_a_missing_docstring_is_cheap() -> None:
    assert hash(OwnHash(1)) == 7
    assert OwnHash.__doc__ == "Writes its own __hash__, which is kept."
    assert Point.__doc__ == "Point"  # not built from inspect.signature


@dataclass(frozen=True, slots=True)
class Secretive:
    user: str
    password: str = field(default="", repr=False)
    note: str = field(default="", compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class StdSecretive:
    user: str
    password: str = dataclasses.field(default="", repr=False)
    note: str = dataclasses.field(default="", compare=False)


@dataclass(slots=True)
class Mutable:
    x: int
    items: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnEq:
    x: int
    y: int = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OwnEq) and self.x == other.x


@dataclass(frozen=True, slots=True)
class Single:
    x: int


@dataclass(frozen=True, slots=True)
class Empty:
    pass


@dataclass(frozen=True, slots=True)
class Child(Secretive):
    extra: int = 0


@dataclass(slots=True)
class Node:
    name: str
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outer:
    @dataclass(frozen=True, slots=True)
    class Inner:
        v: int

    inner: Inner


def test_repr_eq_and_hash_match_the_stdlib_ones() -> None:
    a, std = Secretive("u", "pw", "n"), StdSecretive("u", "pw", "n")
    # The text, with a repr=False field (a password) left out.
    assert repr(a) == repr(std).replace("StdSecretive", "Secretive") == "Secretive(user='u', note='n')"
    assert "pw" not in repr(a)
    # compare=False fields are left out of equality and hash, as stdlib does.
    assert a == Secretive("u", "pw", "other note")  # compare=False: left out of equality
    assert (a == Secretive("u", "pw", "m")) == (std == StdSecretive("u", "pw", "m"))
    assert (a == Secretive("u", "px", "n")) == (std == StdSecretive("u", "px", "n"))
    assert hash(a) == hash(std) == hash(Secretive("u", "pw", "other note"))
    # Equality needs the same class: a subclass with the same fields is not equal, either way.
    assert Secretive("u") != Child("u") and Child("u") != Secretive("u")
    assert a.__eq__(std) is NotImplemented
    assert Child("u", extra=1) == Child("u", extra=1) != Child("u", extra=2)
    assert repr(Child("u", extra=1)) == "Child(user='u', note='', extra=1)"
    # One field and none: still tuples, as the generated methods build them.
    assert hash(Single(3)) == hash((3,)) and Single(3) == Single(3) != Single(4)
    assert Empty() == Empty() and hash(Empty()) == hash(()) and repr(Empty()) == "Empty()"
    assert repr(Outer(Outer.Inner(1))) == "Outer(inner=Outer.Inner(v=1))"


def test_mutable_written_and_recursive_cases_match_the_stdlib_ones() -> None:
    m = Mutable(1)
    assert m == Mutable(1) and m != Mutable(2)
    assert Mutable.__hash__ is None  # eq without frozen: unhashable, as stdlib makes it
    with pytest.raises(TypeError):
        hash(m)
    m.items.append(1)
    assert repr(m) == "Mutable(x=1, items=[1])"
    # A class's own __eq__ is kept; declared frozen, it is still hashable on its fields.
    assert OwnEq(1, 2) == OwnEq(1, 3)
    assert hash(OwnEq(1, 2)) == hash((1, 2))
    # A recursive structure prints `...` where it recurs, as stdlib's repr does.
    n = Node("a")
    n.children.append(n)
    assert repr(n) == "Node(name='a', children=[...])"


def test_mypy_still_sees_frozen_fields(tmp_path: Path) -> None:
    # The immutability lives in the type checker: an assignment to a field must be an error.
    src = tmp_path / "assign.py"
    src.write_text(
        "from schemad.records import dataclass\n\n"
        "@dataclass(frozen=True, slots=True)\n"
        "class P:\n    x: int\n\n"
        "P(1).x = 2\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(src)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert 'Property "x" defined in "P" is read-only' in out.stdout or "read-only" in out.stdout, out.stdout


def test_lazy_patterns_compile_on_first_use_and_then_act_as_compiled() -> None:
    p = lazyre.compile(r"a(?P<b>b)", 2)  # re.IGNORECASE
    assert "match" not in vars(p)  # nothing compiled yet
    m = p.match("AB")
    assert m is not None and m.group("b") == "B"
    assert p.sub("x", "zab") == "zx" and p.groups == 1 and p.groupindex == {"b": 1}
    assert p.pattern == "a(?P<b>b)" and p.flags & 2
    assert "match" in vars(p)  # the compiled pattern's methods are now its own attributes
