"""Push campaigns: one reviewed change rolled over a fleet's shards, canaries first, then in waves.

`CampaignRunner.create` checks the request against a fresh poll: every
fingerprint group it names (GET .../fleet: dir + fingerprint) must still
exist with the reviewed `plan_hash` (else `plan_changed`, 409); shards of
groups it does not name are never touched.  The shards are ordered (groups
in request order, then address and schema), the first `canaries` form wave
0 and the rest waves of `wave_size`.  The campaign holds the environment's
push lock from creation until it ends, so no other push or campaign runs
there meanwhile.

The runner is whoever owns the environment (on one daemon: itself).  It
keeps all progress in the state store (campaignstore.py).  The record is
written in a worker thread (writebehind.py: a control schema may make a
write wait up to its connect timeout, the event loop never does), in order,
each write the whole record; the runner waits for it where resuming relies
on it: a shard is `running` (durably) before its job exists, its job id is
durable before the job's task starts (else the job is cancelled before its
first statement and the shard fails), and the job records every statement
before it runs (jobs.py).  A write that failed is logged and refuses the
next shard's job (that shard fails) until a later write of the record
succeeds; pause/resume/abort answer once their record is written.  A shard
is re-read just before it runs: it must still have its group's fingerprint
and plan hash (else it fails; already matching the repo: skipped).  Each
shard is one push job (plans verified and judged as a push's; online
changes through the supervisor with progress per shard, pre-flight checks
refusing).

Canaries must all succeed before wave 1 starts; a wave's shards run up to
`concurrency` at once; between waves the runner waits
`pause_between_waves` (the end time is stored); when failed shards reach
`max_failures` the campaign is `halted` (the failed shards and their errors
named), shards not started are skipped, those in flight finish.  `pause`
lets shards in flight finish and starts none until `resume`; `abort`
cancels the jobs in flight (the statement running finishes) and skips the
rest.

After a restart (`resume_all`): shards `done` are not run again; a shard
that was `running` is re-checked: if the statement its job had in flight is
still running on the server it is waited for; then a shard matching the
repo is done, one still at its starting fingerprint runs, anything else is
failed as half-applied (and counts).  No statement is ever sent twice.

Replicas (replicas.py, `[state] backend = "mysql"`).  The runner is the
environment's owner.  A POST on a replica that does not own it is checked
against the fleet view the owner published (fingerprints and plan hashes)
and only recorded; `watch` on the owner adopts every active campaign of an
environment it owns (and has read), taking the environment's push lock
here and in the control schema, whether the campaign is new, was left by
a stopped daemon, or by a replica whose lease expired (it was interrupted
there first: a replica stops its campaigns with its polls, before anyone
may take over).  The create is exclusive in the control schema (the lease
row locked): no second active campaign, none while another replica holds
the push lock.  pause/resume/abort on a replica not running the campaign
wait in `campaign_actions` until its runner applies them (or, after
`push_wait`, are withdrawn: 503, nothing changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from schemad.errors import SchemadError
from schemad.records import dataclass
from schemad.service.campaignstore import (
    ACTIVE_CAMPAIGN,
    CampaignBusy,
    CampaignRecord,
    CampaignSettings,
    CampaignState,
    GroupPlan,
    ShardRun,
    ShardRunState,
    campaign_store_for,
)
from schemad.service.environment import RepoEnvironment
from schemad.service.fleet import FleetView, ShardGroup, ShardState
from schemad.service.jobs import PushItem
from schemad.service.osc import preflight_items
from schemad.service.replicas import lease_name
from schemad.service.state import JobRecord, JobState, StateError
from schemad.service.writebehind import WriteBehind

if TYPE_CHECKING:
    from schemad.service.daemon import Daemon

__all__ = ["CampaignRefused", "CampaignRequest", "CampaignRunner", "GroupRef"]

log = logging.getLogger(__name__)

#: Seconds to wait for a statement a killed daemon left running on a shard before giving up on it.
ORPHAN_WAIT = 600.0


class CampaignRefused(SchemadError):
    """A campaign request or action that cannot be done now; `code` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # push_running, plan_changed, plan_blocked, nothing_to_do, campaign_not_active, ...


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A fingerprint group named by a request, with the plan hash its reviewer saw."""

    fingerprint: str
    plan_hash: str
    dir: str | None = None  # needed only when two dirs have a group with this fingerprint


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    groups: Sequence[GroupRef]
    who: str
    settings: CampaignSettings = field(default_factory=CampaignSettings)


@dataclass(slots=True)
class _Live:
    record: CampaignRecord
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a pause, resume or abort happened
    task: asyncio.Task[None] | None = None
    lock: asyncio.Lock | None = None  # the environment's push lock, held until the campaign ends
    lease: str | None = None  # replicas: the control schema's push lock of this lease name is held too
    writes: WriteBehind = field(init=False)  # the record's writes, in order off the event loop

    def __post_init__(self) -> None:
        self.writes = WriteBehind(f"campaign {self.record.id}")


class CampaignRunner:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.store = campaign_store_for(daemon.store)
        self.clock = daemon.clock
        self._live: dict[str, _Live] = {}
        self._stopping = False
        self._halt = asyncio.Event()  # `watch` ends
        self._look = asyncio.Event()  # `watch` looks again now (a lease was taken)

    # ///// requests /////

    async def create(self, key: str, env: RepoEnvironment, req: CampaignRequest) -> CampaignRecord:
        """Check the request against the fleet now, record the campaign and start it."""
        replicas = self.daemon.replicas
        if replicas is not None and not self.daemon.owns(env):
            return await self._create_elsewhere(key, env, req)
        if env.push_lock.locked():
            raise CampaignRefused(
                "push_running", f"a push or campaign in {key} is running; wait for it to end"
            )
        await env.push_lock.acquire()
        started = False
        lease: str | None = None
        try:
            if replicas is not None:
                if not await asyncio.to_thread(replicas.control.take_push_lock, self.daemon.lease_of(env)):
                    raise CampaignRefused(
                        "push_running", f"a push or campaign in {key} is running on another replica"
                    )
                lease = self.daemon.lease_of(env)
            with contextlib.suppress(Exception):  # a failed poll shows as shard errors below
                await self.daemon.poll_now(key, env)
            record = self._plan(key, env.repo, env.name, env.fleet(), req)
            await self._record(record, lease)
            self._emit("campaign.started", record)
            live = _Live(record, lock=env.push_lock, lease=lease)
            self._start(live)
            started = True
            return record
        finally:
            if not started:
                await self._unlock(lease)
                env.push_lock.release()

    async def _create_elsewhere(self, key: str, env: RepoEnvironment, req: CampaignRequest) -> CampaignRecord:
        """Not the owner: check against the fleet view the owner published, record; the owner runs it."""
        assert self.daemon.replicas is not None
        lease = self.daemon.lease_of(env)
        published = await asyncio.to_thread(self.daemon.replicas.control.published, lease)
        if published is None or published.fleet_json is None:
            raise CampaignRefused(
                "not_published", f"{key} is polled by another replica, which has not published its fleet yet"
            )
        record = self._plan(key, env.repo, env.name, views_from_json(json.loads(published.fleet_json)), req)
        await self._record(record, None)
        self._emit("campaign.started", record)
        self._look.set()
        log.info("campaign %s: recorded for replica %s, which owns %s", record.id, published.owner, key)
        return record

    async def _record(self, record: CampaignRecord, lease: str | None) -> None:
        if self.daemon.replicas is None:
            await asyncio.to_thread(self.store.create_campaign, record)
            return
        holder = self.daemon.replicas.id if lease is not None else None
        try:
            await asyncio.to_thread(
                self.store.create_exclusive,  # type: ignore[attr-defined]
                record,
                lease_name(record.repo, record.environment),
                holder,
            )
        except CampaignBusy as exc:
            raise CampaignRefused("push_running", f"{exc}; wait for it to end") from None

    async def _unlock(self, lease: str | None) -> None:
        """Release the control schema's push lock (best effort: a dead replica's is cleared by the next)."""
        if lease is not None and self.daemon.replicas is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.daemon.replicas.control.release_push_lock, lease)

    def _plan(
        self, key: str, repo: str, name: str, fleet: Sequence[FleetView], req: CampaignRequest
    ) -> CampaignRecord:
        views = {v.dir: v for v in fleet}
        groups: list[GroupPlan] = []
        shards: list[ShardState] = []
        for ref in req.groups:
            hits = [
                (d, g)
                for d, v in views.items()
                for g in v.groups
                if g.fingerprint == ref.fingerprint and (ref.dir is None or ref.dir == d)
            ]
            if not hits:
                raise CampaignRefused(
                    "plan_changed",
                    f"no shard group has fingerprint {ref.fingerprint}"
                    + (f" in dir {ref.dir}" if ref.dir else "")
                    + " any more: review the fleet again",
                )
            if len(hits) > 1:
                raise CampaignRefused(
                    "invalid_request",
                    f"fingerprint {ref.fingerprint} is a group in several dirs: name its dir",
                )
            d, g = hits[0]
            if g.plan_hash != ref.plan_hash:
                raise CampaignRefused(
                    "plan_changed",
                    f"group {ref.fingerprint} in {d}: plan_hash {ref.plan_hash} does not match the current"
                    f" one ({g.plan_hash}): review the fleet again",
                )
            bad = [f"{s.address} {s.schema}: {s.error}" for s in g.shards if s.error]
            if bad:
                raise CampaignRefused("plan_blocked", "; ".join(bad[:5]))
            if any(x.dir == d and x.fingerprint == ref.fingerprint for x in groups):
                raise CampaignRefused("invalid_request", f"group {ref.fingerprint} is named twice")
            if g.matches_repo:
                continue  # nothing to run on it
            groups.append(GroupPlan(d, ref.fingerprint, ref.plan_hash, g.statements))
            shards += sorted(g.shards, key=lambda s: (s.address, s.schema))
        if not shards:
            raise CampaignRefused("nothing_to_do", "the named groups match the repo: nothing to run")
        st = req.settings
        runs = []
        for i, s in enumerate(shards):
            wave = 0 if i < st.canaries else 1 + (i - st.canaries) // st.wave_size
            runs.append(ShardRun(s.address, s.schema, s.dir, wave, s.fingerprint or "", s.plan_hash or ""))
        now = self.clock()
        cid = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "-c" + secrets.token_hex(4)
        return CampaignRecord(
            id=cid,
            repo=repo,
            environment=name,
            requested_by=req.who,
            created_at=now,
            updated_at=now,
            state=CampaignState.RUNNING,
            settings=st,
            groups=tuple(groups),
            shards=tuple(runs),
            waves=max(r.wave for r in runs),
            wave=0 if st.canaries else 1,
        )

    async def get(self, cid: str) -> CampaignRecord | None:
        """The runner's record of a campaign running here (ahead of its writes), else the stored one."""
        live = self._live.get(cid)
        return live.record if live is not None else await asyncio.to_thread(self.store.get_campaign, cid)

    async def list(self, repo: str, environment: str, limit: int = 50) -> list[CampaignRecord]:
        out = await asyncio.to_thread(self.store.list_campaigns, environment=environment, limit=limit)
        return [live.record if (live := self._live.get(c.id)) else c for c in out if c.repo == repo]

    async def pause(self, cid: str, who: str) -> CampaignRecord:
        live = await self._active(cid, CampaignState.RUNNING)
        self._save(live, state=CampaignState.PAUSED, error=f"paused by {who}")
        live.wake.set()
        await self._durable(live)  # answered once a restart would find it paused too
        return live.record

    async def resume(self, cid: str, who: str) -> CampaignRecord:
        live = await self._active(cid, CampaignState.PAUSED)
        self._save(live, state=CampaignState.RUNNING, error=None)
        log.info("campaign %s: resumed by %s", cid, who)
        live.wake.set()
        await self._durable(live)
        return live.record

    async def abort(self, cid: str, who: str) -> CampaignRecord:
        live = await self._active(cid, None)
        self._end(live, CampaignState.ABORTED, f"aborted by {who}")
        for s in live.record.shards:
            if s.state is ShardRunState.RUNNING and s.job_id:
                self.daemon.jobs.cancel(s.job_id)  # the statement in flight finishes; nothing after it
        await self._durable(live)
        return live.record

    async def act(self, action: str, cid: str, who: str) -> CampaignRecord:
        """pause/resume/abort from any replica: here if it runs here, else through the control schema."""
        if action not in _ACTIONS:
            raise CampaignRefused("invalid_request", f"unknown campaign action {action!r}")
        replicas = self.daemon.replicas
        if replicas is None or cid in self._live:
            out: CampaignRecord = await getattr(self, action)(cid, who)
            return out
        store: Any = self.store  # MysqlCampaignStore: replicas exist only on the MySQL backend
        aid = uuid.uuid4().hex
        why = await asyncio.to_thread(store.request_action, cid, aid, action, who)
        if why is not None:
            code = "not_found" if why.startswith("no campaign") else "campaign_not_active"
            raise CampaignRefused(code, why)
        deadline = time.monotonic() + replicas.push_wait
        withdrawn = False
        while True:
            await asyncio.sleep(0.1)
            state, result = await asyncio.to_thread(store.action_state, cid, aid)
            if state == "done":
                rec: CampaignRecord | None = await asyncio.to_thread(store.get_campaign, cid)
                assert rec is not None
                return rec
            if state == "refused":
                raise CampaignRefused("campaign_not_active", result or f"campaign {cid}: {action} refused")
            if not withdrawn and time.monotonic() > deadline:
                if await asyncio.to_thread(store.withdraw_action, cid, aid):
                    raise CampaignRefused(
                        "owner_unavailable",
                        f"no replica running campaign {cid} took the {action} within {replicas.push_wait:g}s;"
                        " nothing changed",
                    )
                withdrawn = True  # taken meanwhile: its runner answers

    async def _active(self, cid: str, state: CampaignState | None) -> _Live:
        live = self._live.get(cid)
        if live is None or live.record.state not in ACTIVE_CAMPAIGN:
            rec = await self.get(cid)
            if rec is None:
                raise CampaignRefused("not_found", f"no campaign {cid!r}")
            raise CampaignRefused("campaign_not_active", f"campaign {cid} is {rec.state}")
        if state is not None and live.record.state is not state:
            raise CampaignRefused(
                "campaign_not_active", f"campaign {cid} is {live.record.state}, not {state}"
            )
        return live

    # ///// lifecycle /////

    async def resume_all(self) -> None:
        """Daemon start: take up the campaigns a stop or crash left running or paused (replicas: `watch`)."""
        if self.daemon.replicas is not None:
            return
        for rec in await asyncio.to_thread(self.store.active_campaigns):
            found = self.daemon.find(rec.environment, rec.repo)
            if found is None:
                log.error("campaign %s: environment %s of repo %s is gone", rec.id, rec.environment, rec.repo)
                continue
            log.warning("campaign %s: %s; resuming after a restart", rec.id, rec.state)
            live = _Live(rec, lock=found[1].push_lock)
            await live.lock.acquire()  # type: ignore[union-attr]
            self._start(live)

    async def watch(self, every: float = 0.5) -> None:
        """Replicas: adopt the active campaigns of owned environments, apply actions asked elsewhere."""
        while not self._halt.is_set():
            try:
                await self._adopt()
                await self._apply_actions()
            except Exception:
                log.exception("campaigns: cannot read the control schema's campaigns")
            self._look.clear()
            waiters = [asyncio.ensure_future(e.wait()) for e in (self._halt, self._look)]
            await asyncio.wait(waiters, timeout=every, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()

    def look(self) -> None:
        """A lease was taken: `watch` looks for its campaigns now."""
        self._look.set()

    async def _adopt(self) -> None:
        replicas = self.daemon.replicas
        assert replicas is not None
        for rec in await asyncio.to_thread(self.store.active_campaigns):
            found = self.daemon.find(rec.environment, rec.repo)
            if rec.id in self._live or found is None or self._stopping:
                continue
            _, env = found
            if not self.daemon.owns(env) or not env.evaluated or env.push_lock.locked():
                continue  # not ours, not read yet since taken, or a push runs: later
            await env.push_lock.acquire()
            lease: str | None = None
            started = False
            try:
                if not await asyncio.to_thread(replicas.control.take_push_lock, self.daemon.lease_of(env)):
                    continue
                lease = self.daemon.lease_of(env)
                fresh = await asyncio.to_thread(self.store.get_campaign, rec.id)
                if fresh is None or fresh.state not in ACTIVE_CAMPAIGN:
                    continue
                log.warning("campaign %s: %s; run by replica %s from now", fresh.id, fresh.state, replicas.id)
                self._start(_Live(fresh, lock=env.push_lock, lease=lease))
                started = True
            finally:
                if not started:
                    await self._unlock(lease)
                    env.push_lock.release()

    async def _apply_actions(self) -> None:
        store: Any = self.store
        mine = [cid for cid, live in self._live.items() if live.task is not None and not live.task.done()]
        for cid, aid, action, who in await asyncio.to_thread(store.queued_actions, mine):
            refused = None
            try:
                if action not in _ACTIONS:
                    raise CampaignRefused("invalid_request", f"unknown campaign action {action!r}")
                await getattr(self, action)(cid, who)
            except (CampaignRefused, StateError) as exc:  # StateError: applied here, but not recorded
                refused = str(exc)
            await asyncio.to_thread(store.finish_action, cid, aid, refused)

    async def release_env(self, repo: str, environment: str) -> None:
        """Replicas: the lease is lost: its campaigns stop where they are (the next owner resumes them)."""
        tasks = [
            live.task
            for live in self._live.values()
            if (live.record.repo, live.record.environment) == (repo, environment)
            and live.task is not None
            and not live.task.done()
        ]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Daemon stop: the runners stop where they are; the records stay active for the next start."""
        self._stopping = True
        self._halt.set()
        tasks = [v.task for v in self._live.values() if v.task is not None and not v.task.done()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, live: _Live) -> None:
        self._live[live.record.id] = live
        live.task = asyncio.get_running_loop().create_task(self._run(live), name=f"campaign {live.record.id}")

    # ///// the runner /////

    def _save(self, live: _Live, **changes: Any) -> None:
        """Replace the record and hand it to the campaign's ordered writes (the newest pending one wins)."""
        live.record = rec = replace(live.record, updated_at=self.clock(), **changes)
        live.writes.put(f"record campaign {rec.id}", lambda: self.store.update_campaign(rec), key="record")
        self._metrics(rec)

    async def _durable(self, live: _Live) -> None:
        """Wait until the record as it is now is written; StateError if it (or a write before) failed."""
        failed = await live.writes.flush()
        if "record" in failed:
            raise StateError(
                f"campaign {live.record.id}: cannot record its progress: {failed['record']}",
                key=live.record.id,
            )

    def _metrics(self, rec: CampaignRecord) -> None:
        """The environment's campaign gauges (only the runner exports them: no double count)."""
        found = self.daemon.find(rec.environment, rec.repo)
        if found is None or not self.daemon.owns(found[1]):
            return
        env = found[1]
        mine = [
            v.record
            for v in self._live.values()
            if (v.record.repo, v.record.environment) == (rec.repo, rec.environment)
        ]
        self.daemon.metrics.set_campaigns(
            env.repo,
            env.name,
            sum(r.state is CampaignState.RUNNING for r in mine),
            sum(r.state is CampaignState.PAUSED for r in mine),
            counts(rec),
        )

    def _shard(self, live: _Live, i: int, **changes: Any) -> ShardRun:
        shards = list(live.record.shards)
        shards[i] = replace(shards[i], **changes)
        self._save(live, shards=tuple(shards))
        return shards[i]

    def _end(self, live: _Live, state: CampaignState, error: str | None) -> None:
        now = self.clock()
        shards = tuple(
            replace(s, state=ShardRunState.SKIPPED, error=f"not run: the campaign {state}", finished_at=now)
            if s.state is ShardRunState.PENDING
            else s
            for s in live.record.shards
        )
        self._save(live, state=state, error=error, shards=shards, ended_at=now, next_wave_at=None)
        live.wake.set()
        found = self.daemon.find(live.record.environment, live.record.repo)
        if found is not None:
            self.daemon.metrics.record_campaign_ended(found[1].repo, found[1].name, str(state))
        event = {CampaignState.HALTED: "campaign.halted"}.get(state, "campaign.finished")
        self._emit(event, live.record)
        log.log(
            logging.WARNING if state is not CampaignState.FINISHED else logging.INFO,
            "campaign %s: %s%s",
            live.record.id,
            state,
            f": {error}" if error else "",
        )

    def _env(self, live: _Live) -> tuple[str, RepoEnvironment]:
        found = self.daemon.find(live.record.environment, live.record.repo)
        if found is None:
            raise SchemadError(f"environment {live.record.environment} of repo {live.record.repo} is gone")
        return found

    async def _run(self, live: _Live) -> None:
        try:
            while live.record.state in ACTIVE_CAMPAIGN:
                rec = live.record
                if rec.state is CampaignState.PAUSED:
                    await self._wait(live, None)
                    continue
                if rec.wave > rec.waves:
                    self._end(live, CampaignState.FINISHED, None)
                    break
                if rec.next_wave_at is not None and self.clock() < rec.next_wave_at:
                    await self._wait(live, rec.next_wave_at - self.clock())
                    continue
                await self._run_wave(live, rec.wave)
                rec = live.record
                if rec.state is not CampaignState.RUNNING:
                    continue
                if any(s.wave == rec.wave and s.state is ShardRunState.PENDING for s in rec.shards):
                    continue  # paused and resumed mid-wave: the rest of it
                self._emit("campaign.wave_done", rec, wave_done=rec.wave)
                more = rec.wave < rec.waves
                pause = rec.settings.pause_between_waves
                self._save(
                    live, wave=rec.wave + 1, next_wave_at=self.clock() + pause if more and pause > 0 else None
                )
        except asyncio.CancelledError:
            raise  # the daemon stops: the record stays as it is, for the next start
        except Exception as exc:  # a bug or a store failure: say so, keep the record resumable
            log.exception("campaign %s: the runner failed", live.record.id)
            with contextlib.suppress(Exception):
                self._end(live, CampaignState.HALTED, f"the runner failed: {exc}")
        finally:
            # Its last record is written before the locks go (the next owner or campaign reads it).
            with contextlib.suppress(StateError):  # logged by the writes; the store has an older one
                await self._durable(live)
            if live.record.state not in ACTIVE_CAMPAIGN or not self._stopping:
                self._live.pop(live.record.id, None)
            self._metrics(live.record)
            await self._unlock(live.lease)
            if live.lock is not None and live.lock.locked():
                live.lock.release()

    async def _wait(self, live: _Live, seconds: float | None) -> None:
        live.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.wake.wait(), seconds)

    async def _run_wave(self, live: _Live, wave: int) -> None:
        sem = asyncio.Semaphore(max(1, live.record.settings.concurrency))
        todo = [
            i
            for i, s in enumerate(live.record.shards)
            if s.wave == wave and s.state in (ShardRunState.PENDING, ShardRunState.RUNNING)
        ]

        async def one(i: int) -> None:
            async with sem:
                if live.record.state is not CampaignState.RUNNING:
                    return  # paused, halted or aborted before it started
                try:
                    await self._run_shard(live, i)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one shard's surprise fails that shard, not the campaign
                    log.exception("campaign %s: shard %d", live.record.id, i)
                    self._fail(live, i, str(exc) if isinstance(exc, SchemadError) else repr(exc))

        await asyncio.gather(*(one(i) for i in todo))

    def _fail(self, live: _Live, i: int, error: str) -> None:
        s = self._shard(live, i, state=ShardRunState.FAILED, error=error, finished_at=self.clock())
        log.warning("campaign %s: %s %s failed: %s", live.record.id, s.address, s.schema, error)
        rec = live.record
        if rec.state is not CampaignState.RUNNING and rec.state is not CampaignState.PAUSED:
            return
        canary = s.wave == 0
        if canary or rec.failures >= rec.settings.max_failures:
            failed = [x for x in rec.shards if x.state is ShardRunState.FAILED]
            names = "; ".join(f"{x.address} {x.schema}: {x.error}" for x in failed[:10])
            why = "a canary failed" if canary else f"{len(failed)} shard(s) failed (max_failures"
            why += "" if canary else f" {rec.settings.max_failures})"
            self._end(live, CampaignState.HALTED, f"{why}: {names}")

    def _done(self, live: _Live, i: int, state: ShardRunState, note: str | None, st: ShardState) -> None:
        s = self._shard(live, i, state=state, error=note, finished_at=self.clock())
        if st.fingerprint and s.dir not in live.record.targets:
            self._save(live, targets={**live.record.targets, s.dir: st.fingerprint})

    async def _fresh(self, live: _Live, s: ShardRun) -> tuple[str, RepoEnvironment, ShardState]:
        key, env = self._env(live)
        await env.poll_shards([(s.address, s.schema)])
        st = next((x for x in env.shards() if (x.address, x.schema) == (s.address, s.schema)), None)
        if st is None:
            raise SchemadError(f"{s.address} {s.schema} is no longer a shard of {key}")
        return key, env, st

    def _converged(self, live: _Live, s: ShardRun, st: ShardState) -> bool:
        return st.drifted is False or (
            st.fingerprint is not None and live.record.targets.get(s.dir) == st.fingerprint
        )

    async def _run_shard(self, live: _Live, i: int) -> None:
        s = live.record.shards[i]
        if s.state is ShardRunState.RUNNING:  # in flight when the daemon stopped: look before anything
            await self._orphan_gone(live, s)
            _, _, st = await self._fresh(live, s)
            if st.error is not None:
                return self._fail(live, i, f"cannot re-check it: {st.error}")
            if self._converged(live, s, st):
                return self._done(
                    live, i, ShardRunState.DONE, "re-checked after a restart: matches the repo", st
                )
            if st.fingerprint != s.fingerprint:
                return self._fail(
                    live,
                    i,
                    "half-applied: interrupted, and its schema is neither as it started"
                    " nor as the repo has it",
                )
        s = self._shard(live, i, state=ShardRunState.RUNNING, started_at=self.clock(), job_id=None)
        key, env, st = await self._fresh(live, s)
        if st.error is not None:
            return self._fail(live, i, st.error)
        if st.drifted is False:
            return self._done(live, i, ShardRunState.SKIPPED, "already matches the repo", st)
        if st.fingerprint != s.fingerprint or st.plan_hash != s.plan_hash:
            return self._fail(
                live, i, "changed since the campaign started: its schema or plan is not its group's any more"
            )
        plan = await env.push_plan((s.address, s.schema), allow_unsafe=live.record.settings.allow_unsafe)
        if plan.refusals:
            return self._fail(live, i, "refused: " + "; ".join(str(r) for r in plan.refusals[:5]))
        t = env.targets[(s.address, s.schema)]
        item = PushItem(plan, env.dirs[t.dir_path].dir)
        if not item.steps:
            return self._done(live, i, ShardRunState.SKIPPED, "nothing to run", st)
        notes = await preflight_items([item])
        if any(n.finding.refuse for n in notes):
            return self._fail(live, i, "pre-flight: " + "; ".join(str(n) for n in notes if n.finding.refuse))
        if live.record.state is CampaignState.ABORTED:
            return self._done(live, i, ShardRunState.SKIPPED, "not run: the campaign aborted", st)
        await self._durable(live)  # the shard is `running` in the store before its job exists
        unrecorded: list[str] = []

        async def recorded(job: JobRecord) -> None:  # awaited by submit before it starts the job's task
            self._shard(live, i, job_id=job.id)
            try:
                await self._durable(live)
            except StateError as exc:
                unrecorded.append(str(exc))

        rec = live.record
        job = await self.daemon.jobs.submit(
            repo=rec.repo,
            environment=key,
            plan_hash=s.plan_hash,
            who=f"{rec.requested_by} (campaign {rec.id})",
            items=[item],
            recorded=recorded,
        )
        if unrecorded:  # no await since submit made its task: cancelled before it runs anything
            self.daemon.jobs.cancel(job.id)
        task = self.daemon.jobs.task(job.id)
        if task is not None:
            await asyncio.shield(task)  # a stopping daemon cancels us, never the job (jobs.drain ends it)
        final = await asyncio.to_thread(self.daemon.store.get_job, job.id)
        state = final.state if final is not None else JobState.FAILED
        if unrecorded:
            return self._fail(live, i, f"job {job.id} cancelled before its first statement: {unrecorded[0]}")
        if state is JobState.INTERRUPTED:
            return  # the daemon is stopping: the shard stays running and is re-checked at the next start
        if state is not JobState.SUCCEEDED:
            error = final.error if final is not None and final.error else str(state)
            return self._fail(live, i, f"job {job.id} {state}: {error}")
        _, _, st = await self._fresh(live, s)
        if not self._converged(live, s, st):
            return self._fail(live, i, f"job {job.id} succeeded but the shard still differs from the repo")
        self._done(live, i, ShardRunState.DONE, None, st)

    async def _orphan_gone(self, live: _Live, s: ShardRun) -> None:
        """Wait while the statement a killed daemon had in flight on the shard still runs on its server."""
        job = await asyncio.to_thread(self.daemon.store.get_job, s.job_id) if s.job_id else None
        if job is None:
            return
        where = f"{s.address} {s.schema}"
        sqls = [
            st.sql for st in job.statements if st.target == where and st.started_at and not st.finished_at
        ]
        if not sqls:
            return
        _, env = self._env(live)
        t = env.targets.get((s.address, s.schema))
        if t is None:
            return
        inst = env.instances.get(t.target.params)
        deadline = time.monotonic() + ORPHAN_WAIT
        while time.monotonic() < deadline:
            rows = await inst.query(
                "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()"
                " AND INFO IN (" + ", ".join(["%s"] * len(sqls)) + ")",
                sqls,
            )
            if not rows or not rows[0]["n"]:
                return
            log.warning(
                "campaign %s: %s: the statement in flight before the restart still runs; waiting",
                live.record.id,
                where,
            )
            await asyncio.sleep(1.0)
        raise SchemadError(f"the statement in flight before the restart still runs after {ORPHAN_WAIT:g}s")

    # ///// events /////

    def _emit(self, name: str, rec: CampaignRecord, **extra: Any) -> None:
        failed = [s for s in rec.shards if s.state is ShardRunState.FAILED]
        data: dict[str, Any] = {
            "campaign": {
                "id": rec.id,
                "state": str(rec.state),
                "requested_by": rec.requested_by,
                "wave": rec.wave,
                "waves": rec.waves,
                "shards": len(rec.shards),
                "done": sum(s.state is ShardRunState.DONE for s in rec.shards),
                "failures": len(failed),
                "error": rec.error,
            },
            "failed": [{"address": s.address, "schema": s.schema, "error": s.error} for s in failed[:20]],
            **extra,
        }
        key = self.daemon.key(rec.repo, rec.environment) if rec.repo in self.daemon.repos else rec.environment
        self.daemon.webhooks.emit(name, key, rec.repo, data)


_ACTIONS = ("pause", "resume", "abort")


def views_from_json(doc: Mapping[str, Any]) -> list[FleetView]:
    """The fleet view as GET .../fleet serves it (an owner's published answer), back as FleetViews."""
    out = []
    for v in doc.get("dirs", []):
        groups = tuple(
            ShardGroup(
                dir=str(v["dir"]),
                fingerprint=g.get("fingerprint"),
                shards=tuple(ShardState.from_json({**s, "last_poll": None}) for s in g["shards"]),
                matches_repo=g.get("matches_repo"),
                plan_hash=g.get("plan_hash"),
                statements=int(g.get("statements") or 0),
                majority=bool(g.get("majority")),
            )
            for g in v.get("groups", [])
        )
        out.append(FleetView(str(v["dir"]), groups))
    return out


def counts(rec: CampaignRecord) -> Mapping[str, int]:
    """How many shards are in each state."""
    out = {str(s): 0 for s in ShardRunState}
    for s in rec.shards:
        out[str(s.state)] += 1
    return out


def waves(rec: CampaignRecord) -> Iterator[tuple[int, list[ShardRun]]]:
    for w in range(rec.waves + 1):
        members = [s for s in rec.shards if s.wave == w]
        if members:
            yield w, members
