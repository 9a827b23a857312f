create table fk_composite_child (
  id bigint not null auto_increment primary key,
  tenant_id int unsigned not null,
  item_id bigint not null,
  sku varchar(32),
  constraint `fk composite` foreign key (tenant_id, item_id) references composite_pk (tenant_id, item_id) on delete cascade on update restrict,
  foreign key (sku, tenant_id) references composite_pk (sku, tenant_id) on update cascade
) engine=InnoDB;
