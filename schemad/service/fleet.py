"""Fleets: many shards (server x schema) of one schema dir, and how consistent they are.

An environment is a fleet when one of its schema dirs gets its hosts from
`host-wrapper`, or maps to more than one target (several hosts, or a `schema`
option that lists several schemas per host): every target of such a dir is a
*shard* of the same logical schema.

Per shard the daemon keeps a `ShardState`: a frozen, JSON-ready value (its
schema fingerprint, whether it differs from the repo, the plan hash of its
group, when it was polled and its error).  A later campaign or a replica can
store and reload it as is.

`fleet_view` groups shards by schema fingerprint, per dir: the largest group
is the majority, every other group is an odd one out (skew, a half-applied
push), and for each odd group the objects that differ from the majority's are
named with the kind of difference.  The group fingerprint ignores the schema's
own name, so `shard_01` and `shard_02` with the same tables fall in one group;
objects whose definition spells the schema's name (a view's body, a foreign
key naming its own schema) make shards of different names differ.

Everything here is pure: it reads values the poll already holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass

__all__ = [
    "FleetView",
    "ObjectDifference",
    "ShardGroup",
    "ShardState",
    "fleet_view",
    "group_fingerprint",
    "group_plan_hash",
]

#: Kinds of difference of an odd group's object against the majority group's.
DIFFERENCE_KINDS = ("missing", "extra", "differs")


def group_fingerprint(fingerprints: Mapping[ObjectKey, str]) -> str:
    """One hash of a shard's whole schema, blind to the schema's own name (None-safe for a missing schema)."""
    parts = sorted(
        f"{k.type.value}:{'' if k.type is ObjectType.DATABASE else k.name}={h}"
        for k, h in fingerprints.items()
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def group_plan_hash(dir_path: str, fingerprint: str, statements: Sequence[str]) -> str:
    """The plan hash of a fingerprint group: its statements vs the files, as planned for its first shard."""
    doc = json.dumps([dir_path, fingerprint, list(statements)], separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ShardState:
    """What the daemon knows of one shard after its last poll; serialisable as is (`to_json`)."""

    address: str  # host:port of the server
    schema: str
    dir: str  # repo-relative schema dir whose shard this is
    fingerprint: str | None  # group_fingerprint of the live schema; None: never read
    drifted: bool | None  # the diff has statements or unsupported objects; None: unknown
    statements: int  # statements of its diff (0 when unknown)
    plan_hash: str | None  # group_plan_hash of its diff; None: unknown
    last_poll: float | None  # Unix time of the last successful read of its live side
    error: str | None  # why its drift is unknown (the poll's or the dir's error)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "schema": self.schema,
            "dir": self.dir,
            "fingerprint": self.fingerprint,
            "drifted": self.drifted,
            "statements": self.statements,
            "plan_hash": self.plan_hash,
            "last_poll": self.last_poll,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ShardState:
        return cls(
            address=str(doc["address"]),
            schema=str(doc["schema"]),
            dir=str(doc["dir"]),
            fingerprint=doc.get("fingerprint"),
            drifted=doc.get("drifted"),
            statements=int(doc.get("statements") or 0),
            plan_hash=doc.get("plan_hash"),
            last_poll=doc.get("last_poll"),
            error=doc.get("error"),
        )


@dataclass(frozen=True, slots=True)
class ObjectDifference:
    """One object of an odd group against the majority: missing there, extra there, or defined otherwise."""

    key: ObjectKey
    kind: str  # one of DIFFERENCE_KINDS, seen from the odd group

    def to_json(self) -> dict[str, str]:
        return {"type": self.key.type.value, "name": self.key.name, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class ShardGroup:
    """Shards of one dir whose live schemas have the same fingerprint."""

    dir: str
    fingerprint: str | None  # None: the shards not read yet (or failing)
    shards: tuple[ShardState, ...]
    matches_repo: bool | None  # no statements on any shard; None: some shard's diff is unknown
    plan_hash: str | None
    statements: int
    majority: bool
    differences: tuple[ObjectDifference, ...] = ()  # only on odd groups: against the majority

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "shards": [{"address": s.address, "schema": s.schema} for s in self.shards],
            "size": len(self.shards),
            "matches_repo": self.matches_repo,
            "plan_hash": self.plan_hash,
            "statements": self.statements,
            "majority": self.majority,
            "differences": [d.to_json() for d in self.differences],
        }


@dataclass(frozen=True, slots=True)
class FleetView:
    """The consistency view of one dir's shards."""

    dir: str
    groups: tuple[ShardGroup, ...]  # the majority first, then by size (largest first)

    @property
    def shards(self) -> int:
        return sum(len(g.shards) for g in self.groups)

    @property
    def odd(self) -> tuple[ShardGroup, ...]:
        return tuple(g for g in self.groups if not g.majority)

    def to_json(self) -> dict[str, Any]:
        majority = next((g for g in self.groups if g.majority), None)
        return {
            "dir": self.dir,
            "shards": self.shards,
            "majority": majority.fingerprint if majority is not None else None,
            "groups": [g.to_json() for g in self.groups],
            "odd": [
                {"address": s.address, "schema": s.schema, "fingerprint": g.fingerprint}
                for g in self.odd
                for s in g.shards
            ],
        }


