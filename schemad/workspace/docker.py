"""workspace=docker: Skeema's Docker workspace, through the `docker` command.

As Skeema does it (internal/workspace/localdocker.go): a container named
`skeema-<image>` (`:` and `/` made `-`), created from `docker-image` (default:
the image of the flavor, see :func:`default_image`) with its port 3306
published on 127.0.0.1 only, root without a password, `--skip-log-bin`, and
`--lower-case-table-names=1` when the target has it; an existing container of
that name is started and reused (refused when it runs another image).  At the
end of the process `docker-cleanup` applies: `none` leaves it running,
`stop` stops it, `destroy` removes it (its data was on a tmpfs).

Like workspace=local, the container is made to print what the target would
(mirror.py: flavor and version checked, session settings copied, the
target's account created).  When the `docker` command is missing or the
Docker daemon does not answer (`docker info`), it fails with a ConfigError
(exit 78) naming the reason: never a silent fallback to the target.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Protocol

from schemad.cachefile import cache_dir
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import ConfigError, DatabaseError, SchemadError
from schemad.model.flavor import Flavor, Vendor
from schemad.records import dataclass
from schemad.workspace import mirror

__all__ = [
    "CLEANUP_ACTIONS",
    "DockerCLI",
    "SubprocessDocker",
    "container_name",
    "default_image",
    "docker_workspace",
    "require_docker",
    "run_args",
]

log = logging.getLogger(__name__)

CLEANUP_ACTIONS = ("none", "stop", "destroy")


class DockerCLI(Protocol):
    """How the `docker` command is run (a fake in tests)."""

    def which(self) -> str | None: ...  # the docker executable, None when not on PATH

    def run(self, args: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]: ...


class SubprocessDocker:
    """The real `docker` command on PATH."""

    def which(self) -> str | None:
        return shutil.which("docker")

    def run(self, args: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        exe = self.which() or "docker"
        try:
            return subprocess.run(
                [exe, *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess([exe, *args], 125, "", str(exc))


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def require_docker(cli: DockerCLI | None = None) -> None:
    """ConfigError (exit 78) unless the docker command is installed and its daemon answers `docker info`."""
    cli = cli or SubprocessDocker()
    if cli.which() is None:
        raise ConfigError(
            "workspace=docker: the docker command is not installed (not found on PATH); "
            "install Docker, or use workspace=temp-schema or workspace=local"
        )
    info = cli.run(["info", "--format", "{{.ServerVersion}}"], timeout=30.0)
    if info.returncode != 0 or not info.stdout.strip():
        why = _first_line(info.stderr) or _first_line(info.stdout) or f"exit status {info.returncode}"
        raise ConfigError(
            f"workspace=docker: the Docker daemon is not reachable (`docker info`: {why}); "
            "start Docker, or use workspace=temp-schema or workspace=local"
        )


def default_image(flavor: Flavor) -> str:
    """Skeema's image for a flavor: `mysql:8.0`, `mariadb:10.11`, `percona/percona-server:8.0`.

    MySQL 8.1+ is not on Docker Hub's `mysql` for every tag: Skeema takes it
    from Oracle's registry.
    """
    version = f"{flavor.major}.{flavor.minor}"
    if flavor.vendor is Vendor.MARIADB:
        return f"mariadb:{version}"
    if flavor.vendor is Vendor.PERCONA:
        return f"percona/percona-server:{version}"
    if flavor.vendor is Vendor.MYSQL and (flavor.major, flavor.minor) >= (8, 1):
        return f"container-registry.oracle.com/mysql/community-server:{version}"
    if flavor.vendor is Vendor.MYSQL:
        return f"mysql:{version}"
    raise ConfigError(f"workspace=docker: no image for flavor {flavor}; set docker-image")


def container_name(image: str) -> str:
    """`skeema-<image>` as Skeema names it: `/mysql-server` dropped, `/` and `:` made `-`."""
    if "/" in image:
        image = image.replace("/mysql-server", "", 1).replace("/", "-")
    return "skeema-" + image.replace(":", "-")


def run_args(name: str, image: str, *, cleanup: str, lower_case_table_names: str) -> list[str]:
    """`docker run` arguments of a new workspace container."""
    args = [
        "run",
        "--detach",
        "--name",
        name,
        "--publish",
        "127.0.0.1::3306",
        "--env",
        "MYSQL_ROOT_HOST=%",
        "--env",
        "MYSQL_ALLOW_EMPTY_PASSWORD=1",
        "--env",
        "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1",
        "--env",
        "LANG=C.UTF-8",
    ]
    if cleanup == "destroy":
        args += ["--tmpfs", "/var/lib/mysql"]  # thrown away at the end: keep it in memory
    args += [image, "--skip-log-bin"]
    if lower_case_table_names == "1":
        args.append("--lower-case-table-names=1")
    return args


@dataclass(frozen=True, slots=True)
class _Container:
    name: str
    image: str
    port: int


def _container(cli: DockerCLI, name: str, image: str, cleanup: str, lctn: str) -> _Container:
    """Find (and start) or create the container; its published port."""
    found = cli.run(["inspect", "--type", "container", "--format", "{{.Config.Image}}", name])
    if found.returncode == 0:
        actual = found.stdout.strip()
        if actual != image:
            raise ConfigError(
                f"workspace=docker: container {name} runs image {actual}, not {image}; "
                f"remove it (docker rm -f {name}) or set docker-image={actual}"
            )
        started = cli.run(["start", name])
        if started.returncode != 0:
            raise SchemadError(f"workspace=docker: docker start {name}: {_first_line(started.stderr)}")
    else:
        log.info("Using container %s (image=%s) for workspace operations", name, image)
        created = cli.run(run_args(name, image, cleanup=cleanup, lower_case_table_names=lctn), timeout=900.0)
        if created.returncode != 0:
            raise SchemadError(f"workspace=docker: docker run {image}: {_first_line(created.stderr)}")
    for _ in range(6):  # the port mapping may lag the start
        out = cli.run(["port", name, "3306/tcp"])
        for line in out.stdout.splitlines():
            host, _, port = line.strip().rpartition(":")
            if host in ("127.0.0.1", "0.0.0.0") and port.isdigit():
                return _Container(name, image, int(port))
        time.sleep(0.05)
    raise SchemadError(f"workspace=docker: no port mapping for container {name}")


class _Cleanups:
    """docker-cleanup at the end of the process, once per container (Skeema's Shutdown)."""

    def __init__(self) -> None:
        self._actions: dict[str, str] = {}
        self._mutex = threading.Lock()
        self._registered = False

    def add(self, name: str, action: str, cli: DockerCLI) -> None:
        if action == "none":
            return
        with self._mutex:
            self._actions[name] = action
            if not self._registered:
                atexit.register(self.run, cli)
                self._registered = True

    def run(self, cli: DockerCLI) -> None:
        with self._mutex:
            actions, self._actions = self._actions, {}
        for name, action in actions.items():
            args = ["stop", name] if action == "stop" else ["rm", "--force", "--volumes", name]
            log.info("%s container %s", "Stopping" if action == "stop" else "Destroying", name)
            done = cli.run(args)
            if done.returncode != 0:
                log.warning("docker %s %s failed: %s", args[0], name, _first_line(done.stderr))


_CLEANUPS = _Cleanups()  # per process, run at its exit, as Skeema does


def _password(name: str) -> str:
    """The password of the target's account in container `name`: one per container, kept 0600."""
    d = cache_dir() / "docker-workspace"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = d / f"{name}.secret"
    with contextlib.suppress(OSError):
        text = path.read_text().strip()
        if text:
            return text
    secret = mirror.new_password()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


async def _wait_ready(params: ConnParams, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with Instance(params, pool_size=1, connect_timeout=2.0) as inst:
                await inst.query("SELECT 1")
            return
        except DatabaseError:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def docker_workspace(
    target: ConnParams,
    *,
    image: str = "",
    cleanup: str = "none",
    flavor: str = "",
    cli: DockerCLI | None = None,
) -> AsyncIterator[ConnParams]:
    """Params of the Docker workspace container, set up to print what `target` would.

    `image` is docker-image ("" = the flavor's default), `flavor` the dir's
    `flavor` option ("" = the target's), `cleanup` docker-cleanup.
    """
    cli = cli or SubprocessDocker()
    await asyncio.to_thread(require_docker, cli)
    facts = await mirror.read_facts(target)
    wanted = Flavor.parse(flavor) if flavor else facts.flavor
    if wanted.vendor is Vendor.UNKNOWN or wanted.major == 0:
        wanted = facts.flavor
    image = image or default_image(wanted)
    lctn = dict(facts.globals).get("lower_case_table_names", "0")
    name = container_name(image)
    box = await asyncio.to_thread(_container, cli, name, image, cleanup, lctn)
    _CLEANUPS.add(name, cleanup, cli)
    root = ConnParams(host="127.0.0.1", port=box.port, user="root")
    await _wait_ready(root)
    async with Instance(root, pool_size=1) as admin:
        got = (await admin.query("SELECT @@version AS v, @@version_comment AS c"))[0]
        mirror.check_flavor(
            "docker", facts.flavor, Flavor.from_server(str(got["v"]), str(got["c"])), f"image {image} runs"
        )
        mirror.check_globals("docker", facts, await mirror.read_globals(admin))
        params = await mirror.account_params(
            admin, replace(root, user="", password=""), facts, _password(name), kind="docker"
        )
    yield mirror.with_target_session(params, target, facts)
