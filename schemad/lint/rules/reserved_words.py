"""Reserved words of MySQL 8 and MariaDB (data for the reserved-word rule).

From the servers' manuals ("Keywords and Reserved Words", MySQL 8.0/8.4;
"Reserved Words", MariaDB 10.x/11.x): the words marked reserved, which cannot be
used as an unquoted identifier.  Non-reserved keywords are not listed.
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
    convert create cross current_date current_time current_timestamp current_user cursor database
    databases day_hour day_microsecond day_minute day_second dec decimal declare default delayed
    delete desc describe deterministic distinct distinctrow div double drop dual each else elseif
    enclosed escaped exists exit explain false fetch float float4 float8 for force foreign from
    fulltext generated get grant group having high_priority hour_microsecond hour_minute hour_second
    if ignore in index infile inner inout insensitive insert int int1 int2 int3 int4 int8 integer
    interval into io_after_gtids io_before_gtids is iterate join key keys kill leading leave left
    like limit linear lines load localtime localtimestamp lock long longblob longtext loop
    low_priority master_bind master_ssl_verify_server_cert match maxvalue mediumblob mediumint
    mediumtext middleint minute_microsecond minute_second mod modifies natural not
    no_write_to_binlog null numeric on optimize optimizer_costs option optionally or order out outer
    outfile partition precision primary procedure purge range read reads read_write real references
    regexp release rename repeat replace require resignal restrict return revoke right rlike schema
    schemas second_microsecond select sensitive separator set show signal smallint spatial specific
    sql sqlexception sqlstate sqlwarning sql_big_result sql_calc_found_rows sql_small_result ssl
    starting stored straight_join table terminated then tinyblob tinyint tinytext to trailing
    trigger true undo union unique unlock unsigned update usage use using utc_date utc_time
    utc_timestamp values varbinary varchar varcharacter varying virtual when where while with
    write xor year_month zerofill
    """
)

_MYSQL_ONLY = _words(
    """
    array cube cume_dist dense_rank empty except first_value function grouping groups intersect
    json_table lag last_value lateral lead manual member nth_value ntile of over parallel
    percent_rank qualify rank recursive row row_number rows system window
    """
)

_MARIADB_ONLY = _words(
    """
    current_role delete_domain_id do_domain_ids except general ignore_domain_ids ignore_server_ids
    intersect master_heartbeat_period offset over page_checksum parse_vcol_expr position
    ref_system_id recursive returning rows slow stats_auto_recalc stats_persistent
    stats_sample_pages window
    """
)


def reserved_words(flavor: Flavor) -> frozenset[str]:
    """The lower-case reserved words of `flavor` (MySQL's list for an unknown vendor)."""
    return _COMMON | (_MARIADB_ONLY if flavor.is_mariadb else _MYSQL_ONLY)
