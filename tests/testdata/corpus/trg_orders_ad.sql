DELIMITER //
create trigger trg_orders_ad after delete on fk_orders for each row
begin
  insert into audit_log (table_name, action, row_id, old_val)
  values ('fk_orders', 'DELETE', old.id, json_object('customer_id', old.customer_id, 'total', old.total));
end//
DELIMITER ;
