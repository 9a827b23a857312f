DELIMITER //
create event ev_hourly_window
on schedule every 1 hour starts '2030-01-01 00:00:00' ends '2037-12-31 23:59:59'
on completion not preserve
disable
comment 'hourly purge'
do
begin
  delete from audit_log where changed_at < now() - interval 30 day;
  insert into audit_log (table_name, action, new_val) values ('audit_log', 'DELETE', '{"msg":"purged; ok // done"}');
end//
DELIMITER ;
