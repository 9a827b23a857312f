"""information_schema SQL used to introspect tables, as named constants.

Every query reads one whole schema at once (filtered by schema name), so the
number of queries per schema never depends on how many tables it holds.
Column aliases are lower case because MySQL 8 returns upper-case names.
"""

from __future__ import annotations

from schemad.model.flavor import Flavor

SCHEMA = """
SELECT default_character_set_name AS char_set, default_collation_name AS collation
FROM information_schema.schemata WHERE schema_name = %s
"""

# Only cheap columns: sizes and AUTO_INCREMENT make the server open every table
# (AUTO_INCREMENT is read from SHOW CREATE instead), and a join to the collation
# tables costs more than the whole query (the charset is read from SHOW CREATE).
# MariaDB lists a table WITH SYSTEM VERSIONING as 'SYSTEM VERSIONED', not 'BASE TABLE'.
TABLES = """
SELECT table_name AS name, engine AS engine, table_collation AS collation, table_comment AS comment,
       table_type AS type
FROM information_schema.tables
WHERE table_schema = %s AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED')
"""

COLUMNS = """
SELECT table_name AS tbl, column_name AS name, column_type AS type, is_nullable AS nullable,
       column_default AS dflt, extra AS extra, generation_expression AS gen_expr,
       character_set_name AS char_set, collation_name AS collation, column_comment AS comment
FROM information_schema.columns
WHERE table_schema = %s
ORDER BY table_name, ordinal_position
"""


def statistics(flavor: Flavor) -> str:
    """Index parts; the invisible/ignored flag and functional parts depend on the flavor."""
    if flavor.min_mariadb(10, 6):
        extra = "ignored = 'YES' AS invisible, NULL AS expr"
    elif flavor.min_mysql(8, 0):
        extra = "is_visible = 'NO' AS invisible, expression AS expr"
    else:
        extra = "0 AS invisible, NULL AS expr"
    return f"""
SELECT table_name AS tbl, index_name AS name, seq_in_index AS seq, column_name AS col,
       sub_part AS sub_part, non_unique AS non_unique, index_type AS index_type,
       index_comment AS comment, collation AS collation, {extra}
FROM information_schema.statistics
WHERE table_schema = %s
ORDER BY table_name, index_name, seq_in_index
"""


FOREIGN_KEYS = """
SELECT rc.table_name AS tbl, rc.constraint_name AS name, rc.update_rule AS on_update,
       rc.delete_rule AS on_delete, kcu.column_name AS col,
       kcu.referenced_table_schema AS ref_schema, kcu.referenced_table_name AS ref_table,
       kcu.referenced_column_name AS ref_col
FROM information_schema.referential_constraints rc
JOIN information_schema.key_column_usage kcu
  ON kcu.constraint_schema = rc.constraint_schema AND kcu.table_name = rc.table_name
 AND kcu.constraint_name = rc.constraint_name AND kcu.referenced_table_name IS NOT NULL
WHERE rc.constraint_schema = %s AND kcu.table_schema = %s
ORDER BY rc.table_name, rc.constraint_name, kcu.ordinal_position
"""


def checks(flavor: Flavor) -> str:
    if flavor.is_mariadb:
        return """
SELECT table_name AS tbl, constraint_name AS name, check_clause AS clause, level AS level, 'YES' AS enforced
FROM information_schema.check_constraints
WHERE constraint_schema = %s
"""
    # MySQL 8.0.16+: CHECK_CONSTRAINTS has no table name; TABLE_CONSTRAINTS does.
    return """
SELECT tc.table_name AS tbl, cc.constraint_name AS name, cc.check_clause AS clause,
       'Table' AS level, tc.enforced AS enforced
FROM information_schema.check_constraints cc
JOIN information_schema.table_constraints tc
  ON tc.constraint_schema = cc.constraint_schema AND tc.constraint_name = cc.constraint_name
 AND tc.constraint_type = 'CHECK'
WHERE cc.constraint_schema = %s
"""


PARTITIONS = """
SELECT table_name AS tbl, partition_name AS name, subpartition_name AS sub_name,
       partition_method AS method, subpartition_method AS sub_method,
       partition_expression AS expr, subpartition_expression AS sub_expr,
       partition_description AS descr, partition_comment AS comment
FROM information_schema.partitions
WHERE table_schema = %s AND partition_name IS NOT NULL
ORDER BY table_name, partition_ordinal_position, subpartition_ordinal_position
"""
