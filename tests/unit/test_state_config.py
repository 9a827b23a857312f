"""The `[state]` table: sqlite by default, the control schema's settings, and no password in the file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from schemad.connection.tls import SslMode
from schemad.daemon_config import DaemonConfig
from schemad.errors import ConfigError
from schemad.state_config import MysqlStateConfig, StateConfig
from schemad.webhook_config import SecretRef


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> DaemonConfig:
    path = tmp_path / "schemad.toml"
    path.write_text(textwrap.dedent(text))
    return DaemonConfig.load(path, environ or {})


def test_default_is_sqlite(tmp_path: Path) -> None:
    assert load(tmp_path, "").state == StateConfig()
    assert load(tmp_path, '[state]\nbackend = "sqlite"\n').state == StateConfig("sqlite", None)


def test_mysql_backend(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [state]
        backend = "mysql"
        host = "control.db.internal"
        port = 3307
        user = "schemad"
        schema = "schemad_control"
        password_file = "$CREDENTIALS_DIRECTORY/control-db"
        ssl_mode = "verify-identity"
        ssl_ca = "tls/ca.pem"
        connect_timeout = "3s"
        migrate_wait = "2m"
        pool_size = 4
        """,
        {"CREDENTIALS_DIRECTORY": "/run/credentials/schemad.service"},
    )
    m = config.state.mysql
    assert config.state.backend == "mysql" and m is not None
    assert (m.host, m.port, m.socket, m.user, m.schema) == (
        "control.db.internal",
        3307,
        None,
        "schemad",
        "schemad_control",
    )
    assert m.password == SecretRef(file=Path("/run/credentials/schemad.service/control-db"))
    assert m.tls.mode is SslMode.VERIFY_IDENTITY and m.tls.ca == str((tmp_path / "tls/ca.pem").resolve())
    assert (m.connect_timeout, m.migrate_wait, m.pool_size) == (3.0, 120.0, 4)
    assert m.location == "mysql://schemad@control.db.internal:3307/schemad_control"


def test_mysql_defaults_and_socket(tmp_path: Path) -> None:
    m = load(tmp_path, '[state]\nbackend = "mysql"\nsocket = "run/mysqld.sock"\npassword_env = "CTL_PW"\n')
    mysql = m.state.mysql
    assert mysql == MysqlStateConfig(
        host="localhost",
        socket=(tmp_path / "run/mysqld.sock").resolve(),
        password=SecretRef(env="CTL_PW"),
    )
    assert mysql.tls.mode is SslMode.PREFERRED  # the mysql clients' default; a socket never uses TLS
    assert (
        mysql.location == f"mysql://schemad@unix:{(tmp_path / 'run/mysqld.sock').resolve()}/schemad_control"
    )


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ('backend = "postgres"', "state.backend", 'expected "sqlite" or "mysql"'),
        ('backend = "sqlite"\nhost = "x"', "state.host", 'only for backend = "mysql"'),
        ('backend = "mysql"', "state", "needs host (and port) or socket"),
        ('backend = "mysql"\nhost = "a"\nsocket = "/s"', "state", "either host (and port) or socket"),
        ('backend = "mysql"\nsocket = "/s"\nport = 3306', "state.port", "a unix socket has no port"),
        ('backend = "mysql"\nhost = "a"\nport = 0', "state.port", "from 1 to 65535"),
        ('backend = "mysql"\nhost = "a b"', "state.host", "expected a host name"),
        ('backend = "mysql"\nhost = "a"\nschema = "x-y"', "state.schema", "expected a schema name"),
        ('backend = "mysql"\nhost = "a"\nuser = "a b"', "state.user", "expected a user name"),
        ('backend = "mysql"\nhost = "a"\nhots = "a"', "state.hots", "unknown key"),
        ('backend = "mysql"\nhost = "a"\nssl_mode = "sometimes"', "state.ssl_mode", "can only be one of"),
        ('backend = "mysql"\nhost = "a"\nssl_key = "k.pem"', "state.ssl_key", "without ssl-cert"),
        ('backend = "mysql"\nhost = "a"\npool_size = 0', "state.pool_size", "from 1 to 64"),
        ('backend = "mysql"\nhost = "a"\nmigrate_wait = "soon"', "state.migrate_wait", "a duration"),
        (
            'backend = "mysql"\nhost = "a"\npassword_env = "A"\npassword_file = "/f"',
            "state",
            "either password_env or password_file",
        ),
        ('backend = "mysql"\nhost = "a"\npassword_env = "A=B"', "state.password_env", "environment variable"),
        (
            'backend = "mysql"\nhost = "a"\npassword_file = "$CREDENTIALS_DIRECTORY/x"',
            "state.password_file",
            "$CREDENTIALS_DIRECTORY is not set",
        ),
    ],
)
def test_refused(tmp_path: Path, body: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"[state]\n{body}\n")
    assert f"schemad.toml: {key}: " in str(err.value)
    assert words in str(err.value)


@pytest.mark.parametrize("key", ["password", "passwd", "db_password", "secret"])
def test_a_password_in_the_file_says_where_it_goes(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f'[state]\nbackend = "mysql"\nhost = "a"\n{key} = "hunter2"\n')
    message = str(err.value)
    assert f"state.{key}: the control schema's password must not be in this file" in message
    assert "state.password_file" in message and "state.password_env" in message
    assert "hunter2" not in message


def test_password_refs_are_only_allowed_in_state(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"workspace\.password_file: passwords and secrets must not be"):
        load(tmp_path, '[workspace]\npassword_file = "/f"\n')
