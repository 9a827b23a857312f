"""Dependencies point downward only (STYLE.md): checked on the source's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "schemad"

# What each layer may import from schemad (besides itself).  Lower layers never
# see higher ones: the model knows nothing of files, servers or front ends.
ALLOWED = {
    "model": {"errors"},
    "sqltext": {"errors", "model"},
    # The connection to a server (ConnParams, Instance): below every layer that talks to one.
    "connection": {"errors", "model"},
    "introspect": {"errors", "model", "connection"},
    # `cachefile` (where caches live, how a cache file opens) imports nothing of schemad.
    "fs": {"errors", "model", "sqltext", "cachefile"},
    "workspace": {"errors", "model", "connection", "introspect", "sqltext", "cachefile"},
    "diff": {"errors", "model"},
    "lint": {"errors", "model"},
    "plan": {"errors", "model", "diff", "fs", "connection", "introspect", "workspace", "sqltext", "lint"},
    # apply runs what plan decided: the routes (which wrapper, which command) and shellout.
    "apply": {"errors", "model", "diff", "connection", "introspect", "plan"},
    "embedded": {"errors", "model", "connection", "introspect", "fs", "workspace"},
    # The daemon's state, time and concurrency: everything below it, no front end.
    # `embedded`: the throwaway server of `serve --embedded`, started and seeded as one of its services.
    "service": {
        "errors",
        "model",
        "connection",
        "introspect",
        "fs",
        "workspace",
        "embedded",
        "diff",
        "plan",
        "apply",
        "sqltext",
        "daemon_config",
        "webhook_config",  # the [[webhooks]] part of the daemon's configuration (daemon_config imports it)
        "listen_tls",  # the listeners' certificates, which a reload replaces (daemon_config imports it)
        "state_config",  # the [state] table: which store, the control schema's settings
        "lint",
    },
    # The HTTP front end works only through the service (the types of what it renders: service/served.py).
    "api": {"errors", "daemon_config", "listen_tls", "service"},
    # The language server: runs files like lint/format do, or asks the daemon over HTTP.
    "lsp": {"errors", "model", "connection", "introspect", "fs", "workspace", "sqltext", "plan", "lint"},
    "cli": {
        "errors",
        "lsp",
        "model",
        "connection",
        "introspect",
        "fs",
        "workspace",
        "embedded",
        "daemon_config",
        "listen_tls",
        "api",
        "sqltext",
        "diff",
        "plan",
        "apply",
        "lint",
    },
}


# Below every layer: how value types are declared and patterns compiled (schemad.records,
# schemad.lazyre); neither imports anything of schemad.
FOUNDATION = {"records", "lazyre"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("schemad."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("schemad."))
    return out


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_lower_layers(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, f"no modules in schemad/{layer}"
    bad = {
        f"{f.relative_to(PACKAGE)} imports schemad.{m}"
        for f in files
        for m in _imports(f) - ALLOWED[layer] - FOUNDATION - {layer}
    }
    assert not bad, sorted(bad)


def test_model_does_no_io() -> None:
    forbidden = {"asyncio", "asyncmy", "aiohttp", "subprocess", "socket", "os", "sqlglot", "pathlib"}
    for f in (PACKAGE / "model").rglob("*.py"):
        tree = ast.parse(f.read_text())
        nodes = list(ast.walk(tree))
        names = {a.name.split(".")[0] for n in nodes if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in nodes if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & forbidden, f"{f.name} imports {names & forbidden}"


def test_cachefile_imports_nothing_of_schemad() -> None:
    assert _imports(PACKAGE / "cachefile.py") == set()


@pytest.mark.parametrize("name", sorted(FOUNDATION))
def test_foundation_imports_nothing_of_schemad(name: str) -> None:
    source = (PACKAGE / f"{name}.py").read_text()
    assert _imports(PACKAGE / f"{name}.py") == set()
    assert "from schemad import" not in source
