"""What a file may run in the workspace: the one gate between hostile text and a real server.

The workspace runs the CREATEs of *.sql files (and of `POST /v1/lint` bodies)
on the environment's own server, so every statement is checked here before
it is sent, whoever the caller is:

- it must be one CREATE of a table, view, procedure, function, trigger or
  event, as the splitter classified it, and not an unsupported form
  (`CREATE TABLE ... SELECT` / `LIKE`, `SONAME`, ...);
- the object's name is unqualified, or qualified with the schema the
  workspace stands for (rewritten to the bare name, so it lands in the temp
  schema); a trigger's table likewise (a rewrite keeps the newlines it
  replaces, so the server's `at line N` still points at the file's line);
- a table or view holds no statement delimiter (and statements are sent on
  connections without multi-statements, so a second statement can't ride
  along in a stored program either);
- an event is created DISABLE'd, so it can never fire in the workspace; its
  real status is kept for the comparison;
- a view's SELECT that names the schema the workspace stands for
  (`FROM app.users`, `app.users.id`, `app.f(x)`, as mysqldump writes them)
  loses those qualifiers, so it reads the temp schema and never the live
  schema of the same name; the server then prints the bare names, as it does
  for the live view, so the two compare equal.  The qualifiers are found with
  sqlglot (schemad.sqltext.references.schema_qualifiers) and cut out of the
  original text; a view whose SELECT names its own schema but cannot be read
  is refused rather than run against the live schema.

Reads of other schemas (a view's SELECT, a foreign key's parent) stay
allowed, and as written: they change nothing.  What is refused becomes a
StatementFailure naming the file, line and reason, and never reaches the server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

from schemad.model.event import EventStatus
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.sqltext.classify import (
    MASKED_IDENT,
    StatementKind,
    classify,
    mask,
    unsupported_reason,
    versioned_comments,
)
from schemad.sqltext.references import schema_qualifiers

__all__ = ["Admitted", "Refusal", "admit"]

_RUNNABLE = frozenset(
    {
        ObjectType.TABLE,
        ObjectType.VIEW,
        ObjectType.PROCEDURE,
        ObjectType.FUNCTION,
        ObjectType.TRIGGER,
        ObjectType.EVENT,
    }
)

_M_IDENT = MASKED_IDENT
_TRIGGER_TAIL = re.compile(
    rf"\s+(?:before|after)\s+(?:insert|update|delete)\s+on\s+(?P<a>{_M_IDENT})(?:\s*\.\s*(?P<b>{_M_IDENT}))?"
    r"(?![\w$])",
    re.I,
)
_DO = re.compile(r"(?<![\w$])do(?![\w$])", re.I)
_STATUS = re.compile(r"(?<![\w$])(?:enable|disable(?:\s+on\s+(?:slave|replica))?)(?![\w$])", re.I)
_COMMENT = re.compile(r"(?<![\w$])comment\s*'", re.I)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A statement the workspace may run: `body` is what is sent (names rewritten, events disabled)."""

    key: ObjectKey
    body: str
    file: str
    line: int
    event_status: EventStatus | None = None  # an event's status as written (the workspace's is DISABLED)
    col: int = 1  # of the statement's first character, like `line`


@dataclass(frozen=True, slots=True)
class Refusal:
    """A statement that never reaches the server, and why."""

    key: ObjectKey
    file: str
    line: int
    reason: str
    col: int = 1


def _unquote(raw: str) -> str:
    return raw[1:-1].replace("``", "`") if raw.startswith("`") else raw


def _home_check(qualifier: str, what: str, home: Collection[str]) -> str | None:
    if qualifier in home:
        return None
    allowed = " or ".join(f"`{h}`" for h in sorted(home)) or "none"
    return (
        f"refused: {what} is qualified with schema `{qualifier}`; statements of this dir may only "
        f"name objects of their own schema ({allowed}), and run in the workspace's temp schema"
    )


def admit(
    *,
    key: ObjectKey,
    body: str,
    file: str,
    line: int,
    home: Collection[str],
    disable_events: bool = True,
    col: int = 1,
) -> Admitted | Refusal:
    """Check one CREATE (its text without delimiter) against the rules above.

    `home` holds the schema names the workspace stands for (a qualifier equal
    to one of them is rewritten away).  `disable_events=False` is for seeding
    a throwaway server, where the events are meant to be live.
    """
    verdict = _judge(key, body, frozenset(home), disable_events)
    if isinstance(verdict, str):
        return Refusal(key=key, file=file, line=line, reason=verdict, col=col)
    sent, status = verdict
    return Admitted(key=key, body=sent, file=file, line=line, event_status=status, col=col)


