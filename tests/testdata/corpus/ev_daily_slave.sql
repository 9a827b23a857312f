DELIMITER //
create definer=`root`@`localhost` event ev_daily_slave
on schedule every 2 day starts '2031-06-15 03:30:00'
on completion preserve
disable on slave
do begin
  declare n int default 0;
  select count(*) into n from fk_orders where status = 'pending';
  if n > 100 then
    insert into audit_log (table_name, action, new_val) values ('fk_orders', 'UPDATE', json_object('pending', n));
  end if;
end//
DELIMITER ;
