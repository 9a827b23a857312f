create table merge_part_b (
  id int not null,
  msg varchar(100),
  key (id)
) engine=MyISAM;
