create table myisam_opts (
  id int not null auto_increment,
  name varchar(50),
  data char(100),
  primary key (id),
  key (name)
) engine=MyISAM checksum=1 delay_key_write=1 pack_keys=1 min_rows=10 max_rows=1000000 avg_row_length=200 auto_increment=500 row_format=dynamic;
