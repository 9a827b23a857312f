create table part_hash (
  id int not null auto_increment primary key,
  v varchar(20)
) partition by hash (id) partitions 4;
