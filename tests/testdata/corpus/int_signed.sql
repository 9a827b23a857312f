create table int_signed (
  id int not null auto_increment,
  t tinyint,
  t4 tinyint(4) not null default -128,
  s smallint default 0,
  s3 smallint(3) NULL DEFAULT NULL,
  m mediumint(9) not null default '42',
  i int(11) default -1,
  i5 integer(5),
  b bigint not null default 9223372036854775807,
  b1 bigint(1) default -9223372036854775808,
  int1col int1,
  int2col int2,
  int3col int3,
  int4col int4,
  int8col int8,
  mi middleint default +7,
  primary key (id)
) engine=innodb;
