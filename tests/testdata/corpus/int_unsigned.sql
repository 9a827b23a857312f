CREATE TABLE int_unsigned (
  id bigint unsigned not null auto_increment primary key,
  t tinyint unsigned not null default 255,
  s smallint(5) unsigned,
  m mediumint unsigned default 16777215,
  i int unsigned not null default 0,
  i10 int(10) unsigned default null,
  b bigint(20) unsigned not null default 18446744073709551615,
  d decimal(10,2) unsigned default 0.00,
  f float unsigned,
  dbl double unsigned default 1.5
) AUTO_INCREMENT=1000 ENGINE=InnoDB;
