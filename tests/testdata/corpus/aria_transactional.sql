create table aria_transactional (
  id int not null auto_increment,
  v varchar(50),
  t text,
  primary key (id),
  fulltext key (t)
) engine=Aria transactional=1 page_checksum=1 row_format=page;
