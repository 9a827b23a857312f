create table generated_cols (
  id int primary key,
  first_name varchar(50) not null,
  last_name varchar(50) not null,
  full_name varchar(101) as (concat(first_name, ' ', last_name)) virtual,
  full_upper varchar(101) generated always as (upper(concat_ws(', ', last_name, first_name))) stored,
  qty int not null default 1,
  price decimal(10,2) not null default 0,
  total decimal(12,2) as (qty * price) stored,
  total_tax decimal(12,2) as (round(qty*price*1.2, 2)) persistent,
  initials char(2) as (concat(left(first_name,1), left(last_name,1))) virtual comment 'gen ''initials''',
  is_big bool as (qty > 100) virtual,
  key idx_total (total),
  key idx_full (full_name),
  unique key uq_names (last_name, first_name)
);
