"""`schemad add-environment ENV`: add connection settings for ENV to a host dir's .skeema.

Only edits that one file.  Like Skeema it connects once to record the
server's flavor; an unreachable server is a warning, not a failure.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemad.cli.args import ParsedArgs
from schemad.cli.commands.init import set_connection
from schemad.cli.common import conn_params, cwd, environment, log, sources
from schemad.connection.instance import Instance
from schemad.errors import ConfigError, SchemadError
from schemad.fs.cascade import Config
from schemad.fs.dir import Dir, HostPort
from schemad.fs.optionfile import OptionFile


def run(args: ParsedArgs) -> int:
    env = environment(args.positionals, required=True)
    cfg = Config.load(cwd(), env, sources(args.options, host_on_cli=True))
    path = Path(cfg.get("dir")) if cfg.is_set("dir") else cwd()
    if not path.is_absolute():
        path = cwd() / path
    file = path / ".skeema"
    if not file.is_file():
        raise ConfigError(f"{path} has no .skeema file; run add-environment in a host dir")
    of = OptionFile.read(file)
    if not of.sections_with("host"):
        raise ConfigError(f"{file} does not define host in any section; it is not a host dir")
    if of.has_section(env):
        raise ConfigError(f"{file} already has a [{env}] section")
    if not (cfg.is_set("host") and cfg.source("host") == "command line"):
        raise ConfigError("add-environment requires --host (-h) on the command line")
    d = Dir(path, cfg)
    hosts = d.hosts()
    if len(hosts) != 1:
        raise ConfigError("add-environment takes exactly one host")
    host = hosts[0]
    set_connection(of, env, host, cfg)
    try:
        flavor = asyncio.run(_flavor(d, host))
        of.set("flavor", flavor, env)
    except SchemadError as exc:
        log.warning("could not detect the flavor of %s: %s", host, exc)
    of.write()
    log.info("Added environment [%s] to %s", env, file)
    return 0


async def _flavor(d: Dir, host: HostPort) -> str:
    async with Instance(conn_params(d, host, {})) as inst:
        return str(await inst.flavor())
