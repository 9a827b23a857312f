create table myisam_grouped_ai (
  grp char(3) not null,
  seq mediumint unsigned not null auto_increment,
  label varchar(30),
  primary key (grp, seq)
) engine=MyISAM auto_increment=10;
