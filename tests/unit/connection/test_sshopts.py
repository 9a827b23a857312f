"""The `ssh` / `ssh-to-db` options: value forms, defaults, the hops and the far end's destination."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from schemad.connection.sshopts import SshHost, SshRoute, parse_ssh_host
from schemad.errors import ConfigError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir, HostPort
from schemad.fs.registry import SKEEMA_OPTIONS
from schemad.plan.dir_options import conn_params, ssh_route


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bastion", SshHost("bastion")),
        ("bastion.example.com:2222", SshHost("bastion.example.com", 2222)),
        ("deploy@bastion", SshHost("bastion", None, "deploy")),
        ("deploy@10.0.0.5:22", SshHost("10.0.0.5", 22, "deploy")),
        ("deploy@[2001:db8::1]:2200", SshHost("2001:db8::1", 2200, "deploy")),
        ("[::1]", SshHost("::1")),
        ("  jump  ", SshHost("jump")),
    ],
)
def test_ssh_value_forms(text: str, expected: SshHost) -> None:
    assert parse_ssh_host(text) == expected


@pytest.mark.parametrize(
    "text", ["", "@bastion", "deploy@", "bastion:", "bastion:0", "bastion:70000", "a b", "u@h@x", "h:22:1"]
)
def test_malformed_ssh_values_name_the_option_and_source(text: str) -> None:
    with pytest.raises(ConfigError, match=r"option ssh \(/r/.skeema:3\)"):
        parse_ssh_host(text, source="/r/.skeema:3")


def test_str_gives_back_the_value_form() -> None:
    assert str(SshHost("2001:db8::1", 2200, "deploy")) == "deploy@[2001:db8::1]:2200"
    assert str(SshHost("bastion")) == "bastion"


def test_hops_and_destination() -> None:
    bastion = SshHost("jump", 2222, "deploy")
    via = SshRoute(bastion=bastion)
    assert via.hops("db1") == (bastion,)
    assert via.destination("db1", 3306, None) == ("db1", 3306)  # as the bastion sees it
    assert via.describe("db1") == "ssh deploy@jump:2222"

    to_db = SshRoute(to_db=True)
    assert to_db.hops("db1") == (SshHost("db1"),)  # user and port: ~/.ssh/config's, else local user and 22
    assert to_db.destination("db1", 3307, None) == ("127.0.0.1", 3307)  # the db host's own loopback

    two = SshRoute(bastion=bastion, to_db=True)
    assert two.hops("db1") == (bastion, SshHost("db1", None, "deploy"))
    assert two.describe("db1") == "ssh deploy@jump:2222 -> deploy@db1"
    assert two.destination("localhost", 3306, "/run/mysqld/mysqld.sock") == "/run/mysqld/mysqld.sock"

    with pytest.raises(ValueError):
        SshRoute()


def open_dir(tmp_path: Path, skeema: str, cli: dict[str, str] | None = None) -> Dir:
    root = tmp_path / "home" / "repo"
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / ".skeema").write_text(skeema)
    sources = ConfigSources(
        home=tmp_path / "home", global_files=(), environ={"PATH": os.environ["PATH"]}, cli=cli or {}
    )
    return Dir.open(root, "production", sources)


def test_defaults_mean_no_tunnel(tmp_path: Path) -> None:
    d = open_dir(tmp_path, "host=db1\n")
    assert ssh_route(d.config) is None
    assert conn_params(d, HostPort("db1"), {}).ssh is None
    assert SKEEMA_OPTIONS["ssh-known-hosts"].default == "~/.ssh/known_hosts"
    for name in ("ssh", "ssh-to-db", "ssh-known-hosts", "ssh-identity-file"):
        assert not SKEEMA_OPTIONS[name].premium  # real options, listed by --help


def test_route_from_a_dir(tmp_path: Path) -> None:
    d = open_dir(
        tmp_path,
        "[production]\nhost=db1\nssh=deploy@jump:2222\nssh-to-db\nssh-known-hosts=keys/known\n"
        "ssh-identity-file=~/id_test\n",
    )
    route = conn_params(d, HostPort("db1"), {}).ssh
    assert route == SshRoute(
        bastion=SshHost("jump", 2222, "deploy"),
        to_db=True,
        known_hosts=str(tmp_path / "home" / "repo" / "keys" / "known"),  # relative to its .skeema
        identity=os.path.expanduser("~/id_test"),
    )


def test_ssh_to_db_alone_and_default_known_hosts(tmp_path: Path) -> None:
    route = ssh_route(open_dir(tmp_path, "ssh-to-db=1\n").config)
    assert route == SshRoute(to_db=True, known_hosts=os.path.expanduser("~/.ssh/known_hosts"))


def test_a_malformed_ssh_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    d = open_dir(tmp_path, "ssh=deploy@jump:port\n")
    with pytest.raises(ConfigError, match=r"option ssh \(.*\.skeema:1\): 'deploy@jump:port'"):
        conn_params(d, HostPort("db1"), {})


def test_asyncssh_is_not_imported_without_ssh() -> None:
    # Start-up time: only a dir that sets ssh loads it (a fresh interpreter, as the CLI starts).
    import subprocess

    code = (
        "import sys, schemad.cli.main, schemad.connection.instance, schemad.apply.wrapped, "
        "schemad.service.daemon; print('asyncssh' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
