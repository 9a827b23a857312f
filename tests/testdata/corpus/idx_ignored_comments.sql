create table idx_ignored_comments (
  id int primary key,
  a int,
  b int,
  c varchar(50),
  key idx_a (a) ignored,
  key idx_b (b) comment 'b''s index',
  key idx_c (c) comment 'ignored index' ignored,
  unique key uq_ab (a, b) not ignored,
  key idx_bc (b, c) using btree,
  index idx_ca using btree (c, a)
);
