"""A dir's TLS options: where relative file names point, ~/.my.cnf, the registry's spellings and --help."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemad.connection.tls import SslMode, TlsSettings
from schemad.errors import ConfigError
from schemad.fs.cascade import Config, ConfigSources
from schemad.fs.registry import SKEEMA_OPTIONS
from schemad.plan.tls_options import tls_settings

NAMES = ("ssl-ca", "ssl-cert", "ssl-key", "ssl-verify-server-cert", "server-public-key-path")


def load(tmp_path: Path, *, cli: dict[str, str | None] | None = None, my_cnf: str = "") -> Config:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if my_cnf:
        (home / ".my.cnf").write_text(my_cnf)
    sources = ConfigSources(home=home, global_files=(), environ={}, cli=cli or {})
    return Config.load(tmp_path / "repo" / "host", sources=sources)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    host = tmp_path / "repo" / "host"
    host.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    return host


def test_relative_names_are_relative_to_the_option_file_that_sets_them(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo.parent / ".skeema").write_text("ssl-ca=certs/ca.pem\nssl-cert=../c.pem\nssl-key=~/k.pem\n")
    (repo / ".skeema").write_text("[production]\nserver-public-key-path=pub.pem\nssl-mode=VERIFY_IDENTITY\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    s = tls_settings(load(tmp_path))
    assert s == TlsSettings(
        mode=SslMode.VERIFY_IDENTITY,
        ca=str(repo.parent / "certs" / "ca.pem"),
        cert=str(tmp_path / "c.pem"),
        key=os.path.expanduser("~/k.pem"),
        server_public_key_path=str(repo / "pub.pem"),
    )


def test_on_the_command_line_they_are_relative_to_the_working_directory(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / ".skeema").write_text("ssl-ca=/etc/ca.pem\n")
    monkeypatch.chdir(tmp_path)
    s = tls_settings(load(tmp_path, cli={"ssl-ca": "mine.pem", "ssl-verify-server-cert": None}))
    assert s.mode is SslMode.VERIFY_IDENTITY and s.ca == str(tmp_path / "mine.pem")


def test_my_cnf_client_section_gives_the_tls_options(tmp_path: Path, repo: Path) -> None:
    cnf = (
        "[client]\nssl-mode=VERIFY_CA\nssl-ca=ca.pem\nssl-cert=c.pem\nssl-key=k.pem\nssl-verify-server-cert\n"
    )
    s = tls_settings(load(tmp_path, my_cnf=cnf))
    home = tmp_path / "home"
    assert s == TlsSettings(
        mode=SslMode.VERIFY_IDENTITY,
        ca=str(home / "ca.pem"),
        cert=str(home / "c.pem"),
        key=str(home / "k.pem"),
    )


def test_defaults_and_errors(tmp_path: Path, repo: Path) -> None:
    assert tls_settings(load(tmp_path)) == TlsSettings(mode=SslMode.PREFERRED)
    (repo / ".skeema").write_text("ssl-cert=c.pem\n")
    with pytest.raises(ConfigError, match=r"host/\.skeema:1: option ssl-cert is set without ssl-key"):
        tls_settings(load(tmp_path))
    (repo / ".skeema").write_text("ssl-mode=verify\n")
    cfg = load(tmp_path)
    with pytest.raises(ConfigError, match=r"host/\.skeema:1: option ssl-mode can only be"):
        cfg.check_values()  # refused before any work starts, like every enum


def test_the_options_are_real_and_listed_in_help() -> None:
    for name in NAMES:
        opt = SKEEMA_OPTIONS[name]
        assert not opt.premium and not opt.hidden and opt.description
        assert opt.help_entry("diff") is not None and opt.help_entry("init") is not None
    assert SKEEMA_OPTIONS["ssl-mode"].choices == (
        "disabled",
        "preferred",
        "required",
        "verify-ca",
        "verify-identity",
    )
