"""SQL text for introspecting views, routines, triggers and events, as named constants.

Each bulk query takes one parameter, the schema name, and returns one row per
object of that schema, with lower-case column aliases (MySQL 8 returns
information_schema column names in upper case otherwise).  The SHOW CREATE
templates take the already-quoted schema and object names.  Nothing here runs
a query.
"""

from __future__ import annotations

__all__ = [
    "EVENTS",
    "ROUTINES_MARIADB",
    "ROUTINES_MYSQL",
    "SHOW_CREATE",
    "SHOW_CREATE_COLUMN",
    "TRIGGERS",
    "USE_SCHEMA",
    "VIEWS_MARIADB",
    "VIEWS_MYSQL",
]

# MariaDB has information_schema.VIEWS.ALGORITHM; MySQL 8 does not (it is read
# from the SHOW CREATE VIEW text there).  VIEW_DEFINITION is not selected: it
# qualifies every name with the schema, see schemad.model.view.
VIEWS_MARIADB = (
    "SELECT table_name AS name, definer AS definer, security_type AS security,"
    " check_option AS check_option, algorithm AS algorithm"
    " FROM information_schema.views WHERE table_schema = %s"
)
VIEWS_MYSQL = (
    "SELECT table_name AS name, definer AS definer, security_type AS security,"
    " check_option AS check_option"
    " FROM information_schema.views WHERE table_schema = %s"
)

# MariaDB: mysql.proc holds the parameter list, return type and body exactly as
# written (BLOB columns, decoded by Instance.query).  PACKAGE / PACKAGE BODY rows
# (sql_mode=ORACLE) are not routines schemad manages.  `aggregate` is 10.3+.
ROUTINES_MARIADB = (
    "SELECT name, type, param_list, `returns` AS returns_, body, definer, is_deterministic,"
    " sql_data_access, security_type, `comment` AS comment_, `aggregate` AS aggregate_, sql_mode,"
    " db_collation"
    " FROM mysql.proc WHERE db = %s AND type IN ('PROCEDURE', 'FUNCTION')"
)

# MySQL 8 has no mysql.proc: the characteristics come from information_schema,
# the parameter list, return type and body from the SHOW CREATE text.  Routines
# the user may call but not read have a NULL definition and are skipped, as Skeema does.
ROUTINES_MYSQL = (
    "SELECT routine_name AS name, UPPER(routine_type) AS type, routine_definition AS body,"
    " UPPER(is_deterministic) AS is_deterministic, UPPER(sql_data_access) AS sql_data_access,"
    " UPPER(security_type) AS security_type, routine_comment AS comment_, definer AS definer,"
    " sql_mode AS sql_mode, database_collation AS db_collation"
    " FROM information_schema.routines"
    " WHERE routine_schema = %s AND routine_type IN ('PROCEDURE', 'FUNCTION')"
    " AND routine_definition IS NOT NULL"
)

TRIGGERS = (
    "SELECT trigger_name AS name, event_object_table AS table_name, UPPER(action_timing) AS timing,"
    " UPPER(event_manipulation) AS event, definer AS definer, action_statement AS body,"
    " action_order AS action_order, sql_mode AS sql_mode"
    " FROM information_schema.triggers WHERE trigger_schema = %s"
)

# STARTS / ENDS / EXECUTE_AT are shown in the event's own time zone, as SHOW
# CREATE EVENT prints them (mysql.event would give UTC).
EVENTS = (
    "SELECT event_name AS name, definer AS definer, time_zone AS time_zone, event_definition AS body,"
    " execute_at AS execute_at, interval_value AS interval_value, interval_field AS interval_field,"
    " starts AS starts, ends AS ends, UPPER(status) AS status, UPPER(on_completion) AS on_completion,"
    " event_comment AS comment_, sql_mode AS sql_mode"
    " FROM information_schema.events WHERE event_schema = %s"
)

# SHOW CREATE <kind> `schema`.`name`, and the result column holding the CREATE text.
SHOW_CREATE = "SHOW CREATE {kind} {schema}.{name}"
SHOW_CREATE_COLUMN = {
    "VIEW": "Create View",
    "PROCEDURE": "Create Procedure",
    "FUNCTION": "Create Function",
    "TRIGGER": "SQL Original Statement",
    "EVENT": "Create Event",
}

# Selects the schema on the connections that run SHOW CREATE VIEW: the server
# leaves out the view's own schema only when it is the current database.
USE_SCHEMA = "USE {schema}"
