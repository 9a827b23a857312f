"""A SIGHUP reload: the file re-read, what the command line set kept, a bad file changing nothing."""

from __future__ import annotations

from pathlib import Path

from schemad.daemon_config import DaemonConfig
from schemad.service.reload import ConfigReloader


def test_a_reload_reads_the_file_again_and_keeps_what_the_command_line_set(tmp_path: Path) -> None:
    toml = tmp_path / "schemad.toml"
    toml.write_text('state_dir = "state"\nrefresh_min_interval = "5s"\n')
    started = DaemonConfig(
        listen_host="0.0.0.0", listen_port=9000, embedded=True, state_dir=tmp_path / "cli", source=toml
    )
    reloader = ConfigReloader(started)
    assert reloader.reread()
    assert reloader.config.refresh_min_interval == 5.0  # from the file
    assert (reloader.config.listen_host, reloader.config.listen_port) == ("0.0.0.0", 9000)
    assert reloader.config.embedded and reloader.config.state_dir == tmp_path / "cli"
    assert reloader.reloads == 1


def test_a_bad_file_or_none_keeps_the_configuration_in_force(tmp_path: Path) -> None:
    assert not ConfigReloader(DaemonConfig()).reread()  # started without a file
    toml = tmp_path / "schemad.toml"
    toml.write_text("this is = not [valid toml\n")
    started = DaemonConfig(source=toml)
    reloader = ConfigReloader(started)
    assert not reloader.reread()
    assert reloader.config is started and reloader.reloads == 0
