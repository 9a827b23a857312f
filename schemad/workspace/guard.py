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

A standalone index or constraint statement folded into a table's CREATE
(admit_fold: `CREATE INDEX i ON t (..)`, `ALTER TABLE t ADD KEY|UNIQUE|
CONSTRAINT|FOREIGN KEY|PRIMARY KEY|CHECK ..`) is read token by token
against exactly those forms: any other clause (DROP, RENAME, MODIFY, table
options, partitioning, ALGORITHM/LOCK) is refused, as is a table
qualified with another schema, a semicolon, a backslash or a skippable
version-gated comment anywhere in it.

A foreign key whose parent is qualified with the schema the workspace stands
for (`REFERENCES app.parent`) loses the qualifier in the same way, in a
CREATE TABLE and in a folded ALTER TABLE .. ADD FOREIGN KEY: it refers to the
temp schema's table, and the server prints the bare name as it does live.
Reads of other schemas (a view's SELECT, a foreign key's parent) stay
allowed, and as written: they change nothing.  What is refused becomes a
StatementFailure naming the file, line and reason, and never reaches the server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from schemad import lazyre
from schemad.model.event import EventStatus
from schemad.model.keys import ObjectKey, ObjectType, escape_identifier
from schemad.records import dataclass
from schemad.sqltext.classify import (
    MASKED_IDENT,
    StatementKind,
    classify,
    mask,
    unsupported_reason,
    versioned_comments,
)
from schemad.sqltext.references import parent_qualifiers, schema_qualifiers

