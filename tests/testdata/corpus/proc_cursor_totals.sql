DELIMITER //
create procedure proc_cursor_totals(in p_min decimal(12,2))
modifies sql data
sql security invoker
begin
  declare v_done int default 0;
  declare v_id int unsigned;
  declare v_total decimal(12,2);
  declare cur cursor for select id, total from fk_orders where total >= p_min;
  declare continue handler for not found set v_done = 1;
  open cur;
  read_loop: loop
    fetch cur into v_id, v_total;
    if v_done then
      leave read_loop;
    end if;
    begin
      declare exit handler for sqlexception
      begin
        insert into audit_log (table_name, action, row_id) values ('fk_orders', 'UPDATE', -1);
      end;
      insert into audit_log (table_name, action, row_id, new_val)
        values ('fk_orders', 'UPDATE', v_id, json_object('total', v_total, 'note', 'a;b//c'));
    end;
  end loop read_loop;
  close cur;
end//
DELIMITER ;
