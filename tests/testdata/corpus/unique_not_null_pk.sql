create table unique_not_null_pk (
  code char(8) not null,
  name varchar(50),
  alt_code int not null,
  unique key uq_code (code),
  unique key uq_alt (alt_code),
  key (name)
);
