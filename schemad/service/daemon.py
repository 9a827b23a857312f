"""The daemon's moving parts, wired: repos x environments, polls, watchers, fetches, push jobs.

`Daemon` owns one `RepoEnvironment` per configured repo x environment, the
shared canonical cache, the `Poller` (one scheduled poll per environment),
one watcher per repo, one `RepoFetcher` per repo with `fetch`, and the
`JobRunner`.  It publishes drift and file-error metrics after every change.
The REST layer only calls the methods here.

Environment keys: the environment name, or `repo/environment` when two repos
share an environment name (the API's names, so they change when repos come and
go).  Metrics never use the key: their labels are always `repo` and
`environment` (see metrics.py), and a reload removes every series of the
environments and repos it drops, never those it keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import field
from pathlib import Path
from typing import Any

from schemad.connection import tunnel
from schemad.daemon_config import DaemonConfig, RepoConfig
from schemad.errors import SchemadError
from schemad.plan.planner import Target
from schemad.records import dataclass
from schemad.service.acks import DriftBook
from schemad.service.campaigns import CampaignRunner
from schemad.service.environment import RepoEnvironment
from schemad.service.gitfetch import RepoFetcher
from schemad.service.jobs import JobRunner
from schemad.service.metrics import Metrics
from schemad.service.opsstore import ops_store_for
from schemad.service.poller import Poller
from schemad.service.poller import PollSchedule as SchedulerSchedule
from schemad.service.push import PushRequest, push_here
from schemad.service.replicas import ControlSchema, ReplicaHooks, Replicas, lease_name, replica_id
from schemad.service.state import JobRecord, StatementRecord, StateStore
from schemad.service.state_mysql import MysqlStateStore
from schemad.service.watcher import RepoChange, watch_repo
from schemad.service.webhooks import WebhookDispatcher
from schemad.workspace import local as local_workspace
from schemad.workspace.cache import CanonicalCache

__all__ = ["Daemon", "RepoRuntime"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RepoRuntime:
    config: RepoConfig
    envs: dict[str, RepoEnvironment] = field(default_factory=dict)  # by environment name
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    fetcher: RepoFetcher | None = None
    head: str | None = None  # the checkout's HEAD commit, when it is a git checkout


class Daemon:
    def __init__(
        self,
        config: DaemonConfig,
        store: StateStore,
        metrics: Metrics,
        *,
        cache: CanonicalCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.clock = clock
        # The state dir, not ~/.cache: a hardened service has no home (ProtectHome=, ReadWritePaths=).
        self.cache = cache or CanonicalCache(
            None if os.environ.get("SCHEMAD_CACHE_DIR") else config.state_dir / "canonical-cache.sqlite3"
        )
        self.poller = Poller(metrics=metrics, clock=clock)
        self.repos: dict[str, RepoRuntime] = {}
        # Drift acknowledgements and webhooks (acks.py, webhooks.py) keep their tables beside the jobs'.
        self.ops = ops_store_for(store)
        self.webhooks = WebhookDispatcher(
            config.webhooks, self.ops, metrics, public_url=config.public_url, clock=clock
        )
        self.drift = DriftBook(self.ops, store, self.webhooks.emit, clock)
        self.drift.load()
        self.jobs = JobRunner(
            store,
            metrics,
            config.state_dir / "jobs",
            audit_stdout=config.audit_stdout,
            on_finished=self._after_push,
            on_state=self._job_state,
            clock=clock,
        )
        self.campaigns = CampaignRunner(self)  # push campaigns over fleets (campaigns.py)
        self._stopping = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._scheduled: dict[tuple[str, str], str] = {}  # (repo, environment) -> its poller key
        self._push_locks: dict[tuple[str, str], asyncio.Lock] = {}  # one push per repo x environment
        self._published: dict[tuple[str, str], set[str]] = {}  # (repo, environment) -> schemas with series
        # One of several replicas on a control schema (replicas.py): only owned environments are polled.
        self.replicas: Replicas | None = None
        # Set by the API: an environment's answers as served, for the other replicas (`published`).
        self.render_published: Callable[[str, RepoEnvironment], dict[str, Any]] | None = None
        self._outbox: dict[str, dict[str, Any]] = {}  # lease name -> answers not yet published
        self._flusher: asyncio.Task[None] | None = None
        if isinstance(store, MysqlStateStore):
            rid = replica_id(config.replicas.id, config.state_dir)
            store.replica = rid  # its jobs are recorded as its own; a restart interrupts only those
            hooks = ReplicaHooks(
                self._lease_names, self._pushing, self._gained, self._lost, self._push_request
            )
            control = ControlSchema(store, rid, config.replicas.lease_ttl)
            self.replicas = Replicas(
                control,
                hooks,
                push_wait=config.replicas.push_wait,
                poll_log_retention=config.replicas.poll_log_retention,
                push_request_retention=config.replicas.push_request_retention,
            )

    # ///// lookups /////

    def environments(self) -> list[tuple[str, RepoEnvironment]]:
        """(key, environment) for every repo x environment, in config order."""
        return [(self.key(r.config.name, e), env) for r in self.repos.values() for e, env in r.envs.items()]

    def key(self, repo: str, env: str) -> str:
        shared = sum(env in r.config.environments for r in self.repos.values()) > 1
        return f"{repo}/{env}" if shared else env

    def lease_of(self, env: RepoEnvironment) -> str:
        """The environment's lease name in the control schema (replicas.py)."""
        return lease_name(env.repo, env.name)

    def owns(self, env: RepoEnvironment) -> bool:
        """This daemon polls and pushes `env` (always, unless it is one of several replicas)."""
        return self.replicas is None or self.replicas.owns(self.lease_of(env))

    def find(self, env: str, repo: str | None = None) -> tuple[str, RepoEnvironment] | None:
        """The environment `env` of `repo`, or of the only repo having it (None if unknown/ambiguous)."""
        if repo is not None:
            rt = self.repos.get(repo)
            e = rt.envs.get(env) if rt is not None else None
            return (self.key(repo, env), e) if e is not None else None
        if "/" in env:
            r, _, e2 = env.partition("/")
            return self.find(e2, r)
        hits = [(r.config.name, r.envs[env]) for r in self.repos.values() if env in r.envs]
        if len(hits) != 1:
            return None
        return self.key(hits[0][0], env), hits[0][1]

    # ///// lifecycle /////

    async def start(self) -> None:
        # workspace=local: a local server, once started, serves every workspace until stop().
        local_workspace.keep_running()
        await self.webhooks.start()  # what a previous run left queued goes out now
        self._spawn(self.drift.run_expiry(self._stopping, self.key, self._acks_expired))
        # Jobs a crash cut short: ended, audit closed, a wrapper they left running stopped.
        interrupted = await self.jobs.recover()
        await self.poller.start()
        await self._bring_up(self.config.repos)
        if self.replicas is not None:  # takes its share of the environments; they are evaluated then
            await self.replicas.start()
            self._spawn(self.campaigns.watch())  # the owner runs an environment's campaigns
        await self.campaigns.resume_all()  # after the jobs' recovery: an interrupted shard is re-checked
        # What their tools left on the tables, once the targets' connection settings are known.
        if any(job.orphan is not None for job in interrupted):
            self._spawn(self.jobs.recover_leftovers(interrupted, self._target_of))

    def target_of(self, job: JobRecord, st: StatementRecord) -> Target | None:
        """The configured target a job's statement ran on (None if it is gone from the config)."""
        return self._target_of(job, st)

    def _target_of(self, job: JobRecord, st: StatementRecord) -> Target | None:
        """The configured target a job's statement ran on (None if it is gone from the config)."""
        found = self.find(job.environment)
        if found is None:
            return None
        return next(
            (
                t.target
                for t in found[1].targets.values()
                if f"{t.target.address} {t.target.schema}" == st.target
            ),
            None,
        )

    async def _bring_up(self, repos: Iterable[RepoConfig]) -> None:
        """Add repos: watch them, read every environment once, then schedule polls and fetches."""
        added = [self._add_repo(repo) for repo in repos]
        # Watch first, so that no save between the first read and the watch is lost.
        await asyncio.gather(*(self._start_watcher(rt) for rt in added))
        await asyncio.gather(
            *(
                self._first_evaluation(self.key(rt.config.name, e), env)
                for rt in added
                for e, env in rt.envs.items()
                if self.owns(env)
            )
        )
        for rt in added:
            self._start_repo_tasks(rt)
        self._sync_schedule()

    async def stop(self, *, grace: float = 30.0) -> None:
        """Stop watching and polling, let running statements finish (up to `grace`), close."""
        for rt in self.repos.values():
            rt.stop.set()
        await self.campaigns.stop()  # no shard starts; the records stay active for the next start
        await self.jobs.drain(grace)
        await self.poller.shutdown(wait=False)
        if self.replicas is not None:  # polls stopped: the others may take over at once
            await self.replicas.stop()
        for rt in self.repos.values():
            await self._stop_repo_tasks(rt)
            for env in rt.envs.values():
                await env.close()
        self._stopping.set()
        for t in list(self._background):
            t.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.webhooks.stop()  # undelivered events stay queued for the next start
        await self.drift.writes.flush()  # acknowledgement ends and baselines handed over off the loop
        self.ops.close()
        self.cache.close()
        local_workspace.release_all()  # it stops after its local-workspace-idle
        await tunnel.close_all()  # the SSH connections every environment's servers shared

    async def reload(self, config: DaemonConfig) -> None:
        """Apply a new configuration: repos added, removed or changed; jobs keep running.

        What the new configuration no longer has (a repo, or an environment of a
        repo) loses every metric series as it leaves the API's lists (nothing
        records for it afterwards: see `_current`); what it keeps keeps its series.
        """
        if (config.webhooks, config.public_url) != (self.config.webhooks, self.config.public_url):
            await self.webhooks.reconfigure(config.webhooks, config.public_url)
        self.config = config
        new = {r.name: r for r in config.repos}
        for name in list(self.repos):
            rt = self.repos[name]
            if name not in new or new[name] != rt.config:
                kept = new[name].environments if name in new else ()
                for env_name in rt.envs:
                    if env_name not in kept:
                        self._published.pop((name, env_name), None)
                        self.metrics.forget_environment(name, env_name)
                if name not in new:
                    self.metrics.forget_repo(name)
                await self._remove_repo(name)  # gone from `repos` before its first await
        await self._bring_up([r for r in config.repos if r.name not in self.repos])
        # Every environment re-reads its tree (a .skeema may have changed too).
        for key, env in self.environments():
            self._spawn(self._reread(key, env))

    def _current(self, env: RepoEnvironment) -> bool:
        """`env` is still served (a reload may have replaced or dropped it while it was busy)."""
        rt = self.repos.get(env.repo)
        return rt is not None and rt.envs.get(env.name) is env

    async def _reread(self, key: str, env: RepoEnvironment) -> None:
        """Re-read an environment's whole tree (targets, options, files) and publish the result."""
        if not self.owns(env):
            return
        await env.files_changed((), True)
        self.publish(key, env)

    def _add_repo(self, repo: RepoConfig) -> RepoRuntime:
        rt = RepoRuntime(repo)
        for env in repo.environments:
            rt.envs[env] = RepoEnvironment(
                repo.name,
                repo.path,
                env,
                self.cache,
                workspace=self.config.workspace,
                clock=self.clock,
                fleet_refresh=self.config.fleet.refresh,
                poll_concurrency=self.config.fleet.concurrency,
            )
            # The lock outlives a reload's new RepoEnvironment: a push still running keeps holding it.
            rt.envs[env].push_lock = self._push_locks.setdefault((repo.name, env), asyncio.Lock())
        self.repos[repo.name] = rt
        rt.head = _git_head(repo.path)
        return rt

    async def _remove_repo(self, name: str) -> None:
        """Stop serving a repo: gone from `repos` at once, then its tasks and connections end."""
        rt = self.repos.pop(name)
        rt.stop.set()
        for env_name in rt.envs:  # all of them before the first await: no poll of it ends after this
            self._unschedule((name, env_name))
        for env in rt.envs.values():
            await env.close()
        await self._stop_repo_tasks(rt)

    def _unschedule(self, ident: tuple[str, str]) -> None:
        """Stop polling one repo x environment; its metric series stay (same labels under any key)."""
        key = self._scheduled.pop(ident, None)
        if key is None:
            return
        with contextlib.suppress(KeyError):
            self.poller.remove(key)

    def _sync_schedule(self) -> None:
        """One poller job per repo x environment under its current key (keys change when repos do)."""
        for rt in self.repos.values():
            for env_name, env in rt.envs.items():
                ident, key = (rt.config.name, env_name), self.key(rt.config.name, env_name)
                self.metrics.name_environment(key, *ident)  # a job submitted under this key counts here
                if not self.owns(env):  # another replica polls it
                    self._unschedule(ident)
                    continue
                if self._scheduled.get(ident) == key:
                    continue
                self._unschedule(ident)
                s = rt.config.poll_for(env_name)
                schedule = SchedulerSchedule(interval=s.interval, cron=s.cron, jitter=s.jitter)
                timeout = max(30.0, (s.interval or 60) * 2)
                self.poller.add(key, schedule, self._poll_fn(key, env), timeout=timeout, labels=ident)
                self._scheduled[ident] = key
                self.publish(key, env)

    def _start_repo_tasks(self, rt: RepoRuntime) -> None:
        repo = rt.config
        if repo.fetch is not None:
            rt.fetcher = RepoFetcher(repo.name, repo.path, repo.fetch, self._fetched(rt))
            rt.tasks.append(
                asyncio.get_running_loop().create_task(rt.fetcher.run(rt.stop), name=f"fetch {repo.name}")
            )

    async def _start_watcher(self, rt: RepoRuntime, timeout: float = 30.0) -> None:
        repo = rt.config
        started = asyncio.Event()
        task = asyncio.get_running_loop().create_task(
            watch_repo(repo.name, repo.path, self._on_change, rt.stop, started=started),
            name=f"watch {repo.name}",
        )
        rt.tasks.append(task)
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait([waiter, task], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("repo %s: cannot watch %s: %s", repo.name, repo.path, task.exception())

    async def _stop_repo_tasks(self, rt: RepoRuntime) -> None:
        rt.stop.set()
        _, pending = await asyncio.wait(rt.tasks, timeout=5) if rt.tasks else (set(), set())
        for t in pending:
            t.cancel()
        await asyncio.gather(*rt.tasks, return_exceptions=True)
        rt.tasks.clear()

    # ///// evaluation /////

    async def _first_evaluation(self, key: str, env: RepoEnvironment) -> None:
        t0 = time.monotonic()
        try:
            await self._logged(env, env.evaluate)
            ok = env.last_poll_error is None
        except SchemadError as exc:
            log.error("environment %s: %s", key, exc)
            ok = False
        if self._current(env):
            self.metrics.record_poll(env.repo, env.name, time.monotonic() - t0, ok, self.clock())
        self.publish(key, env)

    def _poll_fn(self, key: str, env: RepoEnvironment) -> Callable[[], Awaitable[None]]:
        async def poll() -> None:
            try:
                # A replica's first poll of an environment it just took reads everything.
                await self._logged(env, env.poll if env.evaluated else env.evaluate)
            finally:
                self.publish(key, env)

        return poll

    async def poll_now(self, key: str, env: RepoEnvironment) -> None:
        """Poll one environment now, a poll that starts after this call (never overlapping, counted)."""
        try:
            await self.poller.poll_now(key, fresh=True)
        except KeyError:  # not scheduled (yet): poll directly
            await env.poll()
            self.publish(key, env)

    async def refresh(self, key: str, env: RepoEnvironment) -> None:
        """A client's `?refresh=true`: join the running poll, or start one if the rate limit allows.

        Raises RateLimitError when the environment's last refresh-started poll
        began less than `refresh_min_interval` ago.  A failed poll is not an
        error here: it shows as `stale`.  Not scheduled (a reload in between):
        the answer is what is known.
        """
        with contextlib.suppress(KeyError):
            await self.poller.refresh(key, min_interval=self.config.refresh_min_interval)

    async def _on_change(self, change: RepoChange) -> None:
        rt = self.repos.get(change.repo)
        if rt is None:
            return
        for env_name, env in rt.envs.items():
            if not self.owns(env):  # its owner reads the change; it is read in full when taken over
                continue
            await env.files_changed(change.dirs, change.option_files_changed, change.paths)
            self.publish(self.key(change.repo, env_name), env)

    def _fetched(self, rt: RepoRuntime) -> Callable[[], Awaitable[None]]:
        async def updated() -> None:
            rt.head = _git_head(rt.config.path)
            log.info("repo %s: fast-forwarded to %s", rt.config.name, rt.head)
            # The watcher sees the changed files too; a full re-read covers renames and .skeema.
            for env_name, env in rt.envs.items():
                await self._reread(self.key(rt.config.name, env_name), env)

        return updated

    def _job_state(self, job: JobRecord) -> None:
        """A job's state changed: announce it; once it ended, its targets' drift baselines move."""
        self.webhooks.job_changed(job)
        if str(job.state) in ("succeeded", "failed", "cancelled", "interrupted"):
            found = self.find(job.environment)
            if found is not None:
                self.drift.rebase_after(found[1], {st.target for st in job.statements if st.target})

    def _acks_expired(self, envs: set[tuple[str, str]]) -> None:
        """Drift acknowledgements of these (repo, environment)s expired: their marks and metrics move."""
        for key, env in self.environments():
            if (env.repo, env.name) in envs:
                env.version += 1
                self.publish(key, env)

    def _after_push(self, key: str) -> None:
        found = self.find(key)
        if found is not None:
            self._spawn(self.poll_now(*found))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` in the background (kept until done, cancelled at stop)."""
        self._spawn(coro)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ///// replicas (replicas.py) /////

    async def _logged(self, env: RepoEnvironment, read: Callable[[], Awaitable[None]]) -> None:
        """One poll; as a replica only while it owns `env`, recorded in the control schema's poll log."""
        if self.replicas is None:
            await read()
            return
        name = self.lease_of(env)
        if not self.replicas.owns(name):
            return  # lost meanwhile: its new owner polls it
        control = self.replicas.control
        started = asyncio.ensure_future(asyncio.to_thread(control.poll_started, name))
        ok, entry = False, None
        try:
            try:
                entry = await asyncio.shield(started)
            except asyncio.CancelledError:  # stopped while the entry was written: close it, then stop
                entry = await started
                raise
            await read()
            ok = env.last_poll_error is None
        finally:
            if entry is not None:
                with contextlib.suppress(SchemadError):
                    await asyncio.to_thread(control.poll_finished, entry, ok)

    async def _flush_published(self) -> None:
        """Write the answers waiting in the outbox (the newest per environment) to the control schema."""
        assert self.replicas is not None
        while self._outbox:
            name = next(iter(self._outbox))
            payload = self._outbox.pop(name)
            try:
                await asyncio.to_thread(self.replicas.control.publish, name, payload)
            except SchemadError as exc:
                log.warning("replica %s: cannot publish %s: %s", self.replicas.id, name, exc)

    def _by_lease(self, name: str) -> tuple[str, RepoEnvironment] | None:
        return next(((k, e) for k, e in self.environments() if self.lease_of(e) == name), None)

    def _lease_names(self) -> list[str]:
        return [self.lease_of(env) for _, env in self.environments()]

    def _pushing(self, name: str) -> bool:
        found = self._by_lease(name)
        return found is not None and found[1].push_lock.locked()

    async def _gained(self, name: str, dead: str | None) -> None:
        """This replica took `name`: end what a dead owner left running, then poll it (read in full)."""
        found = self._by_lease(name)
        if found is None:
            return
        key, env = found
        if dead is not None and self.replicas is not None:
            control = self.replicas.control
            jobs = await asyncio.to_thread(self.store.interrupt_jobs_of, dead, key)  # type: ignore[attr-defined]
            for job in jobs:
                log.warning("job %s: interrupted (replica %s, which ran it, is gone)", job.id, dead)
                self._job_state(job)
            await asyncio.to_thread(control.release_push_lock, name, dead)
        env.evaluated_at = None  # nothing was read while another replica owned it
        self._sync_schedule()
        with contextlib.suppress(KeyError):
            await self.poller.poll_now(key)
        self.campaigns.look()  # its campaigns are resumed here, once it has been read

    async def _lost(self, name: str) -> None:
        """`name` is no longer this replica's: its poll stops (awaited), its pushes are asked to stop."""
        found = self._by_lease(name)
        if found is None:
            return
        key, env = found
        ident = (env.repo, env.name)
        running = self.poller.running(key)
        self._unschedule(ident)
        await self.campaigns.release_env(env.repo, env.name)  # no shard starts; the next owner resumes
        if running is not None:
            await asyncio.gather(running, return_exceptions=True)
        for job_id in self.jobs.running_for(key):
            self.jobs.cancel(job_id)
        self._published.pop(ident, None)
        self.metrics.forget_environment(*ident)
        self.metrics.name_environment(key, *ident)

    async def _push_request(self, id: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """A push another replica handed over: run here as if it had arrived here."""
        found = self._by_lease(name)
        if found is None or self.replicas is None:
            return {"kind": "owner_unavailable", "message": f"push {id}: {name} is not configured here"}
        req = PushRequest(**request)
        replicas = self.replicas
        out = await push_here(self, *found, req, lambda job: replicas.note_job(id, job.id))
        return {
            "kind": out.kind.value,
            "message": out.message,
            "plan_hash": out.plan_hash,
            "statements": out.statements,
            "job_id": out.job.id if out.job is not None else None,
        }

    # ///// metrics /////

    def publish(self, key: str, env: RepoEnvironment) -> None:
        """Drift gauges per schema and file-error gauges per repo, from the environment's current state.

        First the drift book observes the environment (acks.py: baselines, acknowledgements that
        ended, drift and lint events); an object whose drift is acknowledged is not counted.

        A schema with a target that has no diff (its dir has an error, its server
        was never read) has unknown drift.  An environment a reload replaced or
        dropped publishes nothing: its series are gone (or are the new one's).
        """
        if not self._current(env) or not self.owns(env):  # only the owner exports an environment's series
            return
        try:  # drift baselines, acknowledgements that ended, drift/lint events
            self.drift.observe(key, env)
        except Exception:
            log.exception("environment %s: drift bookkeeping failed", key)
        views = self.drift.view(env)  # acknowledged objects do not count
        ident = (env.repo, env.name)
        known: dict[str, Counter[str]] = {}
        unknown: set[str] = set()
        for t in env.targets.values():
            if t.diff is None:
                unknown.add(t.target.schema)
            else:
                known.setdefault(t.target.schema, Counter()).update(views[t.key].counts())
        for schema in unknown:
            self.metrics.set_drift_unknown(*ident, schema)
        for schema, counts in known.items():
            if schema not in unknown:
                self.metrics.set_drift(*ident, schema, counts)
        schemas = unknown | known.keys()
        for gone in self._published.get(ident, set()) - schemas:  # a schema dir left the repo
            self.metrics.forget_schema(*ident, gone)
        self._published[ident] = schemas
        if env.is_fleet:
            shards = env.shards()
            self.metrics.set_fleet(
                *ident,
                shards=len(shards),
                groups=sum(len(v.groups) for v in env.fleet()),
                drifted=sum(s.drifted is True for s in shards),
                failing=sum(s.error is not None for s in shards),
            )
        else:
            self.metrics.forget_fleet(*ident)
        rt = self.repos[env.repo]  # a file error shows in every environment: count the files of one
        self.metrics.set_repo_file_errors(env.repo, max(_bad_files(e) for e in rt.envs.values()))
        self.metrics.set_workspace_statements(self.cache.stats.statements_run)
        if self.replicas is not None and self.render_published is not None:
            self._outbox[self.lease_of(env)] = self.render_published(key, env)
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.get_running_loop().create_task(self._flush_published())


def _bad_files(env: RepoEnvironment) -> int:
    """Files of the environment's tree that can't be read or split, or whose statements its server rejects."""
    rejected = {
        f.file for ds in env.dirs.values() if not ds.config_error and not ds.file_error for f in ds.failures
    }
    return len(env.file_errors()) + len(rejected)


def _git_head(path: Path) -> str | None:
    """The checkout's HEAD commit, read from .git without running git (None if not a checkout).

    The repo may be a subdirectory of the checkout: the nearest .git above it counts.
    """
    top = next((p for p in (path, *path.parents) if (p / ".git").exists()), None)
    if top is None:
        return None
    git = top / ".git"
    path = top
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = (path / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            return loose.read_text().strip()
        packed = git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except (OSError, IndexError):
        return None
    return None
