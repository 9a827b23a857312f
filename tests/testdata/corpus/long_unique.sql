create table long_unique (
  id int primary key,
  body blob,
  txt text,
  url varchar(2000),
  uq_src varchar(100),
  unique key uq_body (body),
  unique (txt),
  unique key uq_url_id (url, id),
  unique key uq_short (uq_src)
) engine=InnoDB;
