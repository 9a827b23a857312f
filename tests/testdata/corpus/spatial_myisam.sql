create table spatial_myisam (
  id int unsigned not null auto_increment,
  name varchar(100) not null default '',
  descr text,
  loc point not null,
  area polygon not null,
  primary key (id),
  spatial key sp_loc (loc),
  spatial index (area) comment 'area index',
  fulltext key ft_name_descr (name, descr)
) engine=MyISAM default charset=latin1;
