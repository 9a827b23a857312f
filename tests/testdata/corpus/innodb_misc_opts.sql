create table innodb_misc_opts (
  id int unsigned not null auto_increment primary key,
  v varchar(30)
) engine=InnoDB auto_increment=1000 checksum=1 min_rows=1 max_rows=100 avg_row_length=64 pack_keys=0 default charset=utf8mb4 collate=utf8mb4_unicode_ci comment='It''s "all" here; back\\slash';
