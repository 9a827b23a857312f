"""Push campaigns as stored: the record of a campaign and every shard's state, in the state store.

A campaign is one JSON document in the `campaigns` table (SQLite migration 5,
control-schema migration 3), rewritten whole on every change and committed
before the write returns, so the state store alone says where a campaign is:
a restarted daemon (or another replica, with the MySQL backend) resumes from it.  Shards hold
the id of the push job that runs them; the job's own record holds its
statements, each written before it runs (jobs.py).

What it will not do: decide anything (campaigns.py does), or store a secret.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum
from typing import Any, Protocol

from schemad.records import dataclass
from schemad.service.state import SqliteStateStore, StateError, StateStore

__all__ = [
    "CampaignBusy",
    "CampaignRecord",
    "CampaignSettings",
    "CampaignState",
    "CampaignStore",
    "GroupPlan",
    "MemoryCampaignStore",
    "ShardRun",
    "ShardRunState",
    "campaign_store_for",
]


class CampaignState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # no shard starts until resumed; those in flight finish
    HALTED = "halted"  # failures reached max_failures (or a canary failed): nothing more runs
    ABORTED = "aborted"
    FINISHED = "finished"  # every shard ran (some may have failed below the threshold)


#: A campaign in one of these states is still its runner's business.
ACTIVE_CAMPAIGN = (CampaignState.RUNNING, CampaignState.PAUSED)


class ShardRunState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # written before its job starts: after a crash it is re-checked, never re-run blind
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run: it already matched the repo, or the campaign halted/aborted first


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """A fingerprint group the request named, with the plan hash it reviewed."""

    dir: str
    fingerprint: str
    plan_hash: str
    statements: int

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "fingerprint": self.fingerprint,
            "plan_hash": self.plan_hash,
            "statements": self.statements,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> GroupPlan:
        return cls(str(d["dir"]), str(d["fingerprint"]), str(d["plan_hash"]), int(d["statements"]))


@dataclass(frozen=True, slots=True)
class ShardRun:
    """One shard's part of a campaign."""

    address: str
    schema: str
    dir: str
    wave: int  # 0: the canaries; 1, 2, ...: the waves
    fingerprint: str  # its group's fingerprint when the campaign started (what "not run yet" looks like)
    plan_hash: str  # its group's reviewed plan hash
    state: ShardRunState = ShardRunState.PENDING
    job_id: str | None = None  # the push job that runs (ran) it
    error: str | None = None  # why it failed or was skipped
    started_at: float | None = None
    finished_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "schema": self.schema,
            "dir": self.dir,
            "wave": self.wave,
            "fingerprint": self.fingerprint,
            "plan_hash": self.plan_hash,
            "state": str(self.state),
            "job_id": self.job_id,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ShardRun:
        return cls(
            str(d["address"]),
            str(d["schema"]),
            str(d["dir"]),
            int(d["wave"]),
            str(d["fingerprint"]),
            str(d["plan_hash"]),
            ShardRunState(d["state"]),
            d.get("job_id"),
            d.get("error"),
            d.get("started_at"),
            d.get("finished_at"),
        )


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """How a campaign runs, as requested."""

    canaries: int = 1  # shards run (and succeeded) before any wave starts
    wave_size: int = 8
    concurrency: int = 8  # shards of one wave running at once
    pause_between_waves: float = 0.0  # seconds
    max_failures: int = 1  # failed shards that halt the campaign
    allow_unsafe: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "canaries": self.canaries,
            "wave_size": self.wave_size,
            "concurrency": self.concurrency,
            "pause_between_waves": self.pause_between_waves,
            "max_failures": self.max_failures,
            "allow_unsafe": self.allow_unsafe,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CampaignSettings:
        return cls(
            int(d["canaries"]),
            int(d["wave_size"]),
            int(d["concurrency"]),
            float(d["pause_between_waves"]),
            int(d["max_failures"]),
            bool(d["allow_unsafe"]),
        )


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    id: str
    repo: str
    environment: str  # the API's environment key
    requested_by: str
    created_at: float
    updated_at: float
    state: CampaignState
    settings: CampaignSettings
    groups: tuple[GroupPlan, ...]
    shards: tuple[ShardRun, ...]
    waves: int  # waves after the canaries
    wave: int = 0  # the wave running (or next to run); waves + 1 once all ran
    next_wave_at: float | None = None  # the pause between waves ends then (survives a restart)
    targets: Mapping[str, str] = field(default_factory=dict)  # dir -> fingerprint of a shard that converged
    error: str | None = None  # why it halted or was aborted
    ended_at: float | None = None

    @property
    def failures(self) -> int:
        return sum(s.state is ShardRunState.FAILED for s in self.shards)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "repo": self.repo,
            "environment": self.environment,
            "requested_by": self.requested_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "state": str(self.state),
            "settings": self.settings.to_json(),
            "groups": [g.to_json() for g in self.groups],
            "shards": [s.to_json() for s in self.shards],
            "waves": self.waves,
            "wave": self.wave,
            "next_wave_at": self.next_wave_at,
            "targets": dict(self.targets),
            "error": self.error,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CampaignRecord:
        return cls(
            str(d["id"]),
            str(d["repo"]),
            str(d["environment"]),
            str(d["requested_by"]),
            float(d["created_at"]),
            float(d["updated_at"]),
            CampaignState(d["state"]),
            CampaignSettings.from_json(d["settings"]),
            tuple(GroupPlan.from_json(g) for g in d["groups"]),
            tuple(ShardRun.from_json(s) for s in d["shards"]),
            int(d["waves"]),
            int(d["wave"]),
            d.get("next_wave_at"),
            dict(d.get("targets") or {}),
            d.get("error"),
            d.get("ended_at"),
        )


