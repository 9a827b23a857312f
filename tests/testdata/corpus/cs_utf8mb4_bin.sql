create table cs_utf8mb4_bin (
  id int primary key,
  token varchar(64) not null,
  ci_name varchar(64) collate utf8mb4_general_ci,
  unique key (token)
) collate=utf8mb4_bin;
