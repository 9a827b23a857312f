create table fk_products (
  id int unsigned not null auto_increment primary key,
  sku varchar(32) not null unique,
  price decimal(10,2) not null default 0.00 check (price >= 0),
  discontinued bool not null default false
) engine=InnoDB;
