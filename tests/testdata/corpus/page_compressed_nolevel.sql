create table page_compressed_nolevel (
  id int primary key,
  payload blob
) engine=InnoDB page_compressed=1 comment='page compressed, default level';
