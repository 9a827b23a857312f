create table fk_regions (
  country char(2) not null,
  code varchar(10) not null,
  name varchar(100) not null default '',
  primary key (country, code)
) engine=InnoDB default charset=ascii;
