"""asyncmy, imported without its importlib.metadata start-up cost.

`asyncmy.version` asks `importlib.metadata` for the installed version, and
loading that machinery (email, zipfile, csv, ...) takes about 15 ms: a sixth
of a small repo's whole `schemad diff`.  Before asyncmy is first imported this
module puts an `asyncmy.version` in `sys.modules` whose value is read from the
name of asyncmy's `.dist-info` directory (one directory listing); the driver
only sends that value as a connection attribute.  Where no dist-info is found
(a source tree) the real module is imported as usual.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from importlib.machinery import PathFinder
from typing import Any


def _preload_version() -> None:
    if "asyncmy" in sys.modules or "asyncmy.version" in sys.modules:
        return
    spec = PathFinder.find_spec("asyncmy")
    if spec is None or not spec.submodule_search_locations:
        return
    site = os.path.dirname(next(iter(spec.submodule_search_locations)))
    try:
        entries = os.listdir(site)
    except OSError:
        return
    # asyncmy-0.2.18.dist-info (wheel) / asyncmy-0.2.18.egg-info (older installs)
    found = [
        e[len("asyncmy-") :].rsplit(".", 1)[0]
        for e in entries
        if e.startswith("asyncmy-") and e.endswith(("dist-info", "egg-info"))
    ]
    if len(found) != 1:  # none, or stale ones beside the real one: let asyncmy decide
        return
    module = types.ModuleType("asyncmy.version")
    module.__VERSION__ = module.__version__ = found[0]  # type: ignore[attr-defined]
    sys.modules["asyncmy.version"] = module


_preload_version()


def _import_auth_without_cryptography() -> None:
    """Import asyncmy.auth without `cryptography`, which it loads only for RSA password exchange.

    asyncmy.auth imports cryptography's RSA machinery at module level (about 16 ms, a
    tenth of a small repo's `schemad init`) although only `sha2_rsa_encrypt` uses it: MySQL 8
    sha256 / caching_sha2 passwords over an unencrypted connection.  The module is imported
    while `cryptography` reads as absent, and that one function is wrapped to load it on
    first use, so the RSA path works exactly as before.
    """
    if "cryptography" in sys.modules or "asyncmy.auth" in sys.modules:
        return
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # import reads it as absent
    try:
        import asyncmy.auth
    finally:
        del sys.modules["cryptography"]
    auth: Any = asyncmy.auth  # untyped module: its globals are set below
    encrypt = auth.sha2_rsa_encrypt

    def sha2_rsa_encrypt(password: bytes, salt: bytes, public_key: bytes) -> bytes:
        if not auth._have_cryptography:
            with contextlib.suppress(ImportError):  # absent: asyncmy's own error says what is missing
                from cryptography.hazmat.backends import default_backend
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import padding

                auth.default_backend, auth.hashes = default_backend, hashes
                auth.serialization, auth.padding = serialization, padding
                auth._have_cryptography = True
        result: bytes = encrypt(password, salt, public_key)
        return result

    auth.sha2_rsa_encrypt = sha2_rsa_encrypt


_import_auth_without_cryptography()

import asyncmy  # noqa: E402
from asyncmy.constants import CLIENT  # noqa: E402
from asyncmy.cursors import DictCursor  # noqa: E402
from asyncmy.errors import Error as DriverError  # noqa: E402

__all__ = ["CLIENT", "DictCursor", "DriverError", "asyncmy", "single_statements"]

_COM_SET_OPTION = 0x1B
_MULTI_STATEMENTS_OFF = b"\x01\x00"  # MYSQL_OPTION_MULTI_STATEMENTS_OFF, 2 bytes little-endian


async def single_statements(conn: Any) -> None:
    """Make an open connection run exactly one statement per query (COM_SET_OPTION, multi-statements off).

    asyncmy always asks for CLIENT_MULTI_STATEMENTS at the handshake, whatever
    `client_flag` says, so a connection opened "without" it still ran
    `..; DROP ..` as two statements.  Turned off on the server's side, the
    second part is a syntax error.  A compound statement (BEGIN ... END) is
    one statement and still runs.
    """
    await conn._execute_command(_COM_SET_OPTION, _MULTI_STATEMENTS_OFF)
    await conn.read_packet()  # an EOF packet; an error packet raises