class CampaignBusy(StateError):
    """An environment already has an active campaign or a push running: no second one."""


class CampaignStore(Protocol):
    """Where campaigns are kept; every write is durable on return."""

    def create_campaign(self, c: CampaignRecord) -> None:
        """StateError if its id exists."""
        ...

    def update_campaign(self, c: CampaignRecord) -> None:
        """StateError if there is none with its id."""
        ...

    def get_campaign(self, id: str) -> CampaignRecord | None: ...

    def list_campaigns(self, *, environment: str | None = None, limit: int = 50) -> list[CampaignRecord]:
        """Newest first."""
        ...

    def active_campaigns(self) -> list[CampaignRecord]:
        """Campaigns running or paused, oldest first: what a start resumes."""
        ...


def _doc(c: CampaignRecord) -> str:
    return json.dumps(c.to_json(), separators=(",", ":"))


def _row(c: CampaignRecord) -> tuple[Any, ...]:
    return (c.id, c.repo, c.environment, str(c.state), c.created_at, c.updated_at, _doc(c))


def _from(doc: str) -> CampaignRecord:
    return CampaignRecord.from_json(json.loads(doc))


_ACTIVE_VALUES = tuple(str(s) for s in ACTIVE_CAMPAIGN)


class MemoryCampaignStore:
    """The fake: the same contract in a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, str] = {}

    def create_campaign(self, c: CampaignRecord) -> None:
        with self._lock:
            if c.id in self._rows:
                raise StateError(f"campaign {c.id} already exists", key=c.id)
            self._rows[c.id] = _doc(c)

    def update_campaign(self, c: CampaignRecord) -> None:
        with self._lock:
            if c.id not in self._rows:
                raise StateError(f"no campaign {c.id}", key=c.id)
            self._rows[c.id] = _doc(c)

    def get_campaign(self, id: str) -> CampaignRecord | None:
        with self._lock:
            doc = self._rows.get(id)
        return _from(doc) if doc is not None else None

    def list_campaigns(self, *, environment: str | None = None, limit: int = 50) -> list[CampaignRecord]:
        with self._lock:
            out = [_from(d) for d in self._rows.values()]
        out = [c for c in out if environment is None or c.environment == environment]
        out.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return out[: max(limit, 0)]

    def active_campaigns(self) -> list[CampaignRecord]:
        with self._lock:
            out = [_from(d) for d in self._rows.values()]
        return sorted((c for c in out if c.state in ACTIVE_CAMPAIGN), key=lambda c: (c.created_at, c.id))


class SqliteCampaignStore:
    """Campaigns in the SQLite state file, through the state store's connection and lock."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._write = store.transaction
        self._read = store.query

    def create_campaign(self, c: CampaignRecord) -> None:
        with self._write() as cur:
            if cur.execute("SELECT 1 FROM campaigns WHERE id = ?", (c.id,)).fetchone():
                raise StateError(f"campaign {c.id} already exists", key=c.id)
            cur.execute("INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?)", _row(c))

    def update_campaign(self, c: CampaignRecord) -> None:
        with self._write() as cur:
            cur.execute(
                "UPDATE campaigns SET state = ?, updated_at = ?, doc = ? WHERE id = ?",
                (str(c.state), c.updated_at, _doc(c), c.id),
            )
            if cur.rowcount == 0:
                raise StateError(f"no campaign {c.id}", key=c.id)

    def get_campaign(self, id: str) -> CampaignRecord | None:
        rows = self._read("SELECT doc FROM campaigns WHERE id = ?", (id,))
        return _from(rows[0][0]) if rows else None

    def list_campaigns(self, *, environment: str | None = None, limit: int = 50) -> list[CampaignRecord]:
        where, params = ("WHERE environment = ?", (environment,)) if environment is not None else ("", ())
        rows = self._read(
            f"SELECT doc FROM campaigns {where} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, max(limit, 0)),
        )
        return [_from(r[0]) for r in rows]

    def active_campaigns(self) -> list[CampaignRecord]:
        rows = self._read(
            "SELECT doc FROM campaigns WHERE state IN (?, ?) ORDER BY created_at, id", _ACTIVE_VALUES
        )
        return [_from(r[0]) for r in rows]


