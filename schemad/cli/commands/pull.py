"""`schemad pull [env]`: rewrite the files of every schema dir from the live database.

Changed objects are rewritten in place, new ones get files, dropped ones are
removed; a dir whose schema no longer exists loses its *.sql files and
.skeema.  Files of unchanged objects stay byte-identical.  In host dirs,
`new-schemas` (default on) creates dirs for schemas that no dir maps yet.
A view already in a file is left as written, even when the server's view
changed, unless `update-views`; `strip-definer` writes no DEFINER clauses.
Seed INSERTs are kept as written, or with `update-seed-inserts` rewritten
from the live rows of their tables (schemad.cli.seedpull); those of a table
the server no longer has are removed with its CREATE.
Errors in one dir are logged and the others still run (exit 2 at the end).

Standalone index and constraint statements (`CREATE INDEX i ON t`, `ALTER
TABLE t ADD KEY|CONSTRAINT ..`) on a table pull manages are always removed:
the table's CREATE is rewritten from the live server, so it already has
what they added (or, if they were never pushed, the live table is what pull
writes, as for any other unpushed edit); keeping them would add their index
twice.  `fold-standalone` is therefore a format/lint option only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemad.cli.args import ParsedArgs
from schemad.cli.commands.init import write_schema_option_file
from schemad.cli.common import (
    conn_params,
    dir_error,
    environment,
    exportable_schemas,
    filters,
    ignored_key,
    log,
    log_files,
    walk,
)
from schemad.cli.seedpull import pull_seeds
from schemad.connection.instance import Instance
from schemad.errors import EXIT_FATAL, ConfigError, SchemadError
from schemad.fs.dir import Dir
from schemad.fs.dumper import DumpOptions, dump_objects, read_dir_statements
from schemad.fs.optionfile import OptionFile
from schemad.fs.splitmemo import split_memo
from schemad.introspect.privileges import resolve_strip_definer
from schemad.introspect.texts import SchemaTexts, load_texts
from schemad.model.keys import ObjectType
from schemad.plan.dir_options import strip_definer_setting


async def _dump_opts(d: Dir, inst: Instance) -> DumpOptions:
    cfg = d.config
    return DumpOptions(
        include_auto_inc=cfg.get_bool("include-auto-inc"),
        strip_partitioning=cfg.get_bool("strip-partitioning"),
        strip_definer=await resolve_strip_definer(strip_definer_setting(cfg), inst),
        update_views=cfg.get_bool("update-views"),  # off: views already in files stay as written
    )


def _update_schema_options(d: Dir, schema: SchemaTexts) -> None:
    of = d.option_file
    if of is None:
        return
    changed = False
    for name, value in (("default-character-set", schema.char_set), ("default-collation", schema.collation)):
        for section in of.sections_with(name) or [""]:
            current = of.get(name, section)
            if current is None or current.value != value:
                of.set(name, value, section)
                changed = True
    if changed:
        of.write()


def _refresh_flavor(path: Path, env: str, flavor: str) -> None:
    """Record the server's flavor in the .skeema that sets `host` (this dir or its parent)."""
    for p in (path, path.parent):
        file = p / ".skeema"
        if not file.is_file():
            continue
        of = OptionFile.read(file)
        if of.lookup("host", env) is None:
            continue
        current = of.lookup("flavor", env)
        if current is None or current.value != flavor:
            section = env if of.get("host", env) is not None else ""
            of.set("flavor", flavor, section)
            of.write()
            log.info("Updated flavor to %s in %s", flavor, file)
        return


