"""schemad.records.dataclass: frozen for mypy, built unfrozen at run time with the same value semantics."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

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
