create table fk_customers (
  id int unsigned not null auto_increment,
  email varchar(191) not null,
  name varchar(100) not null,
  country char(2) character set ascii,
  region varchar(10) character set ascii,
  active tinyint(1) not null default 1,
  created_at timestamp not null default current_timestamp,
  primary key (id),
  unique key uq_email (email),
  key idx_region (country, region),
  constraint fk_cust_region foreign key (country, region) references fk_regions (country, code) on delete set null on update cascade
) engine=InnoDB auto_increment=1000;
