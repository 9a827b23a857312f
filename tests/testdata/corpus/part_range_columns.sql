create table part_range_columns (
  a int not null,
  b varchar(10) not null,
  c date not null,
  d int,
  primary key (a, b, c)
) partition by range columns (a, b) (
  partition p0 values less than (10, 'm'),
  partition p1 values less than (10, maxvalue),
  partition p2 values less than (100, 'z''z'),
  partition p3 values less than (maxvalue, maxvalue)
);
