create table invisible_cols (
  id int not null auto_increment primary key,
  visible_a varchar(10),
  hidden_b int invisible default 5,
  hidden_ts timestamp invisible default current_timestamp on update current_timestamp,
  hidden_null varchar(10) invisible null,
  hidden_gen int as (hidden_b * 2) virtual invisible,
  key (hidden_b)
);
