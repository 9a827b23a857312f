create table rf_compressed (
  id int primary key,
  v text
) engine=InnoDB row_format=compressed key_block_size=8;
