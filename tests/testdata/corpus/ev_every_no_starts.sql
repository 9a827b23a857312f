DELIMITER //
create event if not exists ev_every_no_starts on schedule every 10 minute do
begin
  begin
    declare continue handler for sqlexception set @ev_err = 1;
    update fk_orders set note = 'touched; //' where id = 0;
  end;
  set @ev_ran = now();
end//
DELIMITER ;
