create table charset_mix (
  id int primary key,
  l varchar(20),
  u8 varchar(20) character set utf8mb4,
  u8c varchar(20) charset utf8mb4 collate utf8mb4_bin,
  u3 varchar(20) character set utf8mb3 collate utf8mb3_unicode_ci,
  u3b varchar(20) character set utf8,
  a char(8) character set ascii,
  bin varchar(20) character set binary,
  sw varchar(20) character set latin1 collate latin1_swedish_ci,
  ger text collate latin1_german2_ci,
  ucs varchar(10) character set ucs2,
  u16 varchar(10) character set utf16,
  u32 char(3) charset utf32,
  cp char(4) character set cp1251 default 'ab',
  key (u8c),
  key (ger(20))
) default charset=latin1;
