DELIMITER //
create trigger trg_orders_bd before delete on fk_orders for each row
begin
  declare msg varchar(128);
  if old.status = 'shipped' then
    set msg = concat('cannot delete shipped order #', old.id, '; sorry');
    signal sqlstate '45000' set message_text = msg;
  end if;
end//
DELIMITER ;
