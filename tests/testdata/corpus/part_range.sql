create table part_range (
  id int not null,
  created date not null,
  amount decimal(10,2),
  primary key (id, created)
) engine=InnoDB partition by range (year(created)) (
  partition p2019 values less than (2020),
  partition p2020 values less than (2021) comment = 'covid ''year''',
  partition p2021 values less than (2022) engine=innodb,
  partition p2022 values less than (2023)
);
