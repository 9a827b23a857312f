create table int_zerofill (
  t tinyint zerofill,
  t3 tinyint(3) zerofill not null default 7,
  s smallint(5) unsigned zerofill,
  m mediumint(8) zerofill default 1,
  i int(10) zerofill,
  i4 int(4) zerofill not null default 12,
  b bigint(20) zerofill,
  d decimal(8,3) zerofill default 1.5,
  f float(7,2) zerofill,
  dd double(12,4) zerofill default 3.25,
  key (i4),
  KEY i_t (t, i)
) engine=myisam;
