create table part_range_maxvalue (
  id bigint unsigned not null auto_increment,
  ts timestamp not null default current_timestamp,
  payload varchar(200),
  primary key (id, ts),
  key (payload)
) engine=InnoDB
partition by range (unix_timestamp(ts)) (
  partition p_old values less than (unix_timestamp('2020-01-01 00:00:00')) comment 'before 2020',
  partition p_2020 values less than (unix_timestamp('2021-01-01 00:00:00')),
  partition p_future values less than maxvalue comment 'catch-all'
);
