"""A workspace server made to print what the target would: the flavor, settings and user to copy.

workspace=local and workspace=docker run the files' CREATEs on a server of
their own, never on the target.  What the server makes of a CREATE depends on
its flavor and version, on variables (sql_mode, the server charset and
collation, innodb_strict_mode, explicit_defaults_for_timestamp, the default
storage engine, ...) and on the connecting user (the DEFINER of a view,
routine, trigger or event written without one).  This module reads those
from the target (one SELECT; it only reads the target), refuses what cannot
be copied (another flavor or major.minor version, or a global-only variable
that differs, such as lower_case_table_names), and gives:

- the session variables that make a workspace connection print what the
  target would (copied from the target's session values), and
- the target's own account (user@host) created on the workspace server, so
  CURRENT_USER() there is the same and so is every implied DEFINER.

It starts no server (local.py and docker.py do) and runs no CREATE.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from schemad import lazyre
from schemad.connection.instance import Instance
from schemad.connection.params import ConnParams
from schemad.errors import ConfigError, DatabaseError, SchemadError
from schemad.model.definer import split_definer
from schemad.model.flavor import Flavor, Vendor
from schemad.records import dataclass

__all__ = [
    "GLOBAL_ONLY",
    "SESSION_COPIED",
    "TargetFacts",
    "account_params",
    "check_flavor",
    "check_globals",
    "install_hint",
    "read_facts",
    "read_globals",
    "session_settings",
    "with_target_session",
]

#: Variables copied from the target's session onto every workspace connection.
SESSION_COPIED: tuple[str, ...] = (
    "sql_mode",
    "character_set_server",
    "collation_server",
    "innodb_strict_mode",
    "explicit_defaults_for_timestamp",
    "default_storage_engine",
)
#: MariaDB only (MySQL has none of them): old_mode=UTF8_IS_UTF8MB3 decides what `utf8` means,
#: enforce_storage_engine replaces ENGINE=, innodb_compression_default adds PAGE_COMPRESSED.
MARIADB_SESSION_COPIED: tuple[str, ...] = ("old_mode", "enforce_storage_engine", "innodb_compression_default")
#: Global-only variables that shape canonical text: they must be equal, as a session can't set them.
GLOBAL_ONLY: tuple[str, ...] = (
    "lower_case_table_names",
    "innodb_page_size",
    "innodb_default_row_format",
    "innodb_file_per_table",
)

_MARIADB_PART = ", ".join(f"@@session.{v} AS {v}" for v in MARIADB_SESSION_COPIED)
FACTS_SQL = (
    "SELECT @@version AS version, @@version_comment AS version_comment, CURRENT_USER() AS account, "
    "@@session.time_zone AS time_zone, TIMEDIFF(NOW(), UTC_TIMESTAMP()) AS utc_offset, "
    + ", ".join(f"@@session.{v} AS {v}" for v in SESSION_COPIED)
    + ", "
    + ", ".join(f"@@global.{v} AS {v}" for v in GLOBAL_ONLY)
    + f" /*M!100000 , {_MARIADB_PART} */"
)

# A copied value goes into `SET SESSION name='value'` verbatim: only what such variables hold.
_SAFE_VALUE = lazyre.compile(r"[A-Za-z0-9_.,+:/ -]*")


@dataclass(frozen=True, slots=True)
class TargetFacts:
    """What the target's server says about itself, for a workspace elsewhere to copy."""

    flavor: Flavor
    version: str  # @@version, as printed
    account: str  # CURRENT_USER(): user@host, unquoted
    session: tuple[tuple[str, str | None], ...]  # (variable, session value) to copy, in SET order
    globals: tuple[tuple[str, str], ...]  # (variable, value) of GLOBAL_ONLY


async def read_facts(target: ConnParams) -> TargetFacts:
    """Read the target's version, settings and account (one SELECT; nothing is written)."""
    async with Instance(replace(target, database=None), pool_size=1) as inst:
        rows = await inst.query(FACTS_SQL)
    return facts_from_row(rows[0])


