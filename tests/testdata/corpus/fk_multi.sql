create table fk_multi (
  id int unsigned not null auto_increment primary key,
  customer_id int unsigned,
  order_id int unsigned,
  product_id int unsigned not null,
  employee_id int,
  key (order_id),
  constraint fk_multi_cust foreign key (customer_id) references fk_customers (id),
  constraint fk_multi_order foreign key (order_id) references fk_orders (id) on delete set null on update set null,
  constraint fk_multi_prod foreign key (product_id) references fk_products (id) on update cascade,
  foreign key (employee_id) references fk_employees (id) on delete cascade on update restrict,
  constraint chk_multi check (customer_id is null or customer_id > 0)
) engine=InnoDB comment='several FKs';
