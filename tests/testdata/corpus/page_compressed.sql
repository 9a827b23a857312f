create table page_compressed (
  id int primary key,
  payload text
) engine=InnoDB page_compressed=1 page_compression_level=6;
