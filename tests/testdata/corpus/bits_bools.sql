create table bits_bools (
  id int primary key,
  b_plain bit,
  b1 bit(1) not null default b'1',
  b3 bit(3) default b'101',
  b8 bit(8) default 0x0F,
  b10 bit(10) default 5,
  b64 bit(64) not null default b'0',
  flag bool default true,
  flag2 boolean not null default 0,
  flag3 bool default null
) engine=InnoDB default charset=utf8mb3;
