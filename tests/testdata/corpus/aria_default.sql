create table aria_default (
  id int not null auto_increment primary key,
  v varchar(50)
) engine=Aria;
