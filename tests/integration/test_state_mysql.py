"""The state-store contract on a MySQL/MariaDB control schema, and what only a shared server shows.

The contract tests of tests/unit/service/test_state.py (StateStore) and
test_opsstore.py (OpsStore) are collected here again with their `store`,
`make_store` and `ops` fixtures answered by `MysqlStateStore` / `MysqlOpsStore`
on a fresh control schema per test, on the suite's real server.  Then: two
stores on one schema, migrations racing, a newer schema, the migration lock,
a killed connection, the password kept out of every message, and a daemon
(in-process and a real process) keeping its jobs and audit log there.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pymysql
import pytest

from schemad.api.app import STORE, create_app
from schemad.daemon_config import DaemonConfig
from schemad.errors import ConfigError
from schemad.service.opsstore import NewEvent, OpsStore, ops_store_for
from schemad.service.opsstore_mysql import MysqlOpsStore
from schemad.service.state import JobState, StateError, StatementRecord, StateStore
from schemad.service.state_mysql import MIGRATE_LOCK, SCHEMA_VERSION, MysqlStateStore
from schemad.state_config import MysqlStateConfig, StateConfig
from schemad.webhook_config import SecretRef
from tests.conftest import DBServer
from tests.daemon_proc import (
    DB_PASSWORD,
    DB_USER,
    PASSWORD_ENV,
    USERS,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
    sql,
)
from tests.unit.service import test_opsstore as ops_contract
from tests.unit.service import test_state as state_contract
from tests.unit.service.test_state import NOW, _clock, audit, job

pytestmark = [pytest.mark.db, pytest.mark.timeout(240)]


def _contract(module: ModuleType, fixtures: set[str]) -> dict[str, Callable[..., Any]]:
    """The module's tests that take one of `fixtures`: the ones about the contract, not about SQLite."""
    return {
        name: fn
        for name, fn in vars(module).items()
        if name.startswith("test_") and callable(fn) and fixtures & set(inspect.signature(fn).parameters)
    }


# Collected here too, with this module's fixtures below.
globals().update(_contract(state_contract, {"store", "make_store"}))
globals().update(_contract(ops_contract, {"ops"}))

_counter = itertools.count(1)
_PASSWORD_VAR = "SCHEMAD_TEST_CONTROL_PASSWORD"


def admin(server: DBServer) -> Any:
    p = server.params
    return pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password, autocommit=True)


def admin_sql(server: DBServer, query: str, args: Any = None) -> list[tuple[Any, ...]]:
    conn = admin(server)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture
def control(server: DBServer) -> Iterator[MysqlStateConfig]:
    """Settings for a control schema of its own (created by the first store, dropped afterwards)."""
    p = server.params
    name = f"ctl_{os.getpid()}_{next(_counter)}"
    yield MysqlStateConfig(
        host=p.host,
        port=p.port,
        user=p.user,
        schema=name,
        password=SecretRef(env=_PASSWORD_VAR) if p.password else None,
        connect_timeout=10.0,
    )
    admin_sql(server, f"DROP DATABASE IF EXISTS `{name}`")


def open_store(config: MysqlStateConfig, server: DBServer, **kw: Any) -> MysqlStateStore:
    return MysqlStateStore(config, environ={_PASSWORD_VAR: server.params.password}, **kw)


@pytest.fixture
def make_store(control: MysqlStateConfig, server: DBServer) -> Iterator[Callable[[], StateStore]]:
    """Every call opens another store on the same control schema (as another daemon would)."""
    opened: list[StateStore] = []

    def make() -> StateStore:
        s = open_store(control, server, clock=_clock)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store: Callable[[], StateStore]) -> StateStore:
    return make_store()


@pytest.fixture
def ops(store: StateStore) -> OpsStore:
    got = ops_store_for(store)
    assert isinstance(got, MysqlOpsStore)
    return got


# ///// two daemons, one control schema /////


