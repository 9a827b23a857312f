create table part_myisam (
  id int not null,
  v varchar(10),
  key (id)
) engine=MyISAM
partition by range (id) (
  partition p0 values less than (1000),
  partition p1 values less than (2000),
  partition p2 values less than maxvalue
);
