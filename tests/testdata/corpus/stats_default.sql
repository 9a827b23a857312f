create table stats_default (
  id int primary key
) stats_persistent=default stats_auto_recalc=1 stats_sample_pages=default;
