create table mariadb_types (
  id uuid not null default uuid(),
  ip4 inet4 not null default '127.0.0.1',
  ip6 inet6 default '::1',
  ip6_mapped inet6 default '::ffff:192.168.0.1',
  ip6b inet6 null,
  ref uuid default '00000000-0000-0000-0000-000000000001',
  ref2 UUID NULL,
  primary key (id),
  unique key uq_ip (ip4, ip6),
  key (ref)
);
