create table idx_order_mix (
  id int not null,
  a varchar(100),
  b varchar(100) not null,
  c text,
  d int,
  g point not null,
  fulltext key ft_c (c),
  spatial key sp_g (g),
  key k_d (d),
  unique key uq_long (c) comment 'hash',
  unique key uq_prefix (a(10)),
  unique key uq_nullable (a),
  key k_a (a),
  unique key uq_notnull (b),
  primary key (id)
) engine=MyISAM comment='keys declared in reverse of the server''s sort order';
