create table rf_dynamic (
  id int primary key,
  v varchar(3000)
) engine=InnoDB row_format=DYNAMIC;
