create table cs_ascii (
  id int primary key,
  code char(10) not null,
  descr varchar(200) charset utf8mb4
) default charset=ascii collate=ascii_bin;
