create table merge_all (
  id int not null,
  msg varchar(100),
  key (id)
) engine=MRG_MyISAM union=(merge_part_a, merge_part_b) insert_method=last;
