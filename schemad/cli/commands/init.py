"""`schemad init [env]`: import every schema of a live server into a new host dir.

Writes `<dir>/.skeema` (host, port or socket, flavor in the `[env]` section),
one subdir per schema with its own `.skeema` (schema, default charset and
collation) and one `<object>.sql` per object holding its canonical CREATE.
With `--schema X` the host dir itself is the schema dir ("flat" layout).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from schemad.cli.args import ParsedArgs
from schemad.cli.common import (
    GENERATOR,
    conn_params,
    cwd,
    environment,
    exportable_schemas,
    filters,
    ignored_key,
    log,
    log_files,
    sources,
)
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import CannotCreateError, ConfigError
from schemad.fs.cascade import Config
from schemad.fs.dir import Dir, HostPort
from schemad.fs.dumper import DumpOptions, dump_objects
from schemad.fs.optionfile import OptionFile
from schemad.fs.splitmemo import split_memo
from schemad.introspect.privileges import resolve_strip_definer
from schemad.introspect.texts import load_texts
from schemad.plan.dir_options import strip_definer_setting

# Connectivity options copied into the host dir's .skeema when given on the command line.
_COPIED = (
    "user",
    "connect-options",
    "ignore-schema",
    "ignore-table",
    "ignore-proc",
    "ignore-func",
    "ignore-view",
    "ignore-trigger",
    "ignore-event",
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "ssl-verify-server-cert",
    "server-public-key-path",
    "ssh",
    "ssh-to-db",
    "ssh-known-hosts",
    "ssh-identity-file",
)
# Written absolute: the file is read from elsewhere than the working directory.
_PATHS = frozenset(
    {"ssh-known-hosts", "ssh-identity-file", "ssl-ca", "ssl-cert", "ssl-key", "server-public-key-path"}
)


def set_connection(of: OptionFile, env: str, host: HostPort, cfg: Config) -> None:
    """Write the `[env]` connection settings of a host dir (init, add-environment)."""
    of.set("host", host.host, env)
    if host.socket:
        of.set("socket", host.socket, env)
    else:
        of.set("port", str(host.port), env)
    for name in _COPIED:
        if cfg.is_set(name) and cfg.source(name) == "command line":
            value = cfg.get(name)
            of.set(name, os.path.abspath(os.path.expanduser(value)) if name in _PATHS else value, env)


def host_dir_name(host: HostPort) -> str:
    if host.socket or host.port == 3306:
        return host.host
    return f"{host.host}:{host.port}"


def _check_dir(path: Path, cfg: Config) -> None:
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{path} exists and is not a directory")
        if (path / ".skeema").exists() or any(path.glob("*.sql")):
            raise ConfigError(f"{path} already contains a .skeema file or *.sql files; init needs a new dir")
    if cfg.get("schema") and cfg.source("schema") != "command line":
        raise ConfigError(f"{cfg.source('schema')} sets schema; cannot init below a schema dir")


def write_host_option_file(
    path: Path,
    env: str,
    host: HostPort,
    flavor: str,
    cfg: Config,
    *,
    flat_schema: tuple[str, str, str] | None,
) -> None:
    of = OptionFile(path / ".skeema")
    of.set("generator", GENERATOR)
    if flat_schema:
        name, charset, collation = flat_schema
        of.set("schema", name)
        of.set("default-character-set", charset)
        of.set("default-collation", collation)
    set_connection(of, env, host, cfg)
    of.set("flavor", flavor, env)
    of.write()


def write_schema_option_file(path: Path, name: str, charset: str, collation: str) -> None:
    of = OptionFile(path / ".skeema")
    of.set("default-character-set", charset)
    of.set("default-collation", collation)
    of.set("schema", name)
    of.write()


def run(args: ParsedArgs) -> int:
    env = environment(args.positionals)
    cfg = Config.load(cwd(), env, sources(args.options, host_on_cli=True))
    if not cfg.get("host"):
        raise ConfigError("init requires --host (-h) on the command line")
    start = Dir(cwd(), cfg)
    hosts = start.hosts()
    if len(hosts) != 1:
        raise ConfigError("init takes exactly one host")
    host = hosts[0]
    path = Path(cfg.get("dir")) if cfg.is_set("dir") else Path(host_dir_name(host))
    if not path.is_absolute():
        path = cwd() / path
    _check_dir(path, cfg)
    params = conn_params(start, host, {})
    return asyncio.run(_init(path, env, host, params, cfg))


async def _init(path: Path, env: str, host: HostPort, params: ConnParams, cfg: Config) -> int:
    async with Instance(params) as inst:
        flavor = await inst.flavor()
        available = await inst.schema_names()
        only = cfg.get("schema") if cfg.source("schema") == "command line" else ""
        if only:
            if only not in available:
                raise ConfigError(f"schema {only} does not exist on {params.address}")
            names = [only]
        else:
            names = exportable_schemas(available, cfg)
        schemas = await asyncio.gather(*(load_texts(inst, n, filters(cfg)) for n in names))
        strip_definer = await resolve_strip_definer(strip_definer_setting(cfg), inst)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CannotCreateError(f"cannot create directory {path}: {exc.strerror}") from None
    opts = DumpOptions(
        include_auto_inc=cfg.get_bool("include-auto-inc"),
        strip_partitioning=cfg.get_bool("strip-partitioning"),
        strip_definer=strip_definer,
    )
    ignored = ignored_key(cfg)
    flat = (schemas[0].name, schemas[0].char_set, schemas[0].collation) if only else None
    write_host_option_file(path, env, host, str(flavor), cfg, flat_schema=flat)
    log.info("Initialized host dir %s for %s", path, params.address)
    for schema in schemas:
        target = path if only else path / schema.name
        if not only:
            try:
                target.mkdir(exist_ok=True)
            except OSError as exc:
                raise CannotCreateError(f"cannot create directory {target}: {exc.strerror}") from None
            write_schema_option_file(target, schema.name, schema.char_set, schema.collation)
        log.info("Populating %s", target)
        result = dump_objects(
            target, schema.objects(), flavor, opts, existing={}, ignored=ignored, memo=split_memo(cfg)
        )
        log_files(result, ())
        for obj in schema.objects().values():
            if obj.unsupported:
                log.warning(
                    "%s: %s uses features schemad cannot alter; it was written as is", target, obj.key
                )
    return 0
