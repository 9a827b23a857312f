create table no_pk_keys (
  a int,
  b varchar(10),
  c datetime,
  key (a),
  unique key uq_b (b)
) engine=InnoDB;