class MysqlCampaignStore:
    """Campaigns in the control schema, through the MySQL state store's pool (`run`, `query`)."""

    def __init__(self, store: Any) -> None:  # a state_mysql.MysqlStateStore (it imports PyMySQL)
        self._run = store.run
        self._read = store.query

    def create_campaign(self, c: CampaignRecord) -> None:
        def write(cur: Any) -> None:
            cur.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (c.id,))
            if cur.fetchone() is not None:
                raise StateError(f"campaign {c.id} already exists", key=c.id)
            cur.execute("INSERT INTO campaigns VALUES (%s, %s, %s, %s, %s, %s, %s)", _row(c))

        self._run(write)

    def update_campaign(self, c: CampaignRecord) -> None:
        def write(cur: Any) -> None:
            cur.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (c.id,))
            if cur.fetchone() is None:
                raise StateError(f"no campaign {c.id}", key=c.id)
            cur.execute(
                "UPDATE campaigns SET state = %s, updated_at = %s, doc = %s WHERE id = %s",
                (str(c.state), c.updated_at, _doc(c), c.id),
            )

        self._run(write)

    def get_campaign(self, id: str) -> CampaignRecord | None:
        rows = self._read("SELECT doc FROM campaigns WHERE id = %s", (id,))
        return _from(rows[0][0]) if rows else None

    # ----- replicas (service/replicas.py): any replica creates and acts, the owner runs -----

    def create_exclusive(self, c: CampaignRecord, lease: str, holder: str | None) -> None:
        """Create `c` unless the environment has an active campaign or a push lock not held by `holder`.

        The lease row, locked FOR UPDATE, serialises two replicas creating at once.
        CampaignBusy names what is in the way.
        """

        def write(cur: Any) -> None:
            cur.execute(
                "INSERT IGNORE INTO leases (name, owner, expires_at, acquired_at) VALUES (%s, NULL, 0, 0)",
                (lease,),
            )
            cur.execute("SELECT 1 FROM leases WHERE name = %s FOR UPDATE", (lease,))
            cur.execute("SELECT replica FROM push_locks WHERE name = %s", (lease,))
            row = cur.fetchone()
            if row is not None and str(row[0]) != holder:
                raise CampaignBusy(f"a push or campaign in {c.environment} is running (on replica {row[0]})")
            cur.execute(
                "SELECT id FROM campaigns WHERE repo = %s AND environment = %s AND state IN (%s, %s)",
                (c.repo, c.environment, *_ACTIVE_VALUES),
            )
            row = cur.fetchone()
            if row is not None:
                raise CampaignBusy(f"campaign {row[0]} in {c.environment} is not over")
            cur.execute("INSERT INTO campaigns VALUES (%s, %s, %s, %s, %s, %s, %s)", _row(c))

        self._run(write)

    def request_action(self, cid: str, action_id: str, action: str, who: str) -> str | None:
        """Queue pause/resume/abort for the campaign's runner; else why not (not active, one pending)."""

        def write(cur: Any) -> str | None:
            cur.execute("SELECT state FROM campaigns WHERE id = %s FOR UPDATE", (cid,))
            row = cur.fetchone()
            if row is None:
                return f"no campaign {cid!r}"
            if str(row[0]) not in _ACTIVE_VALUES:
                return f"campaign {cid} is {row[0]}"
            cur.execute(
                "SELECT action FROM campaign_actions WHERE campaign_id = %s AND state = 'queued'", (cid,)
            )
            pending = cur.fetchone()
            if pending is not None:
                return f"campaign {cid}: a {pending[0]} is waiting for its runner"
            cur.execute(
                "REPLACE INTO campaign_actions (campaign_id, action_id, action, requested_by, state, result)"
                " VALUES (%s, %s, %s, %s, 'queued', NULL)",
                (cid, action_id, action, who),
            )
            return None

        result: str | None = self._run(write)
        return result

    def action_state(self, cid: str, action_id: str) -> tuple[str, str | None]:
        """(queued | done | refused | expired | missing, why refused)."""
        rows = self._read(
            "SELECT state, result FROM campaign_actions WHERE campaign_id = %s AND action_id = %s",
            (cid, action_id),
        )
        return (str(rows[0][0]), rows[0][1]) if rows else ("missing", None)

    def withdraw_action(self, cid: str, action_id: str) -> bool:
        """Withdraw an action no runner applied yet (True); False once one did."""
        n: int = self._run(
            lambda cur: cur.execute(
                "UPDATE campaign_actions SET state = 'expired' WHERE campaign_id = %s AND action_id = %s"
                " AND state = 'queued'",
                (cid, action_id),
            )
        )
        return bool(n)

    def queued_actions(self, cids: list[str]) -> list[tuple[str, str, str, str]]:
        """(campaign id, action id, action, who) waiting for these campaigns' runner."""
        if not cids:
            return []
        marks = ", ".join(["%s"] * len(cids))
        rows = self._read(
            "SELECT campaign_id, action_id, action, requested_by FROM campaign_actions"
            f" WHERE state = 'queued' AND campaign_id IN ({marks})",
            tuple(cids),
        )
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def finish_action(self, cid: str, action_id: str, refused: str | None) -> None:
        self._run(
            lambda cur: cur.execute(
                "UPDATE campaign_actions SET state = %s, result = %s"
                " WHERE campaign_id = %s AND action_id = %s",
                ("refused" if refused else "done", refused, cid, action_id),
            )
        )

    def list_campaigns(self, *, environment: str | None = None, limit: int = 50) -> list[CampaignRecord]:
        where, params = ("WHERE environment = %s", (environment,)) if environment is not None else ("", ())
        rows = self._read(
            f"SELECT doc FROM campaigns {where} ORDER BY created_at DESC, id DESC LIMIT %s",
            (*params, max(limit, 0)),
        )
        return [_from(r[0]) for r in rows]

    def active_campaigns(self) -> list[CampaignRecord]:
        rows = self._read(
            "SELECT doc FROM campaigns WHERE state IN (%s, %s) ORDER BY created_at, id", _ACTIVE_VALUES
        )
        return [_from(r[0]) for r in rows]


def campaign_store_for(store: StateStore) -> CampaignStore:
    """The campaigns table beside a job/audit store: the same SQLite file or control schema, or a fake."""
    if isinstance(store, SqliteStateStore):
        return SqliteCampaignStore(store)
    from schemad.service.state_mysql import MysqlStateStore  # PyMySQL only when it is used

    if isinstance(store, MysqlStateStore):
        return MysqlCampaignStore(store)
    return MemoryCampaignStore()
