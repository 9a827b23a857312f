create table part_subpart_hash (
  id int not null,
  d date not null,
  amount int
) partition by range (year(d))
subpartition by hash (to_days(d)) subpartitions 2 (
  partition p0 values less than (2000),
  partition p1 values less than (2010) comment 'decade',
  partition p2 values less than maxvalue
);
