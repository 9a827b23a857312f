create table compressed_cols (
  id int primary key,
  b blob compressed,
  v varchar(1000) compressed default 'x',
  t text compressed=zlib,
  vb varbinary(500) compressed,
  mt mediumtext compressed character set latin1,
  lt longtext compressed not null,
  tb tinyblob compressed null,
  plain varchar(100)
) engine=InnoDB;
