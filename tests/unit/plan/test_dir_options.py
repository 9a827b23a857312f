"""DirOptions: a dir's options read once; for_dir: its CREATEs run with them (checked before connecting)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemad.connection.params import ConnParams
from schemad.diff.modifiers import PartitioningMode
from schemad.errors import ConfigError
from schemad.fs.cascade import ConfigSources
from schemad.fs.dir import Dir
from schemad.lint.options import Severity
from schemad.model.keys import ObjectType
from schemad.plan.dir_options import DirOptions, patterns_by_type
from schemad.workspace.cache import CanonicalCache
from schemad.workspace.for_dir import for_dir
from schemad.workspace.scratch import WorkspaceOptions

NOWHERE = ConnParams(host="203.0.113.1", port=1)  # never reached: nothing to run, or refused first


def open_dir(tmp_path: Path, skeema: str) -> Dir:
    root = tmp_path / "home" / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".skeema").write_text(skeema)
    sources = ConfigSources(home=tmp_path / "home", global_files=(), environ={"PATH": os.environ["PATH"]})
    return Dir.open(root, "production", sources)


def test_every_option_is_read_from_the_dir(tmp_path: Path) -> None:
    d = open_dir(
        tmp_path,
        "schema=app,app2\nignore-table=^tmp_\nignore-proc=^p\nlint-pk=error\nallow-engine=innodb,myisam\n"
        "temp-schema=_ws\ntemp-schema-threads=2\nreuse-temp-schema\ntemp-schema-binlog=off\n"
        "allow-unsafe\nexact-match\nlax-column-order\nalter-algorithm=inplace\npartitioning=remove\n"
        "safe-below-size=10k\ndefault-character-set=latin1\ndefault-collation=latin1_bin\nno-cache\n"
        "skip-verify\nalter-wrapper=pt-osc {DDL}\nalter-wrapper-min-size=1M\n",
    )
    o = DirOptions.from_dir(d)
    assert o.filters.table is not None and o.filters.table.pattern == "^tmp_"
    assert o.ignore is o.filters  # LogicalSchema's ignore= rule
    assert set(patterns_by_type(o.filters)) == {ObjectType.TABLE, ObjectType.PROCEDURE}
    assert o.lint.severity("pk") is Severity.ERROR and o.lint.allow_engine == {"innodb", "myisam"}
    assert o.lint_plan
    assert o.workspace == WorkspaceOptions(temp_schema="_ws", concurrency=2, reuse=True, binlog="off")
    assert o.mods.allow_unsafe and o.mods.exact_match and o.mods.lax_column_order
    assert o.mods.alter_algorithm == "inplace" and o.mods.partitioning is PartitioningMode("remove")
    assert o.safe_below_size == 10 * 1024
    assert (o.char_set, o.collation) == ("latin1", "latin1_bin")
    assert o.no_cache and not o.verify
    assert o.wrappers.alter_wrapper == "pt-osc {DDL}" and o.wrappers.alter_wrapper_min_size == 1024 * 1024
    assert o.home == ("app", "app2")


def test_plan_options_carry_the_dir_options(tmp_path: Path) -> None:
    cache = CanonicalCache(tmp_path / "cache.db")
    o = DirOptions.from_dir(open_dir(tmp_path, "schema=app\nsafe-below-size=5\n"))
    p = o.plan_options(cache)
    assert (p.mods, p.safe_below_size, p.workspace, p.filters, p.wrappers) == (
        o.mods,
        5,
        o.workspace,
        o.filters,
        o.wrappers,
    )
    assert p.cache is cache and p.verify and p.lint == o.lint


def test_brief_skips_lint_and_verify_and_allows_unsafe(tmp_path: Path) -> None:
    o = DirOptions.from_dir(open_dir(tmp_path, "schema=app\nbrief\n"))
    p = o.plan_options(None)
    assert p.lint is None and not p.verify and p.mods.allow_unsafe
    assert o.lint.severity("pk") is not Severity.IGNORE  # lint and format still lint


def test_no_cache_drops_the_cache(tmp_path: Path) -> None:
    cache = CanonicalCache(tmp_path / "cache.db")
    o = DirOptions.from_dir(open_dir(tmp_path, "no-cache\n"))
    assert o.cache_for(cache) is None and o.plan_options(cache).cache is None


@pytest.mark.parametrize(
    ("schema", "home"),
    [
        ("schema=app\n", ("app",)),
        ("schema=*\n", ()),
        ("schema=/^a/\n", ()),
        ("schema=`echo app`\n", ()),
        ("", ()),
    ],
)
def test_home_is_the_names_the_schema_option_spells_out(
    tmp_path: Path, schema: str, home: tuple[str, ...]
) -> None:
    assert DirOptions.from_dir(open_dir(tmp_path, schema)).home == home


def test_a_bad_value_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="safe-below-size"):
        DirOptions.from_dir(open_dir(tmp_path, "safe-below-size=lots\n"))


@pytest.mark.parametrize(
    ("skeema", "expected"),
    [
        ("", ("utf8mb4", "utf8mb4_bin")),
        ("default-character-set=latin1\n", ("latin1", "utf8mb4_bin")),
        ("default-character-set=latin1\ndefault-collation=latin1_bin\n", ("latin1", "latin1_bin")),
    ],
)
async def test_for_dir_falls_back_to_the_servers_charset(
    tmp_path: Path, skeema: str, expected: tuple[str, str]
) -> None:
    o = DirOptions.from_dir(open_dir(tmp_path, skeema))
    result = await for_dir(NOWHERE, [], o, schema_name="app", fallback=("utf8mb4", "utf8mb4_bin"), cache=None)
    assert (result.schema.name, result.schema.char_set, result.schema.collation) == ("app", *expected)


async def test_for_dir_home_defaults_to_the_schema_name(tmp_path: Path) -> None:
    o = DirOptions.from_dir(open_dir(tmp_path, "temp-schema=app\n"))
    with pytest.raises(ConfigError, match="temp-schema"):  # the workspace would drop the schema it stands for
        await for_dir(NOWHERE, [], o, schema_name="app", fallback=("utf8mb4", "utf8mb4_bin"), cache=None)
    with pytest.raises(ConfigError, match="temp-schema"):
        await for_dir(
            NOWHERE, [], o, schema_name="lint", fallback=("utf8mb4", "utf8mb4_bin"), cache=None, home=("app",)
        )
    await for_dir(NOWHERE, [], o, schema_name="lint", fallback=("utf8mb4", "utf8mb4_bin"), cache=None)


def test_importing_dir_options_loads_no_planner_workspace_or_sqlglot() -> None:
    """init and pull import it for conn_params and filters: the heavy option types load in from_dir."""
    code = (
        "import sys, schemad.plan.dir_options\n"
        "heavy = ('sqlglot', 'schemad.workspace', 'schemad.plan.planner', 'schemad.plan.routes',"
        " 'schemad.lint')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
