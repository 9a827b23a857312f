create table stats_opts (
  id int primary key,
  v int
) engine=InnoDB stats_persistent=1 stats_auto_recalc=0 stats_sample_pages=25;
