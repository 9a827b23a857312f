create table no_pk (
  a int,
  b varchar(10),
  c datetime
);
