create table collate_variants (
  id int primary key,
  dflt varchar(30),
  gen varchar(30) collate utf8mb4_general_ci,
  bin varchar(30) collate utf8mb4_bin,
  uni520 varchar(30) character set utf8mb4 collate utf8mb4_unicode_520_ci,
  uca varchar(30) collate utf8mb4_uca1400_ai_ci,
  swe varchar(30) collate utf8mb4_swedish_ci,
  nopad varchar(30) collate utf8mb4_nopad_bin,
  unique key (bin),
  key (uni520, gen)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;
