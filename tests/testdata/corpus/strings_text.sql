create table strings_text (
  id int unsigned auto_increment primary key,
  c char,
  c10 char(10) not null default '',
  nc national char(5),
  vc varchar(255) default 0,
  nvc nvarchar(20) not null default 'n',
  v1 varchar(1) default 'x',
  cv character varying(30),
  tt tinytext,
  t text,
  t1000 text(1000),
  mt mediumtext not null,
  lt longtext,
  t_def text default 'abc',
  lt_def longtext not null default ''
) default charset=utf8mb4 collate=utf8mb4_unicode_ci;
