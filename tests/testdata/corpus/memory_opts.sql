create table memory_opts (
  k varchar(64) not null,
  v int unsigned not null default 0,
  primary key (k)
) engine=MEMORY min_rows=100 max_rows=500000 default charset=ascii;
