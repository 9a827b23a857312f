create table composite_pk (
  tenant_id int unsigned not null,
  item_id bigint not null,
  sku varchar(32) not null,
  qty int default 0,
  primary key (tenant_id, item_id),
  unique key (sku, tenant_id)
);