def facts_from_row(row: dict[str, object]) -> TargetFacts:
    """TargetFacts of one FACTS_SQL row (MariaDB rows have the MariaDB-only columns too)."""

    def text(v: object) -> str | None:
        if v is None:
            return None
        return v.decode() if isinstance(v, bytes) else str(v)

    version = text(row["version"]) or ""
    flavor = Flavor.from_server(version, text(row.get("version_comment")) or "")
    names = SESSION_COPIED + (MARIADB_SESSION_COPIED if flavor.is_mariadb else ())
    session: list[tuple[str, str | None]] = [(n, text(row.get(n))) for n in names]
    tz = text(row.get("time_zone")) or "SYSTEM"
    if tz.upper() == "SYSTEM":  # the target's system zone, as the offset it has now
        tz = _offset(text(row.get("utc_offset")) or "00:00:00")
    session.append(("time_zone", tz))
    return TargetFacts(
        flavor=flavor,
        version=version,
        account=text(row.get("account")) or "",
        session=tuple(session),
        globals=tuple((n, text(row.get(n)) or "") for n in GLOBAL_ONLY),
    )


def _offset(timediff: str) -> str:
    """`-05:00:00` / `01:00:00` -> `-05:00` / `+01:00` (a time_zone value)."""
    sign = "-" if timediff.startswith("-") else "+"
    hh, _, rest = timediff.lstrip("+-").partition(":")
    return f"{sign}{int(hh or 0):02d}:{rest[:2] or '00'}"


def _vendor_name(f: Flavor) -> str:
    return {Vendor.MARIADB: "MariaDB", Vendor.MYSQL: "MySQL", Vendor.PERCONA: "Percona Server"}.get(
        f.vendor, str(f.vendor)
    )


def _full(f: Flavor) -> str:
    return f"{f.major}.{f.minor}.{f.patch}"


def install_hint(f: Flavor) -> str:
    """The package that gives local server binaries of flavor `f` (Debian/Ubuntu names)."""
    package = {
        Vendor.MARIADB: "mariadb-server",
        Vendor.MYSQL: "mysql-server",
        Vendor.PERCONA: "percona-server-server",
    }.get(f.vendor, "a server package")
    return f"{package} {f.major}.{f.minor}"


def check_flavor(kind: str, target: Flavor, workspace: Flavor, where: str) -> None:
    """ConfigError unless `workspace` is `target`'s vendor and major.minor (their canonical forms differ).

    `kind` names the workspace option value (`local`), `where` the workspace
    server with its verb ("the local server binaries are"): both are said in
    the message.
    """
    same = (target.vendor, target.major, target.minor) == (workspace.vendor, workspace.major, workspace.minor)
    if same and target.int_display_width == workspace.int_display_width:
        return
    if same:  # MySQL 8.0.19 stopped printing int display widths: the patch level matters there
        raise ConfigError(
            f"workspace={kind}: the target is {_vendor_name(target)} {_full(target)} but {where} "
            f"{_vendor_name(workspace)} {_full(workspace)}, and only one of them prints int display "
            f"widths (MySQL 8.0.19 dropped them); use a server on the same side of 8.0.19 or "
            "workspace=temp-schema"
        )
    raise ConfigError(
        f"workspace={kind}: the target is {_vendor_name(target)} {target.major}.{target.minor} but "
        f"{where} {_vendor_name(workspace)} {workspace.major}.{workspace.minor}; "
        f"install {install_hint(target)} or use workspace=temp-schema"
    )


async def read_globals(server: Instance) -> dict[str, str]:
    """The GLOBAL_ONLY variables of a workspace server."""
    rows = await server.query("SELECT " + ", ".join(f"@@global.{v} AS {v}" for v in GLOBAL_ONLY))
    return {k: str(v) for k, v in rows[0].items()}


def check_globals(kind: str, facts: TargetFacts, workspace: dict[str, str]) -> None:
    """ConfigError naming every global-only variable whose value on the workspace server differs."""
    differ = [
        f"{name}={value} on the target but {workspace.get(name)} on the workspace server"
        for name, value in facts.globals
        if name in workspace and str(workspace[name]).lower() != value.lower()
    ]
    if differ:
        raise ConfigError(
            f"workspace={kind}: " + "; ".join(differ) + " (a global setting a session can't change, and "
            "the canonical form depends on it); use workspace=temp-schema"
        )


