create table rf_compact (
  id int primary key,
  v varchar(500)
) engine=InnoDB row_format=compact stats_persistent=0;
