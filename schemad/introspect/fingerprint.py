"""Per-object fingerprints: a cheap "did anything change?" for a polled schema.

:func:`fingerprints` returns one opaque string per object of a schema (tables,
views, procedures, functions, triggers, events, and the schema itself as an
``ObjectKey(DATABASE, <schema>)``), read with a FIXED number of queries whatever
the object count: six bulk queries, sent concurrently over the Instance's pool.
:func:`changed` compares two results; only the objects it returns need to be
introspected again (``introspect_schema(..., only_tables=...)``).  A key absent
from the new result was dropped, a new key was created.
:func:`fingerprints_of` reads many schemas of one server (a fleet's shards)
with the same six queries per batch of up to `BATCH` schemas (IN lists, every
row carrying its schema), so an unchanged fleet poll costs O(servers), not
O(shards).

The queries (``%s`` is the schema name, or an IN list of them; MariaDB wraps the GROUP_CONCAT ones in
``SET STATEMENT group_concat_max_len=1073741824 FOR``, MySQL in a
``/*+ SET_VAR(...) */`` hint, so long tables are never silently truncated):

1. ``information_schema.TABLES`` (BASE TABLE and MariaDB's SYSTEM VERSIONED,
   like the introspector): ENGINE, TABLE_COLLATION (hence the default charset),
   CREATE_OPTIONS (explicit ROW_FORMAT, KEY_BLOCK_SIZE, STATS_*, CHECKSUM,
   PACK_KEYS, MAX_ROWS, PAGE_COMPRESSED..., "partitioned"), TABLE_COMMENT,
   TABLE_TYPE (system versioning on or off); one MD5 per table.
2. ``information_schema.COLUMNS``: name, ordinal, COLUMN_TYPE (also carries
   unsigned/zerofill and MariaDB's ``COMPRESSED``), IS_NULLABLE, COLUMN_DEFAULT,
   EXTRA (auto_increment, ON UPDATE, VIRTUAL/STORED GENERATED, INVISIBLE),
   GENERATION_EXPRESSION, charset, collation, comment; MD5 over GROUP_CONCAT
   per table.
3. ``information_schema.STATISTICS``: one MD5 per index part (name, seq,
   column, SUB_PART, NON_UNIQUE, INDEX_TYPE, INDEX_COMMENT, COLLATION = A/D,
   IGNORED on MariaDB 10.6+ / IS_VISIBLE + EXPRESSION on MySQL 8), combined in
   the server's row order, which is the order of the indexes in SHOW CREATE
   TABLE (a GROUP BY would lose it).
4. Foreign keys (KEY_COLUMN_USAGE and REFERENTIAL_CONSTRAINTS apart: columns,
   referenced schema/table/columns, ON UPDATE / ON DELETE / MATCH), CHECK
   constraints (clause, column/table level; ENFORCED on MySQL) and PARTITIONS
   (method, expression, description, comment, subpartitions, ordinals) as one
   UNION ALL, MD5 over GROUP_CONCAT per table and part.
5. VIEWS (VIEW_DEFINITION, DEFINER, SECURITY_TYPE, CHECK_OPTION, ALGORITHM on
   MariaDB, client charset/collation), TRIGGERS (table, timing, event,
   statement, ACTION_ORDER, definer, sql_mode, charsets), EVENTS (body, schedule,
   STARTS/ENDS/EXECUTE_AT, status, ON COMPLETION, comment, time zone, definer,
   sql_mode, charsets) and SCHEMATA (default charset/collation, comment on
   MariaDB) as one UNION ALL, one MD5 per object.
6. Routines: ``mysql.proc`` on MariaDB (param_list, returns, body, definer,
   language, deterministic, data access, security, comment, aggregate,
   sql_mode, charsets); on MySQL ``information_schema.ROUTINES`` joined with
   PARAMETERS grouped per routine (written from the documentation, untested
   here, like the other MySQL branches).

Values are wrapped in QUOTE() before concatenation, so NULL ("NULL") differs from
the string 'NULL' and a separator inside a value cannot shift a field.  Names
are grouped as binary strings, so `T` and `t` stay apart on case-sensitive
servers.

Deliberately NOT part of a fingerprint, because they move without any DDL:
AUTO_INCREMENT, row counts and sizes, CARDINALITY, UPDATE_TIME, CHECK_TIME,
LAST_ALTERED / LAST_EXECUTED / CREATED / modified timestamps, the MyISAM
"disabled" index state (ALTER TABLE ... DISABLE KEYS), ORIGINATOR of events.
TABLES.CREATE_TIME is not used either: on MariaDB it is the .frm's time, so it
moves on OPTIMIZE TABLE / ALTER ... FORCE / TRUNCATE (no DDL change: false
positives on every maintenance run), it has one-second granularity (two ALTERs
within the second of a poll are missed) and it does not move on every DDL
(RENAME keeps it), so it can neither replace nor safely supplement the columns
above.  TABLES.ROW_FORMAT is not used: it is the effective format (it would
follow a change of innodb_default_row_format) and forces the server to open
every table; CREATE_OPTIONS holds the explicit ROW_FORMAT that SHOW CREATE shows.

Blind spots: what SHOW CREATE TABLE shows and information_schema does not.  A
DDL that changes ONLY one of these leaves the fingerprint unchanged (tests
assert the ones reproducible on MariaDB, so a server that starts exposing them
is noticed); a daemon should still run a full introspection now and then:

- an index's own ``KEY_BLOCK_SIZE=n`` (only the table-level one is in
  CREATE_OPTIONS);
- an explicit ``USING BTREE`` / ``USING HASH`` equal to the engine's default:
  INDEX_TYPE is the effective type, SHOW CREATE prints USING only if written;
- a FULLTEXT index's ``WITH PARSER``;
- the order of FOREIGN KEY and CHECK clauses (hashed sorted by name) when a
  drop-and-re-add changes nothing else; index ORDER is covered;
- ``DATA DIRECTORY`` / ``INDEX DIRECTORY``, ``CONNECTION=`` (FEDERATED/CONNECT),
  ``UNION=`` / ``INSERT_METHOD`` (MERGE), and per-partition ENGINE, MAX_ROWS,
  MIN_ROWS, DATA/INDEX DIRECTORY;
- a geometry column's ``REF_SYSTEM_ID`` (MariaDB), ``COLUMN_FORMAT`` /
  ``STORAGE`` column attributes;
- on MySQL: VIEW_DEFINITION / ROUTINE_DEFINITION are empty or NULL without the
  SHOW VIEW / routine privileges, so a change by another definer is invisible.

Changes of other objects that SHOW CREATE does reflect ARE seen where the
dependent object's metadata changes: renaming a table changes its triggers
(EVENT_OBJECT_TABLE) and the tables whose foreign keys reference it.  A view's
columns are not hashed (they follow its base tables' types, SHOW CREATE VIEW
does not), and neither are views or objects other than base tables in
COLUMNS/STATISTICS.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence

from schemad.connection.instance import Instance, Row
from schemad.model.flavor import Flavor
from schemad.model.keys import ObjectKey, ObjectType
from schemad.records import dataclass

__all__ = ["BATCH", "Prints", "changed", "fingerprints", "fingerprints_of", "queries"]

_GROUP_CONCAT_MAX = 1073741824


def _q(*exprs: str) -> str:
    """CONCAT_WS of QUOTE()d values: NULL-safe and unambiguous."""
    return "CONCAT_WS(','," + ",".join(f"QUOTE({e})" for e in exprs) + ")"


def _select(flavor: Flavor, rest: str) -> str:
    """A SELECT with a large group_concat_max_len for this statement only."""
    if flavor.is_mariadb:
        return f"SET STATEMENT group_concat_max_len={_GROUP_CONCAT_MAX} FOR SELECT {rest}"
    return f"SELECT /*+ SET_VAR(group_concat_max_len={_GROUP_CONCAT_MAX}) */ {rest}"


_BIN = "CAST({} AS BINARY)"


def _in(column: str, n: int) -> str:
    """`column = %s` for one schema (information_schema's lookup by name), an IN list for several."""
    return f"{column} = %s" if n == 1 else f"{column} IN ({', '.join(['%s'] * n)})"


def _tables(n: int) -> str:
    # TABLE_TYPE is 'SYSTEM VERSIONED' for a MariaDB table WITH SYSTEM VERSIONING: hashed, since
    # ADD / DROP SYSTEM VERSIONING of a table with implicit period columns changes nothing else.
    return (
        f"SELECT table_schema AS db, {_BIN.format('table_name')} AS name,"
        f" MD5({_q('engine', 'table_collation', 'create_options', 'table_comment', 'table_type')}) AS h,"
        # Not hashed: the table's size and row estimate, read in the same scan for the daemon's plans.
        " data_length + index_length AS size, table_rows AS n"
        " FROM information_schema.tables"
        f" WHERE {_in('table_schema', n)} AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED')"
    )


def _columns(flavor: Flavor, n: int) -> str:
    cols = _q(
        "column_name",
        "ordinal_position",
        "column_type",
        "is_nullable",
        "column_default",
        "extra",
        "generation_expression",
        "character_set_name",
        "collation_name",
        "column_comment",
    )
    name = _BIN.format("table_name")
    return _select(
        flavor,
        f"table_schema AS db, {name} AS name,"
        f" MD5(GROUP_CONCAT({cols} ORDER BY ordinal_position SEPARATOR '\\n')) AS h"
        f" FROM information_schema.columns WHERE {_in('table_schema', n)} GROUP BY table_schema, {name}",
    )


def _statistics(flavor: Flavor, n: int) -> str:
    if flavor.min_mariadb(10, 6):
        extra: tuple[str, ...] = ("ignored",)
    elif flavor.min_mysql(8, 0):
        extra = ("is_visible", "expression")
    else:
        extra = ()
    part = _q(
        "index_name",
        "seq_in_index",
        "column_name",
        "sub_part",
        "non_unique",
        "index_type",
        "index_comment",
        "collation",
        *extra,
    )
    # No ORDER BY: the server returns indexes in SHOW CREATE order.
    return (
        f"SELECT table_schema AS db, {_BIN.format('table_name')} AS name, MD5({part}) AS h"
        f" FROM information_schema.statistics WHERE {_in('table_schema', n)}"
    )


def _constraints(flavor: Flavor, n: int) -> str:
    # Two parts rather than a join of the two views: joining them makes the server
    # nest-loop over information_schema (6x slower at 1,000 tables).
    # The schema's own name is hashed as '': shards of one fleet named shard_01, shard_02 match.
    fk = _q(
        "constraint_name",
        "ordinal_position",
        "column_name",
        "IF(referenced_table_schema = table_schema, '', referenced_table_schema)",
        "referenced_table_name",
        "referenced_column_name",
    )
    rules = _q("constraint_name", "update_rule", "delete_rule", "match_option")
    name = _BIN.format("table_name")
    sql = (
        f"table_schema AS db, {name} AS name, 'fk' AS part,"
        f" MD5(GROUP_CONCAT({fk} ORDER BY constraint_name, ordinal_position SEPARATOR '\\n')) AS h"
        " FROM information_schema.key_column_usage"
        f" WHERE {_in('table_schema', n)} AND referenced_table_name IS NOT NULL GROUP BY table_schema, {name}"
        f" UNION ALL SELECT constraint_schema, {name}, 'fr',"
        f" MD5(GROUP_CONCAT({rules} ORDER BY constraint_name SEPARATOR '\\n'))"
        f" FROM information_schema.referential_constraints WHERE {_in('constraint_schema', n)}"
        f" GROUP BY constraint_schema, {name}"
    )
    if flavor.is_mariadb:
        ck = _q("constraint_name", "check_clause", "level")
        ck_name = _BIN.format("table_name")
        sql += (
            f" UNION ALL SELECT constraint_schema, {ck_name}, 'ck',"
            f" MD5(GROUP_CONCAT({ck} ORDER BY constraint_name SEPARATOR '\\n'))"
            f" FROM information_schema.check_constraints WHERE {_in('constraint_schema', n)}"
            f" GROUP BY constraint_schema, {ck_name}"
        )
    else:
        ck = _q("cc.constraint_name", "cc.check_clause", "tc.enforced")
        ck_name = _BIN.format("tc.table_name")
        sql += (
            f" UNION ALL SELECT cc.constraint_schema, {ck_name}, 'ck',"
            f" MD5(GROUP_CONCAT({ck} ORDER BY cc.constraint_name SEPARATOR '\\n'))"
            " FROM information_schema.check_constraints cc"
            " JOIN information_schema.table_constraints tc"
            "   ON tc.constraint_schema = cc.constraint_schema AND tc.constraint_name = cc.constraint_name"
            "  AND tc.constraint_type = 'CHECK'"
            f" WHERE {_in('cc.constraint_schema', n)} GROUP BY cc.constraint_schema, {ck_name}"
        )
    pt = _q(
        "partition_name",
        "subpartition_name",
        "partition_method",
        "subpartition_method",
        "partition_expression",
        "subpartition_expression",
        "partition_description",
        "partition_comment",
        "nodegroup",
        "tablespace_name",
    )
    pt_name = _BIN.format("table_name")
    sql += (
        f" UNION ALL SELECT table_schema, {pt_name}, 'pt',"
        f" MD5(GROUP_CONCAT({pt} ORDER BY partition_ordinal_position,"
        " subpartition_ordinal_position SEPARATOR '\\n'))"
        f" FROM information_schema.partitions WHERE {_in('table_schema', n)} AND partition_name IS NOT NULL"
        f" GROUP BY table_schema, {pt_name}"
    )
    return _select(flavor, sql)


def _objects(flavor: Flavor, n: int) -> str:
    # VIEW_DEFINITION qualifies every name with its schema: the view's own one is left out of the hash.
    own = "REPLACE(view_definition, CONCAT('`', REPLACE(table_schema, '`', '``'), '`.'), '')"
    view_cols = [own, "definer", "security_type", "check_option"]
    if flavor.is_mariadb:
        view_cols.append("algorithm")
    view = _q(*view_cols, "character_set_client", "collation_connection")
    trigger = _q(
        "event_object_table",
        "action_timing",
        "event_manipulation",
        "action_statement",
        "action_orientation",
        "action_order",
        "definer",
        "sql_mode",
        "character_set_client",
        "collation_connection",
        "database_collation",
    )
    event = _q(
        "definer",
        "time_zone",
        "event_body",
        "event_definition",
        "event_type",
        "execute_at",
        "interval_value",
        "interval_field",
        "sql_mode",
        "starts",
        "ends",
        "status",
        "on_completion",
        "event_comment",
        "character_set_client",
        "collation_connection",
        "database_collation",
    )
    schema_cols = ["default_character_set_name", "default_collation_name"]
    if flavor.min_mariadb(10, 5):
        schema_cols.append("schema_comment")
    schema = _q(*schema_cols)
    return (
        f"SELECT table_schema AS db, 'view' AS kind, {_BIN.format('table_name')} AS name, MD5({view}) AS h"
        f" FROM information_schema.views WHERE {_in('table_schema', n)}"
        f" UNION ALL SELECT trigger_schema, 'trigger', {_BIN.format('trigger_name')}, MD5({trigger})"
        f" FROM information_schema.triggers WHERE {_in('trigger_schema', n)}"
        f" UNION ALL SELECT event_schema, 'event', {_BIN.format('event_name')}, MD5({event})"
        f" FROM information_schema.events WHERE {_in('event_schema', n)}"
        f" UNION ALL SELECT schema_name, 'database', {_BIN.format('schema_name')}, MD5({schema})"
        f" FROM information_schema.schemata WHERE {_in('schema_name', n)}"
    )


def _routines(flavor: Flavor, n: int) -> str:
    if flavor.is_mariadb:
        proc = _q(
            "param_list",
            "`returns`",
            "body",
            "definer",
            "language",
            "is_deterministic",
            "sql_data_access",
            "security_type",
            "`comment`",
            "`aggregate`",
            "sql_mode",
            "character_set_client",
            "collation_connection",
            "db_collation",
        )
        return (
            f"SELECT db AS db, LOWER(type) AS kind, {_BIN.format('name')} AS name, MD5({proc}) AS h"
            f" FROM mysql.proc WHERE {_in('db', n)} AND type IN ('PROCEDURE', 'FUNCTION')"
        )
    routine = _q(
        "r.dtd_identifier",
        "r.routine_definition",
        "r.definer",
        "r.is_deterministic",
        "r.sql_data_access",
        "r.security_type",
        "r.routine_comment",
        "r.sql_mode",
        "r.character_set_client",
        "r.collation_connection",
        "r.database_collation",
        "p.h",
    )
    param = _q("ordinal_position", "parameter_mode", "parameter_name", "dtd_identifier")
    return _select(
        flavor,
        f"r.routine_schema AS db, LOWER(r.routine_type) AS kind, {_BIN.format('r.routine_name')} AS name,"
        f" MD5({routine}) AS h"
        " FROM information_schema.routines r LEFT JOIN ("
        " SELECT specific_schema, specific_name, routine_type,"
        f" GROUP_CONCAT({param} ORDER BY ordinal_position SEPARATOR '\\n') AS h"
        " FROM information_schema.parameters"
        f" WHERE {_in('specific_schema', n)} GROUP BY specific_schema, specific_name, routine_type) p"
        " ON p.specific_schema = r.routine_schema AND p.specific_name = r.specific_name"
        " AND p.routine_type = r.routine_type"
        f" WHERE {_in('r.routine_schema', n)} AND r.routine_type IN ('PROCEDURE', 'FUNCTION')",
    )


def queries(flavor: Flavor, schemas: int = 1) -> list[tuple[str, int]]:
    """The bulk queries of :func:`fingerprints` for `schemas` schemas, each with its number of name lists."""
    n = schemas
    return [
        (_tables(n), 1),
        (_columns(flavor, n), 1),
        (_statistics(flavor, n), 1),
        (_constraints(flavor, n), 4),
        (_objects(flavor, n), 4),
        (_routines(flavor, n), 1 if flavor.is_mariadb else 2),
    ]


def _digest(parts: Mapping[str, str]) -> str:
    text = "|".join(f"{k}={v}" for k, v in sorted(parts.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


#: Schemas per batch in `fingerprints_of`: each name is a parameter up to four times per query.
BATCH = 200


@dataclass(frozen=True, slots=True)
class Prints:
    """One schema's fingerprints and table sizes, as one poll read them."""

    fingerprints: dict[ObjectKey, str]
    sizes: dict[str, tuple[int, int]]  # by table: (data_length + index_length, table_rows), not hashed


async def fingerprints(
    inst: Instance, schema: str, sizes: dict[str, tuple[int, int]] | None = None
) -> dict[ObjectKey, str]:
    """One fingerprint per object of `schema`, from six bulk queries run concurrently.

    With `sizes`, each table's (data_length + index_length, table_rows) is put
    there too, from the same scan of information_schema.TABLES (not hashed).
    """
    prints = (await fingerprints_of(inst, [schema]))[schema]
    if sizes is not None:
        sizes.update(prints.sizes)
    return prints.fingerprints


async def fingerprints_of(inst: Instance, schemas: Sequence[str]) -> dict[str, Prints]:
    """`fingerprints` of many schemas of one server: the same six queries per batch of `BATCH` schemas.

    One schema is read with ``= %s`` (information_schema's lookup by name),
    several with IN lists, whose rows are split by schema here.  IN compares
    case-insensitively on information_schema, so a row goes to the schema
    spelled exactly as its own unless the server folds names
    (lower_case_table_names): `shard_a` never gets `Shard_A`'s rows.
    """
    flavor = await inst.flavor()
    fold = (await inst.variables()).get("lower_case_table_names", "0") != "0"
    spellings: dict[str, list[str]] = {}  # the server's name -> the names asked for
    for name in dict.fromkeys(schemas):
        spellings.setdefault(name.lower() if fold else name, []).append(name)
    out: dict[str, Prints] = {}
    keys = list(spellings)
    for i in range(0, len(keys), BATCH):
        chunk = keys[i : i + BATCH]
        names = tuple(spellings[k][0] for k in chunk)
        results = await asyncio.gather(
            *(inst.query(sql, names * n) for sql, n in queries(flavor, len(names)))
        )
        split: dict[str, list[list[Row]]] = {k: [[] for _ in results] for k in chunk}
        for q, rows in enumerate(results):
            for r in rows:
                db = str(r["db"])
                if (parts := split.get(db.lower() if fold else db)) is not None:
                    parts[q].append(r)
        for k in chunk:
            fp, sizes = _combine(*split[k])
            for name in spellings[k]:
                out[name] = Prints(dict(fp), dict(sizes))
    return out


def _combine(
    tables: list[Row],
    columns: list[Row],
    statistics: list[Row],
    constraints: list[Row],
    objects: list[Row],
    routines: list[Row],
) -> tuple[dict[ObjectKey, str], dict[str, tuple[int, int]]]:
    """One schema's fingerprints and sizes from its rows of the six queries."""
    parts: dict[str, dict[str, str]] = {str(r["name"]): {"t": str(r["h"])} for r in tables}
    sizes = {str(r["name"]): (int(r["size"] or 0), int(r["n"] or 0)) for r in tables}
    for r in columns:
        if (p := parts.get(str(r["name"]))) is not None:  # views have columns too
            p["c"] = str(r["h"])
    index_parts: dict[str, list[str]] = {}
    for r in statistics:  # in the server's order: the order of the indexes in SHOW CREATE TABLE
        index_parts.setdefault(str(r["name"]), []).append(str(r["h"]))
    for name, hashes in index_parts.items():
        if (p := parts.get(name)) is not None:
            p["i"] = hashlib.sha256("\n".join(hashes).encode()).hexdigest()
    for r in constraints:
        if (p := parts.get(str(r["name"]))) is not None:
            p[str(r["part"])] = str(r["h"])

    out = {ObjectKey(ObjectType.TABLE, name): _digest(p) for name, p in parts.items()}
    for r in (*objects, *routines):
        out[ObjectKey(ObjectType(str(r["kind"])), str(r["name"]))] = str(r["h"])
    return out, sizes


def changed(old: Mapping[ObjectKey, str], new: Mapping[ObjectKey, str]) -> set[ObjectKey]:
    """Keys created, dropped or whose fingerprint moved between two polls."""
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
