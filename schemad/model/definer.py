"""DEFINER values and the server's quoting rules for stored-object DDL.

A definer is kept in the model as the unquoted text information_schema shows,
``user@host``; a MariaDB role (or a user with an empty host) is the bare name,
``role``, as in ``mysql.proc`` and Skeema.  This module turns that text into the
clause SHOW CREATE prints (root@127.0.0.1 -> `root`@`127.0.0.1`) and back, and
holds the identifier quoting the stored-object renderers share:

- :func:`quote_identifier`: the server's ``append_identifier`` (backticks, or
  double quotes when the object's sql_mode has ANSI_QUOTES; the quote character
  is doubled inside).

An empty definer means "none given" (strip-definer): the object's CREATE is
rendered without a DEFINER clause, so the server makes the connecting user its
definer, and :func:`strip_definer_clause` cuts the clause out of a SHOW CREATE
text.

It will not validate that a user exists, match user patterns, or pick a
definer for objects that have none; it does no I/O.
"""

from __future__ import annotations

from enum import StrEnum

from schemad import lazyre

__all__ = [
    "Security",
    "ansi_quotes",
    "definer_clause",
    "format_definer",
    "normalize_definer",
    "parse_definer",
    "quote_identifier",
    "split_definer",
    "sql_mode_set",
    "strip_definer_clause",
]


class Security(StrEnum):
    """`SQL SECURITY` of a view or routine: whose privileges it runs with."""

    DEFINER = "DEFINER"
    INVOKER = "INVOKER"


def ansi_quotes(sql_mode: str) -> bool:
    """True when a sql_mode value (comma separated) includes ANSI_QUOTES.

    The server stores the expansion of combination modes (`ANSI`, `ORACLE`, ...),
    which lists ANSI_QUOTES itself; the short forms are accepted too.
    """
    modes = sql_mode_set(sql_mode)
    return bool(modes & {"ANSI_QUOTES", "ANSI", "ORACLE", "POSTGRESQL", "DB2", "MSSQL", "MAXDB"})


def sql_mode_set(sql_mode: str) -> frozenset[str]:
    """The upper-cased flags of a comma-separated sql_mode value."""
    return frozenset(m.strip().upper() for m in sql_mode.split(",") if m.strip())


def quote_identifier(name: str, *, ansi: bool = False) -> str:
    """Quote an identifier like the server's append_identifier with sql_quote_show_create=1."""
    q = '"' if ansi else "`"
    return q + name.replace(q, q + q) + q


def normalize_definer(definer: str) -> str:
    """The model's form of a definer: information_schema's ``role@`` becomes the bare ``role``."""
    return definer[:-1] if definer.endswith("@") else definer


def split_definer(definer: str) -> tuple[str, str]:
    """Split ``user@host`` on the LAST ``@`` (user names may contain ``@``); a bare role has host ""."""
    user, at, host = normalize_definer(definer).rpartition("@")
    return (user, host) if at else (host, "")


def format_definer(definer: str, *, ansi: bool = False) -> str:
    """root@127.0.0.1 -> `root`@`127.0.0.1`; a role (or empty host) prints the user alone: `role`."""
    user, host = split_definer(definer)
    if not host:
        return quote_identifier(user, ansi=ansi)
    return quote_identifier(user, ansi=ansi) + "@" + quote_identifier(host, ansi=ansi)


def definer_clause(definer: str, *, ansi: bool = False) -> str:
    """``DEFINER=`u`@`h` `` (with its trailing space) as a CREATE prints it; "" when no definer is given."""
    return f"DEFINER={format_definer(definer, ansi=ansi)} " if definer else ""


# What SHOW CREATE prints before the DEFINER clause of a view, routine, trigger or event.
_BEFORE_DEFINER = lazyre.compile(r"CREATE (?:OR REPLACE )?(?:ALGORITHM=\w+ )?(?=DEFINER=)")


def strip_definer_clause(text: str) -> str:
    """A server-printed CREATE without its ``DEFINER=`u`@`h` `` clause; unchanged when it has none.

    Only the clause the server prints right after ``CREATE [ALGORITHM=..]`` is
    removed, its user and host read as quoted parts, so nothing in the body is
    touched.  A text of another shape is returned as it is.
    """
    m = _BEFORE_DEFINER.match(text)
    if m is None:
        return text
    pos = m.end() + len("DEFINER=")
    try:
        _, pos = _read_part(text, pos)
        if text.startswith("@", pos):
            _, pos = _read_part(text, pos + 1)
    except ValueError:
        return text
    if not text.startswith(" ", pos):
        return text
    return text[: m.end()] + text[pos + 1 :]


def _read_part(text: str, pos: int) -> tuple[str, int]:
    """Read one quoted (`` ` `` / ``"`` / ``'``, quote doubled inside) or bare user/host part."""
    if pos < len(text) and text[pos] in "`\"'":
        q = text[pos]
        out: list[str] = []
        i = pos + 1
        while i < len(text):
            if text[i] == q:
                if i + 1 < len(text) and text[i + 1] == q:
                    out.append(q)
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        raise ValueError(f"unterminated quote in definer {text!r}")
    end = text.find("@", pos)
    end = len(text) if end < 0 else end
    part = text[pos:end]
    if not part or any(c in part for c in "`\"'= \t\r\n"):
        raise ValueError(f"bad unquoted user or host {part!r} in definer {text!r}")
    return part, end


def parse_definer(clause: str) -> str:
    """Reverse of :func:`format_definer`: `root`@`h` -> root@h.

    Accepts an optional leading ``DEFINER=``, quoted or bare parts (a bare part is
    split at the first ``@``, as the server's parser does), and a role without host.
    """
    text = clause.strip()
    if text.upper().startswith("DEFINER"):
        text = text[len("DEFINER") :].lstrip()
        if not text.startswith("="):
            raise ValueError(f"not a DEFINER clause: {clause!r}")
        text = text[1:].lstrip()
    user, pos = _read_part(text, 0)
    if pos == len(text):
        return user
    if text[pos] != "@":
        raise ValueError(f"unexpected text after the user in definer {clause!r}")
    host, pos = _read_part(text, pos + 1)
    if pos != len(text):
        raise ValueError(f"unexpected text after the host in definer {clause!r}")
    return f"{user}@{host}" if host else user
