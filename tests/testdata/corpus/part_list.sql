create table part_list (
  id int not null,
  region_id int,
  name varchar(50),
  key (region_id)
) partition by list (region_id) (
  partition p_east values in (1, 2, 3),
  partition p_west values in (4,5,6) comment 'west',
  partition p_null values in (null, 0)
);