@functools.lru_cache(maxsize=1 << 16)
def _judge(
    key: ObjectKey, body: str, home: frozenset[str], disable_events: bool
) -> str | tuple[str, EventStatus | None]:
    """admit() on the text alone (memoized: a daemon re-checks a whole dir on each save).

    The reason it is refused, or (the text to send, the event's written status).
    """
    c = classify(body)
    if c.kind is not StatementKind.CREATE or c.key is None or c.name_span is None:
        return "refused: not a CREATE statement the workspace runs"
    if c.key != key:
        return f"refused: the statement creates {c.key}, not {key}"
    if key.type not in _RUNNABLE:
        return f"refused: CREATE {key.type.value} is not run in the workspace"
    if (why := unsupported_reason(body, key, c.name_span)) is not None:
        return f"refused: {why}"
    masked = mask(body)
    if key.type in (ObjectType.TABLE, ObjectType.VIEW) and ";" in masked:
        return "refused: a semicolon outside quotes would end the statement (custom DELIMITER?)"

    start, end = c.name_span
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied right to left
    if c.schema is not None:
        if (why := _home_check(c.schema, f"the name of {key}", home)) is not None:
            return why
        edits.append((start, end, escape_identifier(key.name)))
    if key.type is ObjectType.TRIGGER:
        m = _TRIGGER_TAIL.match(masked, end)
        if m is None:
            return "refused: cannot find the table this trigger is on"
        if m["b"] is not None:
            qualifier = _unquote(body[m.start("a") : m.end("a")])
            if (why := _home_check(qualifier, "the table of this trigger", home)) is not None:
                return why
            edits.append((m.start("a"), m.end("b"), body[m.start("b") : m.end("b")]))
        end = m.end()
    status: EventStatus | None = None
    if key.type is ObjectType.EVENT:
        status, edit = _disable(masked, end)
        if edit is None:
            return "refused: cannot find the DO of this event"
        end = max(end, edit[1])
        if disable_events:
            edits.append(edit)
        else:
            status = None
    if (why := _ambiguous_head(body, end)) is not None:
        return why
    if key.type is ObjectType.VIEW and home:
        spans = schema_qualifiers(body, home)
        if spans is None:
            if (named := _qualifier_named(body, masked, end, home)) is not None:
                return (
                    f"refused: this view's SELECT names its own schema `{named}`, and could not be"
                    " read to point it at the workspace's temp schema (write the names unqualified)"
                )
        else:
            edits += [(s, e, "") for s, e in spans]
    for s, e, text in sorted(edits, reverse=True):
        # The newlines of what is replaced stay, so a line the server names in an error is
        # the same line of the file (schemad.workspace.errorline).
        body = body[:s] + text + "\n" * body.count("\n", s, e) + body[e:]
    return body, status


_QUALIFIER = re.compile(rf"(?<![\w$`])({_M_IDENT})\s*\.")


def _qualifier_named(body: str, masked: str, start: int, home: frozenset[str]) -> str | None:
    """The first name of `home` that qualifies something after `start`, read from the text alone."""
    for m in _QUALIFIER.finditer(masked, start):
        name = _unquote(body[m.start(1) : m.end(1)])
        if name in home:
            return name
    return None


# Every server schemad supports runs `/*!NNNNN ... */` up to this version (MySQL 5.7, MariaDB 10.x).
_ALWAYS_RUN_VERSION = 50700


def _ambiguous_head(body: str, end: int) -> str | None:
    """Why the text up to `end` (name, trigger table, event clauses) may read differently on the server.

    The checks above read it as the server does by default; a backslash
    (NO_BACKSLASH_ESCAPES ends strings elsewhere) or a version-gated comment
    the server may skip (`/*!99999`, MariaDB-only `/*M!`) could hide a
    schema qualifier from them.
    """
    if "\\" in body[:end]:
        return (
            "refused: a backslash before the object's name or clauses"
            " (the server reads it differently under NO_BACKSLASH_ESCAPES)"
        )
    for _, opener in versioned_comments(body, end):
        version = opener.lstrip("/*M!")
        if opener.startswith("/*M!") or (version and int(version) > _ALWAYS_RUN_VERSION):
            return (
                f"refused: the version-gated comment {opener} before the object's name or clauses"
                " may be skipped by the server"
            )
    return None


def _disable(masked: str, name_end: int) -> tuple[EventStatus, tuple[int, int, str] | None]:
    """The event's written status, and the edit that makes it DISABLE (None if DO is not found).

    The grammar is `... ON SCHEDULE .. [ON COMPLETION ..] [ENABLE|DISABLE [ON SLAVE]]
    [COMMENT '..'] DO body`: the status clause is the last such keyword before
    COMMENT / DO (DO is reserved, so the first DO after the name starts the body).
    """
    do = _DO.search(masked, name_end)
    if do is None:
        return EventStatus.ENABLED, None
    head_end = do.start()
    comments = list(_COMMENT.finditer(masked, name_end, head_end))
    limit = comments[-1].start() if comments else head_end
    statuses = list(_STATUS.finditer(masked, name_end, limit))
    if not statuses:
        return EventStatus.ENABLED, (limit, limit, " DISABLE ")
    found = statuses[-1]
    word = " ".join(found[0].upper().split())
    status = (
        EventStatus.ENABLED
        if word == "ENABLE"
        else EventStatus.DISABLED
        if word == "DISABLE"
        else EventStatus.SLAVESIDE_DISABLED
    )
    return status, (found.start(), found.end(), "DISABLE")
