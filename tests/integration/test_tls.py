"""TLS against a real MariaDB with certificates: modes, verification, client certificates, CLI, daemon.

One throwaway server per module, started with a CA, a server certificate for
`db.example` and 127.0.0.1 (tests/tls_pki.py) and two accounts: `sslu`
(`REQUIRE SSL`) and `x509u` (`REQUIRE X509`).  `SHOW STATUS LIKE 'Ssl_cipher'`
says whether a connection really is encrypted.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.driver import DriverError
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.connection.tls import SslMode, TlsSettings
from schemad.connection.tlsdriver import TlsConnector, describe_tls_error
from schemad.embedded import EmbeddedServer
from schemad.errors import ConnectError
from tests.conftest import DBServer
from tests.daemon_proc import (
    DB_PASSWORD,
    DB_USER,
    DaemonRepo,
    RunningDaemon,
    assert_no_password,
    ensure_db_user,
)
from tests.helpers import load_sql
from tests.tls_pki import Pki, make_pki

pytestmark = pytest.mark.timeout(240)

PASSWORD = "tls-pw-Secret-7c1f"
USERS = """CREATE TABLE `users` (
  `id` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""


@dataclass(frozen=True)
class TlsServer:
    pki: Pki
    port: int
    socket: str

    def params(self, tls: TlsSettings, *, user: str = "root", host: str = "127.0.0.1") -> ConnParams:
        return ConnParams(
            host=host, port=self.port, user=user, password="" if user == "root" else PASSWORD, tls=tls
        )

    @property
    def root(self) -> DBServer:
        return DBServer(params=ConnParams(host="127.0.0.1", port=self.port, user="root"), socket=self.socket)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    srv = EmbeddedServer(options=pki.server_options)
    try:
        srv.start()
        ts = TlsServer(pki, srv.port, srv.socket)
        asyncio.run(
            load_sql(
                ts.root.params,
                None,
                f"""
                CREATE USER sslu@'%' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL;
                CREATE USER x509u@'%' IDENTIFIED BY '{PASSWORD}' REQUIRE X509;
                GRANT ALL PRIVILEGES ON *.* TO sslu@'%';
                GRANT ALL PRIVILEGES ON *.* TO x509u@'%';
                """,
            )
        )
        yield ts
    finally:
        srv.stop()


async def cipher(params: ConnParams) -> str:
    async with Instance(params, pool_size=1) as inst:
        return str((await inst.query("SHOW STATUS LIKE 'Ssl_cipher'"))[0]["Value"])


async def refused(params: ConnParams) -> str:
    with pytest.raises(ConnectError) as info:
        await cipher(params)
    text = str(info.value)
    assert PASSWORD not in text
    return text


async def test_required_is_encrypted_and_disabled_is_not(tls_server: TlsServer) -> None:
    assert await cipher(tls_server.params(TlsSettings(mode=SslMode.REQUIRED))) != ""
    assert await cipher(tls_server.params(TlsSettings(mode=SslMode.DISABLED))) == ""
    # A REQUIRE SSL account: only over TLS.
    assert await cipher(tls_server.params(TlsSettings(mode=SslMode.REQUIRED), user="sslu")) != ""
    assert "Access denied for user 'sslu'" in await refused(tls_server.params(TlsSettings(), user="sslu"))


async def test_preferred_uses_tls_where_offered_and_required_refuses_a_server_without(
    tls_server: TlsServer, server: DBServer
) -> None:
    preferred = TlsSettings(mode=SslMode.PREFERRED)
    assert await cipher(tls_server.params(preferred)) != ""
    plain = server.params  # the suite's server has no certificate
    assert await cipher(ConnParams(host=plain.host, port=plain.port, user=plain.user, tls=preferred)) == ""
    text = await refused(
        ConnParams(host=plain.host, port=plain.port, user=plain.user, tls=TlsSettings(mode=SslMode.REQUIRED))
    )
    assert text == f"cannot connect to {plain.address}: the server does not offer TLS (ssl-mode=required)"


async def test_verify_identity_checks_the_host_name(tls_server: TlsServer) -> None:
    tls = TlsSettings(mode=SslMode.VERIFY_IDENTITY, ca=str(tls_server.pki.ca))
    assert await cipher(tls_server.params(tls, user="sslu")) != ""  # 127.0.0.1 is in the certificate
    text = await refused(tls_server.params(tls, user="sslu", host="localhost"))  # not in it
    assert text == (
        f"cannot connect to localhost:{tls_server.port}: TLS: the server's certificate is not valid for host"
        " name 'localhost'"
    )
    # verify-ca does not look at the name.
    assert (
        await cipher(
            tls_server.params(
                TlsSettings(mode=SslMode.VERIFY_CA, ca=str(tls_server.pki.ca)), host="localhost"
            )
        )
        != ""
    )


async def test_the_name_verified_is_the_params_host_not_the_address_connected_to(
    tls_server: TlsServer,
) -> None:
    """What an SSH tunnel needs: the socket goes to 127.0.0.1, the certificate must name the real host."""
    tls = TlsSettings(mode=SslMode.VERIFY_IDENTITY, ca=str(tls_server.pki.ca))
    for name, ok in (("db.example", True), ("other.example", False)):
        tc = TlsConnector(tls, host=name, address=f"{name}:3306")
        kwargs = {"host": "127.0.0.1", "port": tls_server.port, "user": "root", "password": ""}
        if ok:
            conn = await tc.connect(**kwargs, **tc.driver_kwargs(tcp=True))
            conn.close()
        else:
            with pytest.raises(DriverError) as info:
                await tc.connect(**kwargs, **tc.driver_kwargs(tcp=True))
            why = describe_tls_error(info.value, name)
            assert why == "TLS: the server's certificate is not valid for host name 'other.example'"


async def test_verify_ca_with_another_ca_fails(tls_server: TlsServer) -> None:
    for ca in (str(tls_server.pki.other_ca), ""):  # someone else's CA; the system's, which lack ours
        text = await refused(tls_server.params(TlsSettings(mode=SslMode.VERIFY_CA, ca=ca)))
        assert text.startswith(
            f"cannot connect to 127.0.0.1:{tls_server.port}: TLS: the server's certificate"
        )
        assert "not trusted (ssl-ca)" in text


async def test_a_require_x509_account_needs_the_client_certificate(tls_server: TlsServer) -> None:
    pki = tls_server.pki
    without = TlsSettings(mode=SslMode.VERIFY_IDENTITY, ca=str(pki.ca))
    assert "Access denied for user 'x509u'" in await refused(tls_server.params(without, user="x509u"))
    with_cert = TlsSettings(
        mode=SslMode.VERIFY_IDENTITY, ca=str(pki.ca), cert=str(pki.client_cert), key=str(pki.client_key)
    )
    assert await cipher(tls_server.params(with_cert, user="x509u")) != ""


def test_cli_init_and_push_through_pt_online_schema_change_over_verified_tls(
    tls_server: TlsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """init writes the TLS options (files made absolute); the push (workspace, pt-osc) runs as `sslu`."""
    if shutil.which("pt-online-schema-change") is None:
        pytest.fail("pt-online-schema-change is not installed: run make setup")
    schema = "tls_cli"
    asyncio.run(
        load_sql(tls_server.root.params, None, f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema};")
    )
    asyncio.run(load_sql(tls_server.root.params, schema, USERS + "INSERT INTO users VALUES (1),(2),(3);"))
    shutil.copy(tls_server.pki.ca, tmp_path / "ca.pem")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf of the machine's
    code = main(
        ["init", "-h", "127.0.0.1", "-P", str(tls_server.port), "-u", "sslu", "--schema", schema,
         "--dir", "db", "--ssl-mode=VERIFY_IDENTITY", "--ssl-ca=ca.pem"]
    )  # fmt: skip
    _, err = capfd.readouterr()
    assert code == 0, err
    host_file = (tmp_path / "db" / ".skeema").read_text()
    assert "ssl-mode=VERIFY_IDENTITY" in host_file and f"ssl-ca={tmp_path / 'ca.pem'}" in host_file

    monkeypatch.chdir(tmp_path / "db")
    (tmp_path / "db" / "users.sql").write_text(
        USERS.replace("  PRIMARY KEY", "  `added` int DEFAULT NULL,\n  PRIMARY KEY")
    )
    with (tmp_path / "db" / ".skeema").open("a") as f:
        f.write(
            "alter-wrapper=pt-online-schema-change --execute --alter {CLAUSES}"
            " D={SCHEMA},t={TABLE},F={DEFAULTSFILE} --recursion-method=none --no-version-check\n"
            "alter-wrapper-min-size=1\n"
        )
    code = main(["push"])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "Successfully altered" in err and PASSWORD not in out + err

    async def state() -> tuple[str, int]:
        async with Instance(tls_server.root.params) as inst:
            create = (await inst.query(f"SHOW CREATE TABLE {schema}.users"))[0]["Create Table"]
            n = (await inst.query(f"SELECT COUNT(*) AS n FROM {schema}.users"))[0]["n"]
            return str(create), int(n)

    create, n = asyncio.run(state())
    assert "`added` int(11) DEFAULT NULL" in create and n == 3
    assert main(["diff"]) == 0  # converged

    # The same files with a CA that did not sign the server's certificate: refused, naming the host.
    shutil.copy(tls_server.pki.other_ca, tmp_path / "ca.pem")
    assert main(["diff"]) != 0
    _, err = capfd.readouterr()
    assert f"127.0.0.1:{tls_server.port}" in err and "not trusted (ssl-ca)" in err


def test_the_daemon_polls_and_pushes_over_verified_tls(tls_server: TlsServer, tmp_path: Path) -> None:
    root = tls_server.root
    ensure_db_user(root)
    schema = "tls_daemon"
    asyncio.run(
        load_sql(
            root.params,
            None,
            f"ALTER USER '{DB_USER}'@'%' REQUIRE SSL; ALTER USER '{DB_USER}'@'localhost' REQUIRE SSL;"
            f"DROP DATABASE IF EXISTS {schema}; CREATE DATABASE {schema} CHARACTER SET utf8mb4;",
        )
    )
    asyncio.run(load_sql(root.params, schema, USERS))
    repo = DaemonRepo.create(
        tmp_path / "repo",
        root,
        schema,
        {"users.sql": USERS},
        extra_options="ssl-mode=verify-identity\nssl-ca=certs/ca.pem\n",  # relative to this .skeema
    )
    (repo.root / "certs").mkdir()
    shutil.copy(tls_server.pki.ca, repo.root / "certs" / "ca.pem")
    d = RunningDaemon(repo, tmp_path / "run").start()
    labels = {"repo": "app", "environment": "test", "schema": schema}
    try:
        assert d.diff()["statement_count"] == 0
        asyncio.run(load_sql(root.params, schema, "ALTER TABLE users ADD COLUMN hand int"))
        d.wait_for(lambda: d.metric("schemad_drift", **labels) == 1)  # the poll saw it
        (repo.dir / "users.sql").write_text(
            USERS.replace(
                "  PRIMARY KEY",
                "  `hand` int(11) DEFAULT NULL,\n  `more` int(11) DEFAULT NULL,\n  PRIMARY KEY",
            )
        )
        diff = d.wait_for(lambda: "`more`" in json.dumps(x := d.diff()) and x["statement_count"] == 1 and x)
        r = d.post("/v1/environments/test/push", {"plan_hash": diff["plan_hash"]})
        assert r.status == 202, r.text
        assert d.wait_job(r.json()["job"]["id"])["state"] == "succeeded"
        d.wait_for(lambda: d.diff(refresh="true")["statement_count"] == 0)
    finally:
        d.stop()
        assert_no_password(d)
    assert DB_PASSWORD not in d.log_path.read_text()
