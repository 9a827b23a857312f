create table aria_nontrans (
  id int not null,
  v varchar(50),
  key (v)
) engine=aria transactional=0 page_checksum=0 row_format=dynamic checksum=1;
