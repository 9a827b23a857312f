create table rf_redundant (
  id int primary key,
  v varchar(100)
) engine=InnoDB row_format=REDUNDANT default charset=latin1;
