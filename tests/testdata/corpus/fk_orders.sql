create table fk_orders (
  id int unsigned not null auto_increment,
  customer_id int unsigned not null,
  customer_email varchar(191),
  status enum('pending','paid','shipped','cancelled') not null default 'pending',
  total decimal(12,2) not null default 0,
  note varchar(255),
  created_at datetime(3) not null default current_timestamp(3),
  updated_at datetime(3) null on update current_timestamp(3),
  primary key (id),
  key idx_cust_created (customer_id, created_at desc),
  foreign key (customer_id) references fk_customers (id) on delete cascade on update cascade,
  constraint fk_orders_email foreign key (customer_email) references fk_customers (email) on update cascade on delete set null
) engine=InnoDB;
