create table part_subpart_list_linear (
  id int not null,
  kind tinyint not null,
  primary key (id, kind)
) partition by list (kind)
subpartition by linear hash (id) subpartitions 3 (
  partition pk1 values in (1, 3, 5),
  partition pk2 values in (2, 4, 6)
);
