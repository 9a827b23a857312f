create table part_key (
  id int not null primary key,
  name varchar(30)
) partition by key () partitions 3;
