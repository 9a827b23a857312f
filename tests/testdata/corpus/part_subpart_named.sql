create table part_subpart_named (
  id int not null,
  d date not null,
  primary key (id, d)
) engine=InnoDB
partition by range (year(d))
subpartition by key (id) (
  partition p0 values less than (2000) (
    subpartition s0 comment 'sub ''zero''',
    subpartition s1
  ),
  partition p1 values less than maxvalue comment 'rest' (
    subpartition s2,
    subpartition s3 engine = InnoDB
  )
);
