create table audit_log (
  id bigint unsigned not null auto_increment primary key,
  table_name varchar(64) not null,
  action enum('INSERT','UPDATE','DELETE') not null,
  row_id bigint,
  old_val json,
  new_val json,
  changed_by varchar(100) default (current_user()),
  changed_at timestamp(6) not null default current_timestamp(6),
  key idx_tbl_row (table_name, row_id),
  key idx_when (changed_at desc)
) engine=InnoDB;
