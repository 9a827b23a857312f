"""workspace=docker: Skeema's image and container names, and no silent fallback without Docker (12.8)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

import pytest

from schemad.errors import ConfigError
from schemad.model.flavor import Flavor, Vendor
from schemad.workspace.docker import container_name, default_image, require_docker, run_args


class FakeDocker:
    """The docker command as a table of answers (args prefix -> (status, stdout, stderr))."""

    def __init__(self, path: str | None, answers: dict[str, tuple[int, str, str]]) -> None:
        self.path = path
        self.answers = answers
        self.calls: list[list[str]] = []

    def which(self) -> str | None:
        return self.path

    def run(self, args: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        status, out, err = self.answers.get(args[0], (0, "", ""))
        return subprocess.CompletedProcess(list(args), status, out, err)


@pytest.mark.parametrize(
    ("flavor", "image", "name"),
    [
        (Flavor(Vendor.MARIADB, 10, 11, 6), "mariadb:10.11", "skeema-mariadb-10.11"),
        (Flavor(Vendor.MYSQL, 8, 0, 36), "mysql:8.0", "skeema-mysql-8.0"),
        (Flavor(Vendor.PERCONA, 8, 0), "percona/percona-server:8.0", "skeema-percona-percona-server-8.0"),
        (
            Flavor(Vendor.MYSQL, 8, 4),
            "container-registry.oracle.com/mysql/community-server:8.4",
            "skeema-container-registry.oracle.com-mysql-community-server-8.4",
        ),
    ],
)
def test_default_image_and_container_name(flavor: Flavor, image: str, name: str) -> None:
    assert default_image(flavor) == image
    assert container_name(image) == name


def test_container_name_drops_mysql_server_as_skeema_does() -> None:
    assert container_name("mysql/mysql-server:8.0") == "skeema-mysql-8.0"


def test_run_args_publish_on_loopback_and_follow_docker_cleanup() -> None:
    args = run_args("skeema-mariadb-10.11", "mariadb:10.11", cleanup="none", lower_case_table_names="0")
    assert args[:4] == ["run", "--detach", "--name", "skeema-mariadb-10.11"]
    assert "127.0.0.1::3306" in args and "--tmpfs" not in args
    assert args[-2:] == ["mariadb:10.11", "--skip-log-bin"]
    destroy = run_args("n", "mariadb:10.11", cleanup="destroy", lower_case_table_names="1")
    assert "/var/lib/mysql" in destroy and destroy[-1] == "--lower-case-table-names=1"


def test_no_docker_command_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        require_docker(FakeDocker(None, {}))
    assert err.value.exit_code == 78
    assert "workspace=docker: the docker command is not installed" in str(err.value)


def test_unreachable_daemon_is_a_config_error_naming_docker_info() -> None:
    fake = FakeDocker(
        "/usr/bin/docker",
        {"info": (1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n")},
    )
    with pytest.raises(ConfigError) as err:
        require_docker(fake)
    assert "not reachable (`docker info`: Cannot connect to the Docker daemon" in str(err.value)
    assert fake.calls == [["info", "--format", "{{.ServerVersion}}"]]


def test_reachable_daemon_passes() -> None:
    require_docker(FakeDocker("/usr/bin/docker", {"info": (0, "28.2.2\n", "")}))
