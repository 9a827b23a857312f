create table table_checks (
  id int primary key,
  start_date date,
  end_date date,
  lo int check (lo <> 13),
  hi int,
  name varchar(50),
  constraint chk_dates check (end_date is null or end_date >= start_date),
  check (lo < hi),
  constraint `chk-name` check (char_length(trim(name)) > 0 and name <> 'it''s; bad'),
  CONSTRAINT chk_lo CHECK (lo >= 0),
  check (coalesce(hi, 0) < 1000000),
  constraint chk_case check (case when name like 'x%' then lo > 5 else true end)
) engine=innodb comment 'checks: named, unnamed, column-level';
