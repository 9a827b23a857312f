"""Whether the connecting user may give stored objects another DEFINER than itself.

strip-definer, when no option file sets it, follows this: a user who can only
create objects as itself (no SUPER, no SET USER on MariaDB 10.5+, no
SET_USER_ID / SET_ANY_DEFINER on MySQL 8) gains nothing from DEFINER clauses
in its files and cannot push another user's, so they are left out.  Read from
SHOW GRANTS of the current user; privileges that reach the user only through a
role are not seen (the answer is then "cannot", the safe side for stripping).
It changes nothing on the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from schemad import lazyre
from schemad.connection.instance import Instance

__all__ = ["can_set_any_definer", "grants_allow_any_definer", "resolve_strip_definer"]

# Global privileges that allow `DEFINER=` naming another account.
_ANY_DEFINER = frozenset({"ALL", "ALL PRIVILEGES", "SUPER", "SET USER", "SET_USER_ID", "SET_ANY_DEFINER"})
_GLOBAL_GRANT = lazyre.compile(r"GRANT\s+(?P<privs>.+?)\s+ON\s+\*\.\*\s+TO\s", re.I | re.S)


def grants_allow_any_definer(grants: Iterable[str]) -> bool:
    """Whether SHOW GRANTS lines hold a global privilege that allows any DEFINER."""
    for line in grants:
        m = _GLOBAL_GRANT.match(line.strip())
        if m is None:
            continue
        privs = {p.strip().upper() for p in m["privs"].split(",")}
        if privs & _ANY_DEFINER:
            return True
    return False


async def can_set_any_definer(inst: Instance) -> bool:
    """Whether `inst`'s user may create objects whose DEFINER is another account."""
    rows = await inst.query("SHOW GRANTS")
    return grants_allow_any_definer(str(next(iter(r.values()), "")) for r in rows)


async def resolve_strip_definer(setting: bool | None, inst: Instance) -> bool:
    """strip-definer as set, or when unset: on for a user that cannot set another DEFINER."""
    if setting is not None:
        return setting
    return not await can_set_any_definer(inst)
