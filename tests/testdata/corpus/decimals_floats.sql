create table decimals_floats (
  id serial,
  d decimal,
  d5 decimal(5),
  d102 decimal(10,2) not null default 0,
  d650 decimal(65,30),
  n numeric(12,4) default '3.1416',
  fx fixed(6,1),
  dec_col dec(4,2) default -99.99,
  f float,
  f72 float(7,2) default 1.25,
  fp float(24),
  fp53 float(53),
  dbl double,
  dbl154 double(15,4) not null default 0,
  dp double precision default 2.5e-3,
  r real,
  r102 real(10,2)
);
