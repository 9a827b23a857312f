"""The installed package is the checkout: what `pip install` gives runs `schemad serve --embedded`.

The checkout (as a fresh clone would have it: no venv, caches or build output)
is built with `python -m build` (the sdist, then the wheel from the sdist, each
in an isolated environment with `build-system.requires`), the wheel goes into a
fresh venv outside the checkout with its dependencies from the package index,
and that venv's `schemad serve --embedded` runs from a directory outside the
checkout: it serves the example repo and `/openapi.yaml` it ships (package
data), the diff of the example, and the answers match the contract.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.daemon_proc import free_port
from tests.integration.test_openapi import check_response

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CHECKOUT = Path(__file__).resolve().parents[2]
EXAMPLE = CHECKOUT / "schemad" / "embedded" / "example_repo"
SPEC = CHECKOUT / "schemad" / "api" / "openapi.yaml"
# Not part of a clone: never copied into the build.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".*_cache", ".state", "work"
)


def _env() -> dict[str, str]:
    """The test's environment without anything that could put the checkout on the child's path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _run(args: list[str], cwd: Path, timeout: float = 300) -> str:
    r = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    output = f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert r.returncode == 0, f"{' '.join(args)} failed ({r.returncode}):\n{output}"
    return r.stdout + r.stderr


def _get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def _example_files() -> set[str]:
    return {
        "schemad/embedded/example_repo/" + p.relative_to(EXAMPLE).as_posix()
        for p in EXAMPLE.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(sdist, wheel, build log) of the checkout."""
    root = tmp_path_factory.mktemp("build")
    src = root / "src"
    shutil.copytree(CHECKOUT, src, ignore=_NOT_SOURCE)
    log = _run([sys.executable, "-m", "build", "--outdir", str(root / "dist"), str(src)], cwd=root)
    (sdist,) = (root / "dist").glob("schemad-*.tar.gz")
    (wheel,) = (root / "dist").glob("schemad-*.whl")
    return sdist, wheel, log


def test_build_is_clean_and_ships_data_and_deployment_files(built: tuple[Path, Path, str]) -> None:
    sdist, wheel, log = built
    # No deprecation of the license table (or anything else) from the build backend.
    assert "Deprecat" not in log and "deprecat" not in log, log
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        in_sdist = {n.removeprefix(top + "/") for n in tar.getnames()}
    for name in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "systemd/schemad.service",
        "config/schemad.example.toml",
        "config/alerts.yml",
        "examples/ci/schema-lint.yml",
        "schemad/api/openapi.yaml",
    ):
        assert name in in_sdist, name
    assert _example_files() <= in_sdist
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = set(whl.namelist())
        info = next(n for n in in_wheel if n.endswith(".dist-info/METADATA"))
        metadata = whl.read(info).decode()
        assert whl.read("schemad/api/openapi.yaml") == SPEC.read_bytes()
    # Every file of the example repo, `.skeema` files included; nothing of it is a package.
    assert _example_files() <= in_wheel
    assert any(n.startswith("schemad/embedded/example_repo/local/shop/.skeema") for n in in_wheel)
    assert not any(n.startswith("schemad/embedded/example_repo") and n.endswith(".py") for n in in_wheel)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in in_wheel)
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert (CHECKOUT / "LICENSE").read_text().lstrip().startswith("Apache License\n")


def test_installed_wheel_serves_embedded(built: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, wheel, _ = built
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    # The checkout venv's pip installs into the fresh venv: the wheel and its declared dependencies.
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", str(wheel)], cwd=tmp_path)
    where = _run([str(py), "-c", "import schemad; print(schemad.__file__)"], cwd=tmp_path).strip()
    assert Path(where).is_relative_to(venv), where

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    err = tmp_path / "stderr"
    with err.open("wb") as f:
        proc = subprocess.Popen(
            [str(venv / "bin" / "schemad"), "serve", "--embedded", "--listen", f"127.0.0.1:{port}"],
            cwd=run_dir,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=f,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, err.read_text()
            try:
                if _get(url + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        log = err.read_text()
        assert "cannot watch" not in log and "Traceback" not in log, log
        m = re.search(r"token \(every scope\): (\S+)", log)
        assert m is not None, log
        token = m.group(1)

        # The description it ships, byte for byte the checkout's, and documented itself.
        status, ctype, body = _get(url + "/openapi.yaml")
        assert status == 200 and body == SPEC.read_bytes(), (status, body[:200])
        check_response("GET", "/openapi.yaml", status, ctype, body)

        # The example repo it ships, seeded into the throwaway server: read without errors, with drift...
        status, ctype, body = _get(url + "/v1/environments", token)
        check_response("GET", "/v1/environments", status, ctype, body)
        (env,) = json.loads(body)["environments"]
        assert env["name"] == "embedded" and env["errors"] == [], env
        assert env["drift"]["schemas"] == 2 and env["drift"]["schemas_with_drift"] == 1, env

        # ...and its diff is the demo's hand-dropped index, JSON (per the contract) and SQL.
        status, ctype, body = _get(url + "/v1/environments/embedded/diff", token)
        check_response("GET", "/v1/environments/{env}/diff", status, ctype, body)
        assert status == 200, body
        assert "ADD FULLTEXT KEY `ft_title`" in body.decode(), body
        status, ctype, body = _get(url + "/v1/environments/embedded/diff?format=sql", token)
        assert status == 200 and ctype.startswith("text/plain")
        assert b"ALTER TABLE `products` ADD FULLTEXT KEY `ft_title` (`title`);" in body, body

        # /metrics with the version of its text format, as Prometheus expects it.
        status, ctype, body = _get(url + "/metrics")
        assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
        assert b"schemad_drift{" in body
    finally:
        proc.terminate()
        code = proc.wait(30)
    assert code == 0, err.read_text()
