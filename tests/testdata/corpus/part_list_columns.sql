create table part_list_columns (
  id int not null,
  country char(2) not null,
  city varchar(30) not null,
  primary key (id, country, city)
) default charset=latin1
partition by list columns (country, city) (
  partition p_us values in (('US', 'NYC'), ('US', 'LA')),
  partition p_ca values in (('CA', 'Toronto'), ('CA', 'Montréal')) comment = 'canada',
  partition p_other default
);