def _differences(odd: Mapping[ObjectKey, str], majority: Mapping[ObjectKey, str]) -> list[ObjectDifference]:
    def norm(fps: Mapping[ObjectKey, str]) -> dict[ObjectKey, str]:  # the schema itself under one key
        return {ObjectKey(k.type, "") if k.type is ObjectType.DATABASE else k: h for k, h in fps.items()}

    a, b = norm(odd), norm(majority)
    out = []
    for key in sorted(a.keys() | b.keys()):
        if key not in a:
            out.append(ObjectDifference(key, "missing"))
        elif key not in b:
            out.append(ObjectDifference(key, "extra"))
        elif a[key] != b[key]:
            out.append(ObjectDifference(key, "differs"))
    return out


def fleet_view(
    shards: Iterable[ShardState], fingerprints: Mapping[tuple[str, str], Mapping[ObjectKey, str]]
) -> list[FleetView]:
    """Group each dir's shards by fingerprint (`fingerprints`: per-object ones by (address, schema)).

    The majority is the largest group of shards that were read; a tie goes to
    the group that matches the repo, then to the smaller fingerprint (stable
    from poll to poll).  Shards never read form a group of their own
    (fingerprint None), which is never the majority while any shard was read.
    """
    by_dir: dict[str, dict[str | None, list[ShardState]]] = {}
    for s in shards:
        by_dir.setdefault(s.dir, {}).setdefault(s.fingerprint, []).append(s)
    views = []
    for dir_path in sorted(by_dir):
        raw = by_dir[dir_path]

        def rank(fp: str | None, raw: dict[str | None, list[ShardState]] = raw) -> tuple[int, int, int, str]:
            members = raw[fp]
            matches = all(m.drifted is False for m in members)
            return (fp is None, -len(members), not matches, fp or "")

        order = sorted(raw, key=rank)
        majority_fp = order[0]
        groups = []
        for fp in order:
            members = sorted(raw[fp], key=lambda s: (s.address, s.schema))
            known = [m for m in members if m.drifted is not None]
            matches = None if len(known) < len(members) else not any(m.drifted for m in members)
            first = known[0] if known else None
            diffs: list[ObjectDifference] = []
            if fp != majority_fp and fp is not None and majority_fp is not None:
                one = fingerprints.get((members[0].address, members[0].schema), {})
                ref = raw[majority_fp][0]
                diffs = _differences(one, fingerprints.get((ref.address, ref.schema), {}))
            groups.append(
                ShardGroup(
                    dir=dir_path,
                    fingerprint=fp,
                    shards=tuple(members),
                    matches_repo=matches,
                    plan_hash=first.plan_hash if first is not None else None,
                    statements=first.statements if first is not None else 0,
                    majority=fp == majority_fp,
                    differences=tuple(diffs),
                )
            )
        views.append(FleetView(dir_path, tuple(groups)))
    return views
