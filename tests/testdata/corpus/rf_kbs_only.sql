create table rf_kbs_only (
  id int primary key,
  v varchar(100)
) engine=InnoDB key_block_size=4;
