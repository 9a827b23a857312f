create table part_hash_named (
  id int not null,
  v int
) engine=InnoDB partition by hash (id + v) (
  partition h0 comment 'first',
  partition h1,
  partition h2 engine = InnoDB
);
