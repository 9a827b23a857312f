"""temp-schema-environment: the temp schema on another environment's server, never on the target.

Skeema Premium's workspace offloading: with workspace=temp-schema and
`temp-schema-environment=development`, a `[production]` run creates and drops
its temp schema on the server the dir's `[development]` section names (its
host, port, socket, user, password, connect-options), so production sees no
CREATE, DROP or GET_LOCK from the workspace.  plan.dir_options resolves that
server; this module checks it and makes its connections print what the target
would:

- it must be the target's flavor: same vendor and major.minor, and the same
  side of MySQL 8.0.19 (int display widths); otherwise ConfigError, and the
  target is skipped;
- the global-only variables that shape canonical text
  (mirror.GLOBAL_ONLY: lower_case_table_names, ...) must be equal;
- the target's session values of the variables that do (mirror.SESSION_COPIED:
  sql_mode, the server charset and collation, ...) and its connect-options
  are set on every workspace connection, after the other environment's own
  connect-options, as workspace=local does.

Both servers are only read here (one SELECT each).  The workspace runs as the
other environment's user: a view or routine written without DEFINER gets
that user there (strip-definer makes the diff ignore it).  It does not create
accounts, start servers or run CREATEs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from schemad.connection.params import ConnParams
from schemad.errors import ConfigError
from schemad.model.flavor import Flavor, Vendor
from schemad.workspace import mirror

__all__ = ["flavor_mismatch", "offloaded", "workspace_session"]

log = logging.getLogger(__name__)

_VENDOR_NAMES = {Vendor.MARIADB: "MariaDB", Vendor.MYSQL: "MySQL", Vendor.PERCONA: "Percona Server"}


def _name(f: Flavor) -> str:
    return f"{_VENDOR_NAMES.get(f.vendor, str(f.vendor))} {f.major}.{f.minor}.{f.patch}"


def flavor_mismatch(target: Flavor, workspace: Flavor) -> str | None:
    """Why a workspace server of flavor `workspace` can't stand in for `target`, or None when it can.

    Pure.  The canonical text of a CREATE differs between vendors and between
    major.minor versions; within one, only MySQL 8.0.19's int display widths.
    """
    if (target.vendor, target.major, target.minor) != (workspace.vendor, workspace.major, workspace.minor):
        return f"the target is {_name(target)} but the workspace server is {_name(workspace)}"
    if target.int_display_width != workspace.int_display_width:
        return (
            f"the target is {_name(target)} but the workspace server is {_name(workspace)}, and only one "
            "of them prints int display widths (MySQL 8.0.19 dropped them)"
        )
    return None


def workspace_session(server: ConnParams, target: ConnParams, facts: mirror.TargetFacts) -> ConnParams:
    """`server` with the target's connect-options and copied session values set after its own.

    The workspace server's driver parameters stay its own; a session variable
    both set is the target's.  A variable the target's connect-options set is
    not copied again (the value read from the target is that one anyway).
    """
    target_vars = target.session_vars
    named = {k.lower() for k, _ in target_vars}
    copied = [(k, v) for k, v in mirror.session_settings(facts) if k.lower() not in named]
    overridden = named | {k.lower() for k, _ in copied}
    own = [(k, v) for k, v in server.connect_options if k.lower() not in overridden]
    return replace(server, connect_options=(*own, *target_vars, *copied), database=None)


async def offloaded(target: ConnParams, server: ConnParams, environment: str) -> ConnParams:
    """Params of `server` (temp-schema-environment `environment`) set up to stand in for `target`.

    ConfigError naming both servers when the flavors or a global-only
    variable differ.  Reads both servers, writes neither.
    """
    facts, there = await asyncio.gather(mirror.read_facts(target), mirror.read_facts(server))
    what = f"temp-schema-environment={environment}"
    why = flavor_mismatch(facts.flavor, there.flavor)
    if why is not None:
        raise ConfigError(
            f"{what}: {why} ({target.address} vs {server.address}); the workspace must run on a server "
            f"of the target's flavor: point [{environment}] at one, or use another temp-schema-environment"
        )
    theirs = dict(there.globals)
    differ = [
        f"{name}={value} on the target but {theirs.get(name)} on the workspace server"
        for name, value in facts.globals
        if name in theirs and str(theirs[name]).lower() != value.lower()
    ]
    if differ:
        raise ConfigError(
            f"{what}: " + "; ".join(differ) + f" ({target.address} vs {server.address}); a global "
            "setting a session can't change, and the canonical form depends on it"
        )
    log.debug(
        "%s: temp schema on %s (as %s) for target %s (as %s)",
        what,
        server.address,
        there.account,
        target.address,
        facts.account,
    )
    return workspace_session(server, target, facts)
