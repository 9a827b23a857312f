"""Reserved words of MySQL 8 and MariaDB (data for the reserved-word rule).

MySQL's from its manual ("Keywords and Reserved Words", 8.0/8.4).  MariaDB's
checked against the server itself: every word listed fails as an unquoted
column name on MariaDB 10.11 and every other keyword in its binary does not
(tests/integration/test_reserved_words.py); its manual agrees that words such
as DATABASE, SCHEMA, OPTION and WINDOW, reserved in MySQL, are not in MariaDB.
Non-reserved keywords are not listed.
"""

from __future__ import annotations

from schemad.model.flavor import Flavor

__all__ = ["reserved_words"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMON = _words(
    """
    accessible add all alter analyze and as asc asensitive before between bigint binary blob both by
    call cascade case change char character check collate column condition constraint continue
    convert create cross current_date current_time current_timestamp current_user cursor
    databases day_hour day_microsecond day_minute day_second dec decimal declare default delayed
    delete desc describe deterministic distinct distinctrow div double drop dual each else elseif
    enclosed escaped exists exit explain false fetch float float4 float8 for force foreign from
    fulltext grant group having high_priority hour_microsecond hour_minute hour_second
    if ignore in index infile inner inout insensitive insert int int1 int2 int3 int4 int8 integer
    interval into is iterate join key keys kill leading leave left
    like limit linear lines load localtime localtimestamp lock long longblob longtext loop
    low_priority master_ssl_verify_server_cert match maxvalue mediumblob mediumint
    mediumtext middleint minute_microsecond minute_second mod modifies natural not
    no_write_to_binlog null numeric on optimize optionally or order out outer
    outfile partition precision primary procedure purge range read reads read_write real references
    regexp release rename repeat replace require resignal restrict return revoke right rlike
    schemas second_microsecond select sensitive separator set show signal smallint spatial specific
    sql sqlexception sqlstate sqlwarning sql_big_result sql_calc_found_rows sql_small_result ssl
    starting straight_join table terminated then tinyblob tinyint tinytext to trailing
    trigger true undo union unique unlock unsigned update usage use using utc_date utc_time
    utc_timestamp values varbinary varchar varcharacter varying when where while with
    write xor year_month zerofill
    """
)

_MYSQL_ONLY = _words(
    """
    array cube cume_dist database dense_rank empty except first_value function generated get
    grouping groups intersect io_after_gtids io_before_gtids json_table lag last_value lateral lead
    manual master_bind member nth_value ntile of optimizer_costs option over parallel percent_rank
    qualify rank recursive row row_number rows schema stored system virtual window
    """
)

_MARIADB_ONLY = _words(
    """
    current_role delete_domain_id do_domain_ids except ignore_domain_ids intersect
    master_demote_to_replica master_demote_to_slave offset over page_checksum parse_vcol_expr portion
    recursive ref_system_id returning row_number rows stats_auto_recalc stats_persistent
    stats_sample_pages
    """
)


def reserved_words(flavor: Flavor) -> frozenset[str]:
    """The lower-case reserved words of `flavor` (MySQL's list for an unknown vendor)."""
    return _COMMON | (_MARIADB_ONLY if flavor.is_mariadb else _MYSQL_ONLY)
