create table cs_latin1 (
  id int primary key,
  name varchar(100) not null default 'Ærø',
  t text
) default charset latin1;
