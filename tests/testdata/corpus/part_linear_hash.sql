create table part_linear_hash (
  id int not null,
  created datetime not null,
  primary key (id, created)
) engine=InnoDB partition by linear hash (month(created)) partitions 6;
