create table csv_log (
  logged_at datetime not null,
  level enum('debug','info','warn','error') not null,
  message varchar(500) not null,
  n int not null default 0
) engine=CSV default charset=utf8mb4 comment='csv; no indexes allowed';