def test_two_stores_see_each_others_writes(make_store: Callable[[], StateStore]) -> None:
    a, b = make_store(), make_store()
    a.create_job(job("j1"))
    assert b.get_job("j1") == job("j1")
    b.update_job(job("j1", state=JobState.RUNNING))
    assert a.running_jobs() == [job("j1", state=JobState.RUNNING)]
    ids = [audit(s, n, job_id="j1") for n, s in enumerate([a, b, a, b], 1)]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert [e.who for e in a.list_audit()] == ["user1", "user2", "user3", "user4"]
    with pytest.raises(StateError):
        b.create_job(job("j1"))
    oa, ob = ops_store_for(a), ops_store_for(b)
    oa.enqueue([NewEvent("hook", "e1", "push.started", NOW, b"{}")], {"hook": 10})
    ob.enqueue([NewEvent("hook", "e2", "push.started", NOW, b"{}")], {"hook": 10})
    head = ob.head("hook")
    assert head is not None and head.event_id == "e1" and oa.depth("hook") == 2


def test_outbox_limit_holds_across_stores(make_store: Callable[[], StateStore]) -> None:
    """Enqueues from many threads of two daemons: the limit is never exceeded, ids stay in order."""
    stores = [ops_store_for(make_store()) for _ in range(2)]

    def enqueue(t: int) -> None:
        for i in range(10):
            stores[t % 2].enqueue([NewEvent("hook", f"t{t}-{i}", "push.started", NOW, b"{}")], {"hook": 7})

    state_contract._run_threads(enqueue)
    assert stores[0].depth("hook") == 7


def test_concurrent_start_migrates_once(control: MysqlStateConfig, server: DBServer) -> None:
    barrier = threading.Barrier(4)
    opened: list[MysqlStateStore] = []

    def start(_: int) -> None:
        barrier.wait()
        opened.append(open_store(control, server))

    state_contract._run_threads(start)  # 8 threads: the barrier lets the first four through together
    for s in opened:
        s.close()
    rows = admin_sql(
        server, f"SELECT version, applied_by FROM `{control.schema}`.schema_migrations ORDER BY 1"
    )
    assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
    assert len({r[1] for r in rows}) == 1  # one store applied every version; the others found them done


def test_a_newer_control_schema_is_refused(control: MysqlStateConfig, server: DBServer) -> None:
    open_store(control, server).close()
    admin_sql(
        server,
        f"INSERT INTO `{control.schema}`.schema_migrations VALUES (%s, 0, 'a newer schemad')",
        (SCHEMA_VERSION + 1,),
    )
    with pytest.raises(StateError) as err:
        open_store(control, server)
    assert f"has schema version {SCHEMA_VERSION + 1}; this schemad knows up to {SCHEMA_VERSION}" in str(
        err.value
    )
    assert control.location in str(err.value) and err.value.path == control.location


def test_migration_waits_for_the_lock_and_says_so(control: MysqlStateConfig, server: DBServer) -> None:
    holder = admin(server)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (MIGRATE_LOCK,))
            assert cur.fetchone()[0] == 1
        with pytest.raises(StateError, match="another daemon held the migration lock"):
            open_store(replace(control, migrate_wait=0.2), server)
    finally:
        holder.close()  # the lock goes with the session
    open_store(control, server).close()


def test_reconnects_after_its_connection_is_killed(store: StateStore, server: DBServer) -> None:
    assert isinstance(store, MysqlStateStore)
    store.create_job(job("before"))
    with store.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        victim = cur.fetchone()[0]
    admin_sql(server, f"KILL {int(victim)}")
    assert store.get_job("before") == job("before")  # the pooled connection is dead: a new one is used
    store.create_job(job("after"))
    assert [j.id for j in store.list_jobs()] == ["before", "after"]  # same created_at: id descending


def test_values_too_long_are_refused_not_truncated(store: StateStore) -> None:
    with pytest.raises(StateError, match="Data too long"):
        store.create_job(job("x" * 300))
    assert store.list_jobs() == []


# ///// the password /////