async def _pull_target(d: Dir, passwords: dict[str, str]) -> None:
    host = d.hosts()[0]
    async with Instance(conn_params(d, host, passwords)) as inst:
        available = await inst.schema_names()
        names = d.schema_names(lambda: available, host=host)
        if not names:
            return
        name = names[0]
        if name not in available:
            for f in d.sql_files():
                f.unlink()
            (d.path / ".skeema").unlink(missing_ok=True)
            if not any(d.path.iterdir()):
                d.path.rmdir()
            log.info("Schema %s no longer exists on %s: removed %s", name, host, d.path)
            return
        flavor = await inst.flavor()
        schema = await load_texts(inst, name, filters(d.config))
        opts = await _dump_opts(d, inst)
    log.info("Updating %s to reflect %s %s", d.path, host, name)
    _refresh_flavor(d.path, d.environment, str(flavor))
    existing = read_dir_statements(d.path)
    result = dump_objects(
        d.path,
        schema.objects(),
        flavor,
        opts,
        existing=existing,
        ignored=ignored_key(d.config, existing),
        memo=split_memo(d.config),
        fold_standalone=True,
    )
    _update_schema_options(d, schema)
    log_files(result, existing.keys())
    # Seed INSERTs: rewritten from the live rows with update-seed-inserts; a dropped table's go with it.
    live = {k.name for k in schema.objects() if k.type is ObjectType.TABLE}
    seeds = await pull_seeds(d, conn_params(d, host, passwords), name, live)
    if seeds is not None:
        log_files(seeds, existing.keys())
    for obj in schema.objects().values():
        if obj.unsupported:  # as init says it (only system-versioned tables are checked)
            log.warning("%s: %s uses features schemad cannot alter; it was written as is", d.path, obj.key)


async def _new_schemas(d: Dir, passwords: dict[str, str]) -> None:
    """Create dirs for schemas of a host dir's server that no subdir maps."""
    host = d.hosts()[0]
    mapped: set[str] = set()
    try:
        subdirs = d.subdirs()
    except ConfigError:
        # Already reported by the walk; without that dir's schema name a new dir could overwrite it.
        raise ConfigError(
            "new-schemas needs every subdir's .skeema to tell which schemas have dirs"
        ) from None
    for sub in subdirs:
        if sub.is_target:
            mapped.update(
                sub.schema_names(lambda: [], host=host) if "*" not in sub.config.get("schema") else []
            )
    async with Instance(conn_params(d, host, passwords)) as inst:
        available = await inst.schema_names()
        new = [n for n in exportable_schemas(available, d.config) if n not in mapped]
        if not new:
            return
        flavor = await inst.flavor()
        schemas = [await load_texts(inst, n, filters(d.config)) for n in new]
        opts = await _dump_opts(d, inst)
    for schema in schemas:
        target = d.path / schema.name
        target.mkdir(exist_ok=True)
        log.info("Adding dir %s for new schema %s", target, schema.name)
        write_schema_option_file(target, schema.name, schema.char_set, schema.collation)
        result = dump_objects(
            target,
            schema.objects(),
            flavor,
            opts,
            existing={},
            ignored=ignored_key(d.config),
            memo=split_memo(d.config),
        )
        log_files(result, ())


def _maps_schema(d: Dir) -> bool:
    """This dir's own .skeema names a schema for the environment."""
    own = d.option_file.lookup("schema", d.environment) if d.option_file is not None else None
    return own is not None and own.value != ""


def _is_host_dir(d: Dir) -> bool:
    of = d.option_file
    return of is not None and of.lookup("host", d.environment) is not None and not d.is_target


def run(args: ParsedArgs) -> int:
    env = environment(args.positionals)
    passwords: dict[str, str] = {}
    code = 0

    def skipped(path: Path, exc: ConfigError) -> None:
        nonlocal code
        log.error("%s", dir_error(path, exc))
        code = max(code, exc.exit_code)  # a bad subdir .skeema: 78, as Skeema's pull, the rest still runs

    # Walk first: pulling adds and removes directories.
    for d in list(walk(env, args.options, skipped)):
        if not d.path.is_dir():
            continue
        try:
            if d.is_target or d.sql_files():
                d.config.check_values()  # a bad value in this dir's .skeema, with its file:line
            if _maps_schema(d) and not d.config.get("host"):
                # As Skeema's pull: a schema dir needs a server to pull from.
                raise ConfigError(f"no host configured for environment {env}; pull needs a server")
            if d.is_target:
                asyncio.run(_pull_target(d, passwords))
            elif _is_host_dir(d) and d.config.get_bool("new-schemas"):
                asyncio.run(_new_schemas(d, passwords))
        except SchemadError as exc:
            log.error("%s", dir_error(d.path, exc))
            code = max(code, exc.exit_code if exc.exit_code != 1 else EXIT_FATAL)
    return code
