create table part_linear_key (
  id bigint not null,
  grp int not null,
  primary key (id, grp)
) partition by linear key algorithm=2 (grp) partitions 5;
