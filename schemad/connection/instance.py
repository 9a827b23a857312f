"""Instance: one database server reached through a small asyncmy connection pool.

Every query goes through :meth:`Instance.query` / :meth:`Instance.execute`, which
count what they run (tests assert on the counters) and turn driver errors into
:class:`~schemad.errors.DatabaseError` without leaking the password.  This module
knows nothing about schemas or models.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

from schemad import lazyre
from schemad.connection.driver import CLIENT, DictCursor, DriverError, single_statements
from schemad.connection.params import ConnParams
from schemad.connection.tlsdriver import TlsConnector, describe_tls_error
from schemad.errors import ConnectError, DatabaseError
from schemad.model.flavor import Flavor

Row = dict[str, Any]

_CATEGORY_RE = lazyre.compile(r"^\s*(show\s+create|select|show|set|create|alter|drop|use)\b", re.I)


def _category(sql: str) -> str:
    low = sql.lower()
    if "information_schema." in low:
        return "information_schema"
    if "mysql.proc" in low:
        return "mysql.proc"
    m = _CATEGORY_RE.match(sql)
    return " ".join(m[1].lower().split()) if m else "other"


_BINARY_CHARSET = 63


def _decode(cur: Any, rows: list[Row]) -> list[Row]:
    """Turn BLOB columns (mysql.proc bodies...) into text; the model only holds str.

    Only columns the server flags as binary are touched, so the common case of
    large information_schema results costs nothing here.
    """
    fields = getattr(getattr(cur, "_result", None), "fields", None)
    if fields is None:
        binary = list(rows[0]) if rows else []
    else:
        binary = [f.name for f in fields if getattr(f, "charsetnr", 0) == _BINARY_CHARSET]
    if not binary or not rows:
        return rows
    for row in rows:
        for k in binary:
            v = row.get(k)
            if isinstance(v, bytes | bytearray):
                row[k] = v.decode("utf-8", "replace")
    return rows


class Instance:
    """A server with a bounded pool of connections; safe for concurrent use."""

    def __init__(self, params: ConnParams, *, pool_size: int = 8, connect_timeout: float = 10.0) -> None:
        self.params = params
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.query_counts: Counter[str] = Counter()
        self._idle: dict[bool, list[Any]] = {True: [], False: []}  # keyed by multi-statements
        self._all: list[Any] = []
        self._sem = asyncio.Semaphore(pool_size)
        self._flavor: Flavor | None = None
        self._variables: dict[str, str] = {}
        # TLS context built on the first connection, then shared by all of them.
        self._tls = TlsConnector(params.tls, host=params.host, address=params.address)

    def __repr__(self) -> str:
        return f"Instance({self.params.address})"

    # --- connection management ---------------------------------------------

    def _error(self, exc: BaseException, sql: str | None = None) -> DatabaseError:
        args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
        errno = args[0] if args and isinstance(args[0], int) else None
        text = str(args[1]) if len(args) > 1 else str(exc)
        if self.params.password:
            text = text.replace(self.params.password, "*****")
        return DatabaseError(
            f"{self.params.address}: Error {errno}: {text}" if errno else f"{self.params.address}: {text}",
            errno=errno,
            sql=sql,
            host=self.params.address,
        )

    async def _open(self, multi: bool) -> Any:
        p = self.params
        kwargs: dict[str, Any] = {
            # query_many() sends batches of statements in one round trip; text from
            # files goes on connections without it (see execute_one).
            "client_flag": CLIENT.MULTI_STATEMENTS if multi else 0,
            "user": p.user,
            "password": p.password,
            "autocommit": True,
            "charset": p.driver_params.get("charset", "utf8mb4").split(",")[0],
            "connect_timeout": self.connect_timeout,
        }
        if p.database:
            kwargs["database"] = p.database
        if p.socket:
            kwargs["unix_socket"] = p.socket
        else:
            kwargs["host"] = p.host
            kwargs["port"] = p.port
        if p.ssh is not None:  # through a local port forwarded over SSH; p.host stays the real server
            from schemad.connection import tunnel

            kwargs.pop("unix_socket", None)
            kwargs["host"], kwargs["port"] = await tunnel.local_endpoint(p, timeout=self.connect_timeout)
        kwargs.update(self._tls.driver_kwargs(tcp=not p.socket))  # a socket forwarded over SSH too
        try:
            conn = await asyncio.wait_for(self._tls.connect(**kwargs), self.connect_timeout + 1)
        except (DriverError, OSError, TimeoutError) as exc:
            cause = describe_tls_error(exc, p.host) or self._error(exc).message.split(": ", 1)[-1]
            if p.ssh is not None:
                why = await tunnel.diagnose(p, timeout=self.connect_timeout)
                cause = why or f"{cause} (via {p.ssh.describe(p.host)})"
            raise ConnectError(
                f"cannot connect to {p.address}: {cause}", host=p.address, errno=self._error(exc).errno
            ) from None
        # Session settings: quote identifiers in SHOW CREATE like Skeema does, then
        # the user's connect-options (session variables only).
        sets = ["sql_quote_show_create=1", *(f"{k}={v}" for k, v in p.session_vars)]
        try:
            async with conn.cursor() as cur:
                await cur.execute("SET SESSION " + ", ".join(sets))
            if not multi:  # asyncmy asks for multi-statements whatever client_flag says: off on the server
                await single_statements(conn)
        except DriverError as exc:
            conn.close()
            raise self._error(exc, "SET SESSION ...") from None
        return conn

    @contextlib.asynccontextmanager
    async def connection(self, *, multi: bool = True) -> AsyncIterator[Any]:
        """Borrow a pooled connection (a broken one is discarded, not returned).

        `multi=False` gives one opened without CLIENT_MULTI_STATEMENTS: the
        server then runs exactly one statement per call, whatever the text holds.
        """
        async with self._sem:
            idle = self._idle[multi]
            conn = idle.pop() if idle else None
            if conn is None:
                conn = await self._open(multi)
                self._all.append(conn)
            ok = False
            try:
                yield conn
                ok = True
            finally:
                if ok or conn.connected:
                    idle.append(conn)
                else:
                    self._all.remove(conn)
                    conn.close()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """A connection held for a while, for session state such as GET_LOCK."""
        async with self.connection() as conn:
            yield Session(self, conn)

    async def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(Exception):
                await conn.ensure_closed()
        self._all.clear()
        for idle in self._idle.values():
            idle.clear()

    def abort(self) -> None:
        """Close every connection at once, without a QUIT to the server (nothing is awaited).

        For a task cancelled while it closes: an await there could be cut
        short and leave a socket open.
        """
        for conn in self._all:
            with contextlib.suppress(Exception):
                conn.close()
        self._all.clear()
        for idle in self._idle.values():
            idle.clear()

    async def __aenter__(self) -> Instance:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- queries ------------------------------------------------------------

    async def query(self, sql: str, args: Sequence[Any] | None = None) -> list[Row]:
        """Run a query on a pooled connection and return rows as dicts."""
        async with self.connection() as conn:
            return await self._query(conn, sql, args)

    async def execute(self, sql: str, args: Sequence[Any] | None = None) -> int:
        """Run a statement; returns the affected row count."""
        async with self.connection() as conn:
            return await self._execute(conn, sql, args)

    async def execute_one(self, sql: str) -> int:
        """Run untrusted statement text (a file's CREATE) as exactly one statement.

        The connection has no multi-statements, so a `; DROP ...` hidden in the
        text is a syntax error on the server instead of a second statement.
        """
        async with self.connection(multi=False) as conn:
            return await self._execute(conn, sql, None)

    async def execute_each(self, statements: Sequence[str]) -> list[DatabaseError | None]:
        """execute_one() for each statement in order on one connection; one error (or None) each."""
        out: list[DatabaseError | None] = []
        async with self.connection(multi=False) as conn:
            for sql in statements:
                try:
                    await self._execute(conn, sql, None)
                    out.append(None)
                except DatabaseError as exc:
                    out.append(exc)
        return out

    async def query_many(
        self, statements: Sequence[str], *, batch: int = 50, prefix: str | None = None
    ) -> list[list[Row]]:
        """Run many argument-less queries (e.g. SHOW CREATE per object), results in order.

        Statements go in batches of `batch` per round trip, the batches spread
        over the pool; `prefix` (e.g. a USE) runs first in each batch and its
        result is dropped.  If a batch fails, its statements are re-run one by
        one so the error names the statement that caused it.
        """
        chunks = [list(statements[i : i + batch]) for i in range(0, len(statements), batch)]

        async def run_chunk(chunk: list[str]) -> list[list[Row]]:
            for sql in chunk:
                self.query_counts[_category(sql)] += 1
            async with self.connection() as conn:
                try:
                    out: list[list[Row]] = []
                    async with conn.cursor(DictCursor) as cur:
                        await cur.execute(";\n".join([prefix, *chunk] if prefix else chunk))
                        while True:
                            out.append(_decode(cur, list(await cur.fetchall())))
                            if not await cur.nextset():
                                break
                    return out[1:] if prefix else out
                except DriverError:
                    pass
                for sql in chunk:  # counted above; the retry is not a new query
                    self.query_counts[_category(sql)] -= 1
                if prefix:
                    await self._execute(conn, prefix, None)
                return [await self._query(conn, sql, None) for sql in chunk]

        results = await asyncio.gather(*(run_chunk(c) for c in chunks))
        return [rows for chunk in results for rows in chunk]

    async def _query(self, conn: Any, sql: str, args: Sequence[Any] | None) -> list[Row]:
        self.query_counts[_category(sql)] += 1
        try:
            async with conn.cursor(DictCursor) as cur:
                await cur.execute(sql, args)
                rows = list(await cur.fetchall())
                return _decode(cur, rows)
        except DriverError as exc:
            raise self._error(exc, sql) from None

    async def _execute(self, conn: Any, sql: str, args: Sequence[Any] | None) -> int:
        self.query_counts[_category(sql)] += 1
        try:
            async with conn.cursor() as cur:
                return int(await cur.execute(sql, args))
        except DriverError as exc:
            raise self._error(exc, sql) from None

    # --- server facts ---------------------------------------------------------

    async def flavor(self) -> Flavor:
        if self._flavor is None:
            await self._load_variables()
            assert self._flavor is not None
        return self._flavor

    async def variables(self) -> dict[str, str]:
        """Global variables that change canonical DDL output (cached)."""
        if not self._variables:
            await self._load_variables()
        return dict(self._variables)

    async def _load_variables(self) -> None:
        rows = await self.query(
            "SELECT @@version AS version, @@version_comment AS version_comment,"
            " @@global.sql_mode AS sql_mode, @@lower_case_table_names AS lower_case_table_names,"
            " @@character_set_server AS character_set_server, @@collation_server AS collation_server,"
            " @@explicit_defaults_for_timestamp AS explicit_defaults_for_timestamp,"
            " @@innodb_default_row_format AS innodb_default_row_format"
        )
        row = rows[0]
        self._variables = {k: str(v) for k, v in row.items()}
        self._flavor = Flavor.from_server(self._variables["version"], self._variables["version_comment"])

    async def schema_names(self) -> list[str]:
        """Non-system schemas, sorted."""
        rows = await self.query(
            "SELECT schema_name AS name FROM information_schema.schemata"
            " WHERE schema_name NOT IN ('information_schema','performance_schema','mysql','sys')"
        )
        return sorted(r["name"] for r in rows)


class Session:
    """One connection of an Instance, held by the caller (see Instance.session)."""

    def __init__(self, inst: Instance, conn: Any) -> None:
        self._inst = inst
        self._conn = conn

    async def query(self, sql: str, args: Sequence[Any] | None = None) -> list[Row]:
        return await self._inst._query(self._conn, sql, args)

    async def execute(self, sql: str, args: Sequence[Any] | None = None) -> int:
        return await self._inst._execute(self._conn, sql, args)