__all__ = ["Admitted", "Refusal", "admit", "admit_fold"]

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
_TRIGGER_TAIL = lazyre.compile(
    rf"\s+(?:before|after)\s+(?:insert|update|delete)\s+on\s+(?P<a>{_M_IDENT})(?:\s*\.\s*(?P<b>{_M_IDENT}))?"
    r"(?![\w$])",
    re.I,
)
_DO = lazyre.compile(r"(?<![\w$])do(?![\w$])", re.I)
_STATUS = lazyre.compile(r"(?<![\w$])(?:enable|disable(?:\s+on\s+(?:slave|replica))?)(?![\w$])", re.I)
_COMMENT = lazyre.compile(r"(?<![\w$])comment\s*'", re.I)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A statement the workspace may run: `own_body` is what is sent (names rewritten, events disabled)."""

    key: ObjectKey
    own_body: str
    file: str
    line: int
    event_status: EventStatus | None = None  # an event's status as written (the workspace's is DISABLED)
    col: int = 1  # of the statement's first character, like `line`
    folded: tuple[Admitted, ...] = ()  # a table's admitted standalone index statements, run right after it

    @property
    def body(self) -> str:
        """`own_body`, then each folded statement's, `;`-joined (as Statement.body): all a table's text."""
        if not self.folded:
            return self.own_body
        return self.own_body + "".join(f";\n{f.own_body}" for f in self.folded)


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
    return Admitted(key=key, own_body=sent, file=file, line=line, event_status=status, col=col)


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
    # A table's masked text is only searched for `;` below, and mask() never adds one: a body
    # without any needs no masking (most tables).
    masked = body if key.type is ObjectType.TABLE and ";" not in body else mask(body)
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
    if key.type is ObjectType.TABLE and home:
        # A parent in the schema the workspace stands for is the temp schema's table of that name,
        # as for a view's SELECT: never the live one.  Unreadable: left as written (the server
        # rejects what this cannot read).
        edits += [(s, e, "") for s, e in parent_qualifiers(body, home) or ()]
    return _spliced(body, edits), status


_QUALIFIER = lazyre.compile(rf"(?<![\w$`])({_M_IDENT})\s*\.")


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
    if (opener := _skippable_comment(body, end)) is not None:
        return (
            f"refused: the version-gated comment {opener} before the object's name or clauses"
            " may be skipped by the server"
        )
    return None


def _skippable_comment(body: str, end: int | None = None) -> str | None:
    """The opener of the first version-gated comment before `end` that a supported server may skip."""
    for _, opener in versioned_comments(body, end):
        version = opener.lstrip("/*M!")
        if opener.startswith("/*M!") or (version and int(version) > _ALWAYS_RUN_VERSION):
            return opener
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


# ///// standalone index and constraint statements ////////////////////////////////////////////////

_ADD_CLAUSES = "INDEX, KEY, UNIQUE, FULLTEXT, SPATIAL, PRIMARY KEY, FOREIGN KEY, CONSTRAINT, CHECK"
_FOLD_TOKEN = lazyre.compile(
    r"\s*(?:(?P<ident>`_*)|(?P<string>'_*|\"_*)|(?P<word>[\w$]+)|(?P<punct>[(),.=])|(?P<other>\S))"
)
_INDEX_TYPES = frozenset({"BTREE", "HASH", "RTREE"})
_REF_OPTIONS = {"RESTRICT": (), "CASCADE": (), "SET": ("NULL", "DEFAULT"), "NO": ("ACTION",)}
_CONSTRAINT_KINDS = frozenset({"PRIMARY", "UNIQUE", "FOREIGN", "CHECK"})


class _NotFoldable(Exception):
    """What makes a statement more than an index or constraint addition (the refusal's reason)."""


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # ident (backticked), string ('..' or ".."), word, punct, other
    text: str  # the original text (upper-cased for a word)
    start: int


class _Clauses:
    """A strict reader of the masked text of a FOLDABLE statement: its grammar, nothing more.

    Only the shapes of `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX .. ON t (..)`
    and `ALTER TABLE t ADD <index or constraint> [, ADD ..]...` pass; every
    other token raises _NotFoldable.  What is inside parentheses (key parts,
    a CHECK expression) is not read beyond balancing them: the server parses
    it, and it can only describe the index or constraint being added.
    """

    def __init__(self, body: str, masked: str) -> None:
        self.toks: list[_Tok] = []
        pos = 0
        while (m := _FOLD_TOKEN.match(masked, pos)) is not None and m.end() > pos:
            kind = m.lastgroup or "other"
            raw = body[m.start(kind) : m.end(kind)]
            self.toks.append(_Tok(kind, raw.upper() if kind == "word" else raw, m.start(kind)))
            pos = m.end()
        self.i = 0

    # --- reading ---

    def _peek(self, k: int = 0) -> _Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def word(self, k: int = 0) -> str | None:
        t = self._peek(k)
        return t.text if t is not None and t.kind == "word" else None

    def at(self, text: str) -> bool:
        t = self._peek()
        return t is not None and t.kind in ("word", "punct") and t.text == text

    def accept(self, *words: str) -> str | None:
        w = self.word()
        if w is not None and w in words:
            self.i += 1
            return w
        return None

    def expect(self, *words: str) -> str:
        found = self.accept(*words)
        if found is None:
            self.fail(" or ".join(words))
        assert found is not None
        return found

    def punct(self, text: str) -> bool:
        if self.at(text):
            self.i += 1
            return True
        return False

    def fail(self, wanted: str = "") -> None:
        t = self._peek()
        if t is None:
            raise _NotFoldable(f"the statement ends where {wanted} was expected")
        shown = t.text if len(t.text) <= 40 else t.text[:39] + "…"
        raise _NotFoldable(f"`{shown}` is not part of an index or constraint definition")

    def done(self) -> bool:
        return self.i >= len(self.toks)

    # --- grammar pieces ---

    def name(self, *, optional: bool = False, stop: frozenset[str] = frozenset()) -> bool:
        """A bare or backticked name (not one of `stop`); False if absent and `optional`."""
        t = self._peek()
        if t is not None and (t.kind == "ident" or (t.kind == "word" and t.text not in stop)):
            self.i += 1
            return True
        if not optional:
            self.fail("a name")
        return False

    def table(self) -> None:
        self.name()
        if self.punct("."):
            self.name()

    def if_not_exists(self) -> None:
        if self.word() == "IF" and self.word(1) == "NOT" and self.word(2) == "EXISTS":
            self.i += 3

    def paren(self) -> None:
        """A parenthesized group, balanced; its content is the server's to judge."""
        if not self.punct("("):
            self.fail("(")
        depth = 1
        while depth:
            t = self._peek()
            if t is None:
                self.fail(")")
            assert t is not None
            self.i += 1
            if t.kind == "punct" and t.text in "()":
                depth += 1 if t.text == "(" else -1

    def using(self) -> None:
        if self.accept("USING"):
            self.expect(*_INDEX_TYPES)

    def index_options(self) -> None:
        while True:
            w = self.word()
            if w in ("VISIBLE", "INVISIBLE", "IGNORED"):
                self.i += 1
            elif w == "NOT" and self.word(1) == "IGNORED":
                self.i += 2
            elif w == "USING":
                self.using()
            elif w == "KEY_BLOCK_SIZE":
                self.i += 1
                self.punct("=")
                if self._peek() is None or not (self.word() or "").isdigit():
                    self.fail("a number")
                self.i += 1
            elif w == "COMMENT" or w in ("ENGINE_ATTRIBUTE", "SECONDARY_ENGINE_ATTRIBUTE"):
                self.i += 1
                if w != "COMMENT":
                    self.punct("=")
                self.string()
            elif w == "WITH" and self.word(1) == "PARSER":
                self.i += 2
                self.name()
            else:
                return

    def string(self) -> None:
        t = self._peek()
        if t is None or t.kind != "string":
            self.fail("a quoted string")
        self.i += 1

    def index_body(self, *, name_allowed: bool = True) -> None:
        """[IF NOT EXISTS] [name] [USING type] (key parts) [options]."""
        self.if_not_exists()
        if name_allowed:
            self.name(optional=True, stop=frozenset({"USING"}))
        self.using()
        self.paren()
        self.index_options()

    def references(self) -> None:
        """(columns) REFERENCES [schema.]table (columns) [MATCH ..] [ON DELETE ..] [ON UPDATE ..]."""
        self.paren()
        self.expect("REFERENCES")
        self.table()
        self.paren()
        if self.accept("MATCH"):
            self.expect("FULL", "PARTIAL", "SIMPLE")
        while self.accept("ON"):
            self.expect("DELETE", "UPDATE")
            option = self.expect(*_REF_OPTIONS)
            if _REF_OPTIONS[option]:
                self.expect(*_REF_OPTIONS[option])

    def add_clause(self) -> None:
        """ADD followed by one index or constraint definition."""
        self.expect("ADD")
        w = self.word()
        if w in ("INDEX", "KEY"):
            self.i += 1
            self.index_body()
            return
        if w in ("FULLTEXT", "SPATIAL"):
            self.i += 1
            self.accept("INDEX", "KEY")
            self.index_body()
            return
        if self.accept("CONSTRAINT"):
            self.name(optional=True, stop=_CONSTRAINT_KINDS)
            if self.word() not in _CONSTRAINT_KINDS:
                self.fail("PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK")
        kind = self.expect(*_CONSTRAINT_KINDS)
        if kind == "PRIMARY":
            self.expect("KEY")
            self.index_body(name_allowed=False)
        elif kind == "UNIQUE":
            self.accept("INDEX", "KEY")
            self.index_body()
        elif kind == "FOREIGN":
            self.expect("KEY")
            self.if_not_exists()
            self.name(optional=True)
            self.references()
        else:  # CHECK
            self.paren()
            if self.accept("NOT"):
                self.expect("ENFORCED")
            else:
                self.accept("ENFORCED")

    def statement(self) -> None:
        """The whole statement; raises _NotFoldable at the first token outside the grammar."""
        if self.accept("CREATE"):
            self.accept("UNIQUE", "FULLTEXT", "SPATIAL")
            self.expect("INDEX")
            self.if_not_exists()
            self.name()
            self.using()
            self.expect("ON")
            self.table()
            self.paren()
            self.index_options()
        else:
            self.expect("ALTER")
            self.expect("TABLE")
            self.table()
            self.add_clause()
            while self.punct(","):
                self.add_clause()
        if not self.done():
            self.fail("the end of the statement")


def admit_fold(
    *, key: ObjectKey, body: str, file: str, line: int, home: Collection[str], col: int = 1
) -> Admitted | Refusal:
    """Check one standalone index or constraint statement on table `key` (its text without delimiter).

    Admitted only when it is exactly `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX
    i ON t (..)` or `ALTER TABLE t ADD <index or constraint> [, ADD ..]`
    (schemad.sqltext.classify's FOLDABLE statements): nothing else in the
    ALTER (no DROP, RENAME, MODIFY, table options, partitioning, ALGORITHM
    or LOCK), the table unqualified or qualified with a schema of `home`
    (rewritten to the bare name), no semicolon, backslash or skippable
    version-gated comment anywhere in it.  A foreign key's parent may be in
    any schema, as in a CREATE TABLE (a read).
    """
    verdict = _judge_fold(key, body, frozenset(home))
    if verdict[0] is not None:
        return Refusal(key=key, file=file, line=line, reason=verdict[0], col=col)
    return Admitted(key=key, own_body=verdict[1], file=file, line=line, col=col)


@functools.lru_cache(maxsize=1 << 14)
def _judge_fold(key: ObjectKey, body: str, home: frozenset[str]) -> tuple[str | None, str]:
    """(why it is refused, "") or (None, the text to send)."""
    c = classify(body)
    if c.kind is not StatementKind.FOLDABLE or c.key is None or c.name_span is None:
        return "refused: not a standalone CREATE INDEX or ALTER TABLE .. ADD statement", ""
    if c.key != key:
        return f"refused: the statement is on {c.key}, not {key}", ""
    if "\\" in body:
        return (
            "refused: a backslash in a standalone index statement"
            " (the server reads it differently under NO_BACKSLASH_ESCAPES)",
            "",
        )
    if (opener := _skippable_comment(body)) is not None:
        return f"refused: the version-gated comment {opener} may be skipped by the server", ""
    masked = mask(body)
    if ";" in masked:
        return "refused: a semicolon outside quotes would end the statement (custom DELIMITER?)", ""
    if (
        c.schema is not None
        and (why := _home_check(c.schema, "the table this statement adds to", home)) is not None
    ):
        return why, ""
    try:
        _Clauses(body, masked).statement()
    except _NotFoldable as exc:
        return (
            f"refused: {exc}; a standalone index statement may only be CREATE INDEX .. ON a table"
            f" of this dir, or ALTER TABLE .. ADD {_ADD_CLAUSES} clauses",
            "",
        )
    edits = [(s, e, "") for s, e in parent_qualifiers(body, home) or ()]
    if c.schema is not None:
        start, end = c.name_span
        edits.append((start, end, escape_identifier(key.name)))
    return None, _spliced(body, edits)


def _spliced(body: str, edits: list[tuple[int, int, str]]) -> str:
    """`body` with each (start, end) replaced by its text, keeping the newlines of what is replaced.

    The newlines stay so that a line the server names in an error is the same
    line of the file (schemad.workspace.errorline).
    """
    for s, e, text in sorted(edits, reverse=True):
        body = body[:s] + text + "\n" * body.count("\n", s, e) + body[e:]
    return body
