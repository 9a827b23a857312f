create table cs_utf8mb4_unicode (
  id int primary key,
  name varchar(100) collate utf8mb4_unicode_ci,
  other varchar(100) collate utf8mb4_general_ci
) default charset=utf8mb4 collate=utf8mb4_unicode_ci;
