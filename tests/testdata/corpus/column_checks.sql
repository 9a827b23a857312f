create table column_checks (
  id int primary key check (id > 0),
  email varchar(255) not null check (email like '%@%'),
  age tinyint unsigned check (age between 0 and 150),
  status varchar(10) default 'active' check (status in ('active','inactive','it''s')),
  score decimal(5,2) check (score >= 0 and score <= 100.00),
  code char(3) check (code regexp '^[A-Z]{3}$'),
  j longtext check (json_valid(j)),
  ratio double check (ratio < 1 and ratio > -1)
);
