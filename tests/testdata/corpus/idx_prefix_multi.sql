create table idx_prefix_multi (
  id int primary key,
  a varchar(200),
  b varchar(200),
  c text,
  d blob,
  e int,
  key idx_a10 (a(10)),
  index idx_ab (a, b(20)),
  key idx_c (c(100)),
  key (d(16), e),
  unique key uq_be (b, e),
  key idx_e_a (e, a),
  unique uq_a_prefix (a(50), e)
);
