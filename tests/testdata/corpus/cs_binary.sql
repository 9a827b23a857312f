create table cs_binary (
  id int primary key,
  raw_c char(16),
  raw_v varchar(64),
  raw_t text,
  txt varchar(20) character set utf8mb4
) default charset=binary;
