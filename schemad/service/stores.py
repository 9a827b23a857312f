"""Which state store the daemon's configuration asks for, opened (and migrated) for it.

`[state] backend = "sqlite"` (the default): `state.sqlite3` in the state dir.
`backend = "mysql"`: the control schema (`state_mysql`).  Opening may block
(connecting, waiting for another daemon's migration): call it from a thread.
"""

from __future__ import annotations

from pathlib import Path

from schemad.errors import SchemadError
from schemad.service.state import SqliteStateStore, StateStore
from schemad.service.state_mysql import MysqlStateStore
from schemad.state_config import StateConfig

__all__ = ["open_state_store"]


def open_state_store(state: StateConfig, state_dir: Path) -> StateStore:
    """The store `state` names; StateError/ConfigError (never holding the password) if it cannot open."""
    if state.mysql is not None:
        return MysqlStateStore(state.mysql)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SchemadError(f"cannot create state dir {state_dir}: {exc.strerror}") from None
    return SqliteStateStore(state_dir / "state.sqlite3")
