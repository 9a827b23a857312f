"""What a repo holds, for the API's read endpoints: its environments, and one object on both sides.

`repo_environments` names every environment any `.skeema` of a checkout
defines (an unreadable file is skipped: its dir's error is reported
elsewhere).

`object_sides` gives one object of an environment as the repo and the live
schema each define it (`GET /v1/environments/{env}/objects/{schema}/{name}`): the
statement in the files (where, its text, and the canonical text the
workspace made of it) beside the live canonical text, and whether the diff
sees a difference (so what the diff ignores, such as the AUTO_INCREMENT
counter, is ignored here too).  Pure reads of what the environment already
holds: no server is asked.
"""

from __future__ import annotations

from pathlib import Path

from schemad.errors import SchemadError
from schemad.fs.optionfile import OptionFile
from schemad.model.flavor import MARIADB_10_11
from schemad.model.keys import ObjectKey, ObjectType
from schemad.model.schema import SchemaObject
from schemad.records import dataclass
from schemad.service.environment import RepoEnvironment, TargetState

__all__ = ["LiveSide", "ObjectSides", "RepoSide", "UnknownSchema", "object_sides", "repo_environments"]


@dataclass(frozen=True, slots=True)
class RepoSide:
    file: str
    line: int
    text: str  # the statement as written
    canonical: str | None  # what the workspace made of it; None when it did not run


@dataclass(frozen=True, slots=True)
class LiveSide:
    canonical: str
    snapshot_at: float | None


@dataclass(frozen=True, slots=True)
class ObjectSides:
    key: ObjectKey
    repo: RepoSide | None
    live: LiveSide | None
    differs: bool


class UnknownSchema(LookupError):
    """No target of the environment has this schema."""


def object_sides(env: RepoEnvironment, schema: str, kind: str, name: str) -> ObjectSides | None:
    """Both sides of one object; None when neither side has it.

    ValueError for an unknown object type, UnknownSchema for a schema the
    environment does not manage.
    """
    key = ObjectKey(ObjectType(kind), name)
    target = next((t for t in env.ordered_targets() if t.target.schema == schema), None)
    if target is None:
        raise UnknownSchema(schema)
    ds = env.dirs[target.dir_path]
    repo: RepoSide | None = None
    if ds.logical is not None and (stmt := ds.logical.creates.get(key)) is not None:
        desired = env.desired_for(target)
        obj = desired.objects().get(key) if desired is not None else None
        canonical = _create_text(obj, target) if obj is not None else None
        repo = RepoSide(stmt.file, stmt.line, stmt.body, canonical)
    live: LiveSide | None = None
    schema_now = target.live.schema
    if schema_now is not None and (obj := schema_now.objects().get(key)) is not None:
        live = LiveSide(_create_text(obj, target), target.live.snapshot_at)
    if repo is None and live is None:
        return None
    if target.diff is not None:
        differs = any(s.key == key for s in target.diff.steps)
    else:
        differs = (repo.canonical if repo else None) != (live.canonical if live else None)
    return ObjectSides(key, repo, live, differs)


def _create_text(obj: SchemaObject, target: TargetState) -> str:
    show = getattr(obj, "show_create", "")
    if show:
        return str(show)
    return str(obj.create_statement(target.live.flavor or MARIADB_10_11))


def repo_environments(root: Path) -> list[str]:
    """Every environment a `.skeema` under `root` defines, sorted."""
    envs: set[str] = set()
    for f in sorted(root.rglob(".skeema")):
        try:
            envs.update(OptionFile.read(f).sections())
        except SchemadError:
            continue
    return sorted(envs)
