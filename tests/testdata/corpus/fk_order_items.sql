create table fk_order_items (
  order_id int unsigned not null,
  line_no smallint unsigned not null,
  product_id int unsigned,
  qty int not null default 1,
  unit_price decimal(10,2) not null,
  primary key (order_id, line_no),
  constraint fk_items_order foreign key (order_id) references fk_orders (id) on delete cascade,
  constraint fk_items_product foreign key (product_id) references fk_products (id) on delete restrict on update no action,
  constraint chk_qty check (qty > 0)
) engine=InnoDB;
