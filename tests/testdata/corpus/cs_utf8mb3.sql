create table cs_utf8mb3 (
  id int primary key,
  name varchar(100),
  n2 varchar(100) character set utf8mb4
) character set utf8 collate utf8_unicode_ci;
