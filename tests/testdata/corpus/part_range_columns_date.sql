create table part_range_columns_date (
  id int not null,
  d date not null,
  v varchar(20)
) engine=InnoDB
partition by range columns (d) (
  partition p2020 values less than ('2021-01-01'),
  partition p2021 values less than ('2022-01-01') comment 'y2021',
  partition pmax values less than (maxvalue)
);
