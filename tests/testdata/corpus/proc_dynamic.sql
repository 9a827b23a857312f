DELIMITER //
create procedure proc_dynamic(in p_table varchar(64))
modifies sql data
comment 'prepared statements'
begin
  set @sql = concat('delete from `', replace(p_table, '`', '``'), '` where 1 = 0; -- not run //');
  set @sql = substring_index(@sql, ';', 1);
  prepare stmt from @sql;
  execute stmt;
  deallocate prepare stmt;
  insert into audit_log (table_name, action, new_val) values (p_table, 'DELETE', json_object('sql', @sql));
end//
DELIMITER ;