@pytest.fixture
def control_user(server: DBServer, control: MysqlStateConfig) -> Iterator[tuple[str, str]]:
    user, password = f"ctl_u{os.getpid()}", "pw-" + secrets.token_hex(12) + "-Control"
    admin_sql(server, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    admin_sql(server, f"GRANT ALL ON `{control.schema}`.* TO '{user}'@'%'")
    try:
        yield user, password
    finally:
        admin_sql(server, f"DROP USER '{user}'@'%'")


def test_password_never_in_errors_or_logs(
    control: MysqlStateConfig, control_user: tuple[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user, password = control_user
    wrong = "wrong-" + secrets.token_hex(12)
    config = replace(control, user=user, password=SecretRef(env="CTL_PW"))
    with pytest.raises(StateError) as err:
        MysqlStateStore(config, environ={"CTL_PW": wrong})
    texts = [str(err.value), repr(err.value), repr(err.value.__cause__), caplog.text]
    assert "Access denied" in str(err.value) and control.location.replace("root", user) in str(err.value)
    assert not [t for t in texts if wrong in t or password in t]

    with pytest.raises(ConfigError, match="environment variable CTL_PW is not set"):
        MysqlStateStore(config, environ={})

    secret_file = tmp_path / "control-password"
    secret_file.write_text(password + "\n")
    with MysqlStateStore(replace(config, password=SecretRef(file=secret_file)), environ={}) as s:
        s.create_job(job("ok"))
        assert s.get_job("ok") == job("ok")
        assert password not in repr(s.config) and password not in repr(vars(s))
    assert password not in caplog.text and wrong not in caplog.text


# ///// the daemon /////


async def test_daemon_keeps_its_state_in_the_control_schema(
    aiohttp_client: Any, control: MysqlStateConfig, server: DBServer, tmp_path: Path
) -> None:
    with open_store(control, server) as before:
        stmts = (StatementRecord("ALTER 1", "done"), StatementRecord("ALTER 2", "pending"))
        before.create_job(
            replace(job("left", state=JobState.RUNNING), statements=stmts, created_at=time.time())
        )
    os.environ[_PASSWORD_VAR] = server.params.password  # what the daemon reads at start
    try:
        config = DaemonConfig(
            state_dir=tmp_path / "state", allow_anonymous_read=True, state=StateConfig("mysql", control)
        )
        client = await aiohttp_client(create_app(config))
        assert isinstance(client.app[STORE], MysqlStateStore)
        r = await client.get("/v1/jobs/left")
        assert r.status == 200 and (await r.json())["job"]["state"] == "interrupted"
    finally:
        os.environ.pop(_PASSWORD_VAR, None)
    with open_store(control, server) as after:  # written by the daemon's start, read by another store
        got = after.get_job("left")
        assert got is not None and got.state is JobState.INTERRUPTED
        assert [s.status for s in got.statements] == ["done", "not_run"]
    assert not (tmp_path / "state" / "state.sqlite3").exists()


def test_daemon_process_pushes_with_jobs_and_audit_in_the_control_schema(
    server: DBServer, tmp_path: Path
) -> None:
    ensure_db_user(server)
    target, ctl = f"ctl_target_{os.getpid()}", f"ctl_daemon_{os.getpid()}"
    sql(server, f"DROP DATABASE IF EXISTS {target}; CREATE DATABASE {target}; DROP DATABASE IF EXISTS {ctl}")
    repo = DaemonRepo.create(tmp_path / "repo", server, target, {"users.sql": USERS})
    p = server.params
    state = (
        f'[state]\nbackend = "mysql"\nhost = "{p.host}"\nport = {p.port}\nuser = "{DB_USER}"\n'
        f'schema = "{ctl}"\npassword_env = "{PASSWORD_ENV}"\n'
    )
    d = RunningDaemon(repo, tmp_path / "run", extra_toml=state).start()
    try:
        plan = d.diff()
        r = d.post("/v1/environments/test/push", {"plan_hash": plan["plan_hash"]})
        assert r.status == 202, r.text
        job_id = r.json()["job"]["id"]
        assert d.wait_job(job_id)["state"] == "succeeded"
        entries = d.get("/v1/audit").json()["entries"]
        assert [e["result"] for e in entries] == ["succeeded"]
    finally:
        assert d.stop() == 0
    try:
        config = MysqlStateConfig(
            host=p.host, port=p.port, user=DB_USER, schema=ctl, password=SecretRef(env="PW")
        )
        with MysqlStateStore(config, environ={"PW": DB_PASSWORD}) as s:
            got = s.get_job(job_id)
            assert got is not None and got.state is JobState.SUCCEEDED
            (entry,) = s.list_audit(job_id=job_id)
            assert entry.result == "succeeded" and "CREATE TABLE `users`" in entry.statements[0]
        assert not (d.state_dir / "state.sqlite3").exists()
        assert_no_password(d)
        assert DB_PASSWORD not in str(admin_sql(server, f"SELECT * FROM `{ctl}`.jobs"))
    finally:
        sql(server, f"DROP DATABASE IF EXISTS {target}; DROP DATABASE IF EXISTS {ctl}")
