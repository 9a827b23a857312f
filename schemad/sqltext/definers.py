"""Whether a file's CREATE names its definer: the text test strip-definer needs.

A view, routine, trigger or event written without ``DEFINER=`` takes the
connecting user as its definer; under strip-definer such a statement stands
for "any definer", so the workspace and the diff must know which statements
left it out.  Only the head (between CREATE and the object type keyword) is
read, outside quotes and comments; versioned comments count as code, as the
server runs them.  It does not parse the definer itself.
"""

from __future__ import annotations

import re

from schemad import lazyre
from schemad.sqltext.classify import mask

__all__ = ["has_definer_clause"]

_HEAD = lazyre.compile(r"\s*CREATE\b(?P<head>.*?)\b(?:VIEW|PROCEDURE|FUNCTION|TRIGGER|EVENT)\b", re.I | re.S)
_DEFINER = lazyre.compile(r"\bDEFINER\s*=", re.I)


def has_definer_clause(text: str) -> bool:
    """True when the CREATE statement `text` gives ``DEFINER=`` before its object type keyword."""
    m = _HEAD.match(mask(text))
    return m is not None and _DEFINER.search(m["head"]) is not None
