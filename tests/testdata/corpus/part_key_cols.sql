create table part_key_cols (
  a int not null,
  b varchar(20) not null,
  c int,
  unique key (a, b)
) partition by key (a, b) partitions 2;
