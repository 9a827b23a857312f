DELIMITER //
create trigger trg_orders_au after update on fk_orders for each row
begin
  if not (old.status <=> new.status) then
    insert into audit_log (table_name, action, row_id, old_val, new_val)
    values ('fk_orders', 'UPDATE', new.id, json_object('status', old.status), json_object('status', new.status));
  end if;
  if old.total <> new.total then
    insert into audit_log (table_name, action, row_id, new_val)
    values ('fk_orders', 'UPDATE', new.id, json_object('total', new.total));
  end if;
end//
DELIMITER ;