def session_settings(facts: TargetFacts) -> tuple[tuple[str, str], ...]:
    """`SET SESSION` pairs (name, SQL value) that give a workspace connection the target's settings."""
    out: list[tuple[str, str]] = []
    for name, value in facts.session:
        if value is None:
            out.append((name, "NULL"))
            continue
        if not _SAFE_VALUE.fullmatch(value):
            raise ConfigError(f"the target's {name} ({value[:80]!r}) can't be copied to a workspace session")
        out.append((name, value if value.isdigit() else f"'{value}'"))  # 1, not '1', for ON/OFF variables
    return tuple(out)


def _quote_account(account: str) -> str:
    user, host = split_definer(account)
    if "'" in user + host or "\\" in user + host:
        raise ConfigError(f"the target's account {account!r} can't be created on a workspace server")
    return f"'{user}'@'{host}'" if host else f"'{user}'"


async def account_params(
    admin: Instance, base: ConnParams, facts: TargetFacts, password: str, *, kind: str
) -> ConnParams:
    """The target's account on the workspace server, created there if needed; params that log in as it.

    `admin` is a privileged connection to the workspace server and `base` how
    to reach it over TCP; the account gets every privilege and `password`.
    ConfigError when the workspace server cannot log that account in from
    127.0.0.1 (a host pattern like `10.0.%`): objects created without a
    DEFINER would then name another user than on the target.
    """
    user, host = split_definer(facts.account)
    quoted = _quote_account(facts.account)
    try:
        exists = await admin.query("SELECT 1 FROM mysql.user WHERE user = %s AND host = %s", (user, host))
        verb = "ALTER" if exists else "CREATE"  # not CREATE IF NOT EXISTS: its note would be logged
        await admin.execute(f"{verb} USER {quoted} IDENTIFIED BY %s", (password,))
        await admin.execute(f"GRANT ALL PRIVILEGES ON *.* TO {quoted} WITH GRANT OPTION")
    except DatabaseError as exc:
        raise SchemadError(
            f"workspace={kind}: could not create the target's account {quoted}: {_bare(exc)}"
        ) from None
    params = replace(base, user=user, password=password)
    logged_in = await _current_user(params)
    if logged_in is not None and logged_in != facts.account:
        # Another account of that name shadows it (one a target with another host needed): drop those.
        shadows = await admin.query(
            "SELECT host AS h FROM mysql.user WHERE user = %s AND host <> %s AND is_role = 'N'",
            (user, host),
        )
        for r in shadows:
            await admin.execute("DROP USER IF EXISTS %s@%s", (user, r["h"]))
        logged_in = await _current_user(params)
    if logged_in != facts.account:
        raise ConfigError(
            f"workspace={kind}: the target's user is {facts.account}, an account the workspace server "
            "can't log in as from 127.0.0.1 (objects written without DEFINER take it); "
            "use workspace=temp-schema"
        )
    return params


async def _current_user(params: ConnParams) -> str | None:
    """CURRENT_USER() of a connection with `params`; None when it can't log in."""
    try:
        async with Instance(params, pool_size=1) as probe:
            rows = await probe.query("SELECT CURRENT_USER() AS account")
    except DatabaseError:
        return None
    return str(rows[0]["account"]) if rows else None


def _bare(exc: DatabaseError) -> str:
    """The server's message without the connection's address (which may name a socket path)."""
    return exc.message.split(": ", 1)[-1] if exc.host else exc.message


def new_password() -> str:
    """A random password for a workspace server's accounts (never logged, never on a command line)."""
    return secrets.token_urlsafe(24)


def with_target_session(params: ConnParams, target: ConnParams, facts: TargetFacts) -> ConnParams:
    """`params` (a workspace server's) with the target's connect-options and copied session settings.

    A variable the target's connect-options already set is not copied again
    (the value read from the target is that one anyway).
    """
    named = {k.lower() for k, _ in target.connect_options}
    copied = tuple((k, v) for k, v in session_settings(facts) if k.lower() not in named)
    return replace(params, connect_options=target.connect_options + copied, database=None)
